"""The JSON twin: a JSON receiver sees what a binary receiver sees; bad JSON is refused like bad bytes."""

import json

import numpy as np
import pytest
from hypothesis import given, settings

from emulator.model.hands import HandSide, hand_pose
from emulator.model.pose import Pose
from emulator.model.quat_array import qangle
from emulator.wire import Message, State, WireError, from_json, parse_message, to_json
from tests.support.wire_samples import messages, samples


def assert_same(a: Message, b: Message) -> None:
    assert type(a) is type(b)
    if not isinstance(a, State) or not isinstance(b, State):
        assert a == b
        return
    assert (a.seq, a.sender, a.timestamp, a.face) == (b.seq, b.sender, b.timestamp, b.face)
    assert (a.pose is None) == (b.pose is None)
    if a.pose is not None and b.pose is not None:
        assert a.pose.position == b.pose.position
        assert a.pose.orientation.angle_to(b.pose.orientation) < 1e-5
        assert a.pose.timestamp_us == b.pose.timestamp_us
    for ha, hb in ((a.left_hand, b.left_hand), (a.right_hand, b.right_hand)):
        assert (ha is None) == (hb is None)
        if ha is not None and hb is not None:
            np.testing.assert_allclose(ha.positions, hb.positions, atol=1e-12)
            assert qangle(ha.orientations, hb.orientations).max() < 1e-4
            np.testing.assert_allclose(ha.radii, hb.radii)


@settings(max_examples=250, deadline=None)
@given(messages)
def test_json_and_binary_receivers_see_the_same_message(message: Message) -> None:
    via_binary = parse_message(bytes(message))
    via_json = from_json(to_json(message))
    assert_same(via_json, via_binary)
    # And the JSON-read message travels on as binary just the same.
    assert_same(parse_message(bytes(via_json)), via_binary)


def test_json_is_readable() -> None:
    obj = json.loads(to_json(samples()["state_pose_face_changed"]))
    assert obj["type"] == "state" and obj["v"] == 1 and obj["t"] == 4_000_000_123
    assert obj["pose"]["p"] == [0.25, 1.62, -1.5]
    assert obj["face"] == {
        "set": "arkit52",
        "full": False,
        "w": {"jawOpen": 0.502, "mouthSmileLeft": 0.8, "mouthSmileRight": 0.7882, "tongueOut": 1.0},
    }
    hands = json.loads(to_json(samples()["state_pose_hands"]))["hands"]
    assert len(hands["left"]["joints"]) == 26 and hands["left"]["radius_scale"] == 1.0
    assert json.loads(to_json(samples()["visemes"]))["visemes"][1] == {
        "viseme": "PP",
        "weight": 0.6,
        "offset_ms": 40,
    }


HAND = {"wrist_q": [0, 0, 0, 1], "radius_scale": 1}
VISEMES = '{"v": 1, "type": "visemes", "seq": 1, "sender": 0, "t": 0, "visemes": '
HELLO = '{"v": 1, "type": "hello", "seq": 1, "sender": 0, "t": 0, '


