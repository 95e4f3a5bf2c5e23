"""Debian's coturn as a TURN server on 127.0.0.1 only, with one long-term-credential test user."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import running
from tests.support.room import free_port

TURN_USER = "tester"
TURN_PASSWORD = "turn-test-password"


@dataclass(frozen=True)
class TurnServer:
    host: str
    port: int
    user: str
    password: str

    def url(self, password: str | None = None) -> str:
        return f"turn:{self.user}:{password or self.password}@{self.host}:{self.port}?transport=udp"


def _listening(port: int) -> bool:
    # coturn listens on TCP and UDP on the same port; TCP tells us it is up.
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def turn_server(tmp_path: Path) -> Iterator[TurnServer]:
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.fail("coturn is not installed: run scripts/bootstrap.sh (see scripts/debian-packages.txt)")
    port = free_port()
    relay_base = 20000 + (port % 20000)
    argv = [
        binary, "-n",  # no config file: every setting is here
        "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
        f"--min-port={relay_base}", f"--max-port={relay_base + 200}",
        "--allow-loopback-peers",  # the room's candidates are on 127.0.0.1
        "--lt-cred-mech", f"--user={TURN_USER}:{TURN_PASSWORD}", "--realm=headset-emulator.test",
        "--fingerprint", "--no-tls", "--no-dtls", "--no-cli", "--no-multicast-peers",
        f"--userdb={tmp_path / 'turndb'}", f"--pidfile={tmp_path / 'turnserver.pid'}",
        "--log-file=stdout", "--simple-log",
    ]  # fmt: skip
    with running(argv, ready=lambda: _listening(port), name="turnserver", timeout=15):
        yield TurnServer("127.0.0.1", port, TURN_USER, TURN_PASSWORD)
