"""Mouth-to-ear markers on a fixed schedule of the sender's clock, so no message has to announce them.

A sender places a chirp so that its first sample was "spoken" at exactly k × period on its own
monotonic clock. A receiver that knows the sender's clock offset (from PING/PONG) turns the moment it
plays the chirp into the sender's clock and subtracts the last multiple of the period: that is the
mouth-to-ear latency, for any latency shorter than the period.

Times follow `emulator/audio/marker.py`: a block read at time t stands for the audio that ended at t.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from emulator.audio.marker import chirp
from emulator.audio.source import AudioSource, MonoBlock


class ScheduledMarkerSource:
    """Wraps a source; mixes a chirp in at every multiple of `period_s` of the clock."""

    def __init__(
        self, source: AudioSource, period_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not period_s > 0:
            raise ValueError("a marker period must be positive")
        self.source = source
        self.sample_rate = source.sample_rate
        self.period_s = period_s
        self._clock = clock
        self._marker = chirp(source.sample_rate)
        self._remaining: MonoBlock | None = None
        self._last_end: float | None = None
        self.injections: list[float] = []

    def read(self, frames: int) -> MonoBlock:
        block = self.source.read(frames).copy()
        end = self._clock()
        start = end - frames / self.sample_rate
        # A sender whose loop stalls reads late and then in a burst, and the blocks' spans leave gaps:
        # a chirp due in a gap goes out at the start of the next block, late (that delay is part of
        # its mouth-to-ear), rather than never.
        since = start if self._last_end is None else min(start, self._last_end)
        self._last_end = end
        if self._remaining is not None:
            n = min(frames, len(self._remaining))
            block[:n] += self._remaining[:n]
            self._remaining = self._remaining[n:] if n < len(self._remaining) else None
        else:
            due = math.ceil(since / self.period_s) * self.period_s
            if due < end:
                offset = min(frames - 1, max(0, round((due - start) * self.sample_rate)))
                n = min(frames - offset, len(self._marker))
                block[offset : offset + n] += self._marker[:n]
                self._remaining = self._marker[n:] if n < len(self._marker) else None
                self.injections.append(due)
        np.clip(block, -1.0, 1.0, out=block)
        return block

    def close(self) -> None:
        self.source.close()


def scheduled_latency(played_at: float, sender_minus_receiver_s: float, period_s: float) -> float:
    """Latency of a marker played at `played_at` (receiver clock) from a sender on this schedule."""
    on_sender_clock = played_at + sender_minus_receiver_s
    return on_sender_clock - math.floor(on_sender_clock / period_s) * period_s