def _state(**changes: object) -> str:
    obj = json.loads(to_json(samples()["state_pose_face"]))
    for key, value in changes.items():
        if value is ...:
            del obj[key]
        else:
            obj[key] = value
    return json.dumps(obj)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "not JSON"),
        ("{", "not JSON"),
        (b"\xff\xfe{", "not JSON"),
        ("[1, 2]", "known \"type\""),
        ('{"type": "dance"}', "known \"type\""),
        ("[" * 5000 + "]" * 5000, "not JSON"),
        (" " * 20000, "oversized"),
        ('{"v": 1, "type": "ping", "seq": 1, "sender": 0, "t": NaN}', "NaN"),
        ('{"v": 1, "type": "ping", "seq": 1, "sender": 0, "t": Infinity}', "Infinity"),
        ('{"v": 1, "type": "ping", "seq": 1, "sender": 0, "t": 1' + "0" * 5000 + "}", "not JSON|oversized"),
        ('{"v": 1, "type": "ping", "seq": 1, "sender": 0}', "missing"),
        ('{"v": 1, "type": "ping", "seq": 1, "sender": 0, "t": 0, "extra": 1}', "unknown fields"),
        ('{"v": 2, "type": "ping", "seq": 1, "sender": 0, "t": 0}', "unknown version"),
        ('{"v": true, "type": "ping", "seq": 1, "sender": 0, "t": 0}', "unknown version"),
        ('{"v": 1, "type": "ping", "seq": true, "sender": 0, "t": 0}', "seq must be an integer"),
        ('{"v": 1, "type": "ping", "seq": 70000, "sender": 0, "t": 0}', "seq"),
        ('{"v": 1, "type": "ping", "seq": 1.5, "sender": 0, "t": 0}', "seq must be an integer"),
        (_state(pose={"p": [1, 2], "q": [0, 0, 0, 1]}), "3 numbers"),
        (_state(pose={"p": [1, 2, 40], "q": [0, 0, 0, 1]}), r"32\.767"),
        (_state(pose={"p": [1, 2, 3], "q": [0, 0, 0, 0]}), "no direction"),
        (_state(pose={"p": [1, 2, "3"], "q": [0, 0, 0, 1]}), "must be a number"),
        (_state(pose={"p": [1, 2, 7], "q": [0, 0, 0, 1]}).replace("7]", "1e400]"), "out of range"),
        (_state(face={"set": "arkit52", "full": True, "w": [0.5] * 51}), "52 numbers"),
        (_state(face={"set": "arkit52", "full": True, "w": [1.5] * 52}), "out of range"),
        (_state(face={"set": "arkit52", "full": 1, "w": [0.5] * 52}), "true or false"),
        (_state(face={"set": "arkit52", "full": False, "w": {"smile": 1}}), "not a arkit52 weight"),
        (_state(face={"set": "arkit53", "full": False, "w": {}}), "unknown face set"),
        (_state(hands={}), "left or a right"),
        (_state(hands={"middle": {}}), "unknown fields"),
        (_state(hands={"left": {**HAND, "joints": [[0, 0, 0]] * 25}}), "26"),
        (_state(hands={"left": {**HAND, "joints": [[0, 0, 0]] * 25 + [[0, 1, 0]]}}), "more than 127 mm"),
        (_state(hands={"left": {**HAND, "radius_scale": 3, "joints": [[0, 0, 0]] * 26}}), "radius_scale"),
        (VISEMES + '[{"viseme": "zz", "weight": 1, "offset_ms": 0}]}', "unknown viseme"),
        (VISEMES + '[{"viseme": "aa", "weight": 1, "offset_ms": 70000}]}', "offset_ms"),
        (VISEMES + "{}}", "must be a list"),
        (HELLO + '"name": "a", "profile": "Q 3", "avatar": "", "face_set": "arkit52"}', "profile key"),
        (HELLO + '"name": 3, "profile": "q", "avatar": "", "face_set": "arkit52"}', "name must be a string"),
        (HELLO + '"name": "a\\u0007", "profile": "q", "avatar": "", "face_set": "arkit52"}', "control"),
        ('{"v": 1, "type": "pong", "seq": 1, "sender": 0, "t": 0, "ping_seq": 1, "t1": -1, "t2": 0}', "t1"),
    ],
)  # fmt: skip
def test_bad_json_names_its_fault(text: str | bytes, reason: str) -> None:
    with pytest.raises(WireError, match=reason):
        from_json(text)


def test_a_hand_at_the_edge_of_the_range_survives_json() -> None:
    """Only the wrist is limited to ±32.767 m; fingers may reach past it (found by the fuzz test)."""
    hand = hand_pose(HandSide.RIGHT, Pose.at(32.7, 1.0, 0.0, yaw_degrees=-90))  # fingers point along +x
    assert hand.positions[:, 0].max() > 32.8
    message = State(pose=Pose.at(32.767, 0, 0), right_hand=hand)
    assert_same(parse_message(bytes(from_json(to_json(message)))), parse_message(bytes(message)))
