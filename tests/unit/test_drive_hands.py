"""The hands driver: each preset's shape and motion, where it puts the hands, and the trace format."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from emulator.drive.errors import DriveError, TraceError
from emulator.drive.hand_trace import HandTrace, parse_hand_trace
from emulator.drive.hands import NO_HANDS, Hands, Pinch, hands_from_spec
from emulator.model.hands import HandJoint, HandPose, HandSide
from emulator.model.pose import Pose, Quat, Vec3
from emulator.wire.hands import quantize_hand

HEAD = Pose(Vec3(1.0, 1.6, -2.0))
PRESETS = ("relaxed", "wave", "point", "pinch", "thumbs-up", "talk")


def in_head_frame(hand: HandPose, head: Pose, joint: HandJoint = HandJoint.WRIST) -> np.ndarray:
    """A joint in the head's frame: x right, y up, -z ahead."""
    local = head.inverse().transform_point(Vec3.of(list(hand.positions[joint])))
    return np.array(local.as_tuple())


def tip_gap(hand: HandPose, a: HandJoint, b: HandJoint) -> float:
    return float(np.linalg.norm(hand.positions[a] - hand.positions[b]))


def reach(hand: HandPose, tip: HandJoint) -> float:
    return tip_gap(hand, HandJoint.WRIST, tip)


@pytest.mark.parametrize("spec", PRESETS)
def test_every_preset_puts_both_hands_where_a_persons_hands_are(spec: str) -> None:
    driver = hands_from_spec(spec)
    for t in (0.0, 0.4, 1.3):
        hands = driver.sample(t, HEAD)
        assert hands.left is not None and hands.right is not None
        assert hands.left.side is HandSide.LEFT and hands.right.side is HandSide.RIGHT
        left, right = in_head_frame(hands.left, HEAD), in_head_frame(hands.right, HEAD)
        assert left[0] < -0.05 and right[0] > 0.05  # each on its own side of the body
        for wrist in (left, right):
            assert 0.15 < np.linalg.norm(wrist) < 0.8  # within arm's reach of the head
            assert wrist[1] < 0.1 and wrist[2] < 0.0  # not above the head, not behind it
        for hand in hands:
            assert hand is not None
            quantize_hand(hand)  # every joint within the wire's reach of its parent


def test_none_sends_no_hands() -> None:
    assert hands_from_spec("none").sample(1.0, HEAD) == NO_HANDS


def test_hands_turn_with_the_body_but_not_with_a_nod() -> None:
    driver = hands_from_spec("point")
    ahead = driver.sample(0.0, HEAD).right
    turned = driver.sample(0.0, Pose(HEAD.position, Quat.from_yaw_degrees(90.0))).right
    nodding = driver.sample(0.0, Pose(HEAD.position, Quat.from_euler(0.0, math.radians(30.0)))).right
    assert ahead is not None and turned is not None and nodding is not None
    # Facing left (+90° yaw), the hand that was ahead of the head is now to its left (-x).
    assert in_head_frame(ahead, HEAD)[2] < -0.3
    assert turned.positions[HandJoint.WRIST][0] - HEAD.position.x < -0.3
    np.testing.assert_allclose(nodding.positions, ahead.positions, atol=1e-9)


def test_relaxed_hands_hang_loose_below_the_head() -> None:
    hands = hands_from_spec("relaxed").sample(2.0, HEAD)
    for hand in hands:
        assert hand is not None
        assert in_head_frame(hand, HEAD)[1] < -0.5
        # Half curled: the middle finger reaches less far than when straight, more than in a fist.
        assert 0.09 < reach(hand, HandJoint.MIDDLE_TIP) < 0.18


def test_wave_raises_the_right_hand_and_moves_its_wrist_side_to_side() -> None:
    driver = hands_from_spec("wave")
    xs = []
    for t in np.linspace(0.0, 1.2, 13):
        right = driver.sample(float(t), HEAD).right
        assert right is not None
        wrist, tip = in_head_frame(right, HEAD), in_head_frame(right, HEAD, HandJoint.MIDDLE_TIP)
        assert wrist[1] > -0.15 and tip[1] > wrist[1] + 0.1  # raised, fingers up
        xs.append(wrist[0])
    assert max(xs) - min(xs) > 0.08
    left = driver.sample(0.0, HEAD).left
    assert left is not None and in_head_frame(left, HEAD)[1] < -0.5  # the other hand stays down


