"""Packet loss in user space (this kernel has no netem): drop a seeded fraction of incoming RTP.

The drop sits in front of a receiver's `_handle_rtp_packet`, before RTCP statistics and any jitter
buffer, so a dropped packet looks exactly like one lost on the wire to both aiortc's stock path and
our playout. The same seed drops the same packets, so a test or a benchmark can be repeated.
`burst` makes the losses come in runs (Gilbert-Elliott, `loss_model.py`).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCRtpReceiver

from emulator.net.transport import patches
from emulator.net.transport.loss_model import LossModel


class PacketDropper:
    """Decides packet by packet: drop a mean `fraction`, independently or in runs of `burst` packets."""

    def __init__(self, fraction: float, seed: int = 0, burst: float | None = None) -> None:
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"drop fraction must be within [0, 1), not {fraction}")
        self.fraction = fraction
        self._model = LossModel(fraction, burst, random.Random(seed))
        self.dropped = 0
        self.passed = 0

    def should_drop(self) -> bool:
        if self._model.lost():
            self.dropped += 1
            return True
        self.passed += 1
        return False


def drop_incoming_rtp(receiver: RTCRtpReceiver, dropper: PacketDropper) -> None:
    """Make `receiver` lose what `dropper` decides, as if on the network (works with or without our tap)."""

    def wrap(original: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def handle(packet: Any, arrival_time_ms: int) -> None:
            if dropper.should_drop():
                return
            await original(packet, arrival_time_ms=arrival_time_ms)

        return handle

    patches.wrap_rtp_handler(receiver, wrap)
