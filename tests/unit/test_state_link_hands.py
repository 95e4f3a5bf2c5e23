"""Hands in the headset's state stream: what goes out, at what rate, and what `--record-dir` keeps."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path

import numpy as np
import pytest

from emulator.drive.hands import Hands, hands_from_spec
from emulator.headset.recording.states_log import StatesLog
from emulator.headset.state_link import StateLink
from emulator.headset.stream import StateReceived, VisemesReceived
from emulator.model.face import Face
from emulator.model.hands import HandJoint, HandSide, hand_pose
from emulator.model.meta_face import arkit_to_meta
from emulator.model.pose import Pose, Vec3
from emulator.model.visemes import Viseme
from emulator.wire import (
    FaceEncoder,
    FaceSet,
    State,
    VisemeEntry,
    Visemes,
    is_batch,
    parse_message,
    split_batch,
)
from emulator.wire.signaling import ParticipantInfo
from tests.unit.test_state_link import headset_of, make_link

HEAD = Pose(Vec3(0.0, 1.6, 0.0))


def sent_states(datagrams: list[bytes]) -> list[State]:
    out = []
    for datagram in datagrams:
        for data in split_batch(datagram) if is_batch(datagram) else [datagram]:
            message = parse_message(data)
            if isinstance(message, State):
                out.append(message)
    return out


def record_into(link: StateLink, directory: Path) -> StatesLog:
    """`--record-dir`'s states log, subscribed as the headset subscribes it."""
    states_log = StatesLog(directory)
    link.subscribe(StateReceived, states_log.on_state)
    link.subscribe(VisemesReceived, states_log.on_visemes)
    return states_log


def test_a_state_carries_the_hands_within_half_a_millimetre() -> None:
    link, session = make_link(states_per_packet=1)
    hands = hands_from_spec("wave").sample(0.3, HEAD)
    link.send_state(HEAD, None, hands)
    link.send_state(HEAD, None)  # between hand samples: a pose alone
    first, second = sent_states(session.sent)
    assert first.left_hand is not None and first.right_hand is not None
    for got, want in ((first.left_hand, hands.left), (first.right_hand, hands.right)):
        assert want is not None
        assert np.abs(got.positions - want.positions).max() <= 0.0005 + 1e-9
    assert second.left_hand is None and second.right_hand is None
    assert link.core.uplink.hands_sent == 1 and link.uplink_report()["hands_sent"] == 1


def test_a_hand_the_wire_cannot_carry_is_dropped_and_counted_not_the_pose() -> None:
    link, session = make_link(states_per_packet=1)
    far = hand_pose(HandSide.RIGHT, Pose(Vec3(40.0, 1.0, 0.0)))  # beyond the wire's ±32.767 m
    link.send_state(HEAD, None, Hands(None, far))
    (state,) = sent_states(session.sent)
    assert state.pose is not None and state.right_hand is None
    up = link.core.uplink
    assert (up.hands_dropped, up.hands_sent, up.states_sent) == (1, 0, 1)


async def test_hands_go_out_no_faster_than_the_profiles_hand_rate() -> None:
    link, session = make_link(states_per_packet=2)
    profile = headset_of(link).profile
    rate = profile.hand_rate_hz
    assert rate < profile.pose_rate_hz
    started = time.monotonic()
    sending = asyncio.create_task(link.run())
    try:
        while link.states_sent < 40:
            await asyncio.sleep(0.01)
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
    elapsed = time.monotonic() - started
    states = sent_states(session.sent)
    with_hands = [s for s in states if s.right_hand is not None]
    assert with_hands, "the default (relaxed) hands were never sent"
    assert all(s.left_hand is not None for s in with_hands)
    assert len(with_hands) <= elapsed * rate + 1
    assert len(with_hands) < len(states)


