"""Packet loss in user space (this kernel has no netem): drop a seeded fraction of incoming RTP.

The drop sits in front of a receiver's `_handle_rtp_packet`, before RTCP statistics and any jitter
buffer, so a dropped packet looks exactly like one lost on the wire to both aiortc's stock path and
our playout. The same seed drops the same packets, so a test or a benchmark can be repeated.
`burst` makes the losses come in runs (Gilbert-Elliott, `loss_model.py`).

`SharedLoss` loses the same packets at every listener of one stream, whenever each joined: through
the room each listener's copy has its own sequence numbers and timestamp origin, but the same Opus
payloads, so a packet is known by its payload. Two receive paths compared side by side then lose the
same speech, and the rungs of a random-loss ladder are nested (what 2 % loses, 5 % loses too).
"""

from __future__ import annotations

import collections
import hashlib
import random
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiortc import RTCRtpReceiver

from emulator.net.transport import patches
from emulator.net.transport.loss_model import LossModel


class Dropper(Protocol):
    """What `drop_incoming_rtp` asks about each packet, and what it counts."""

    dropped: int
    passed: int

    def should_drop(self, payload: bytes = b"") -> bool: ...


class PacketDropper:
    """Decides packet by packet: drop a mean `fraction`, independently or in runs of `burst` packets."""

    def __init__(self, fraction: float, seed: int = 0, burst: float | None = None) -> None:
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"drop fraction must be within [0, 1), not {fraction}")
        self.fraction = fraction
        self._model = LossModel(fraction, burst, random.Random(seed))
        self.dropped = 0
        self.passed = 0

    def should_drop(self, payload: bytes = b"") -> bool:
        """The next packet's fate (its payload does not matter: the draws follow the packets' order)."""
        if self._model.lost():
            self.dropped += 1
            return True
        self.passed += 1
        return False


REMEMBERED_FATES = 4096  # a burst pattern's decisions kept for listeners that see a packet later (80 s)


class SharedLoss:
    """One loss pattern for a stream, the same at every listener that takes a `dropper()` from it.

    Random loss (`burst` None): a packet is lost when a number drawn from (seed, packet), uniform in
    [0, 1), is below `fraction`; nothing is remembered, and patterns with one seed are nested. Bursts:
    the Gilbert-Elliott model walks the packets in the order the first listener sees them, and each
    fate is remembered for the others. A packet is known by its payload and the one before it (and,
    as digital silence encodes to the same bytes frame after frame, by its place in a run of them),
    so a listener's first packet, and the rest of a silence run it joins in, have fates of their own.
    """

    def __init__(self, fraction: float, seed: int = 0, burst: float | None = None) -> None:
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"drop fraction must be within [0, 1), not {fraction}")
        self.fraction = fraction
        self.burst = burst
        self._seed = seed.to_bytes(8, "big", signed=True)
        self._model = LossModel(fraction, burst, random.Random(seed))
        self._fates: collections.OrderedDict[bytes, bool] = collections.OrderedDict()

    def dropper(self) -> SharedDropper:
        """A dropper for one more listener of the stream."""
        return SharedDropper(self)

    def lost(self, key: bytes) -> bool:
        if self.burst is None:
            draw = hashlib.blake2b(key, digest_size=8, key=self._seed).digest()
            return int.from_bytes(draw, "big") < self.fraction * 2**64
        fate = self._fates.get(key)
        if fate is None:
            fate = self._fates[key] = self._model.lost()
            if len(self._fates) > REMEMBERED_FATES:
                self._fates.popitem(last=False)
        return fate


class SharedDropper:
    """One listener's view of a `SharedLoss`: it keys each packet by its payload and what came before."""

    def __init__(self, pattern: SharedLoss) -> None:
        self.pattern = pattern
        self.fraction = pattern.fraction
        self.dropped = 0
        self.passed = 0
        self._last = b""  # the previous payload, the one before its run, and how long the run is
        self._before_run = b""
        self._run = 0

    def should_drop(self, payload: bytes = b"") -> bool:
        if payload == self._last:
            self._run += 1
        else:
            self._before_run, self._last, self._run = self._last, payload, 0
        key = hashlib.blake2b(b"%b|%b|%d" % (self._before_run, payload, self._run), digest_size=16).digest()
        if self.pattern.lost(key):
            self.dropped += 1
            return True
        self.passed += 1
        return False


def drop_incoming_rtp(receiver: RTCRtpReceiver, dropper: Dropper) -> None:
    """Make `receiver` lose what `dropper` decides, as if on the network (works with or without our tap)."""

    def wrap(original: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def handle(packet: Any, arrival_time_ms: int) -> None:
            if dropper.should_drop(bytes(packet.payload)):
                return
            await original(packet, arrival_time_ms=arrival_time_ms)

        return handle

    patches.wrap_rtp_handler(receiver, wrap)
