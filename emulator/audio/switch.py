"""A voice that can be muted or swapped while a headset is running (remote control, the app's mic menu).

The headset's encoder keeps reading the same object every 20 ms; what it hears changes underneath.
Called on the asyncio loop's thread only.
"""

from __future__ import annotations

import numpy as np

from emulator.audio.source import SAMPLE_RATE, AudioSource, MonoBlock


class SwitchableSource:
    def __init__(self, source: AudioSource) -> None:
        self.sample_rate = SAMPLE_RATE
        self.source = source
        self.muted = False

    def switch(self, source: AudioSource) -> None:
        """Read from `source` from the next block on; the previous one is closed."""
        old, self.source = self.source, source
        if old is not source:
            old.close()

    def read(self, frames: int) -> MonoBlock:
        block = self.source.read(frames)
        # A muted participant still sends frames (of silence), as real clients do.
        return np.zeros(frames, dtype=np.float32) if self.muted else block

    def close(self) -> None:
        self.source.close()
