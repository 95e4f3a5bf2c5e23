"""The bundled room as a real process on loopback, and headless headsets as real processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import running

SECRET = "test-room-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for CLI subprocesses: the test's secret, no user config touched."""
    env = dict(os.environ)
    env["HEADSET_EMULATOR_SECRET"] = SECRET
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "emulator", *args]


@dataclass
class RoomProcess:
    url: str
    port: int
    process: subprocess.Popen[bytes]

    def health(self) -> dict[str, object]:
        # With the secret, /healthz also names the rooms (anonymous callers get counts only).
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/healthz", headers={"Authorization": f"Bearer {SECRET}"}
        )
        with urllib.request.urlopen(request, timeout=2) as response:
            return dict(json.load(response))


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=0.5):
            return True
    except OSError:
        return False


def start_room(tmp_path: Path, *extra: str) -> Iterator[RoomProcess]:
    port = free_port()
    argv = cli("room", "--host", "127.0.0.1", "--port", str(port), *extra)
    with running(argv, ready=lambda: _answers(port), env=cli_env(tmp_path), name="room", timeout=30) as proc:
        yield RoomProcess(f"ws://127.0.0.1:{port}/ws", port, proc)


@pytest.fixture
def room_process(tmp_path: Path) -> Iterator[RoomProcess]:
    yield from start_room(tmp_path)
