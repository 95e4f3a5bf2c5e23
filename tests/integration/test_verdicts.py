"""`join` and `swarm` say whether a run was healthy: real room, real CLI processes, real WebRTC."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.processes import stop_group
from tests.support.room import RoomProcess, cli, cli_env

pytestmark = pytest.mark.slow

# The fault these tests inject is loss, which the machine's load does not make: the thresholds on
# timing (latency, rate, underruns) are relaxed so that a busy machine does not decide the verdict.
LOSS_ONLY = (
    "--max-state-latency", "10s", "--max-mouth-to-ear", "10s", "--min-state-rate", "0.05",
    "--max-underruns", "100000", "--max-state-loss", "2%",
)  # fmt: skip


def _wait_for_participants(room: RoomProcess, name: str, count: int, joiner: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while dict(room.health()["rooms"]).get(name, 0) < count:
        assert joiner.poll() is None and time.monotonic() < deadline, "the join did not get in"
        time.sleep(0.1)


def _join(room: RoomProcess, tmp_path: Path, room_name: str, *extra: str) -> subprocess.Popen[bytes]:
    # Ended with SIGTERM once the swarm is done (as Ctrl+C would); the duration is only a ceiling.
    argv = cli("join", room.url, "--room", room_name, "--duration", "90", *LOSS_ONLY, *extra)
    return subprocess.Popen(
        argv, env=cli_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip


def _swarm(room: RoomProcess, tmp_path: Path, room_name: str) -> subprocess.CompletedProcess[str]:
    argv = cli("swarm", room.url, "--room", room_name, "-n", "2", "--duration", "8", *LOSS_ONLY)
    return subprocess.run(
        argv, env=cli_env(tmp_path), capture_output=True, text=True, timeout=120, check=False
    )


def _finished(joiner: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    try:
        if joiner.poll() is None:
            joiner.send_signal(signal.SIGTERM)
        out, err = joiner.communicate(timeout=60)
    finally:
        stop_group(joiner)
    return joiner.returncode, out.decode(), err.decode()


def test_a_clean_room_is_healthy_for_the_swarm_and_the_join(
    room_process: RoomProcess, tmp_path: Path
) -> None:
    joiner = _join(room_process, tmp_path, "clean", "--name", "alpha")
    try:
        _wait_for_participants(room_process, "clean", 1, joiner)
        swarm = _swarm(room_process, tmp_path, "clean")
    finally:
        code, out, err = _finished(joiner)
    assert swarm.returncode == 0, swarm.stdout + swarm.stderr[-2000:]
    assert swarm.stdout.splitlines()[-1] == "HEALTHY"
    assert code == 0, out + err[-2000:]
    assert out.splitlines()[-1] == "HEALTHY"


def test_a_lossy_member_makes_both_unhealthy_naming_the_pair(
    room_process: RoomProcess, tmp_path: Path
) -> None:
    joiner = _join(room_process, tmp_path, "faulty", "--name", "lossy", "--net", "lossy")
    try:
        _wait_for_participants(room_process, "faulty", 1, joiner)
        swarm = _swarm(room_process, tmp_path, "faulty")
    finally:
        code, out, err = _finished(joiner)
    # The swarm's members hear the lossy one's states with 10 % of them lost.
    assert swarm.returncode == 1, swarm.stdout + swarm.stderr[-2000:]
    verdict = swarm.stdout.splitlines()[-1]
    assert verdict.startswith("UNHEALTHY: --max-state-loss, "), verdict
    assert " <- lossy, " in verdict and "swarm-0" in verdict
    # The lossy one hears the swarm through its own losses: its pairs are named from its side.
    assert code == 1, out + err[-2000:]
    verdict = out.splitlines()[-1]
    assert verdict.startswith("UNHEALTHY: --max-state-loss, lossy <- swarm-0"), verdict
