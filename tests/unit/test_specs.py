"""Specs parsed at the edge: each parser keeps what was written, builds what the old string did, and
names the bad value (not an option) when it refuses one; the CLI puts its option's name in front."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.cli.vocab import ExitCode
from emulator.drive.errors import DriveError, TraceError
from emulator.drive.faces import NEUTRAL, Blink, Combined, FaceSpec, HeldFace, Talk
from emulator.drive.motions import STILL, LookAround, MotionSpec, Nod, Orbit, Still, Walk
from emulator.headset import HeadsetConfig
from emulator.model.pose import Pose
from emulator.qa.swarm import MOTIONS, SwarmPlan, mixed_motions

START = Pose.at(1.0, 1.6, -2.0, 30.0)


# --- motion -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "built"),
    [
        ("still", Still(START)),
        (" Still ", Still(START)),
        ("orbit", Orbit(START)),
        (
            "orbit:radius=2,period=12,facing=path,arc=90,turn=cw",
            Orbit(START, 2.0, 12.0, face_centre=False, arc_degrees=90.0, clockwise=True),
        ),
        ("nod:amplitude=10", Nod(START, amplitude_degrees=10.0)),
        ("look-around:yaw=30", LookAround(START, yaw_degrees=30.0)),
        ("lookaround", LookAround(START)),
        ("walk:distance=2,speed=0.5,turn=2", Walk(START, 2.0, 0.5, 2.0)),
    ],
)
def test_a_motion_spec_keeps_its_text_and_builds_its_motion(text: str, built: object) -> None:
    spec = MotionSpec.parse(text)
    assert spec.text == str(spec) == text
    assert spec.build(START) == built
    assert MotionSpec.parse(text) == spec  # a value: equal specs from equal text


def test_a_trace_is_named_by_the_spec_and_read_when_built(tmp_path: Path) -> None:
    missing = tmp_path / "walk.jsonl"
    spec = MotionSpec.parse(f"trace:{missing},once")  # no file yet: parsing does not open it
    assert (spec.name, spec.path, spec.flags) == ("trace", missing, frozenset({"once"}))
    with pytest.raises(TraceError, match="cannot read trace"):
        spec.build(START)


def test_the_default_motion_is_still() -> None:
    assert MotionSpec.parse("still") == STILL and HeadsetConfig("ws://h/ws", "r", "n").motion == STILL


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fly", "unknown motion 'fly'; choose one of still, orbit"),
        ("orbit:radius=abc", "motion 'orbit:radius=abc': option radius must be a number"),
        ("orbit:turn=sideways", "motion 'orbit:turn=sideways': turn must be ccw or cw"),
        ("walk:speed=0", "motion 'walk:speed=0': option speed=0 is outside"),
        ("trace:", "motion 'trace:': expected trace:FILE.jsonl"),
        ("trace:a.jsonl,once,loop", "motion 'trace:a.jsonl,once,loop': choose once or loop"),
    ],
)
def test_a_bad_motion_names_the_value_not_an_option(text: str, message: str) -> None:
    with pytest.raises(DriveError, match="^" + re.escape(message)) as refused:
        MotionSpec.parse(text)
    assert "--" not in str(refused.value)


# --- face ---------------------------------------------------------------------------------------


def test_a_face_spec_keeps_its_text_and_builds_its_driver() -> None:
    assert FaceSpec.parse("neutral") == NEUTRAL and NEUTRAL.neutral
    assert isinstance(FaceSpec.parse("smile").build(), HeldFace)
    blink = FaceSpec.parse("blink:seed=3,rate=20")
    assert str(blink) == "blink:seed=3,rate=20" and not blink.neutral
    assert blink.build().sample(7.0) == Blink(3, 20.0).sample(7.0)
    both = FaceSpec.parse("smile+talk:seed=2")
    assert [p.name for p in both.parts] == ["smile", "talk"]
    driver = both.build()
    assert isinstance(driver, Combined) and isinstance(driver.parts[1], Talk)


def test_a_csv_path_may_hold_a_plus_and_is_read_when_built(tmp_path: Path) -> None:
    spec = FaceSpec.parse(f"blink+csv:{tmp_path}/a+b.csv,once,nohead")
    assert spec.parts[1].path == tmp_path / "a+b.csv"
    assert spec.parts[1].flags == frozenset({"once", "nohead"})
    with pytest.raises(DriveError, match="cannot read face CSV"):
        spec.build()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("grin", "unknown face 'grin'; choose one of neutral"),
        ("blink:rate=0", "face 'blink:rate=0': option rate=0 is outside"),
        ("smile+", "face 'smile+': empty part"),
        ("csv:", "face 'csv:': expected csv:FILE.csv"),
    ],
)
def test_a_bad_face_names_the_value_not_an_option(text: str, message: str) -> None:
    with pytest.raises(DriveError, match="^" + re.escape(message)) as refused:
        FaceSpec.parse(text)
    assert "--" not in str(refused.value)


# --- a swarm's mixed motions --------------------------------------------------------------------


def test_a_mixed_swarm_hands_out_the_motions_in_turn() -> None:
    template = HeadsetConfig("ws://127.0.0.1:1/ws", "r", "t")
    plan = SwarmPlan(template, 7, motions=mixed_motions())
    assert [c.motion.text for c in plan.configs()] == [*MOTIONS, *MOTIONS[:2]]
    nodding = SwarmPlan(HeadsetConfig("ws://127.0.0.1:1/ws", "r", "t", motion=MotionSpec.parse("nod")), 2)
    assert [c.motion.text for c in nodding.configs()] == ["nod", "nod"]


# --- at the edge: the command line names its option ---------------------------------------------


@pytest.mark.parametrize(
    ("words", "said"),
    [
        (["--motion", "fly"], "--motion: unknown motion 'fly'; choose one of"),
        (["--face", "grin"], "--face: unknown face 'grin'; choose one of"),
        (["--hands", "jazz"], "--hands: unknown hands 'jazz'; choose one of"),
    ],
)
@pytest.mark.parametrize("command", ["join", "swarm", "agent"])
def test_the_cli_reports_a_bad_spec_with_its_option_and_exit_code_2(
    command: str, words: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = {"swarm": ["-n", "2"], "agent": ["--say", "hello"]}.get(command, [])
    assert main([command, "ws://127.0.0.1:9/ws", *extra, *words]) == ExitCode.USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"headset-emulator {command}: {said}"), err
