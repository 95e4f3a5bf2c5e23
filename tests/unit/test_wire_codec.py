"""The binary codec: layouts, sizes, error budgets and refusals, as a receiver would check them."""

import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.model.hands import (
    CANONICAL_RADII,
    HandJoint,
    HandPose,
    HandSide,
    hand_pose,
    orientations_from_positions,
)
from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.quat_array import qangle
from emulator.model.visemes import Viseme
from emulator.wire import (
    FaceSet,
    FaceUpdate,
    Hello,
    MessageType,
    Ping,
    Pong,
    State,
    VisemeEntry,
    Visemes,
    WireError,
    parse_message,
    peek_header,
    pong_recipient,
    stamp_sender,
    to_json,
    wire_timestamp,
)
from emulator.wire.hands import HAND_BLOCK_SIZE, decode_hand_block
from tests.support.wire_samples import hands, head_pose, poses, samples

MM = 1e-3


def test_header_layout() -> None:
    data = bytes(State(seq=0x0102, sender=0, timestamp=0x0A0B0C0D, pose=head_pose()))
    assert data[0] == 0b01_000_001  # version 1, STATE, pose present
    assert data[1:3] == b"\x01\x02" and data[3:5] == b"\x00\x00" and data[5:9] == b"\x0a\x0b\x0c\x0d"
    assert bytes(Ping())[0] == 0b01_011_000
    assert bytes(Pong())[0] == 0b01_100_000
    full = bytes(State(face=FaceUpdate.of_weights(FaceSet.ARKIT52, [0.0] * 52)))
    changed = bytes(State(face=FaceUpdate.of_changes(FaceSet.ARKIT52, {0: 1.0})))
    meta = bytes(State(face=FaceUpdate.of_weights(FaceSet.META70, [0.0] * 70)))
    assert [full[0] & 0b111, changed[0] & 0b111, meta[0] & 0b111] == [0b010, 0b100, 0b110]
    assert wire_timestamp(2**32 + 5) == 5


def test_budgeted_sizes() -> None:
    pose = head_pose()
    face = FaceUpdate.of_weights(FaceSet.ARKIT52, np.linspace(0, 1, 52))
    left = hand_pose(HandSide.LEFT, Pose.at(-0.2, 1.2, -0.3), curl=0.5)
    right = hand_pose(HandSide.RIGHT, Pose.at(0.2, 1.2, -0.3), curl=0.2)
    assert len(bytes(State(pose=pose, face=face))) == 72
    assert len(bytes(State(pose=pose))) == 20 <= 24
    assert len(bytes(State(pose=pose, left_hand=left, right_hand=right))) == 195 <= 200
    # A changed-only face costs its mask and one byte per changed weight.
    jaw = FaceUpdate.of_changes(FaceSet.ARKIT52, {17: 0.5})
    assert len(bytes(State(pose=pose, face=jaw))) == 20 + 7 + 1


@settings(max_examples=300, deadline=None)
@given(poses)
def test_pose_within_budget_anywhere_within_32_m(pose: Pose) -> None:
    decoded = State.parse(bytes(State(pose=pose))).pose
    assert decoded is not None
    assert (decoded.position - pose.position).length() <= 1 * MM
    assert max(abs(c) for c in (decoded.position - pose.position).as_tuple()) <= 0.5 * MM + 1e-12
    assert math.degrees(decoded.orientation.angle_to(pose.orientation)) <= 0.1


def test_worst_orientation_error_over_many_rotations() -> None:
    rng = np.random.default_rng(11)
    worst = 0.0
    for q in rng.normal(size=(20000, 4)):
        original = Quat(*q).normalized()
        decoded = State.parse(bytes(State(pose=Pose(orientation=original)))).pose
        assert decoded is not None
        worst = max(worst, decoded.orientation.angle_to(original))
    assert math.degrees(worst) <= 0.07  # the figure PROTOCOL.md states


def test_identity_and_axis_turns_are_exact() -> None:
    for q in (Quat(), Quat.from_yaw_degrees(90), Quat.from_yaw_degrees(180), Quat(1.0, 0.0, 0.0, 0.0)):
        decoded = State.parse(bytes(State(pose=Pose(orientation=q)))).pose
        assert decoded is not None and decoded.orientation.angle_to(q) < 1e-6


