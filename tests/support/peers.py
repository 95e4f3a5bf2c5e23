"""Two real aiortc peer connections on loopback, wired to each other without a signaling server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from aiortc import RTCPeerConnection

from emulator.net.transport.ice import loopback_configuration, loopback_only


async def negotiate(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    """Offer/answer in one process: aiortc puts every gathered candidate in the SDP (no trickle)."""
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)


async def wait_connected(*pcs: RTCPeerConnection, timeout: float = 10.0) -> None:
    async def one(pc: RTCPeerConnection) -> None:
        while pc.connectionState != "connected":
            if pc.connectionState in ("failed", "closed"):
                raise ConnectionError(f"peer connection {pc.connectionState}")
            await asyncio.sleep(0.02)

    await asyncio.wait_for(asyncio.gather(*(one(pc) for pc in pcs)), timeout)


@contextlib.asynccontextmanager
async def loopback_pair() -> AsyncIterator[tuple[RTCPeerConnection, RTCPeerConnection]]:
    """(offerer, answerer), both closed on exit; add tracks/channels before `negotiate`."""
    with loopback_only():
        a = RTCPeerConnection(loopback_configuration())
        b = RTCPeerConnection(loopback_configuration())
        try:
            yield a, b
        finally:
            await a.close()
            await b.close()


async def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Poll `condition` every 5 ms on the running loop; AssertionError naming `what` after `timeout` s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)
