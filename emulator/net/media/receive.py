"""Take one aiortc audio receiver's packets before its jitter buffer and decoder, for our playout.

The narrow patch, per receiver and nowhere else: aiortc 1.16's `RTCRtpReceiver._handle_rtp_packet`
updates the RTCP statistics (so receiver reports, `getStats()` loss and jitter stay right), unwraps
RTX, depayloads, then calls `self.__jitter_buffer.add(packet)` and queues any completed frame for its
decoder thread. We replace that one private attribute (`_RTCRtpReceiver__jitter_buffer`) with a tap
whose `add()` hands the packet to us and returns "nothing complete": aiortc then never decodes, never
queues frames on the remote track (do not `recv()` it: it yields nothing), and keeps no backlog.

`tap_audio_receiver` and `attach_playout` check the attribute is there and is aiortc's JitterBuffer
before touching it and raise `ReceiverInternalsChanged` otherwise; tests/integration/test_audio_path.py
(test_the_tap_refuses_a_receiver_it_does_not_understand) fails loudly if an aiortc upgrade moves it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiortc
from aiortc import RTCPeerConnection, RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import MediaStreamTrack

from emulator.net.media.playout import PlayoutBuffer
from emulator.net.transport import patches

logger = logging.getLogger(__name__)

TESTED_AIORTC = "1.16."


class ReceiverInternalsChanged(RuntimeError):
    """The installed aiortc's receiver is not built the way the tap expects."""


@dataclass(frozen=True)
class RtpAudioPacket:
    sequence_number: int
    timestamp: int
    payload: bytes
    arrival: float


class _Tap:
    """Stands in for aiortc's JitterBuffer: same `add()` signature, never returns a frame.

    Hands each packet's fields to `deliver(sequence_number, timestamp, payload, arrival)`: a playout
    buffer's `push` takes them as they are, without a packet object built for it (50 a second per
    remote voice, in every swarm member)."""

    def __init__(self, deliver: Callable[[int, int, bytes, float], None], clock: Callable[[], float]) -> None:
        self._deliver = deliver
        self._clock = clock

    @classmethod
    def for_packets(cls, on_packet: Callable[[RtpAudioPacket], None], clock: Callable[[], float]) -> _Tap:
        """A tap for a consumer of whole `RtpAudioPacket`s."""

        def deliver(sequence_number: int, timestamp: int, payload: bytes, arrival: float) -> None:
            on_packet(RtpAudioPacket(sequence_number, timestamp, payload, arrival))

        return cls(deliver, clock)

    def add(self, packet: Any) -> tuple[bool, None]:
        try:
            self._deliver(packet.sequence_number, packet.timestamp, bytes(packet.payload), self._clock())
        except Exception:
            # A broken consumer must not kill aiortc's receive loop (it would stall the transport).
            logger.exception("audio packet consumer failed")
        return False, None


def tap_audio_receiver(
    receiver: RTCRtpReceiver,
    on_packet: Callable[[RtpAudioPacket], None],
    *,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """From now on `receiver` hands every audio RTP packet to `on_packet` (on the asyncio loop)."""
    _install(receiver, _Tap.for_packets(on_packet, clock))


def attach_playout(
    receiver: RTCRtpReceiver, playout: PlayoutBuffer | None = None, **playout_options: Any
) -> PlayoutBuffer:
    """Tap `receiver` into a PlayoutBuffer (a new one unless given); returns the buffer to pull from."""
    buffer = playout if playout is not None else PlayoutBuffer(**playout_options)
    _install(receiver, _Tap(buffer.push, buffer.clock))
    return buffer


def _install(receiver: RTCRtpReceiver, tap: _Tap) -> None:
    """Put `tap` in place of `receiver`'s jitter buffer, once, and only where it is aiortc's."""
    if not aiortc.__version__.startswith(TESTED_AIORTC):
        logger.warning("receive tap tested on aiortc %sx, running on %s", TESTED_AIORTC, aiortc.__version__)
    current = patches.jitter_buffer(receiver)
    if isinstance(current, _Tap):
        raise ValueError("this receiver is already tapped")
    if not isinstance(current, JitterBuffer) or not callable(getattr(current, "add", None)):
        raise ReceiverInternalsChanged(
            f"aiortc {aiortc.__version__}: RTCRtpReceiver has no __jitter_buffer JitterBuffer; "
            "emulator/net/media/receive.py must be updated"
        )
    patches.replace_jitter_buffer(receiver, tap)


def receiver_for_track(pc: RTCPeerConnection, track: MediaStreamTrack) -> RTCRtpReceiver:
    """The receiver behind a remote track (call it from the connection's "track" event)."""
    for transceiver in pc.getTransceivers():
        if transceiver.receiver.track is track:
            receiver: RTCRtpReceiver = transceiver.receiver
            return receiver
    raise LookupError(f"no receiver for track {track.id}")
