"""Light receiving: a swarm member counts the STATEs of a room's BATCH from their headers, in place.

A member of a swarm of 24 receives some 2,000 STATEs a second and only counts them: the sequence (for
losses), the arrival (for the rate) and the latency. Walking the BATCH with `wire.batch_entries` and
calling `RemoteStats.count_state` per STATE spent a tenth of the member's CPU in Python calls, so
this one loop does both, written out. It must count exactly as those two do:
tests/unit/test_light_count.py holds it to them with hypothesis (random batches, losses, reordering,
unknown senders, other messages, malformed lengths).
"""

from __future__ import annotations

from collections.abc import Callable

from emulator.headset.report import RATE_SETTLE_S, RemoteStats
from emulator.wire import WireError
from emulator.wire.batch import ENTRY_AND_HEADER, ENTRY_OVERHEAD
from emulator.wire.header import FLAG_MASKS, HEADER_SIZE, MessageType, first_byte

STATE_FIRST_BYTE = first_byte(MessageType.STATE, 0)
STATE_TYPE_MASK = 0xFF ^ FLAG_MASKS[MessageType.STATE]  # version and type bits, not STATE's flags
_U32_HALF, _U32 = 1 << 31, 1 << 32  # wire.clock.wrapped_difference, written out


def count_batch_states(
    data: bytes,
    remotes: dict[int, RemoteStats],
    offsets_us: dict[int, tuple[float, float]],
    received_us: int,
    now: float,
    on_other: Callable[[int, int], None],
    on_unknown: Callable[[], None],
) -> None:
    """Count every STATE of the BATCH `data` (header already known to be a BATCH's) into its sender's
    `RemoteStats`, as `RemoteStats.count_state` would, with the latency of a sender whose clock offset
    is known. Every other message goes to `on_other(start, end)` in its place (a PONG there may set
    the offset for the STATEs after it), a STATE from an unknown sender to `on_unknown()`. A length
    that runs past the end raises WireError after the entries before it were handled, as
    `wire.batch_entries` does."""
    unpack = ENTRY_AND_HEADER.unpack_from
    entry_and_header = ENTRY_AND_HEADER.size
    get_stats, get_offset = remotes.get, offsets_us.get
    offset, end = HEADER_SIZE, len(data)
    while offset < end:
        if offset + ENTRY_OVERHEAD > end:
            raise WireError("truncated BATCH entry length")
        if offset + entry_and_header > end:
            raise WireError("BATCH entry too short for a message header")
        length, first, seq, sender, timestamp = unpack(data, offset)
        start = offset + ENTRY_OVERHEAD
        offset = start + length
        if length < HEADER_SIZE or offset > end:
            raise WireError(f"BATCH entry of {length} bytes does not fit")
        if first & STATE_TYPE_MASK != STATE_FIRST_BYTE:
            on_other(start, offset)
            continue
        stats = get_stats(sender)
        if stats is None:
            on_unknown()
            continue
        # RemoteStats.count_state, written out.
        last = stats.last_seq
        if last is None:
            stats.last_seq = seq
        else:
            gap = (seq - last) & 0xFFFF
            if gap == 1:
                stats.last_seq = seq
            elif 1 < gap < 0x8000:
                stats.states_lost += gap - 1
                stats.last_seq = seq
            elif gap >= 0x8000 and 0x10000 - gap < 64 and stats.states_lost > 0:
                stats.states_lost -= 1
        stats.states_received += 1
        first_at = stats.first_state_at
        if first_at is None:
            first_at = stats.first_state_at = now
        stats.last_state_at = now
        latency = stats.state_latency
        if now < first_at + RATE_SETTLE_S:
            stats.rate_since, stats.rate_since_count = now, stats.states_received
        elif latency.settled_from is None or stats.round_trip.settled_from is None:
            latency.mark_settled()
            stats.round_trip.mark_settled()
        clock = get_offset(sender)
        if clock is not None:
            # The sender's timestamp on our clock is its timestamp minus (its clock − ours). Both are
            # integers and the offset a finite float, so the sample is finite: LatencySamples.add's
            # check is not needed here.
            values = latency.values_ms
            if len(values) >= latency.limit:
                del values[: latency.limit // 10]
            values.append(((((received_us - timestamp + _U32_HALF) % _U32) - _U32_HALF) + clock[0]) / 1000)
            latency.added += 1