@pytest.mark.parametrize("x", [32.768, -32.768, 40.0, 1e9])
def test_positions_beyond_the_range_refuse_to_encode(x: float) -> None:
    with pytest.raises(WireError, match=r"32\.767"):
        bytes(State(pose=Pose.at(x, 0, 0)))
    bytes(State(pose=Pose.at(math.copysign(32.767, x), 0, 0)))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(list(FaceSet)), st.data())
def test_face_weights_within_one_level(face_set: FaceSet, data: st.DataObject) -> None:
    weights = np.array(data.draw(st.lists(st.floats(0, 1), min_size=face_set.count, max_size=face_set.count)))
    decoded = State.parse(bytes(State(face=FaceUpdate.of_weights(face_set, weights)))).face
    assert decoded is not None and decoded.face_set is face_set
    got = np.array([decoded.weights()[i] for i in range(face_set.count)])
    assert np.abs(got - weights).max() <= 1 / 255


@settings(max_examples=150, deadline=None)
@given(hands(HandSide.LEFT), hands(HandSide.RIGHT))
def test_hands_within_budget(left: HandPose, right: HandPose) -> None:
    decoded = State.parse(bytes(State(left_hand=left, right_hand=right)))
    for sent, got in ((left, decoded.left_hand), (right, decoded.right_hand)):
        assert got is not None and got.side is sent.side
        # Closed loop: every joint, even a finger tip five joints from the wrist, within 0.5 mm per axis.
        assert np.abs(got.positions - sent.positions).max() <= 0.5 * MM + 1e-9
        wrist = HandJoint.WRIST
        assert math.degrees(qangle(got.orientations[wrist], sent.orientations[wrist])) <= 0.1
        # Other joints are rebuilt from the bones. Each end of a bone may be off by half a millimetre per
        # axis, so on the shortest bones (~13 mm) the bone direction can turn by up to
        # 2 * atan(sqrt(3) * 0.5 mm / 13 mm) = 7.6 degrees (PROTOCOL.md states both losses).
        best = orientations_from_positions(sent.side, sent.positions, sent.orientations[wrist])
        assert math.degrees(qangle(got.orientations, best).max()) <= 7.6
        np.testing.assert_allclose(got.radii, sent.radii, rtol=0.01)


@settings(max_examples=60, deadline=None)
@given(hands(HandSide.LEFT), hands(HandSide.RIGHT))
def test_decoded_hands_equal_hands_rebuilt_from_the_decoded_joints(left: HandPose, right: HandPose) -> None:
    data = bytes(State(left_hand=left, right_hand=right))
    decoded = State.parse(data)
    for got, offset in (
        (decoded.left_hand, len(data) - 2 * HAND_BLOCK_SIZE),
        (decoded.right_hand, len(data) - HAND_BLOCK_SIZE),
    ):
        assert got is not None
        block, _ = decode_hand_block(got.side, data, offset)
        positions = block.joints_mm / 1000.0
        wrist_q = np.array(block.wrist_orientation.as_tuple())
        eager = HandPose(got.side, positions, orientations_from_positions(got.side, positions, wrist_q),
                         CANONICAL_RADII * block.radius_level / 100.0)  # fmt: skip
        # The same joints up to float rounding (one matrix product against the block's own sum).
        np.testing.assert_allclose(got.positions, eager.positions, rtol=0, atol=1e-12)
        np.testing.assert_allclose(got.orientations, eager.orientations, rtol=0, atol=1e-9)
        np.testing.assert_allclose(got.radii, eager.radii, rtol=0, atol=1e-12)
        assert repr(got) == repr(eager)


