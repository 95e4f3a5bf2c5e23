"""A WAV file as a source: any sample rate, channel count and PCM/float format, played at 48 kHz mono."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.io import wavfile

from emulator.audio.source import SAMPLE_RATE, MonoBlock


class SourceError(ValueError):
    """A source cannot be opened: a missing or broken file, a malformed spec. The message says which."""


def _to_float(data: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64]
    if data.dtype == np.uint8:  # 8-bit WAV is unsigned, centred on 128
        out = (data.astype(np.float64) - 128.0) / 128.0
        return out
    if np.issubdtype(data.dtype, np.integer):
        out = data.astype(np.float64) / float(-np.iinfo(data.dtype).min)
        return out
    if np.issubdtype(data.dtype, np.floating):
        out = data.astype(np.float64)
        return out
    raise SourceError(f"unsupported WAV sample type {data.dtype}")


def load_wav_mono_48k(path: Path) -> MonoBlock:
    """The whole file, mixed down to mono and resampled to 48 kHz (polyphase, so no aliasing)."""
    if not path.is_file():
        raise SourceError(f"WAV file not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)  # unknown chunks are harmless
            rate, data = wavfile.read(path, mmap=False)
    except Exception as exc:  # scipy's parser fails on hostile bytes in many ways (even NameError)
        raise SourceError(f"{path} is not a readable WAV file: {exc}") from None
    if rate <= 0:
        raise SourceError(f"{path}: invalid sample rate {rate}")
    try:
        samples = _to_float(data)
    except SourceError as exc:
        raise SourceError(f"{path}: {exc}") from None
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if samples.size == 0:
        raise SourceError(f"{path} contains no audio")
    if rate != SAMPLE_RATE:
        common = math.gcd(int(rate), SAMPLE_RATE)
        from scipy.signal import resample_poly  # a second to import: only resampling pays

        samples = resample_poly(samples, SAMPLE_RATE // common, int(rate) // common)
    out: MonoBlock = np.clip(np.nan_to_num(samples), -1.0, 1.0).astype(np.float32)
    return out


class WavSource:
    """Plays the file once (then silence) or, with `loop=True`, over and over without a gap."""

    def __init__(self, path: Path | str, *, loop: bool = False) -> None:
        self.sample_rate = SAMPLE_RATE
        self.path = Path(path)
        self.loop = loop
        self._samples = load_wav_mono_48k(self.path)
        self._pos = 0

    def read(self, frames: int) -> MonoBlock:
        out = np.zeros(frames, dtype=np.float32)
        filled = 0
        n = len(self._samples)
        while filled < frames:
            if self._pos >= n:
                if not self.loop:
                    break
                self._pos = 0
            take = min(frames - filled, n - self._pos)
            out[filled : filled + take] = self._samples[self._pos : self._pos + take]
            filled += take
            self._pos += take
        return out

    @property
    def finished(self) -> bool:
        """Played to the end and not looping (a talking agent then leaves)."""
        return not self.loop and self._pos >= len(self._samples)

    def close(self) -> None:
        pass
