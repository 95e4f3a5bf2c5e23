"""TURN: two headsets reach the room through Debian's coturn with relayed candidates only.

Everything is on loopback: coturn listens and relays on 127.0.0.1, the room is on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.exchange import dominant_hz, read_wav
from tests.support.processes import finish_all, stop_group
from tests.support.reports import read_report
from tests.support.room import RoomProcess, cli, cli_env
from tests.support.turn import TurnServer

pytestmark = pytest.mark.slow

TONES = {"north": 440.0, "south": 660.0}


def join(
    name: str, room: RoomProcess, tmp_path: Path, *extra: str, tone: float = 440.0
) -> subprocess.Popen[bytes]:
    argv = cli(
        "join", "--no-verdict", room.url, "--room", "lobby", "--name", name, "--audio", f"tone:{tone:g}",
        "--report", str(tmp_path / f"{name}.json"), "--record-dir", str(tmp_path / name), *extra,
    )  # fmt: skip
    return subprocess.Popen(argv, env=cli_env(tmp_path), stderr=subprocess.PIPE, start_new_session=True)


def test_two_headsets_connect_relay_only(
    room_process: RoomProcess, turn_server: TurnServer, tmp_path: Path
) -> None:
    relay = ("--ice-server", turn_server.url(), "--relay-only", "--duration", "6")
    finish_all({name: join(name, room_process, tmp_path, *relay, tone=tone) for name, tone in TONES.items()})
    for name, other in (("north", "south"), ("south", "north")):
        report = read_report(tmp_path / f"{name}.json")
        # The pair ICE selected: our side is coturn's relayed address, the room's side a host address.
        assert report["ice"]["local_type"] == "relay", report["ice"]
        assert report["ice"]["local_address"].startswith("127.0.0.1:")
        assert report["ice"]["remote_address"].startswith("127.0.0.1:")
        (remote,) = report["remotes"]
        assert remote["name"] == other
        assert remote["states"]["rate_hz"] > 0
        samples, rate = read_wav(tmp_path / name / f"{remote['id']}.wav")
        assert len(samples) > 2 * rate
        assert abs(dominant_hz(samples[rate:], rate) - TONES[other]) < 5


def test_a_wrong_turn_password_is_named_before_the_connect_timeout(
    room_process: RoomProcess, turn_server: TurnServer, tmp_path: Path
) -> None:
    # With --connect-timeout 10 a slow failure would end as "no answer … within 10 s"; the TURN
    # refusal has to be the reason given, so it came within the 10 s.
    proc = join(
        "locked-out", room_process, tmp_path,
        "--ice-server", turn_server.url(password="not-the-password"), "--relay-only",
        "--connect-timeout", "10", "--duration", "5",
    )  # fmt: skip
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        stop_group(proc)
    message = err.decode()
    assert proc.returncode != 0
    assert "TURN server turn:127.0.0.1" in message and "refused the credentials" in message, message
    assert "Traceback" not in message
    assert "within 10 s" not in message


def test_a_malformed_ice_server_url_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        cli("join", "ws://127.0.0.1:9/ws", "--ice-server", "turn:host:99999", "--relay-only"),
        env=cli_env(tmp_path), capture_output=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "out of range" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()
