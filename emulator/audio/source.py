"""What every outgoing sound comes from: a tone, a WAV, silence, the microphone, a speech engine.

Sources are pulled, never pushed: the sender asks for the next block when it needs one, so a source
cannot run ahead of the network or pile up memory.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 48_000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 960: one Opus frame

MonoBlock = npt.NDArray[np.float32]


class AudioSource(Protocol):
    """Mono float32 audio at 48 kHz in [-1, 1]. Called on the asyncio loop's thread only."""

    sample_rate: int

    def read(self, frames: int) -> MonoBlock:
        """Exactly `frames` samples; a source that has ended returns silence."""
        ...

    def close(self) -> None:
        """Release devices and files; safe to call twice."""
        ...
