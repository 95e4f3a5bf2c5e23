"""The Locust bridge's pure parts: its line protocol, options, credentials and the engine's configs.

None of these import Locust or gevent (importing either here would monkey-patch the test process)."""

from __future__ import annotations

import argparse
import asyncio
import math
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.net.signaling.tokens import SECRET_ENV, verify
from emulator.qa.locust import engine as engine_module
from emulator.qa.locust import locustfile_path
from emulator.qa.locust.credentials import CredentialError, TokenFile, token_for
from emulator.qa.locust.engine import Engine, config_from
from emulator.qa.locust.options import HeadsetOptions, OptionError, add_arguments, profile_mix
from emulator.qa.locust.protocol import (
    MAX_LINE_BYTES,
    ProtocolError,
    Request,
    StateChange,
    decode_event,
    encode,
    encode_event,
)
from emulator.qa.locust.roles import role_of
from emulator.qa.swarm import MOTIONS


def test_events_survive_the_pipe() -> None:
    for event in (
        Request(3, "state", "state latency", 12.5, 90),
        Request(4, "room", "lost room", 5000.0, 0, "lost the room: signaling-lost"),
        StateChange(3, "closed", "left"),
    ):
        line = encode_event(event)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert decode_event(line) == event


@pytest.mark.parametrize(
    "line",
    [b"not json\n", b"[1, 2]\n", b'{"kind": "request", "key": 1}\n', b'{"kind": "gossip"}\n',
     b'{"kind": "state", "key": "one", "state": "joined"}\n', b" " * (MAX_LINE_BYTES + 1)],
)  # fmt: skip
def test_a_malformed_line_is_one_clear_error(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_event(line)


def test_the_engine_counts_and_drops_bad_commands() -> None:
    sent: list[object] = []
    engine = Engine(sent.append)
    engine.command(b"{oops\n")
    engine.command(b'{"kind": "dance", "key": 1}\n')
    engine.command(b'{"kind": "join", "key": 1, "settings": {"url": "ws://x", "place": [1]}}\n')
    engine.command(b'{"kind": "leave", "key": 99}\n')  # nobody: nothing to do
    assert engine.malformed == 3 and sent == [] and engine.members == {}


def test_a_join_makes_a_light_swarm_like_headset() -> None:
    config = config_from(
        {"url": "ws://h/ws", "room": "r", "name": "n", "audio": "none", "detect_markers": False,
         "place": [1.0, 1.6, -2.0, 90.0], "hands": "wave", "secret": None}
    )  # fmt: skip
    assert config.light_receive and config.room == "r" and config.audio.is_none
    assert not config.detect_markers
    assert config.placement.position.x == 1.0 and config.placement.position.z == -2.0


def test_the_engine_process_answers_a_failed_join_and_ends_with_its_stdin() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    join = encode("join", {"key": 7, "settings": {"url": f"ws://127.0.0.1:{port}/ws", "room": "r",
                                                  "name": "n", "token": "t", "audio": "none"}})  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "emulator.qa.locust.engine"],
        input=b"{oops\n" + join,
        capture_output=True,
        timeout=60,
    )
    events = [decode_event(line) for line in done.stdout.splitlines(keepends=True)]
    assert done.returncode == 0
    failed, closed = events
    assert isinstance(failed, Request) and (failed.key, failed.name) == (7, "join") and failed.error
    assert isinstance(closed, StateChange) and (closed.key, closed.state) == (7, "closed")
    assert b"dropped a command" in done.stderr


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_options_mix_profiles_and_rooms() -> None:
    options = HeadsetOptions.parse(parsed("--rooms", "a, b,,c", "--profiles", "visionpro:2,quest3:1"))
    assert options.rooms == ("a", "b", "c")
    assert options.profiles == ("visionpro", "quest3", "visionpro")
    assert profile_mix("quest3") == ("quest3",)
    for bad in ("visionpro:x", "quest3:0", ",", "a:101"):
        with pytest.raises(OptionError):
            profile_mix(bad)
    with pytest.raises(OptionError):
        HeadsetOptions.parse(parsed("--speakers", "-1"))
    with pytest.raises(OptionError):
        HeadsetOptions.parse(parsed("--rooms", " , "))


def test_users_take_the_roles_a_swarm_of_as_many_hands_out() -> None:
    """Two workers of six against swarm's twelve: the same speakers, one measuring listener that
    hears both (as swarm's last member), and the same mix of motions."""
    options = HeadsetOptions.parse(parsed("--speakers", "2", "--measuring", "1"))
    roles = {(w, n): role_of(options, w, n) for w in (0, 1) for n in range(6)}
    assert {k for k, r in roles.items() if r.audio != "none"} == {(0, 0), (0, 1)}
    assert [k for k, r in roles.items() if r.detect_markers] == [(0, 2)]
    assert Counter(r.motion for r in roles.values()) == Counter(MOTIONS[i % len(MOTIONS)] for i in range(12))
    assert role_of(HeadsetOptions.parse(parsed("--motion", "nod")), 1, 4).motion == "nod"


