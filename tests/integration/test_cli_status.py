"""The status line of a real `join` in a real room: rewritten in place on a terminal (a pty here),
plain periodic lines into a pipe, and nothing with -q."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.room import RoomProcess, cli, cli_env

pytestmark = pytest.mark.slow

STATUS = re.compile(r"joined (\d+) \| states out (\d+)/s in (\d+)/s \| voice out (\d+) kbps")


def run_on_a_terminal(argv: list[str], env: dict[str, str], timeout: float = 90.0) -> tuple[int, str]:
    """Run with stderr (and stdout) on a pseudo-terminal; everything it wrote, and its exit code."""
    master, slave = pty.openpty()
    process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed its side
                    break
                if not chunk:
                    break
                seen += chunk
            elif process.poll() is not None:
                break
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
        process.wait(10)
    return process.returncode, seen.decode(errors="replace")


def test_status_line_is_rewritten_in_place_on_a_terminal(room_process: RoomProcess, tmp_path: Path) -> None:
    argv = cli("join", room_process.url, "--name", "tty", "--audio", "tone:440", "--duration", "6s")
    code, seen = run_on_a_terminal(argv, cli_env(tmp_path))
    assert code == 0, seen
    updates = re.findall(r"\r(joined [^\r\n]*?)\x1b\[K", seen)
    assert len(updates) >= 2, seen
    # Sending pose at the profile's rate and 32 kbit/s Opus: some update shows both moving.
    moving = [STATUS.search(u) for u in updates]
    assert any(m and int(m[2]) > 0 and int(m[4]) > 0 for m in moving), updates
    assert seen.endswith("\r\n"), "the rewritten line ends with a newline when the command ends"


def test_status_lines_into_a_pipe_and_none_with_q(room_process: RoomProcess, tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    base = ["join", room_process.url, "--audio", "none", "--duration", "4s", "--status-every", "1s"]
    piped = subprocess.Popen(cli(*base, "--name", "piped"), env=env, stderr=subprocess.PIPE, text=True)
    quiet = subprocess.Popen(cli("-q", *base, "--name", "quiet"), env=env, stderr=subprocess.PIPE, text=True)
    _, piped_err = piped.communicate(timeout=90)
    _, quiet_err = quiet.communicate(timeout=90)
    assert piped.returncode == 0 and quiet.returncode == 0, piped_err + quiet_err
    assert "\r" not in piped_err and "\x1b" not in piped_err
    lines = [line for line in piped_err.splitlines() if STATUS.match(line)]
    assert len(lines) >= 2, piped_err
    assert not STATUS.search(quiet_err), quiet_err
