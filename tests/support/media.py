"""Audio helpers for tests and benchmarks: a paced consumer, stock aiortc's listener, spectrum
checks, coverage."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Protocol

import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from emulator.audio.source import FRAME_SAMPLES, SAMPLE_RATE, MonoBlock
from emulator.net.media.playout import PlayoutBuffer

FRAME_S = FRAME_SAMPLES / SAMPLE_RATE


async def pace(
    pull: Callable[[float], MonoBlock],
    seconds: float,
    on_block: Callable[[MonoBlock, float], None],
    period_s: float = FRAME_S,
) -> None:
    """Pull one block every `period_s` (20 ms) of loop time for `seconds`, like a sound card callback
    would; `pull` decides the block's size."""
    loop = asyncio.get_running_loop()
    deadline = loop.time()
    end = deadline + seconds
    while deadline < end:
        now = time.monotonic()
        on_block(pull(now), now)
        deadline += period_s
        await asyncio.sleep(max(0.0, deadline - loop.time()))


class Feeds(Protocol):
    def feed(self, block: MonoBlock, at: float) -> None: ...


class StockListener:
    """Drains a stock remote track from the start (as an app would), playing frames back to back.

    Frames are fed to `out` (a marker detector, a recorder) only while `measuring`, with the time
    each starts to play: when it came, or when the frames before it have played; the played time
    is what they fill.
    """

    def __init__(self, track: MediaStreamTrack, out: Feeds) -> None:
        self.out = out
        self.measuring = False
        self.played_s = 0.0
        self.frames = 0  # every frame the track gave, measured or not
        self._track = track
        self._played_until = 0.0
        self.task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await self._track.recv()
                self.frames += 1
                channels = len(frame.layout.channels)
                pcm = frame.to_ndarray().astype(np.float32).reshape(-1, channels).mean(axis=1) / 32768
                at = max(time.monotonic(), self._played_until)
                self._played_until = at + len(pcm) / SAMPLE_RATE
                if self.measuring:
                    self.played_s += len(pcm) / SAMPLE_RATE
                    self.out.feed(pcm, at)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def dominant_hz(samples: npt.NDArray[np.float32]) -> float:
    windowed = samples.astype(np.float64) * np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(windowed))
    spectrum[: int(50 * len(samples) / SAMPLE_RATE)] = 0  # ignore DC and rumble
    return float(np.argmax(spectrum) * SAMPLE_RATE / len(samples))


def coverage(blocks: list[MonoBlock], floor_dbfs: float = -30.0) -> float:
    """Fraction of blocks that carry sound (RMS above `floor_dbfs`)."""
    if not blocks:
        return 0.0
    rms = np.array([np.sqrt(np.mean(np.square(b, dtype=np.float64))) for b in blocks])
    return float(np.mean(20 * np.log10(np.maximum(rms, 1e-9)) > floor_dbfs))


def frames_sounding(playouts: Iterable[PlayoutBuffer]) -> tuple[int, int]:
    """(frames decoded or concealed, frames of silence) these playouts have produced so far."""
    stats = [playout.stats for playout in playouts]
    return sum(s.played_frames + s.concealed_frames for s in stats), sum(s.silent_frames for s in stats)


def played_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Of the frames produced between two `frames_sounding` readings, the share that carried sound
    (decoded or concealed): the audio time played."""
    sounding, silent = after[0] - before[0], after[1] - before[1]
    return sounding / max(1, sounding + silent)
