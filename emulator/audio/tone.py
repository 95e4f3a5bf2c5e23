"""Generated sources: a sine tone and silence. No device, no file: what tests and bots speak with."""

from __future__ import annotations

import numpy as np

from emulator.audio.source import SAMPLE_RATE, MonoBlock


class ToneSource:
    """A continuous sine at `frequency_hz`; the phase carries across reads so blocks join without clicks."""

    def __init__(self, frequency_hz: float, amplitude: float = 0.3) -> None:
        if not 0 < frequency_hz < SAMPLE_RATE / 2:
            raise ValueError(
                f"tone frequency must be between 0 and {SAMPLE_RATE // 2} Hz, not {frequency_hz}"
            )
        if not 0 <= amplitude <= 1:
            raise ValueError(f"tone amplitude must be within 0..1, not {amplitude}")
        self.sample_rate = SAMPLE_RATE
        self.frequency_hz = frequency_hz
        self.amplitude = amplitude
        self._phase = 0.0

    def read(self, frames: int) -> MonoBlock:
        step = 2 * np.pi * self.frequency_hz / self.sample_rate
        phases = self._phase + step * np.arange(frames)
        self._phase = float((self._phase + step * frames) % (2 * np.pi))
        out: MonoBlock = (self.amplitude * np.sin(phases)).astype(np.float32)
        return out

    def close(self) -> None:
        pass


class SilenceSource:
    """Digital silence: a muted participant still sends (DTX-free) frames, like a real client."""

    sample_rate = SAMPLE_RATE

    def read(self, frames: int) -> MonoBlock:
        return np.zeros(frames, dtype=np.float32)

    def close(self) -> None:
        pass
