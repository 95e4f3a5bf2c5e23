"""Lip-sync from audio: a mouth that follows the voice actually being sent.

Feed the outgoing (or microphone) audio block by block; `sample(t)` gives the face for that moment.
It is a level-and-colour follower, not a phoneme recogniser: loudness opens the jaw (with a fast
attack and a slower release, as a mouth closes more lazily than it opens), and the spectrum's
balance picks the shape: bright, hissy sound spreads the lips ("ee", "s"), dark sound rounds them
("oo", "oh"). That is what a listener's eye checks: the mouth moves when, and roughly how, the voice
does. It also blinks, like `talk`.

Thread: `feed` may run on the audio thread and `sample` on another; the shared state is four floats
behind a lock, and `feed` allocates only the FFT of each 10 ms slice.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import numpy.typing as npt

from emulator.drive.errors import DriveError
from emulator.drive.faces import Blink
from emulator.model.face import Face, arkit_index

SLICE_S = 0.01
FLOOR_DBFS = -50.0  # quieter than this is silence (breath, room noise)
LOUD_DBFS = -12.0  # this loud or louder opens the jaw fully
ATTACK_S = 0.03
RELEASE_S = 0.09
BRIGHT_HZ = 2500.0
DARK_HZ = 500.0


def _index(name: str) -> int:
    index = arkit_index(name)
    assert index is not None, name
    return index


_JAW = _index("jawOpen")
_LOWER = (_index("mouthLowerDownLeft"), _index("mouthLowerDownRight"))
_STRETCH = (_index("mouthStretchLeft"), _index("mouthStretchRight"))
_FUNNEL = _index("mouthFunnel")
_PUCKER = _index("mouthPucker")


class LipSync:
    """A face driven by audio blocks fed to it (mono float32 in -1..1 at `sample_rate`)."""

    def __init__(self, sample_rate: int = 48_000, seed: int = 0) -> None:
        if sample_rate < 8000:
            raise DriveError(f"lip-sync needs at least 8 kHz audio, got {sample_rate} Hz")
        self.sample_rate = sample_rate
        self._slice = round(sample_rate * SLICE_S)
        self._pending = np.zeros(0, dtype=np.float32)
        self._freqs = np.fft.rfftfreq(self._slice, 1.0 / sample_rate)
        self._window = np.hanning(self._slice).astype(np.float32)
        self._lock = threading.Lock()
        self._open = 0.0
        self._bright = 0.0
        self._dark = 0.0
        self._blink = Blink(seed + 7)

    def feed(self, block: npt.ArrayLike) -> None:
        samples = np.asarray(block, dtype=np.float32)
        if samples.ndim != 1:
            raise DriveError(f"lip-sync takes mono blocks, got shape {samples.shape}")
        # A glitch (NaN, out-of-range spikes) is not a shout.
        samples = np.clip(np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0), -1.0, 1.0)
        data = np.concatenate((self._pending, samples))
        whole = len(data) // self._slice * self._slice
        for start in range(0, whole, self._slice):
            self._analyse(data[start : start + self._slice])
        self._pending = data[whole:]

    def _analyse(self, chunk: npt.NDArray[np.float32]) -> None:
        rms = float(np.sqrt(np.mean(np.square(chunk, dtype=np.float64))))
        level = 20.0 * math.log10(rms) if rms > 1e-9 else -200.0
        target = min(1.0, max(0.0, (level - FLOOR_DBFS) / (LOUD_DBFS - FLOOR_DBFS)))
        power = np.abs(np.fft.rfft(chunk * self._window)) ** 2
        total = float(power.sum())
        if total > 0.0 and target > 0.0:
            centroid = float((power * self._freqs).sum() / total)
            bright = min(1.0, max(0.0, (centroid - 1200.0) / (BRIGHT_HZ - 1200.0)))
            dark = min(1.0, max(0.0, (1200.0 - centroid) / (1200.0 - DARK_HZ)))
        else:
            bright = dark = 0.0
        with self._lock:
            rate = ATTACK_S if target > self._open else RELEASE_S
            k = 1.0 - math.exp(-SLICE_S / rate)
            self._open += (target - self._open) * k
            self._bright += (bright - self._bright) * k
            self._dark += (dark - self._dark) * k

    @property
    def openness(self) -> float:
        """How open the mouth is now, 0..1."""
        with self._lock:
            return self._open

    def sample(self, t: float) -> Face:
        with self._lock:
            opened, bright, dark = self._open, self._bright, self._dark
        weights = self._blink.sample(t).weights.copy()
        # Rounded lips open the jaw less; spread lips a little less too.
        weights[_JAW] = opened * (1.0 - 0.35 * dark - 0.2 * bright)
        for i in _LOWER:
            weights[i] = 0.3 * opened
        for i in _STRETCH:
            weights[i] = 0.6 * opened * bright
        weights[_FUNNEL] = 0.6 * opened * dark
        weights[_PUCKER] = 0.4 * opened * dark
        return Face(weights)
