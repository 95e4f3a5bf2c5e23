"""A room's renegotiation offer that crosses the headset's leaving ends the session quietly.

Seen once in the churn bench on a loaded host: the offer reached a connection already closed, aiortc
raised InvalidStateError out of the session's reader, and the headset's stop() raised it too.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiortc import RTCPeerConnection

from emulator.net.signaling.room_session import RoomSession
from emulator.wire.signaling import Join, Offer, to_json

OFFER_SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


class OneOffer:
    """A WebSocket that delivers one offer, then closes."""

    def __init__(self) -> None:
        self.messages = [
            aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, to_json(Offer(OFFER_SDP)), None),
            aiohttp.WSMessage(aiohttp.WSMsgType.CLOSED, None, None),
        ]
        self.close_code = 1000

    async def receive(self) -> aiohttp.WSMessage:
        return self.messages.pop(0)

    async def send_str(self, data: str) -> None:
        raise AssertionError(f"a closed session answered: {data[:60]}")


async def test_an_offer_that_arrives_after_closing_is_not_answered_and_raises_nothing() -> None:
    session = RoomSession("ws://127.0.0.1:9/ws", Join("lobby", "token", "me"))
    pc = RTCPeerConnection()
    await pc.close()
    fake: Any = OneOffer()
    session.pc, session._ws, session._closed = pc, fake, True
    await session._read_forever()  # before: InvalidStateError, offer in signaling state "closed"
    assert fake.messages  # it stopped at the offer; nothing else was read
