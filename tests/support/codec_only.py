"""The codec-only path: audio through our Opus encoder, a seeded loss and our playout buffer, no network."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from emulator.net.media.loss import PacketDropper
from emulator.net.media.opus import OpusEncoder, OpusSettings
from emulator.net.media.playout import PlayoutBuffer

FRAME = 960  # 20 ms at 48 kHz, the default Opus frame


def through_opus(
    audio: npt.NDArray[np.float32],
    loss: float = 0.0,
    burst: float | None = None,
    seed: int = 3,
    settings: OpusSettings | None = None,
) -> npt.NDArray[np.float32]:
    """`audio` as a listener hears it after our encoder (the headset's settings unless given),
    `loss` (bursts of `burst`) and our playout."""
    frames = len(audio) // FRAME
    encoder = OpusEncoder(settings)
    dropper = PacketDropper(loss, seed=seed, burst=burst)
    playout = PlayoutBuffer()
    out = []
    for i in range(frames + 5):
        now = i * 0.02 + 0.012
        if i < frames:
            payload = encoder.encode(audio[i * FRAME : (i + 1) * FRAME])
            if not dropper.should_drop():
                playout.push(i, i * FRAME, payload, now - 0.006)
        out.append(playout.pull(FRAME, now))
    return np.concatenate(out).astype(np.float32)
