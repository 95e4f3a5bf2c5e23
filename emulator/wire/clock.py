"""Round trip and clock offset from one PING/PONG exchange, NTP-style, on 32-bit microsecond clocks.

    t1  PING sent, requester's clock (the PING's header timestamp, echoed in the PONG)
    t2  PING received, responder's clock (carried in the PONG)
    t3  PONG sent, responder's clock (the PONG's header timestamp)
    t4  PONG received, requester's clock

round trip = (t4 - t1) - (t3 - t2); offset = ((t2 - t1) + (t3 - t4)) / 2, the responder's clock minus
the requester's (so a responder timestamp T happened at about T - offset on the requester's clock).
Differences are taken mod 2^32 as signed values, so a clock that wrapped between the stamps is fine;
offsets beyond ±35 minutes are ambiguous and come out wrapped.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.wire.errors import WireError
from emulator.wire.header import check_u32

_HALF = 1 << 31
_MOD = 1 << 32


def wrapped_difference(a: int, b: int) -> int:
    """a - b for u32 clock values, as a signed number in [-2^31, 2^31)."""
    return ((a - b + _HALF) % _MOD) - _HALF


@dataclass(frozen=True, slots=True)
class ClockSample:
    round_trip_us: int
    offset_us: int


def clock_offset(t1: int, t2: int, t3: int, t4: int) -> ClockSample:
    """The round trip (µs) and the responder's clock offset (µs) from one exchange."""
    for name, t in (("t1", t1), ("t2", t2), ("t3", t3), ("t4", t4)):
        check_u32(t, name)
    elapsed = wrapped_difference(t4, t1)
    held = wrapped_difference(t3, t2)
    round_trip = elapsed - held
    if elapsed < 0 or held < 0 or round_trip < 0:
        raise WireError(f"inconsistent PING/PONG times: waited {elapsed} µs, responder held it {held} µs")
    offset = (wrapped_difference(t2, t1) + wrapped_difference(t3, t4)) // 2
    return ClockSample(round_trip, offset)
