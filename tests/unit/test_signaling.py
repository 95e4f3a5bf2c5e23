import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.wire.signaling import (
    CloseReason,
    Error,
    Join,
    Joined,
    Left,
    ParticipantInfo,
    RoomMode,
    SignalingError,
    Tracks,
    Welcome,
    parse_signaling,
    to_json,
)

ALICE = ParticipantInfo("alice", 1, "Alice", "visionpro")


@pytest.mark.parametrize(
    "message",
    [
        Join("lobby", "tok", "Alice", "quest3", "fox.glb", "meta70"),
        Welcome(ALICE, RoomMode.FORWARD, [ParticipantInfo("bob", 2, "Bob", "quest3")]),
        Welcome(ALICE, RoomMode.BINAURAL),
        Joined(ALICE),
        Left("alice", 1, CloseReason.TRANSPORT_LOST),
        Tracks({"0": "alice", "1": "bob"}),
        Error("token-expired", "the join token expired 3 s ago"),
    ],
)
def test_round_trip(message: object) -> None:
    assert parse_signaling(to_json(message)) == message  # type: ignore[arg-type]


def test_the_room_mode_and_reasons_travel_as_their_plain_names() -> None:
    text = to_json(Welcome(ALICE, RoomMode.BINAURAL))
    assert json.loads(text)["mode"] == "binaural"
    welcome = parse_signaling(text)
    assert isinstance(welcome, Welcome) and welcome.mode is RoomMode.BINAURAL
    assert json.loads(to_json(Left("a", 1, CloseReason.REPLACED)))["reason"] == "replaced"
    with pytest.raises(SignalingError, match="unknown room mode 'stereo'"):
        parse_signaling(text.replace("binaural", "stereo"))


def test_a_left_without_a_reason_left_on_purpose() -> None:
    left = parse_signaling('{"type": "left", "id": "a", "number": 1}')
    assert isinstance(left, Left) and left.reason is CloseReason.LEFT
    assert json.loads(to_json(left))["reason"] == "left"


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"type": "nope"}',
        '{"type": "join", "room": "r", "token": "t"}',
        '{"type": "join", "room": "r", "token": "t", "name": ""}',
        '{"type": "join", "room": 5, "token": "t", "name": "x"}',
        '{"type": "left", "id": "a", "number": 0}',
        '{"type": "tracks", "mids": {"0": 5}}',
        '{"type": "welcome", "you": {"id": "a"}, "mode": "forward"}',
    ],
)
def test_malformed_messages_raise_the_signaling_error(text: str) -> None:
    with pytest.raises(SignalingError):
        parse_signaling(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=800, deadline=None)
@given(
    st.sampled_from(
        ["join", "welcome", "offer", "answer", "joined", "left", "tracks", "leave", "error", "x"]
    ),
    st.dictionaries(
        st.sampled_from(
            ["room", "token", "name", "you", "participants", "mids", "sdp", "id", "number", "mode"]
        ),
        json_values,
        max_size=6,
    ),
)
def test_parse_never_raises_anything_else(kind: str, body: dict) -> None:
    body["type"] = kind
    with contextlib.suppress(SignalingError):
        parse_signaling(json.dumps(body))


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes(data: bytes) -> None:
    with contextlib.suppress(SignalingError):
        parse_signaling(data)
