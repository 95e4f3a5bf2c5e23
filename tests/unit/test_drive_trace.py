import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.drive.errors import DriveError, TraceError
from emulator.drive.motions import Orbit, motion_from_spec
from emulator.drive.spec import placement
from emulator.drive.trace import TraceMotion, parse_trace, trace_line, write_trace
from emulator.model.assets import asset_path
from emulator.model.pose import Pose, Quat, Vec3

HERE = placement("0,1.6,0", 0.0)


def recorded_orbit(tmp_path: Path) -> tuple[Path, Orbit]:
    orbit = Orbit(placement("3,1.7,-2", 30.0), radius=1.0, period=4.0)
    path = tmp_path / "orbit.jsonl"
    write_trace(path, [(10.0 + i * 0.1, orbit.sample(i * 0.1)) for i in range(41)])
    return path, orbit


def test_absolute_replay_reproduces_the_recording_and_interpolates(tmp_path: Path) -> None:
    path, orbit = recorded_orbit(tmp_path)
    motion = motion_from_spec(f"trace:{path},absolute", HERE)
    assert isinstance(motion, TraceMotion) and motion.duration == pytest.approx(4.0)
    for t in (0.0, 0.1, 1.7, 3.9):
        assert (motion.sample(t).position - orbit.sample(t).position).length() < 1e-5
        assert motion.sample(t).orientation.angle_to(orbit.sample(t).orientation) < 1e-5
    # Halfway between two samples: between them, on the chord.
    a, b = orbit.sample(1.0), orbit.sample(1.1)
    mid = motion.sample(1.05)
    assert (mid.position - a.position.lerp(b.position, 0.5)).length() < 1e-5
    assert mid.orientation.angle_to(a.orientation.slerp(b.orientation, 0.5)) < 1e-5


def test_replay_is_anchored_at_the_placement_by_default(tmp_path: Path) -> None:
    path, orbit = recorded_orbit(tmp_path)
    start = placement("-1,1.6,5", -90.0)
    motion = motion_from_spec(f"trace:{path}", start)
    assert (motion.sample(0).position - start.position).length() < 1e-6
    assert motion.sample(0).orientation.angle_to(start.orientation) < 1e-6
    # The path's shape survives: distances from the first pose are the recorded ones.
    for t in (0.5, 1.0, 2.0):
        recorded = (orbit.sample(t).position - orbit.sample(0).position).length()
        replayed = (motion.sample(t).position - start.position).length()
        assert replayed == pytest.approx(recorded, abs=1e-5)


def test_loop_wraps_and_once_holds_the_last_pose(tmp_path: Path) -> None:
    path, _ = recorded_orbit(tmp_path)
    looped = motion_from_spec(f"trace:{path}", HERE)
    once = motion_from_spec(f"trace:{path},once", HERE)
    assert (looped.sample(5.3).position - looped.sample(1.3).position).length() < 1e-6
    assert once.sample(100.0).position == once.sample(4.0).position
    assert once.sample(100.0).timestamp_us == 100_000_000


def test_sample_walk_asset_replays_a_walk() -> None:
    motion = motion_from_spec(f"trace:{asset_path('traces', 'sample_walk.jsonl')}", HERE)
    assert isinstance(motion, TraceMotion)
    far = max((motion.sample(i * 0.1).position - HERE.position).length() for i in range(80))
    assert 2.9 < far < 3.1  # it walks 3 m out and comes back
    assert (motion.sample(8.0).position - HERE.position).length() < 0.01


def trace_text(*records: object) -> str:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records)


GOOD = {"t": 0.0, "p": [0, 1.6, 0], "q": [0, 0, 0, 1]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (trace_text(GOOD, "{not json", GOOD), "line 2: not a JSON object"),
        (trace_text(GOOD, [1, 2, 3]), "line 2: expected an object"),
        (trace_text(GOOD, {"t": 1, "p": [0, 0, 0]}), "line 2: missing q"),
        (trace_text(GOOD, {"t": 1, "p": [0, 0], "q": [0, 0, 0, 1]}), "line 2: 'p' must be a list of 3"),
        (trace_text(GOOD, {"t": 1, "p": [0, 0, "x"], "q": [0, 0, 0, 1]}), "line 2: 'p' must be"),
        (trace_text(GOOD, {"t": True, "p": [0, 0, 0], "q": [0, 0, 0, 1]}), "line 2: 't'"),
        (trace_text(GOOD, '{"t": NaN, "p": [0, 0, 0], "q": [0, 0, 0, 1]}'), "line 2: 't' holds a non-finite"),
        (trace_text(GOOD, {"t": 0.0, "p": [0, 0, 0], "q": [0, 0, 0, 1]}), "line 2: t=0 does not come after"),
        (trace_text(GOOD, "", {"t": 1, "p": [0, 0, 0], "q": [0, 0, 0, 0]}), "line 3: quaternion"),
        ("\n\n", "holds no poses"),
    ],
)
def test_broken_traces_name_the_line(text: str, message: str) -> None:
    with pytest.raises(TraceError, match=message) as caught:
        parse_trace(text, "walk.jsonl")
    assert str(caught.value).startswith("walk.jsonl")


def test_unreadable_files_are_trace_errors(tmp_path: Path) -> None:
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TraceError, match="not UTF-8"):
        motion_from_spec(f"trace:{binary}", HERE)
    with pytest.raises(TraceError, match="cannot read"):
        motion_from_spec(f"trace:{tmp_path / 'missing.jsonl'}", HERE)


def test_trace_lines_round_trip() -> None:
    pose = Pose(Vec3(1.25, 1.5, -3.0), Quat.from_euler(0.3, -0.2, 0.1))
    [(t, back)] = parse_trace(trace_line(2.5, pose))
    assert t == 2.5 and (back.position - pose.position).length() < 1e-6
    assert back.orientation.angle_to(pose.orientation) < 1e-6


@given(st.text(max_size=300))
def test_random_text_gives_only_trace_errors(text: str) -> None:
    try:
        samples = parse_trace(text)
    except TraceError:
        return
    assert samples and all(p.position.is_finite() for _, p in samples)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.sampled_from(["t", "p", "q", "x"]), inner),
    max_leaves=12,
)


@given(st.lists(json_values, min_size=1, max_size=6))
def test_random_json_records_give_only_trace_errors(records: list[object]) -> None:
    text = "\n".join(json.dumps(r) for r in records)
    try:
        samples = parse_trace(text)
    except TraceError:
        return
    assert all(math.isfinite(t) and p.position.is_finite() for t, p in samples)


def test_trace_error_is_a_drive_error() -> None:
    assert issubclass(TraceError, DriveError)
