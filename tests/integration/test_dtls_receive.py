"""DTLS datagrams handled where they are read (emulator/net/transport/dtls_receive.py), between two
real aiortc peers on loopback: everything arrives, in order, through the direct path once the handshake
is over; a handling that has to wait holds the datagrams behind it; the peer's shutdown still closes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from emulator.net.transport import dtls_receive, eager, patches, sctp
from tests.support.peers import loopback_pair, negotiate, wait_connected, wait_for


def _connection(pc: RTCPeerConnection) -> Any:
    assert pc.sctp is not None
    return patches.ice_connection_of(pc.sctp.transport.transport)


async def _channels(a: RTCPeerConnection, b: RTCPeerConnection, **options: Any) -> tuple[Any, list[bytes]]:
    """A channel from a to b, open; what b receives on it."""
    channel = a.createDataChannel("test", **options)
    received: list[bytes] = []

    @b.on("datachannel")
    def on_channel(remote: Any) -> None:
        remote.on("message", received.append)

    opened = asyncio.Event()
    channel.on("open", opened.set)
    await negotiate(a, b)
    await wait_connected(a, b)
    await asyncio.wait_for(opened.wait(), 10)
    return channel, received


async def test_after_the_handshake_datagrams_skip_the_queue_and_arrive_in_order() -> None:
    dtls_receive.receive_directly()
    sctp.send_eagerly()
    async with loopback_pair() as (a, b):
        channel, received = await _channels(a, b)
        for k in range(200):
            channel.send(k.to_bytes(2, "big"))
            if k % 20 == 0:
                await asyncio.sleep(0.002)
        await wait_for(lambda: len(received) == 200, "all 200 messages")
        assert [int.from_bytes(m, "big") for m in received] == list(range(200))
        assert dtls_receive.handled_directly(_connection(b)) >= 200  # and the SACKs came back so too
        assert dtls_receive.handled_directly(_connection(a)) > 0


async def test_a_handling_that_waits_holds_the_datagrams_behind_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """b's sends (its SACKs) wait 20 ms each, so handling a's datagrams waits too; a's later datagrams
    queue behind and are handled in order (a reliable ordered channel would fail on a reorder)."""
    dtls_receive.receive_directly()
    carried_on: list[Any] = []
    start = eager.start

    def counting(coro: Any, what: str) -> Any:
        task = start(coro, what)
        if task is not None and what.startswith("receiving"):
            carried_on.append(task)
        return task

    monkeypatch.setattr(eager, "start", counting)
    async with loopback_pair() as (a, b):
        channel, received = await _channels(a, b)
        ice = b.sctp.transport.transport  # type: ignore[union-attr]
        send = patches.ice_send(ice)

        async def slow(data: bytes) -> None:
            await asyncio.sleep(0.02)
            await send(data)

        slowed: Callable[[bytes], Awaitable[None]] = slow
        patches.set_ice_send(ice, slowed)
        for k in range(60):
            channel.send(k.to_bytes(2, "big"))
        await wait_for(lambda: len(received) == 60, "all 60 messages", timeout=20)
        assert [int.from_bytes(m, "big") for m in received] == list(range(60))
        assert carried_on  # some handlings did wait


async def test_the_peer_shutting_dtls_down_closes_our_transport() -> None:
    dtls_receive.receive_directly()
    async with loopback_pair() as (a, b):
        await _channels(a, b)
        assert b.sctp is not None
        dtls = b.sctp.transport
        await wait_for(lambda: dtls_receive.handled_directly(_connection(b)) > 0, "a direct datagram")
        await a.close()
        await wait_for(lambda: dtls.state == "closed", "b's DTLS transport to close")