def test_point_straightens_the_index_and_curls_the_rest() -> None:
    right = hands_from_spec("point").sample(0.0, HEAD).right
    assert right is not None
    tips = {j: in_head_frame(right, HEAD, j) for j in (HandJoint.INDEX_TIP, HandJoint.MIDDLE_TIP)}
    assert tips[HandJoint.INDEX_TIP][2] < tips[HandJoint.MIDDLE_TIP][2] - 0.05  # the index leads
    assert reach(right, HandJoint.INDEX_TIP) > 0.16
    assert reach(right, HandJoint.MIDDLE_TIP) < 0.1


def test_pinch_closes_thumb_and_index_tips_and_opens_them_again() -> None:
    driver = hands_from_spec("pinch:period=2")
    assert isinstance(driver, Pinch)
    gaps = []
    for t in (0.0, 0.5, 1.0, 1.8):
        right = driver.sample(t, HEAD).right
        assert right is not None
        gaps.append(tip_gap(right, HandJoint.THUMB_TIP, HandJoint.INDEX_TIP))
    assert gaps[0] > 0.06  # open at the start of a cycle
    assert gaps[2] < 0.015  # closed in the middle
    assert gaps[1] > gaps[2] and gaps[3] > gaps[2]


def test_thumbs_up_holds_a_fist_with_the_thumb_highest() -> None:
    right = hands_from_spec("thumbs-up").sample(0.0, HEAD).right
    assert right is not None
    heights = right.positions[:, 1]
    assert int(np.argmax(heights)) == HandJoint.THUMB_TIP
    for tip in (HandJoint.INDEX_TIP, HandJoint.MIDDLE_TIP, HandJoint.LITTLE_TIP):
        assert reach(right, tip) < 0.1


def test_talk_moves_both_hands_in_front_of_the_chest() -> None:
    driver = hands_from_spec("talk")
    samples = [driver.sample(t, HEAD) for t in np.linspace(0.0, 3.0, 31)]
    for side in HandSide:
        wrists = np.array([in_head_frame(h[side], HEAD) for h in samples])  # type: ignore[arg-type]
        assert np.ptp(wrists, axis=0).max() > 0.05  # they move
        assert np.all(wrists[:, 1] < -0.3) and np.all(wrists[:, 1] > -0.6)  # at chest height
        assert np.all(wrists[:, 2] < -0.2)  # in front


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("jazz", "unknown hands 'jazz'"),
        ("wave:speed=3", "unknown option 'speed'"),
        ("wave:period=0", "outside"),
        ("point:period=2", "unknown option 'period'"),
        ("trace:", "expected trace:FILE.jsonl"),
        ("trace:x.jsonl,once,loop", "choose once or loop"),
    ],
)
def test_bad_specs_are_refused_naming_the_value(spec: str, message: str) -> None:
    with pytest.raises(DriveError, match=message) as caught:
        hands_from_spec(spec)
    assert "--hands" not in str(caught.value)


# --- traces ------------------------------------------------------------------------------------------


def hand_json(hand: HandPose, head: Pose | None) -> dict[str, object]:
    """A hand as a trace line holds it: in the head's frame, or in the room when `head` is None."""
    if head is None:
        joints, q = hand.positions, hand.orientations[HandJoint.WRIST]
    else:
        inverse = head.inverse()
        joints = np.array([inverse.transform_point(Vec3.of(list(p))).as_tuple() for p in hand.positions])
        q = np.array((inverse.orientation * Quat.of(list(hand.orientations[HandJoint.WRIST]))).as_tuple())
    return {"joints": joints.tolist(), "wrist_q": list(q)}


def write_wave_trace(path: Path, head: Pose | None) -> None:
    wave = hands_from_spec("wave")
    lines = []
    for i in range(13):
        hands = wave.sample(i * 0.1, HEAD)
        record = {"t": 5.0 + i * 0.1, "right": hand_json(hands.right, head)}  # type: ignore[arg-type]
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n\n")


def test_a_trace_in_the_heads_frame_follows_the_head(tmp_path: Path) -> None:
    path = tmp_path / "wave.jsonl"
    write_wave_trace(path, HEAD)
    trace = hands_from_spec(f"trace:{path}")
    assert isinstance(trace, HandTrace) and trace.duration == pytest.approx(1.2)
    wave = hands_from_spec("wave")
    for t in (0.0, 0.3, 1.0):
        replayed, recorded = trace.sample(t, HEAD), wave.sample(t, HEAD)
        assert replayed.left is None and replayed.right is not None and recorded.right is not None
        np.testing.assert_allclose(replayed.right.positions, recorded.right.positions, atol=1e-9)
    # Somewhere else, turned round: the same hand relative to the head.
    elsewhere = Pose(Vec3(-3.0, 1.5, 4.0), Quat.from_yaw_degrees(180.0))
    moved = trace.sample(0.3, elsewhere).right
    assert moved is not None
    np.testing.assert_allclose(
        in_head_frame(moved, elsewhere), in_head_frame(wave.sample(0.3, HEAD).right, HEAD), atol=1e-9
    )


