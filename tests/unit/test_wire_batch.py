import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.model.pose import Pose
from emulator.wire import Batch, BatchPacker, Ping, State, WireError, is_batch, parse_message, split_batch
from emulator.wire.header import MAX_MESSAGE_SIZE


def state(seq: int, sender: int = 7) -> bytes:
    return bytes(State(seq=seq, sender=sender, timestamp=seq * 11_111, pose=Pose.at(seq * 0.01, 1.6, 0)))


def test_packer_round_trips_and_keeps_order() -> None:
    messages = [state(i) for i in range(60)] + [bytes(Ping(seq=99, sender=3, timestamp=5))]
    datagrams = BatchPacker().pack(messages, timestamp=123)
    assert len(datagrams) > 1  # 61 messages do not fit one datagram
    assert all(len(d) <= MAX_MESSAGE_SIZE for d in datagrams)
    unpacked = [m for d in datagrams for m in (split_batch(d) if is_batch(d) else [d])]
    assert unpacked == messages
    assert [parse_message(m).seq for m in unpacked] == [*range(60), 99]


def test_a_lone_message_is_not_wrapped() -> None:
    only = state(1)
    assert BatchPacker().pack([only], timestamp=0) == [only]


def test_batch_object_round_trip_and_refusals() -> None:
    batch = Batch(seq=5, timestamp=77, messages=(state(1), state(2)))
    assert Batch.parse(bytes(batch)) == batch
    with pytest.raises(WireError):
        bytes(Batch(seq=1, timestamp=0, messages=(bytes(batch),)))  # no nesting
    with pytest.raises(WireError):
        parse_message(bytes(batch))  # a container, not a message
    data = bytearray(bytes(batch))
    data[3] = 1  # a sender other than the room
    with pytest.raises(WireError):
        Batch.parse(bytes(data))


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=300))
def test_split_batch_raises_only_wire_errors(tail: bytes) -> None:
    data = bytes(Batch(seq=1, timestamp=0, messages=(state(1),)))[:9] + tail
    with contextlib.suppress(WireError):
        for message in split_batch(data):
            parse_message(message)


def test_a_janus_feed_batch_comes_apart_and_is_stamped_with_the_feeds_number() -> None:
    from emulator.net.signaling.janus import stamp

    inner = [bytes(State(seq=n, sender=0, timestamp=n, pose=None)) for n in (1, 2)]
    (packed,) = BatchPacker().pack(inner, timestamp=0)
    stamped = stamp(packed, 12)
    assert [parse_message(m).seq for m in stamped] == [1, 2]
    assert all(parse_message(m).sender == 12 for m in stamped)
    assert stamp(packed[:-1], 12) == [] and stamp(b"\xff", 12) == []
