import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.wire import Ping, Pong, WireError, clock_offset, parse_message, wrapped_difference


def test_ntp_arithmetic() -> None:
    # Responder's clock is 1000 µs ahead; 200 µs each way; it held the ping 50 µs.
    sample = clock_offset(t1=10_000, t2=11_200, t3=11_250, t4=10_450)
    assert (sample.round_trip_us, sample.offset_us) == (400, 1000)


def test_wrapped_clocks() -> None:
    t1 = 2**32 - 100  # the requester's clock wraps during the exchange
    sample = clock_offset(t1, t2=5_000_000, t3=5_000_010, t4=(t1 + 310) % 2**32)
    assert sample.round_trip_us == 300
    assert wrapped_difference(5, 2**32 - 5) == 10


@given(
    st.integers(0, 2**32 - 1),
    st.integers(-(2**30), 2**30),
    st.integers(0, 500_000),
    st.integers(0, 50_000),
)
def test_symmetric_paths_recover_the_offset_exactly(start: int, offset: int, one_way: int, held: int) -> None:
    """Through real PING/PONG bytes, with any clock readings and any wrap-around."""
    mod = 2**32
    t1 = start
    t2 = (start + one_way + offset) % mod
    t3 = (t2 + held) % mod
    ping = parse_message(bytes(Ping(seq=3, timestamp=t1)))
    assert isinstance(ping, Ping)
    pong = parse_message(bytes(Pong.answer(ping, received_at=t2, sent_at=t3)))
    assert isinstance(pong, Pong)
    t4 = (t3 + one_way - offset) % mod
    sample = clock_offset(pong.ping_timestamp, pong.receive_timestamp, pong.timestamp, t4)
    assert sample.round_trip_us == 2 * one_way
    assert sample.offset_us == offset


def test_inconsistent_times_are_refused() -> None:
    with pytest.raises(WireError, match="inconsistent"):
        clock_offset(t1=1000, t2=0, t3=5000, t4=1100)  # held longer than the whole round trip
    with pytest.raises(WireError, match="t4"):
        clock_offset(1, 2, 3, -4)