def test_an_absolute_trace_interpolates_and_holds_its_end_once(tmp_path: Path) -> None:
    path = tmp_path / "wave.jsonl"
    write_wave_trace(path, None)
    trace = hands_from_spec(f"trace:{path},absolute,once")
    somewhere = Pose(Vec3(9.0, 1.0, 9.0))
    wave = hands_from_spec("wave")
    a, b = wave.sample(0.5, HEAD).right, wave.sample(0.6, HEAD).right
    mid = trace.sample(0.55, somewhere).right
    assert a is not None and b is not None and mid is not None
    np.testing.assert_allclose(mid.positions, (a.positions + b.positions) / 2, atol=1e-9)
    end = trace.sample(60.0, somewhere).right
    assert end is not None
    np.testing.assert_allclose(end.positions, wave.sample(1.2, HEAD).right.positions, atol=1e-9)  # type: ignore[union-attr]


def test_a_trace_line_may_leave_a_hand_out() -> None:
    joints = [[0.0, -0.5, -0.3]] + [[0.01 * i, -0.5, -0.3 - 0.01 * i] for i in range(1, 26)]
    text = "\n".join([
        json.dumps({"t": 0, "left": None, "right": {"joints": joints, "wrist_q": [0, 0, 0, 1]}}),
        json.dumps({"t": 1, "extra": "ignored"}),
    ])  # fmt: skip
    samples = parse_hand_trace(text)
    assert [sorted(h) for _, h in samples] == [[HandSide.RIGHT], []]
    trace = HandTrace((0.0, 1.0), tuple(h for _, h in samples), loop=False)
    held = trace.sample(0.5, HEAD)
    assert held.left is None and held.right is not None  # held until the next line that has it
    assert trace.sample(1.0, HEAD) == Hands(None, None)


GOOD_JOINTS = [[0.0, 0.0, -0.01 * i] for i in range(26)]


@pytest.mark.parametrize(
    ("line2", "message"),
    [
        ("not json", "line 2: not a JSON object"),
        ("[1, 2]", "line 2: expected an object"),
        ('{"right": null}', "line 2: missing t"),
        ('{"t": 0.5}', "line 2: t=0.5 does not come after the previous t=1"),
        ('{"t": 2, "right": [1]}', "line 2: 'right' must be an object with joints and wrist_q"),
        (json.dumps({"t": 2, "left": {"joints": GOOD_JOINTS[:25], "wrist_q": [0, 0, 0, 1]}}), "26"),
        (json.dumps({"t": 2, "left": {"joints": GOOD_JOINTS, "wrist_q": [0, 0, 0, 0]}}), "wrist_q"),
        ('{"t": 2, "left": {"joints": [[0, 0, "x"]], "wrist_q": [0, 0, 0, 1]}}', "line 2"),
        ('{"t": 1e999}', "line 2"),
    ],
)
def test_bad_trace_lines_are_refused_by_number(line2: str, message: str) -> None:
    first = json.dumps({"t": 1, "left": {"joints": GOOD_JOINTS, "wrist_q": [0, 0, 0, 1]}})
    with pytest.raises(TraceError, match=message) as caught:
        parse_hand_trace(first + "\n" + line2, "hands.jsonl")
    assert "hands.jsonl line 2" in str(caught.value)


def test_an_empty_or_missing_trace_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="holds no samples"):
        parse_hand_trace("\n\n", "empty.jsonl")
    with pytest.raises(TraceError, match="cannot read trace"):
        hands_from_spec(f"trace:{tmp_path / 'absent.jsonl'}")


def test_the_drive_command_writes_hands_that_replay_as_a_hand_trace(tmp_path: Path) -> None:
    from emulator.cli import main
    from emulator.drive.drivers import build_drivers

    out = tmp_path / "orbit.jsonl"
    argv = [
        "drive",
        "--motion",
        "orbit:radius=1,period=4",
        "--hands",
        "wave",
        "--duration",
        "2",
        "-o",
        str(out),
    ]
    assert main(argv) == 0
    head = build_drivers("orbit:radius=1,period=4").motion
    replay, wave = hands_from_spec(f"trace:{out},once"), hands_from_spec("wave")
    for t in (0.0, 0.5, 1.5):
        got, want = replay.sample(t, head.sample(t)).right, wave.sample(t, head.sample(t)).right
        assert got is not None and want is not None
        np.testing.assert_allclose(got.positions, want.positions, atol=1e-5)
    assert main(["drive", "--hands", "jazz"]) == 2
