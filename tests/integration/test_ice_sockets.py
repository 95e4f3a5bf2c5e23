"""How ICE sockets read (emulator/net/transport/ice_sockets.py): on real sockets, with aioice's own
protocol."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aioice.ice
import aioice.stun

from emulator.net.transport.ice_sockets import (
    DATAGRAM_READ_BYTES,
    DRAIN_LIMIT,
    SOCKET_BUFFER_BYTES,
    tune_ice_sockets,
)
from tests.support.peers import loopback_pair, negotiate, wait_connected


class Receiver:
    """Stands in for aioice's Connection: what the protocol hands on, in order."""

    def __init__(self) -> None:
        self.media: list[bytes] = []
        self.requests: list[aioice.stun.Message] = []

    def data_received(self, data: bytes, component: int) -> None:
        self.media.append(data)

    def request_received(self, message: aioice.stun.Message, addr: Any, protocol: Any) -> None:
        self.requests.append(message)


async def _ice_socket(receiver: Receiver) -> tuple[asyncio.DatagramTransport, tuple[str, int]]:
    tune_ice_sockets()
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: aioice.ice.StunProtocol(receiver),  # type: ignore[arg-type]
        local_addr=("127.0.0.1", 0),
    )
    protocol.local_candidate = SimpleNamespace(component=1)  # type: ignore[assignment]
    await asyncio.sleep(0.01)  # asyncio registers the reader a loop iteration after the endpoint
    return transport, transport.get_extra_info("sockname")


def _record(datagram: int) -> bytes:
    return bytes((23, 0xFE, 0xFD)) + datagram.to_bytes(2, "big") + b"\x00" * 40  # a DTLS record's start


async def _receive_after_a_busy_loop(datagrams: list[bytes]) -> tuple[list[int], Receiver]:
    """Send `datagrams` to an ICE socket while its loop is held (as in a busy process, so that they
    wait in the kernel); then how many a timer that came due meanwhile saw, and all that arrived."""
    receiver = Receiver()
    transport, address = await _ice_socket(receiver)
    try:
        seen_by_timer: list[int] = []
        asyncio.get_running_loop().call_later(0.001, lambda: seen_by_timer.append(len(receiver.media)))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for datagram in datagrams:
                sender.sendto(datagram, address)
        time.sleep(0.05)
        await asyncio.sleep(0.05)
        return seen_by_timer, receiver
    finally:
        transport.close()


async def test_what_queued_while_the_loop_was_busy_is_read_before_the_timers_that_came_due() -> None:
    sent = [_record(k) for k in range(20)]
    seen_by_timer, receiver = await _receive_after_a_busy_loop(sent)
    # asyncio alone reads one datagram a loop iteration: the timer would have seen 1.
    assert seen_by_timer == [20]
    assert receiver.media == sent


async def test_one_readiness_reads_at_most_the_drain_limit_and_the_rest_follows() -> None:
    sent = [_record(k) for k in range(DRAIN_LIMIT + 30)]
    seen_by_timer, receiver = await _receive_after_a_busy_loop(sent)
    assert seen_by_timer == [1 + DRAIN_LIMIT]  # the loop gets its turn before the rest
    assert receiver.media == sent


async def test_stun_still_goes_to_aioice_and_media_straight_to_the_connection_in_order() -> None:
    request = aioice.stun.Message(aioice.stun.Method.BINDING, aioice.stun.Class.REQUEST)
    rtp = bytes((0x80, 111)) + b"\x00" * 30
    _, receiver = await _receive_after_a_busy_loop([_record(1), bytes(request), rtp, _record(2)])
    assert receiver.media == [_record(1), rtp, _record(2)]
    assert [m.transaction_id for m in receiver.requests] == [request.transaction_id]


async def test_tuned_ice_sockets_read_at_most_64_kib_and_buffer_4_mib() -> None:
    tune_ice_sockets()
    async with loopback_pair() as (a, b):
        a.createDataChannel("probe")
        await negotiate(a, b)
        await wait_connected(a, b)
        connection = a.sctp.transport.transport._connection
        transports = [protocol.transport for protocol in connection._protocols]
        assert transports
        for transport in transports:
            assert transport.max_size == DATAGRAM_READ_BYTES  # asyncio's default is 256 KiB
            sock = transport.get_extra_info("socket")
            # Linux reports twice what it granted, and grants at most net.core.rmem_max.
            granted = min(SOCKET_BUFFER_BYTES, int(Path("/proc/sys/net/core/rmem_max").read_text()))
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 2 * granted
        # A datagram as large as UDP carries still arrives whole through a 64 KiB read.
        loop = asyncio.get_running_loop()
        got: asyncio.Future[bytes] = loop.create_future()

        class Catch(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: object) -> None:
                got.set_result(data)

        listener, _ = await loop.create_datagram_endpoint(Catch, local_addr=("127.0.0.1", 0))
        try:
            listener.max_size = DATAGRAM_READ_BYTES
            big = bytes(range(256)) * 255 + b"\x01" * (65_507 - 256 * 255)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
                sender.sendto(big, listener.get_extra_info("sockname"))
            assert await asyncio.wait_for(got, 5) == big
        finally:
            listener.close()