def test_users_of_different_workers_never_stand_on_the_same_spot() -> None:
    from emulator.qa.locust.roles import RADIUS_M, RING_STEP_M, place_of

    def closest(workers: int, users: int) -> float:
        points = [place_of(w, n)[:2] for w in range(workers) for n in range(users)]
        return min(math.dist(a, b) for i, a in enumerate(points) for b in points[i + 1 :])

    # Two workers of six put their users between each other's (it was the same six spots, 0 m apart).
    assert closest(2, 6) > 0.5 and closest(2, 12) > 0.5
    assert closest(8, 30) > 0.1, "however many workers and rings"
    places = {(w, n): place_of(w, n) for w in range(8) for n in range(30)}
    for (_, n), (x, z, yaw) in places.items():
        assert math.isclose(math.hypot(x, z), RADIUS_M + RING_STEP_M * (n // 12), abs_tol=1e-9)
        # Facing the centre: the yaw turns -z towards (-x, -z).
        assert math.isclose(math.degrees(math.atan2(x, -z)), yaw)
    assert place_of(0, 0)[:2] == (0.0, -RADIUS_M), "the first user stands where swarm's first does"


def test_a_token_file_per_worker_lends_its_lines(tmp_path: Path) -> None:
    (tmp_path / "tokens-1.txt").write_text("# room identity token\nr alice t1\nr bob t2\ns carol t3\n")
    tokens = TokenFile.read(str(tmp_path / "tokens-{worker}.txt"), 1)
    assert tokens.take("r") == ("alice", "t1") and tokens.take("r") == ("bob", "t2")
    with pytest.raises(CredentialError, match="no free token for room 'r'"):
        tokens.take("r")
    tokens.give_back("r", "alice", "t1")
    assert tokens.take("r") == ("alice", "t1")
    with pytest.raises(CredentialError, match="cannot read"):
        TokenFile.read(str(tmp_path / "tokens-{worker}.txt"), 2)
    (tmp_path / "bad.txt").write_text("r alice\n")
    with pytest.raises(CredentialError, match=r"bad\.txt:1: expected ROOM IDENTITY TOKEN"):
        TokenFile.read(str(tmp_path / "bad.txt"), 0)


def test_tokens_by_the_secret_or_the_adapters_rule() -> None:
    token = token_for("ws://room.example:8765/ws", "r", "locust-00-001", {SECRET_ENV: "s3cret"})
    assert token is not None
    grant = verify(b"s3cret", token, room="r", now=time.time())
    assert (grant.room, grant.identity) == ("r", "locust-00-001")
    assert token_for("janus://127.0.0.1:8188/1234", "r", "x", {SECRET_ENV: "s3cret"}) == ""
    assert token_for("ws://127.0.0.1:8765/ws", "r", "x", {}) is None  # the headset mints it locally


def test_the_locustfile_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["locustfile"]) == 0
    assert Path(capsys.readouterr().out.strip()) == locustfile_path()
    assert "HeadsetUser" in locustfile_path().read_text()
    copy = tmp_path / "mine.py"
    assert main(["locustfile", "--out", str(copy)]) == 0
    assert copy.read_text() == locustfile_path().read_text()
    assert main(["locustfile", "--out", str(copy)]) != 0
    assert "exists" in capsys.readouterr().err
    assert "gevent" not in sys.modules and "locust" not in sys.modules


SHAPES = """
from emulator.qa.locust.shapes import JoinStorm, Steps
def at(shape, t):
    shape.get_run_time = lambda: t
    return shape.tick()
storm, steps = JoinStorm(), Steps()
print([at(storm, t) for t in (0, 59, 61, 76, 225)])
print([at(steps, t) for t in (0, 61, 179, 250, 300)])
"""


def test_the_load_shapes() -> None:
    # In a child: importing Locust would monkey-patch this test process for gevent.
    result = subprocess.run([sys.executable, "-c", SHAPES], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    storm, steps = result.stdout.splitlines()
    # Everyone at once, held a minute, all leave for 15 s, again; three storms, then the end.
    assert storm == "[(24, 24.0), (24, 24.0), (0, 24.0), (24, 24.0), None]"
    # 8 more a minute for 4 steps, held a minute, then the end.
    assert steps == "[(8, 2.0), (16, 2.0), (24, 2.0), (32, 2.0), None]"


def test_the_engine_freezes_once_the_joins_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a swarm freezes once all its members are in: a burst of joins makes one freeze, after it."""
    frozen: list[int] = []
    monkeypatch.setattr(engine_module, "JOINS_PAUSED_S", 0.01)
    monkeypatch.setattr(engine_module, "refreeze", lambda: frozen.append(1))

    async def joins() -> None:
        engine = Engine(lambda _: None)
        engine.member_joined()
        engine.member_joined()
        await asyncio.sleep(0.1)
        assert frozen == [1]
        engine.member_joined()
        await engine.stop()  # a freeze still due when the engine stops is dropped
        await asyncio.sleep(0.1)

    asyncio.run(joins())
    assert frozen == [1]