def test_a_received_hand_rebuilds_its_orientations_once_and_only_when_read(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import emulator.model.hands as model_hands

    calls = []
    rebuild = model_hands.orientations_from_positions

    def counted(*args):  # type: ignore[no-untyped-def]
        calls.append(args[0])
        return rebuild(*args)

    monkeypatch.setattr(model_hands, "orientations_from_positions", counted)
    sent = State(seq=3, left_hand=hand_pose(HandSide.LEFT, curl=0.4), right_hand=hand_pose(HandSide.RIGHT))
    got = State.parse(bytes(sent))
    assert got.left_hand is not None and got.right_hand is not None
    assert bytes(got) == bytes(sent) and to_json(got) == to_json(sent)  # re-sending, the states log
    assert calls == []
    first = got.right_hand.orientations
    assert got.right_hand.orientations is first and calls == [HandSide.RIGHT]


def test_a_hand_joint_out_of_reach_is_refused_by_name() -> None:
    h = hand_pose(HandSide.RIGHT)
    moved = h.positions.copy()
    moved[HandJoint.RING_TIP] += [0.0, 0.2, 0.0]
    with pytest.raises(WireError, match="RING_TIP"):
        bytes(State(right_hand=HandPose(HandSide.RIGHT, moved, h.orientations)))
    with pytest.raises(WireError, match="right_hand"):
        State(right_hand=hand_pose(HandSide.LEFT))


def test_every_sample_round_trips_through_parse_message() -> None:
    for name, message in samples().items():
        data = bytes(message)
        decoded = parse_message(data)
        assert type(decoded) is type(message), name
        assert bytes(decoded) == data, name
        assert peek_header(data).type is message.TYPE


def test_visemes_hello_ping_pong_read_back_equal() -> None:
    entries = (
        VisemeEntry(Viseme.sil, 1.0),
        VisemeEntry(Viseme.aa, 0.5, 120),
        VisemeEntry(Viseme.U, 0.0, 65535),
    )
    for message in (
        Visemes(seq=3, timestamp=10, entries=entries),
        Hello(display_name="Zoë", profile="quest3s", avatar="avatars/zoe.glb", face_set=FaceSet.META70),
        Ping(seq=1, timestamp=2),
        Pong(seq=2, timestamp=3, ping_seq=1, ping_timestamp=2, receive_timestamp=99),
    ):
        assert parse_message(bytes(message)) == message
    assert Visemes.parse(bytes(Visemes(entries=entries))).entries[1].weight == 128 / 255


def test_stamp_sender_rewrites_only_the_sender() -> None:
    data = bytes(samples()["state_pose_face"])
    stamped = stamp_sender(data, 0xBEEF)
    assert stamped[3:5] == b"\xbe\xef"
    assert stamped[:3] == data[:3] and stamped[5:] == data[5:]
    assert parse_message(stamped).sender == 0xBEEF
    assert stamp_sender(bytearray(data), 1)[3:5] == b"\x00\x01"
    with pytest.raises(WireError, match="sender"):
        stamp_sender(data, 65536)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "truncated"),
        (b"\x41\x00\x01", "truncated"),
        (b"\x41" + bytes(1300), "oversized"),
        (b"\x81" + bytes(19), "unknown version 2"),
        (b"\x01" + bytes(19), "unknown version 0"),
        (b"\x68" + bytes(8), "unknown message type 5"),
        (b"\x78" + bytes(8), "unknown message type 7"),
        (b"\x59" + bytes(8), "reserved flag"),
    ],
)
def test_bad_headers_name_their_fault(data: bytes, reason: str) -> None:
    for check in (parse_message, peek_header, lambda d: stamp_sender(d, 1)):
        with pytest.raises(WireError, match=reason):
            check(data)


def _corrupt(name: str, at: int, value: int) -> bytes:
    data = bytearray(bytes(samples()[name]))
    data[at] = value
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bytes(samples()["ping"]) + b"\x00", "trailing garbage"),
        (bytes(samples()["pong"])[:-1], "truncated"),
        (bytes(samples()["state_pose_hands"]) + b"\x00", "trailing garbage"),
        (bytes(samples()["state_pose"]) + b"\x00", "hand mask"),
        (bytes(samples()["state_pose"]) + b"\x04", "hand mask"),
        (bytes(samples()["state_pose"]) + b"\x01" + bytes(10), "truncated"),
        (bytes(samples()["visemes"])[:-2], "truncated"),
        (bytes(samples()["visemes"]) + b"\x00", "trailing garbage"),
        (_corrupt("visemes", 10, 15), "unknown viseme id 15"),
        (_corrupt("state_pose", 9, 0x80)[:10] + b"\x00" + bytes(9), "reserved value -32768"),
        (_corrupt("state_pose", 19, 0x01), "reserved bits"),
        (bytes(samples()["state_pose"])[:15] + b"\x3f\xff\xff\xff\xfc", "level 4095"),
        (
            bytes(samples()["state_pose"])[:15] + ((4094 << 26 | 4094 << 14 | 4094 << 2).to_bytes(5, "big")),
            "longer",
        ),
        (_corrupt("state_meta_full", 20, 2), "unknown face set id 2"),
        (_corrupt("state_meta_full", 21, 7), "extended face kind"),
        (_corrupt("state_pose_face_changed", 20, 0xF0), "beyond the 52"),
        (bytes(samples()["state_pose_face"])[:-1], "truncated"),
        (_corrupt("hello", 9, 200), "truncated"),
        (_corrupt("hello", 10, 0xFF), "not UTF-8"),
        (bytes(samples()["hello"])[:-7] + b"\x06arkit9", "unknown face set"),
    ],
)
def test_bad_payloads_name_their_fault(data: bytes, reason: str) -> None:
    with pytest.raises(WireError, match=reason):
        parse_message(data)


