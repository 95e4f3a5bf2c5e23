"""Muting what a headset sends: the last stage before the encoder, so nothing gets through (voice,
latency chirps), and the periods it was muted, for the report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emulator.audio.source import AudioSource, MonoBlock


@dataclass
class MutePeriod:
    began: float  # wall-clock Unix seconds
    ended: float | None = None


class MuteGate:
    """Wraps the outgoing source; muted, it sends frames of digital silence (as real clients do).
    `on_block` sees every block as it goes to the encoder (a level meter)."""

    def __init__(self, source: AudioSource, on_block: Callable[[MonoBlock], None] | None = None) -> None:
        self.source = source
        self._on_block = on_block
        self.sample_rate = source.sample_rate
        self.periods: list[MutePeriod] = []

    @property
    def muted(self) -> bool:
        return bool(self.periods) and self.periods[-1].ended is None

    def set_muted(self, muted: bool, now: float | None = None) -> None:
        at = time.time() if now is None else now
        if muted and not self.muted:
            self.periods.append(MutePeriod(at))
        elif not muted and self.muted:
            self.periods[-1].ended = at

    def read(self, frames: int) -> MonoBlock:
        block = self.source.read(frames)  # read on: the source's clock (markers, speech) keeps time
        if self.muted:
            block = np.zeros(frames, dtype=np.float32)
        if self._on_block is not None:
            self._on_block(block)
        return block

    def close(self) -> None:
        self.source.close()
