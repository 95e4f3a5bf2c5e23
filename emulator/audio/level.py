"""How loud a block is: its RMS in dBFS, what the meters, the probe and the `VoiceLevel` event use."""

from __future__ import annotations

import math

import numpy as np

from emulator.audio.source import MonoBlock

SILENCE_DBFS = -120.0  # digital silence (and an empty block): below anything a codec lets through


def rms_dbfs(block: MonoBlock) -> float:
    """The block's RMS in dBFS (0 for a full-scale square wave), over every channel of a stereo one."""
    if block.size == 0:
        return SILENCE_DBFS
    rms = math.sqrt(float(np.mean(np.square(block, dtype=np.float64))))
    return 20.0 * math.log10(rms) if rms > 0.0 else SILENCE_DBFS
