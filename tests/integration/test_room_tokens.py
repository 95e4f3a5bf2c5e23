"""Join tokens through the real room process and the real `join` command: refusals are one clear line."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.net.signaling.tokens import Grant, mint
from tests.support.room import SECRET, RoomProcess, cli, cli_env, start_room


def join_with(room: RoomProcess, tmp_path: Path, token: str) -> subprocess.CompletedProcess[str]:
    argv = cli("join", room.url, "--room", "lobby", "--name", "t", "--audio", "none", "--duration", "1",
               "--token", token)  # fmt: skip
    return subprocess.run(argv, env=cli_env(tmp_path), capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda: mint(b"wrong-secret", Grant("lobby", "t", time.time() + 60)), "signature does not match"),
        (lambda: mint(SECRET.encode(), Grant("lobby", "t", time.time() - 5)), "expired"),
        (lambda: mint(SECRET.encode(), Grant("elsewhere", "t", time.time() + 60)), "is for room 'elsewhere'"),
        (lambda: "garbage", "not a JWT"),
        # Longer than the room's default --max-token-lifetime (24h): a leaked token must not last.
        (
            lambda: mint(SECRET.encode(), Grant("lobby", "t", time.time() + 30 * 86400)),
            "--max-token-lifetime",
        ),
    ],
)
def test_refused_tokens_give_one_clear_line(
    room_process: RoomProcess, tmp_path: Path, make_token: Callable[[], str], reason: str
) -> None:
    result = join_with(room_process, tmp_path, make_token())
    assert result.returncode == 3  # refused by the room (docs/cli.md, exit codes)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert reason in lines[0] and "Traceback" not in result.stderr
    assert room_process.health()["rooms"] == {}


def test_a_good_token_is_admitted(room_process: RoomProcess, tmp_path: Path) -> None:
    result = join_with(room_process, tmp_path, mint(SECRET.encode(), Grant("lobby", "t", time.time() + 60)))
    assert result.returncode == 0, result.stderr
    assert "joined lobby" in result.stderr


def test_the_token_command_mints_what_the_room_accepts(room_process: RoomProcess, tmp_path: Path) -> None:
    minted = subprocess.run(
        cli("token", "--room", "lobby", "--identity", "t", "--ttl", "5m"),
        env=cli_env(tmp_path), capture_output=True, text=True, timeout=30, check=True,
    ).stdout.strip()  # fmt: skip
    result = join_with(room_process, tmp_path, minted)
    assert result.returncode == 0, result.stderr


def test_a_token_longer_than_the_room_accepts_is_not_minted(tmp_path: Path) -> None:
    def token(*extra: str) -> subprocess.CompletedProcess[str]:
        argv = cli("token", "--room", "lobby", "--identity", "t", *extra)
        return subprocess.run(argv, env=cli_env(tmp_path), capture_output=True, text=True, timeout=30)

    refused = token("--ttl", "48h")
    assert refused.returncode == 2 and refused.stdout == ""
    assert "--max-token-lifetime" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert token("--ttl", "48h", "--max-token-lifetime", "2d").returncode == 0


def test_the_room_takes_a_longer_lifetime_when_told(tmp_path: Path) -> None:
    rooms = start_room(tmp_path, "--max-token-lifetime", "40d")
    room = next(rooms)
    try:
        result = join_with(
            room, tmp_path, mint(SECRET.encode(), Grant("lobby", "t", time.time() + 30 * 86400))
        )
        assert result.returncode == 0, result.stderr
    finally:
        rooms.close()
