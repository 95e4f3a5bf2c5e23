"""`light.count_batch_states` counts exactly as walking the BATCH with `wire.batch_entries` and calling
`RemoteStats.count_state` per STATE does (the path it replaces): same counters, same latency samples,
same other messages handed back in the same places, the same error at the same point."""

from __future__ import annotations

import struct
from dataclasses import astuple
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.headset.report import RATE_SETTLE_S, RemoteStats
from emulator.headset.stream.light import STATE_FIRST_BYTE, STATE_TYPE_MASK, count_batch_states
from emulator.wire import BatchPacker, Ping, State, WireError, batch_entries, wrapped_difference
from tests.support.stream_room import POSE

KNOWN = (2, 3, 4)


def reference(
    data: bytes,
    remotes: dict[int, RemoteStats],
    offsets: dict[int, tuple[float, float]],
    received_us: int,
    now: float,
    seen: list[Any],
) -> None:
    for first, seq, sender, timestamp, start, end in batch_entries(data):
        if first & STATE_TYPE_MASK != STATE_FIRST_BYTE:
            seen.append(("other", start, end))
            continue
        stats = remotes.get(sender)
        if stats is None:
            seen.append("unknown")
            continue
        offset = offsets.get(sender)
        latency = None if offset is None else (wrapped_difference(received_us, timestamp) + offset[0]) / 1000
        stats.count_state(seq, now, latency)


def fresh() -> dict[int, RemoteStats]:
    return {n: RemoteStats(id=f"p{n}", name=f"p{n}", number=n, profile="visionpro") for n in KNOWN}


def snapshot(remotes: dict[int, RemoteStats]) -> list[Any]:
    out = []
    for stats in remotes.values():
        fields = astuple(stats)
        out.append((fields, list(stats.state_latency.values_ms), stats.state_latency.settled_from))
    return out


message = st.one_of(
    st.tuples(
        st.just("state"),
        st.sampled_from((*KNOWN, 9)),  # 9 is nobody we know
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.booleans(),  # with a pose or without
    ),
    st.tuples(st.just("ping"), st.sampled_from(KNOWN), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF)),
)


def encode(item: tuple[Any, ...]) -> bytes:
    if item[0] == "state":
        _, sender, seq, timestamp, posed = item
        return bytes(State(seq=seq, sender=sender, timestamp=timestamp, pose=POSE if posed else None))
    _, sender, seq, timestamp = item
    return bytes(Ping(seq=seq, sender=sender, timestamp=timestamp))


@settings(max_examples=300, deadline=None)
@given(
    batches=st.lists(
        st.tuples(
            st.lists(message, min_size=2, max_size=12),
            st.floats(0.0, 2 * RATE_SETTLE_S),  # time since the previous batch
            st.integers(0, 0xFFFFFFFF),  # received_us
            st.integers(0, 3),  # cut this many bytes off the end (a malformed length)
        ),
        min_size=1,
        max_size=8,
    ),
    offsets=st.dictionaries(st.sampled_from(KNOWN), st.integers(-(10**9), 10**9), max_size=3),
    runs=st.booleans(),  # consecutive sequence numbers per sender instead of random ones
)
def test_it_counts_as_batch_entries_and_count_state_do(
    batches: list[tuple[list[Any], float, int, int]], offsets: dict[int, int], runs: bool
) -> None:
    clocks = {n: (float(o), 100.0) for n, o in offsets.items()}
    ours, theirs = fresh(), fresh()
    now = 10.0
    next_seq: dict[int, int] = {}
    for items, step, received_us, cut in batches:
        now += step
        if runs:
            items = [(*item[:2], next_seq.setdefault(item[1], item[2]), *item[3:]) for item in items]
            for item in items:
                next_seq[item[1]] = (next_seq[item[1]] + 1) & 0xFFFF
        (data,) = BatchPacker().pack([encode(item) for item in items], timestamp=0)
        data = data[: len(data) - cut]
        seen_ours: list[Any] = []
        seen_theirs: list[Any] = []
        outcome: list[str | None] = []
        for run, remotes, seen in ((_ours, ours, seen_ours), (reference, theirs, seen_theirs)):
            try:
                run(data, remotes, clocks, received_us, now, seen)
                outcome.append(None)
            except WireError as error:
                outcome.append(str(error))
        assert outcome[0] == outcome[1]
        assert seen_ours == seen_theirs
        assert snapshot(ours) == snapshot(theirs)


def _ours(
    data: bytes,
    remotes: dict[int, RemoteStats],
    offsets: dict[int, tuple[float, float]],
    received_us: int,
    now: float,
    seen: list[Any],
) -> None:
    count_batch_states(
        data,
        remotes,
        offsets,
        received_us,
        now,
        lambda start, end: seen.append(("other", start, end)),
        lambda: seen.append("unknown"),
    )


def test_a_pong_before_a_state_in_the_same_batch_gives_that_state_its_latency() -> None:
    """Other messages are handled in their place: an offset one of them sets counts for what follows."""
    remotes = fresh()
    offsets: dict[int, tuple[float, float]] = {}
    ping = bytes(Ping(seq=1, sender=3, timestamp=0))
    first = bytes(State(seq=1, sender=3, timestamp=1_000, pose=POSE))
    second = bytes(State(seq=2, sender=3, timestamp=1_000, pose=POSE))
    (data,) = BatchPacker().pack([first, ping, second], timestamp=0)

    def on_other(start: int, end: int) -> None:
        assert data[start:end] == ping
        offsets[3] = (500.0, 100.0)

    count_batch_states(data, remotes, offsets, 4_000, 1.0, on_other, lambda: None)
    assert remotes[3].states_received == 2
    assert list(remotes[3].state_latency.values_ms) == [pytest.approx(3.5)]


def test_entries_before_a_bad_length_are_counted() -> None:
    remotes = fresh()
    (data,) = BatchPacker().pack([bytes(State(seq=n, sender=2, timestamp=0)) for n in (1, 2)], timestamp=0)
    broken = data + struct.pack("!H", 400) + data[11:20]
    with pytest.raises(WireError, match="does not fit"):
        count_batch_states(broken, remotes, {}, 0, 1.0, lambda s, e: None, lambda: None)
    assert remotes[2].states_received == 2
