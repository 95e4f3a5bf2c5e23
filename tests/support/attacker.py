"""A hostile peer for tests and the `hostile` bench: a real aiortc client with a valid token that
sends what a headset must not (audio on a listen-only token, floods, impossible messages).

Built on `RoomSession` so signaling, renegotiation and channels are the real ones; it only ignores
its own token's `pub: false` and writes to its channels without the session's politeness.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fractions
import time
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack
from av import AudioFrame

from emulator.net.signaling.room_session import RoomSession, SessionCallbacks
from emulator.net.signaling.tokens import Grant, mint
from emulator.wire.channels import CONTROL_CHANNEL, STATE_CHANNEL
from emulator.wire.signaling import Join, SignalingMessage, Welcome

RATE = 48_000
FRAME = 960  # 20 ms


class ToneTrack(MediaStreamTrack):
    """A paced 48 kHz mono sine, 20 ms a frame: what the attacker says."""

    kind = "audio"

    def __init__(self, frequency_hz: float = 1000.0, amplitude: float = 0.5) -> None:
        super().__init__()
        self.frequency_hz = frequency_hz
        self.amplitude = amplitude
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._pts / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (self._pts + np.arange(FRAME)) / RATE
        samples = (self.amplitude * 32767 * np.sin(2 * np.pi * self.frequency_hz * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        self._pts += FRAME
        return frame


class AttackerSession(RoomSession):
    """A `RoomSession` that sends its audio track whatever its token says."""

    async def _receive(self) -> SignalingMessage:
        message = await super()._receive()
        if isinstance(message, Welcome) and not message.you.may_publish:
            return dataclasses.replace(message, you=dataclasses.replace(message.you, may_publish=True))
        return message

    def raw_send(self, data: bytes, *, reliable: bool = False) -> bool:
        """Write on a channel with no backpressure check but the channel's own buffer (kept < 1 MB)."""
        channel = self._channels.get(CONTROL_CHANNEL if reliable else STATE_CHANNEL)
        if channel is None or channel.readyState != "open" or channel.bufferedAmount > 1_000_000:
            return False
        channel.send(data)
        return True


def attacker(
    url: str,
    secret: bytes,
    room: str,
    name: str = "mallory",
    *,
    publish: bool = True,
    audio: bool = False,
    callbacks: SessionCallbacks | None = None,
) -> AttackerSession:
    token = mint(secret, Grant(room, name, time.time() + 600, publish))
    track: Any = ToneTrack() if audio else None
    return AttackerSession(url, Join(room, token, name), audio_track=track, callbacks=callbacks)


async def flood(
    session: AttackerSession, data: bytes, per_second: float, seconds: float, *, reliable: bool = False
) -> int:
    """Send `data` `per_second` times a second for `seconds` (in 10 ms bursts); returns how many went."""
    sent = 0
    loop = asyncio.get_running_loop()
    start = loop.time()
    while loop.time() - start < seconds:
        due = int((loop.time() - start) * per_second) - sent
        for _ in range(max(0, due)):
            if not session.raw_send(data, reliable=reliable):
                break
            sent += 1
        if session.close_reason is not None:
            break
        await asyncio.sleep(0.01)
    return sent
