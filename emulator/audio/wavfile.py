"""A WAV file as a source: any sample rate, channel count and PCM/float format, played at 48 kHz mono."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Literal

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


_FORMATS = {1: "PCM", 3: "float", 0xFFFE: "extensible"}


def _check_header(path: Path) -> None:
    """Read the RIFF header and `fmt ` chunk ourselves, so a damaged one gets a sentence a person
    understands rather than whatever scipy's parser trips on (a division by a zero block size...)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
            if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
                raise SourceError(f"{path} is not a WAV file (it does not start with a RIFF/WAVE header)")
            order: Literal["little", "big"] = "little" if head[:4] == b"RIFF" else "big"
            for _ in range(64):  # the fmt chunk comes first in practice; a few others may precede it
                chunk = handle.read(8)
                if len(chunk) < 8:
                    raise SourceError(f"{path} is a damaged WAV file: it has no format (fmt) chunk")
                size = int.from_bytes(chunk[4:8], order)
                if chunk[:4] == b"fmt ":
                    fmt = handle.read(min(size, 40))
                    break
                handle.seek(size + (size & 1), 1)
            else:
                raise SourceError(f"{path} is a damaged WAV file: no format (fmt) chunk near its start")
    except OSError as error:
        raise SourceError(f"cannot read {path}: {error.strerror or error}") from None
    if len(fmt) < 16:
        raise SourceError(f"{path} is a damaged WAV file: its format chunk is cut short")
    tag, channels, rate = (int.from_bytes(fmt[a:b], order) for a, b in ((0, 2), (2, 4), (4, 8)))
    block, bits = int.from_bytes(fmt[12:14], order), int.from_bytes(fmt[14:16], order)
    if tag not in _FORMATS:
        raise SourceError(f"{path}: WAV format {tag:#06x} is not supported (PCM or float only)")
    if channels == 0:
        raise SourceError(f"{path} is a damaged WAV file: its header says it has 0 channels")
    if rate == 0:
        raise SourceError(f"{path} is a damaged WAV file: its header says 0 samples a second")
    if block == 0 or bits == 0:
        raise SourceError(f"{path} is a damaged WAV file: its header gives a sample size of 0")


def load_wav_mono_48k(path: Path) -> MonoBlock:
    """The whole file, mixed down to mono and resampled to 48 kHz (polyphase, so no aliasing)."""
    if not path.is_file():
        raise SourceError(f"WAV file not found: {path}")
    _check_header(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)  # unknown chunks are harmless
            rate, data = wavfile.read(path, mmap=False)
    except Exception as exc:  # scipy's parser fails on hostile bytes in many ways (even NameError)
        raise SourceError(f"{path} is a damaged WAV file that cannot be read ({exc})") from None
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