def test_the_states_log_keeps_face_hands_and_visemes(tmp_path: Path) -> None:
    link, _ = make_link()
    states_log = record_into(link, tmp_path)
    link.remote_joined(ParticipantInfo(id="alice", number=3, name="alice", profile="visionpro"))
    hands = hands_from_spec("pinch").sample(1.0, HEAD)
    face = FaceEncoder(FaceSet.ARKIT52).update(Face.from_mapping({"jawOpen": 0.5, "eyeBlinkLeft": 1.0}))
    link.on_message(bytes(State(seq=1, sender=3, timestamp=100, pose=HEAD, face=face,
                                left_hand=hands.left, right_hand=hands.right)))  # fmt: skip
    link.on_message(bytes(Visemes(seq=2, sender=3, timestamp=200, entries=(VisemeEntry(Viseme.aa, 0.8, 0),))))
    link.on_message(bytes(State(seq=3, sender=3, timestamp=300, pose=None, left_hand=hands.left)))
    states_log.close()
    state, visemes, left_only = [json.loads(line) for line in (tmp_path / "alice.states.jsonl").open()]
    assert (state["type"], state["seq"], state["sender_us"]) == ("state", 1, 100)
    assert state["p"] == [0.0, 1.6, 0.0] and state["q"] == [0.0, 0.0, 0.0, 1.0]
    assert state["face"]["set"] == "arkit52"
    assert state["face"]["w"]["jawOpen"] == pytest.approx(0.5, abs=0.005)
    assert state["face"]["w"]["eyeBlinkLeft"] == 1.0
    right = np.array(state["hands"]["right"]["joints"])
    assert right.shape == (26, 3)
    assert np.abs(right - hands.right.positions).max() <= 0.0005 + 1e-9  # type: ignore[union-attr]
    gap = np.linalg.norm(right[HandJoint.THUMB_TIP] - right[HandJoint.INDEX_TIP])
    assert gap < 0.015, "the log shows the pinch closed"
    assert (visemes["type"], visemes["seq"], visemes["sender_us"]) == ("visemes", 2, 200)
    ((entry),) = visemes["visemes"]
    assert entry["viseme"] == "aa" and entry["weight"] == pytest.approx(0.8, abs=0.01)
    assert "p" not in left_only and set(left_only["hands"]) == {"left"}
    assert link.core.room_state.get(3).hands["left"] is not None  # type: ignore[union-attr]


def test_a_quest_face_is_also_logged_by_arkit_name(tmp_path: Path) -> None:
    link, _ = make_link()
    states_log = record_into(link, tmp_path)
    link.remote_joined(
        ParticipantInfo(id="quinn", number=5, name="quinn", profile="quest3", face_set="meta70")
    )
    meta = arkit_to_meta(Face.from_mapping({"jawOpen": 0.6}))
    face = FaceEncoder(FaceSet.META70).update(meta)
    link.on_message(bytes(State(seq=1, sender=5, timestamp=100, pose=HEAD, face=face)))
    states_log.close()
    (entry,) = [json.loads(line) for line in (tmp_path / "quinn.states.jsonl").open()]
    assert entry["face"]["set"] == "meta70" and "JAW_DROP" in entry["face"]["w"]
    assert entry["arkit"]["jawOpen"] == pytest.approx(0.6, abs=0.01)


def test_hands_a_sender_stops_sending_are_dropped_after_the_expiry_not_before() -> None:
    link, _ = make_link()
    clock = [100.0]
    link.clock = lambda: clock[0]
    link.remote_joined(ParticipantInfo(id="alice", number=3, name="alice", profile="visionpro"))
    alice = link.core.room_state.get(3)
    assert alice is not None
    expiry = link.core.hands_expiry_s
    assert expiry == pytest.approx(15 / headset_of(link).profile.hand_rate_hz)
    hands = hands_from_spec("wave").sample(0.3, HEAD)
    seq = iter(range(1, 100))

    def receive(at: float, left: bool, right: bool) -> None:
        clock[0] = at
        link.on_message(bytes(State(seq=next(seq), sender=3, timestamp=1, pose=HEAD,
                                    left_hand=hands.left if left else None,
                                    right_hand=hands.right if right else None)))  # fmt: skip

    receive(100.0, True, True)
    receive(100.2, False, True)  # the left hand stops here, the right goes on
    receive(100.0 + expiry - 0.01, False, False)  # STATEs between hand samples: both still held
    assert set(alice.hands) == {"left", "right"}
    receive(100.0 + expiry + 0.01, False, False)
    assert set(alice.hands) == {"right"}, "the left hand expired; the right came 0.2 s later"
    assert link.core.hands_expired == 1
    receive(100.2 + expiry + 0.01, False, False)
    assert alice.hands == {} and link.core.hands_expired == 2
    receive(101.0, True, False)  # hands that come back are shown again
    assert set(alice.hands) == {"left"}
