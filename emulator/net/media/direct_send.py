"""Send relayed Opus frames on an aiortc sender's RTP stream at once, without its per-frame task.

Why: a room forwards each speaker's packet to every listener. Through aiortc 1.16 each copy wakes
that listener's `RTCRtpSender._run_rtp` task, is wrapped in an `av.Packet`, re-packed by the codec,
stamped with two datetime-based NTP clock reads, and only then protected and sent: mostly
bookkeeping around the two calls that matter (SRTP protect, sendto), per listener and frame
(docs/architecture.md#measured-reasons). A `DirectRtpSender` builds the same RTP packet aiortc would
(the sender's SSRC, the negotiated payload type, the MID and abs-send-time header extensions, its
own sequence numbers from a random start and its own random timestamp origin, the marker bit set as
aiortc sets it on every single-packet frame) and hands it to the DTLS transport while the fanout
publishes. It keeps the sender's packet and octet counts and its last RTP/NTP timestamps, which the
sender's RTCP sender reports and `getStats()` read. The sender's own RTP task stays, idle, on a
track that never yields.

The private attributes used (read and written through `patches.RtpSenderInternals`) are checked when
a `DirectRtpSender` is made (`SenderInternalsChanged` otherwise, and the caller keeps aiortc's
path); tests/integration/test_direct_send.py checks them on the installed aiortc. Everything runs on
the loop's thread.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Coroutine
from typing import Any

from aiortc import RTCRtpTransceiver
from aiortc.rtp import RtpPacket

from emulator.net.transport.patches import InternalsChanged, RtpSenderInternals

NTP_UNIX_OFFSET_S = 2_208_988_800  # seconds from 1900-01-01 (NTP's epoch) to 1970-01-01


class SenderInternalsChanged(RuntimeError):
    """The installed aiortc's RTCRtpSender is not built the way `DirectRtpSender` expects."""


def ntp_now() -> int:
    """The wall clock as a 64-bit NTP timestamp (32.32 fixed point), as RTCP and abs-send-time use."""
    return int((time.time() + NTP_UNIX_OFFSET_S) * (1 << 32))


def run_now(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine that does not wait (aiortc's and aioice's send chains end in a plain sendto)
    to its end here, instead of as a task a loop iteration later. Should it wait after all, the rest
    of it runs as a task, as it would have."""
    try:
        waiting_on = coroutine.send(None)
    except StopIteration:
        return
    task = asyncio.ensure_future(_Resume(coroutine, waiting_on).wait())
    _resumed.add(task)
    task.add_done_callback(_resumed.discard)


_resumed: set[asyncio.Future[None]] = set()  # held until done (the loop keeps only weak references)


class _Resume:
    """Carries on a coroutine that yielded `waiting_on` (an asyncio future) when it was first stepped."""

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        self._coroutine = coroutine
        self._waiting_on = waiting_on

    async def wait(self) -> None:
        await self

    def __await__(self) -> Any:
        waiting_on = self._waiting_on
        while True:
            try:
                yield waiting_on
            except BaseException as error:  # cancellation included: hand it to the coroutine
                try:
                    waiting_on = self._coroutine.throw(error)
                except StopIteration:
                    return
                continue
            try:
                waiting_on = self._coroutine.send(None)
            except StopIteration:
                return


class DirectRtpSender:
    """One transceiver's outgoing RTP stream of relayed Opus frames (see the module's docstring)."""

    def __init__(self, transceiver: RTCRtpTransceiver) -> None:
        try:
            self._sender = RtpSenderInternals(transceiver)
        except InternalsChanged as error:
            raise SenderInternalsChanged(str(error)) from None
        self._sequence = int.from_bytes(os.urandom(2), "big")
        self._origin = int.from_bytes(os.urandom(4), "big")
        self.sent = 0
        self.dropped = 0  # frames that found the stream not yet negotiated or the transport down

    def send(self, payload: bytes, pts: int, ntp: int, skipped: int = 0) -> None:
        """One Opus frame (`pts` in 48 kHz samples) as one RTP packet, now; `ntp` from `ntp_now()`.

        `skipped` packets the speaker lost on its way here leave the same gap in this stream's sequence
        numbers, so the listener counts them lost."""
        self._sequence = (self._sequence + skipped) & 0xFFFF
        sender = self._sender
        payload_type = sender.payload_type()
        if payload_type is None:
            self.dropped += 1
            return
        timestamp = (self._origin + pts) & 0xFFFF_FFFF
        packet = RtpPacket(
            payload_type=payload_type,
            marker=1,
            sequence_number=self._sequence,
            timestamp=timestamp,
            ssrc=sender.ssrc(),
            payload=payload,
        )
        packet.extensions.abs_send_time = (ntp >> 14) & 0x00FF_FFFF
        packet.extensions.mid = sender.mid()
        data = packet.serialize(sender.extensions_map())
        try:
            run_now(sender.send_rtp(data))
        except ConnectionError:
            self.dropped += 1
            return
        self._sequence = (self._sequence + 1) & 0xFFFF
        self.sent += 1
        sender.count_sent(len(payload), ntp, timestamp)
