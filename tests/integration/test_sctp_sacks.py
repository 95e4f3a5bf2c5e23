"""Delayed SACKs (emulator/net/transport/sctp.py) between two real aiortc peers on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from emulator.net.transport import sctp
from tests.support.peers import loopback_pair, negotiate, wait_connected, wait_for


@pytest.fixture
def counted_sacks(monkeypatch: pytest.MonkeyPatch) -> dict[int, int]:
    """SACKs each association actually sent (by id of its transport), through the stock sender."""
    sctp.delay_sacks()
    stock = sctp._STOCK_SEND_SACK
    assert stock is not None
    sent: dict[int, int] = {}

    async def counting(transport: Any) -> None:
        sent[id(transport)] = sent.get(id(transport), 0) + 1
        await stock(transport)

    send: Callable[[Any], Awaitable[None]] = counting
    monkeypatch.setattr(sctp, "_STOCK_SEND_SACK", send)
    return sent


async def test_every_message_arrives_with_a_fraction_of_the_sacks(counted_sacks: dict[int, int]) -> None:
    async with loopback_pair() as (a, b):
        lossy = a.createDataChannel("state", ordered=False, maxRetransmits=0)
        reliable = a.createDataChannel("control")
        arrived: dict[str, list[bytes]] = {"state": [], "control": []}

        @b.on("datachannel")
        def on_channel(channel: Any) -> None:
            channel.on("message", lambda message: arrived[channel.label].append(message))

        await negotiate(a, b)
        await wait_connected(a, b)
        await wait_for(lambda: lossy.readyState == "open" and reliable.readyState == "open", "channels")
        receiver = b.sctp
        before = counted_sacks.get(id(receiver), 0)
        for i in range(300):
            lossy.send(i.to_bytes(4, "big") * 10)
            if i % 10 == 0:
                reliable.send(f"control {i}".encode())
            await asyncio.sleep(0.001)  # one message per SCTP packet, as a headset's poses go
        await wait_for(lambda: len(arrived["state"]) == 300 and len(arrived["control"]) == 30, "messages")
        sender = a.sctp
        await wait_for(lambda: not sender._sent_queue, "the sender's queue to be acknowledged")
        sacks = counted_sacks.get(id(receiver), 0) - before
        assert sorted(arrived["state"]) == sorted(i.to_bytes(4, "big") * 10 for i in range(300))
        assert [m.decode() for m in arrived["control"]] == [f"control {i}" for i in range(0, 300, 10)]
        # One SACK per 4 packets with data, plus the timer's where a busy machine spread the sends
        # out; acknowledging every second packet would take 165, and stock aiortc sent at least 330.
        assert 0 < sacks <= 330 // 3, sacks  # 83 here: 330 / 4


async def _open_channel(a: Any, b: Any, label: str, **options: Any) -> tuple[Any, list[bytes]]:
    """A data channel from `a` to `b`, open, and the list its messages arrive in."""
    channel = a.createDataChannel(label, **options)
    got: list[bytes] = []

    @b.on("datachannel")
    def on_channel(remote: Any) -> None:
        remote.on("message", got.append)

    await negotiate(a, b)
    await wait_connected(a, b)
    await wait_for(lambda: channel.readyState == "open", "the channel")
    return channel, got


async def test_a_lone_message_is_acknowledged_by_the_timer(counted_sacks: dict[int, int]) -> None:
    async with loopback_pair() as (a, b):
        channel, got = await _open_channel(a, b, "state", ordered=False, maxRetransmits=0)
        await asyncio.sleep(0.2)  # let the opening handshake's SACKs settle
        sender, receiver = a.sctp, b.sctp
        before = counted_sacks.get(id(receiver), 0)
        channel.send(b"only one")
        await wait_for(lambda: got == [b"only one"], "the message")
        await wait_for(lambda: not sender._sent_queue, "the lone message to be acknowledged")
        assert counted_sacks.get(id(receiver), 0) - before == 1
        assert sctp._pending(receiver).timer is None


async def test_a_burst_past_the_congestion_window_arrives_whole(counted_sacks: dict[int, int]) -> None:
    """A reliable message of many packets (more than aiortc's first congestion window of 3) still
    arrives whole and in order: the sender's window grows on the SACKs the timer sends."""
    async with loopback_pair() as (a, b):
        channel, got = await _open_channel(a, b, "control")
        messages = [bytes([i]) * 60_000 for i in range(1, 4)]  # 50 packets each
        for message in messages:
            channel.send(message)
        await wait_for(lambda: len(got) == len(messages), "the burst")
        assert got == messages
        assert a.sctp._cwnd > 3 * 1200  # it grew past the first window


def test_aiortc_still_has_what_we_wrap() -> None:
    sctp._check_internals()
    sctp.delay_sacks()
    assert sctp.sacks_are_delayed()


async def test_a_sack_that_waited_past_the_dtls_shutdown_is_dropped_quietly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from OpenSSL import SSL

    sctp.delay_sacks()

    async def shut(_transport: Any) -> None:
        raise SSL.Error([("SSL routines", "", "protocol is shutdown")])

    monkeypatch.setattr(sctp, "_STOCK_SEND_SACK", shut)

    class Closing:
        _sack_needed = True

    transport: Any = Closing()
    await sctp._send_late(transport)  # raised "Task exception was never retrieved" at room shutdown
    assert sctp._pending(transport).task is None
