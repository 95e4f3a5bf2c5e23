"""How ICE sockets read: a 4 MiB receive buffer, 64 KiB reads, and every waiting datagram at once.

`tune_ice_sockets()` (process-wide, idempotent) patches aioice's `StunProtocol`, so it applies to
every ICE socket opened after it: a room calls it when it starts, a headset's session when it connects.

- **Buffer.** A busy process (a room, a swarm of headsets) lets datagrams pile up in the kernel
  between reads; at Linux's default 208 KiB the socket overflows and drops them. A dropped SCTP packet
  stalls an unreliable data channel until its retransmission timer fires (a second or more), which is
  how a swarm of 8 once saw 2-second-old poses. The kernel caps the size at net.core.rmem_max;
  whatever it grants is kept.
- **Read size.** asyncio's datagram transport calls recvfrom(256 KiB) for every datagram. CPython
  allocates that much and shrinks it to the datagram; at 256 KiB glibc takes the memory from the
  system and gives it back each time, which made one read of a 1,100-byte datagram cost 18.6 µs
  instead of 1.8 µs at 64 KiB (this machine). No UDP datagram is larger than 64 KiB.
- **Draining.** asyncio reads one datagram per socket per loop iteration and then runs every timer
  that is due. Once a loop has fallen behind (a swarm worker that lost its core for 30 ms), its
  timers win: the playouts' pulls come round once an iteration and find the frames still queued in
  the kernel, several datagrams back, so a 30 ms hiccup became an underrun in every stream, and the
  backlog took hundreds of milliseconds to drain. Now a socket that is readable is read until it is
  empty (at most `DRAIN_LIMIT` more datagrams, so one flooded socket cannot hold the loop), and what
  arrived while the loop was busy is handled before the timers that came due meanwhile.
- **Demultiplexing.** aioice tries to parse every datagram as STUN and takes the media path when that
  raises. A first byte above 3 cannot be STUN (RFC 7983: DTLS is 20-63, SRTP and SRTCP 128-191), so
  such a datagram goes straight to the connection without a parse attempt and an exception.

The private piece used, asyncio's `transport._sock`, is looked up per socket; without it that socket
reads the stock way (one datagram an iteration), which is slower under load but correct.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import aioice.ice
import aioice.turn

from emulator.net.transport.ice import IceInternalsChanged

SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
DATAGRAM_READ_BYTES = 64 * 1024  # the largest UDP payload fits
DRAIN_LIMIT = 64  # more per readiness: a third of a second for a swarm member at N = 32 (~200 a second)
_STUN_FIRST_BYTE_MAX = 3  # RFC 7983: a STUN message starts with 0-3
_tuned = False


def tune_ice_sockets() -> None:
    """Buffer, read size, draining and demultiplexing for every ICE socket opened from now on."""
    global _tuned
    if _tuned:
        return
    protocol = getattr(aioice.ice, "StunProtocol", None)
    made = getattr(protocol, "connection_made", None)
    received = getattr(protocol, "datagram_received", None)
    if protocol is None or made is None or received is None:
        raise IceInternalsChanged(
            "aioice lacks StunProtocol.connection_made or datagram_received; "
            "emulator/net/transport/ice_sockets.py must be updated"
        )

    def connection_made(self: Any, transport: Any) -> None:
        made(self, transport)
        if getattr(transport, "max_size", 0) > DATAGRAM_READ_BYTES:
            transport.max_size = DATAGRAM_READ_BYTES
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)

    def handle(self: Any, data: bytes, addr: Any) -> None:
        if data and data[0] > _STUN_FIRST_BYTE_MAX:
            self.receiver.data_received(data, self.local_candidate.component)
        else:
            received(self, data, addr)

    def datagram_received(self: Any, data: bytes, addr: Any) -> None:
        handle(self, data, addr)
        transport = self.transport
        sock = getattr(transport, "_sock", None)
        if not isinstance(sock, socket.socket):
            return
        for _ in range(DRAIN_LIMIT):
            if transport.is_closing():
                return
            try:
                data, addr = sock.recvfrom(DATAGRAM_READ_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                self.error_received(error)
                return
            handle(self, data, addr)

    protocol.connection_made = connection_made
    protocol.datagram_received = datagram_received
    # aioice sets its own buffer size (256 KiB) on host sockets right after connection_made: ask it
    # for ours instead, or the tuning above is undone.
    if isinstance(getattr(aioice.turn, "UDP_SOCKET_BUFFER_SIZE", None), int):
        aioice.turn.UDP_SOCKET_BUFFER_SIZE = max(aioice.turn.UDP_SOCKET_BUFFER_SIZE, SOCKET_BUFFER_BYTES)
    _tuned = True