def test_hand_block_refusals() -> None:
    data = bytearray(bytes(samples()["state_right_hand"]))
    assert data[9] == 0b10
    data[-1] = 0x80
    with pytest.raises(WireError, match="-128"):
        parse_message(bytes(data))


def test_typed_parse_refuses_another_type() -> None:
    with pytest.raises(WireError, match="expected a STATE message, got PING"):
        State.parse(bytes(Ping()))


@pytest.mark.parametrize(
    "build",
    [
        lambda: Ping(seq=65536),
        lambda: Ping(timestamp=-1),
        lambda: Ping(sender=True),
        lambda: Hello(display_name="x" * 65),
        lambda: Hello(display_name="bell\x07"),
        lambda: Hello(profile="Vision Pro"),
        lambda: Hello(avatar="é" * 200),
        lambda: VisemeEntry(Viseme.aa, 1.5),
        lambda: VisemeEntry(Viseme.aa, float("nan")),
        lambda: VisemeEntry(3, 0.5),  # type: ignore[arg-type]
        lambda: Visemes(entries=(VisemeEntry(Viseme.aa, 0.1),) * 256),
        lambda: FaceUpdate(FaceSet.ARKIT52, (0,) * 51),
        lambda: FaceUpdate(FaceSet.ARKIT52, (None,) * 52, True),
        lambda: FaceUpdate(FaceSet.ARKIT52, (256,) * 52),
        lambda: FaceUpdate.of_weights(FaceSet.ARKIT52, [float("nan")] * 52),
        lambda: State(pose=(0, 0, 0)),  # type: ignore[arg-type]
    ],
)
def test_unencodable_values_raise_wire_error(build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(WireError):
        build()


def test_pose_decodes_with_the_header_timestamp() -> None:
    pose = Pose(Vec3(1, 2, 3), Quat(), timestamp_us=5)
    decoded = State.parse(bytes(State(timestamp=77, pose=pose))).pose
    assert decoded is not None and decoded.timestamp_us == 77


def test_pong_answers_a_ping() -> None:
    ping = Ping(seq=41, timestamp=1000)
    pong = Pong.answer(ping, received_at=5000, sent_at=5100, seq=7)
    decoded = Pong.parse(bytes(pong))
    assert (decoded.ping_seq, decoded.ping_timestamp, decoded.receive_timestamp, decoded.timestamp) == (
        41, 1000, 5000, 5100
    )  # fmt: skip
    assert struct.unpack("!HII", bytes(pong)[9:]) == (41, 1000, 5000)
    assert MessageType(peek_header(bytes(pong)).type) is MessageType.PONG
    assert pong.to is None and pong_recipient(bytes(pong)) is None  # the PING had no sender number


def test_a_pong_is_addressed_to_the_pings_sender() -> None:
    stamped_ping = Ping(seq=41, sender=12, timestamp=1000)
    pong = Pong.answer(stamped_ping, received_at=5000, sent_at=5100)
    data = bytes(pong)
    assert len(data) == 21 and struct.unpack("!HIIH", data[9:]) == (41, 1000, 5000, 12)
    assert Pong.parse(data).to == 12 and pong_recipient(data) == 12
    assert pong_recipient(bytes(State(seq=1))) is None and pong_recipient(data[:-1]) is None
    with pytest.raises(WireError, match="participant number"):
        Pong.parse(data[:-2] + bytes(2))  # addressed to number 0, which no participant has
    with pytest.raises(WireError, match="trailing garbage"):
        Pong.parse(data + b"\x00")
