"""Lip-sync from audio alone, for voices that come without visemes (a microphone, a WAV, a browser).

Causal and cheap enough to run once per remote speaker. Every 10 ms a 20 ms Hann window of the most
recent audio gives:

- its level in dB against a tracked noise floor: a gate with hysteresis decides speech or silence, and
  the level above the gate (normalised by a slowly decaying peak, so a quiet talker still opens the
  mouth) gives how far the mouth opens: loudness drives the jaw;
- two spectral centroids standing in for the first two formants: 150–1000 Hz (F1: the more open the
  jaw, the higher) and 1000–4000 Hz (F2: spread lips raise it, rounded lips lower it). The pair is
  softly matched against the vowel visemes aa, E, I, O, U and RR, whose prototypes were measured on
  espeak-ng speech (medians per viseme over six sentences and two voices). Sound with next to nothing
  above 1 kHz reads as a low F2: dark sound rounds the lips, bright sound spreads them;
- the share of energy above 4 kHz, which marks a fricative (s, sh): the SS viseme, jaw nearly shut;
- a short dip inside speech: a closure (p, b, m), the PP viseme.

The viseme activations, scaled by the opening, are smoothed with a fast attack and a slower release (a
mouth closes more lazily than it opens) and shape the lips with the same ARKit poses the viseme driver
uses, so an avatar looks alike whether visemes or sound drive it; the jaw follows loudness, deepened by
open vowels. The delay from sound to mouth is half the window (10 ms) plus up to one hop plus the
attack smoothing; `tests/unit/test_lipsync.py` measures it by cross-correlating the mouth opening with
the audio envelope (about 25–30 ms at 48 kHz).

Threads: `feed`/`push` may run on the audio thread and `sample` on another; the face and state they
share are guarded by a lock, and a hop allocates only its FFT.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from emulator.audio.source import SAMPLE_RATE, AudioSource, MonoBlock
from emulator.drive.errors import DriveError
from emulator.drive.faces import Blink
from emulator.model.face import Face, arkit_index
from emulator.model.viseme_timeline import (
    SIL,
    VISEME_COUNT,
    VISEME_SHAPES,
    VisemeKey,
    viseme_face,
    viseme_index,
)

HOP = SAMPLE_RATE // 100  # 10 ms at 48 kHz (other rates scale it)
WINDOW = 2 * HOP  # 20 ms
_EPS = 1e-12

# (F1 centroid Hz, F2 centroid Hz) per vowel-like viseme, and the spread used to compare against them.
_PROTOTYPES: dict[str, tuple[float, float]] = {
    "aa": (670.0, 1390.0),
    "E": (525.0, 1740.0),
    "I": (275.0, 2830.0),
    "O": (540.0, 1350.0),
    "U": (330.0, 1890.0),
    "RR": (355.0, 1360.0),
}
_SPREAD_HZ = (110.0, 330.0)
_F2_PRIOR = (0.02, 800.0)  # weight (share of the F1 band's energy) and frequency assumed for F2
_VOWELS = np.array([viseme_index(name) for name in _PROTOTYPES])
_PROTO = np.array(list(_PROTOTYPES.values()))
_SS = viseme_index("SS")
_PP = viseme_index("PP")
_JAW = arkit_index("jawOpen")
_JAW_FULL = 0.85  # jawOpen at full loudness on the most open vowel
_VOWEL_JAW = VISEME_SHAPES[_VOWELS, _JAW] / VISEME_SHAPES[:, _JAW].max()  # 0..1 per vowel prototype


def _clamp01(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


class LipSync:
    """Audio blocks in, an ARKit face out. One instance per speaker.

    `feed(block)` takes any block size of mono float32 at `sample_rate`; `sample(t)` is the face now
    (a FaceDriver, with natural blinks, safe from another thread); `push(block)` feeds and returns the
    mouth-only face after the last complete 10 ms hop. That Face is this object's own, updated in place
    by later pushes: copy it to keep it, and use `sample` from other threads.
    """

    algorithmic_delay_s = (WINDOW / 2 + HOP / 2) / SAMPLE_RATE
    """Half the window plus half a hop on average; smoothing adds a little on top (see module doc)."""

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        seed: int = 0,
        *,
        gate_open_db: float = 10.0,
        gate_close_db: float = 6.0,
        min_level_db: float = -50.0,
        attack_s: float = 0.012,
        release_s: float = 0.06,
    ) -> None:
        if sample_rate < 8000:
            raise DriveError(f"lip-sync needs at least 8 kHz audio, got {sample_rate} Hz")
        self._config: dict[str, Any] = {
            "sample_rate": sample_rate, "seed": seed, "gate_open_db": gate_open_db,
            "gate_close_db": gate_close_db, "min_level_db": min_level_db, "attack_s": attack_s,
            "release_s": release_s,
        }  # fmt: skip
        self.sample_rate = sample_rate
        self.gate_open_db = gate_open_db
        self.gate_close_db = gate_close_db
        self.min_level_db = min_level_db
        self._hop = sample_rate // 100
        self._hop_s = self._hop / sample_rate
        self._attack = 1.0 - math.exp(-self._hop_s / attack_s)
        self._release = 1.0 - math.exp(-self._hop_s / release_s)
        self._window = np.hanning(2 * self._hop).astype(np.float32)
        self._window_power = float(np.mean(self._window**2))
        freqs = np.fft.rfftfreq(2 * self._hop, 1.0 / sample_rate)

        def band(lo: float, hi: float) -> slice:
            return slice(int(np.searchsorted(freqs, lo)), int(np.searchsorted(freqs, hi)))

        self._f1, self._f2, self._hiss = band(150, 1000), band(1000, 4000), band(4000, 10000)
        self._freqs = freqs
        self._ring = np.zeros(2 * self._hop, dtype=np.float32)
        self._pending = np.zeros(self._hop, dtype=np.float32)
        self._pending_count = 0
        # Start the floor low and let it climb fast for the first second, so that a stream that opens
        # on steady noise settles quickly while one that opens on speech still moves the mouth.
        self._floor_db = min_level_db - 15.0
        self._peak_db = -30.0
        self._speaking = False
        self._hold = 1 << 30  # hops since the gate last saw speech, for closures inside words
        self._state = np.zeros(VISEME_COUNT + 1, dtype=np.float32)  # 15 visemes, then the jaw
        self._lock = threading.Lock()
        self._blink = Blink(seed + 7)
        self.face = Face()
        self.level_db = -120.0
        self.hops = 0

    @property
    def speaking(self) -> bool:
        return self._speaking

    @property
    def activations(self) -> npt.NDArray[np.float32]:
        """The smoothed viseme activations behind the lips (a copy)."""
        with self._lock:
            return self._state[:VISEME_COUNT].copy()

    @property
    def openness(self) -> float:
        """How open the mouth is now, 0..1 (jawOpen relative to its full opening)."""
        with self._lock:
            return min(1.0, float(self.face.weights[_JAW]) / _JAW_FULL)

    def reset(self) -> None:
        """Forget the speaker (a new stream): the gate, floor and face start over."""
        self.__init__(**self._config)  # type: ignore[misc]

    def feed(self, block: npt.ArrayLike) -> None:
        samples = np.asarray(block, dtype=np.float32)
        if samples.ndim != 1:
            raise DriveError(f"lip-sync takes mono blocks, got shape {samples.shape}")
        if not np.isfinite(samples).all() or np.abs(samples).max(initial=0.0) > 1.0:
            # Broken or hostile input: clip it like a sound card would, never poison the face.
            samples = np.clip(np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
        hop = self._hop
        pos = 0
        while pos < len(samples):
            take = min(hop - self._pending_count, len(samples) - pos)
            self._pending[self._pending_count : self._pending_count + take] = samples[pos : pos + take]
            self._pending_count += take
            pos += take
            if self._pending_count == hop:
                self._ring[:hop] = self._ring[hop:]
                self._ring[hop:] = self._pending
                self._pending_count = 0
                self._step()

    def push(self, block: MonoBlock) -> Face:
        self.feed(block)
        return self.face

    def sample(self, t: float) -> Face:
        """The face now, with blinks at `t` seconds: a FaceDriver for the face dock and the sender."""
        with self._lock:
            weights = self.face.weights.copy()
        blink = self._blink.sample(t).weights
        return Face(np.maximum(weights, blink))

    def mouth_open(self) -> float:
        """jawOpen now, 0..1: the one number most checks want."""
        return float(self.face.weights[_JAW])

    def _step(self) -> None:
        self.hops += 1
        frame = self._ring * self._window
        power = float(np.mean(frame * frame)) / self._window_power
        level = 10.0 * math.log10(power + _EPS)
        self.level_db = level
        self._track_floor_and_peak(level)

        above = level - self._floor_db
        if self._speaking:
            self._speaking = above > self.gate_close_db and level > self.min_level_db - 3.0
        else:
            self._speaking = above > self.gate_open_db and level > self.min_level_db
        self._hold = 0 if self._speaking else self._hold + 1

        target = np.zeros(VISEME_COUNT + 1, dtype=np.float32)
        if self._speaking:
            gate = self._floor_db + self.gate_close_db
            opening = _clamp01((level - gate) / max(self._peak_db - gate, 12.0)) ** 0.8
            weights, fricative = self._classify(np.abs(np.fft.rfft(frame)) ** 2)
            target[:VISEME_COUNT] = opening * weights
            vowel_jaw = float(weights[_VOWELS] @ _VOWEL_JAW) / max(1e-6, 1.0 - fricative)
            target[VISEME_COUNT] = _JAW_FULL * opening * (0.55 + 0.45 * vowel_jaw) * (1.0 - 0.6 * fricative)
        elif self._hold <= 8:
            # A dip inside speech (p, b, m closures, short pauses): press the lips rather than hang open.
            target[_PP] = 1.0 - self._hold / 8.0

        with self._lock:
            rate = np.where(target > self._state, self._attack, self._release).astype(np.float32)
            self._state += rate * (target - self._state)
            viseme_face(self._state[:VISEME_COUNT], self.face)
            self.face.weights[_JAW] = min(1.0, float(self._state[VISEME_COUNT]))

    def _classify(self, spectrum: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float32], float]:
        """Soft viseme weights (summing to 1) for one speech frame's power spectrum, and how fricative."""
        freqs = self._freqs
        low, mid = spectrum[self._f1], spectrum[self._f2]
        low_sum, mid_sum = float(low.sum()), float(mid.sum())
        f1 = float(low @ freqs[self._f1]) / (low_sum + _EPS)
        prior = _F2_PRIOR[0] * low_sum
        f2 = (float(mid @ freqs[self._f2]) + prior * _F2_PRIOR[1]) / (mid_sum + prior + _EPS)
        hiss = float(spectrum[self._hiss].sum())
        fricative = _clamp01((hiss / (low_sum + mid_sum + hiss + _EPS) - 0.5) / 0.4)
        distance = ((_PROTO[:, 0] - f1) / _SPREAD_HZ[0]) ** 2 + ((_PROTO[:, 1] - f2) / _SPREAD_HZ[1]) ** 2
        likeness = np.exp(-0.5 * (distance - distance.min()))
        weights = np.zeros(VISEME_COUNT, dtype=np.float32)
        weights[_VOWELS] = (1.0 - fricative) * likeness / likeness.sum()
        weights[_SS] = fricative
        return weights, fricative

    def _track_floor_and_peak(self, level: float) -> None:
        """The floor falls fast to any quieter hop and creeps up (fast in the first second); the peak
        jumps up to any louder hop and decays 2 dB/s."""
        climb = (20.0 if self.hops * self._hop_s < 1.0 else 3.0) * self._hop_s
        if level < self._floor_db:
            self._floor_db += 0.5 * (level - self._floor_db)
        else:
            self._floor_db = min(level, self._floor_db + climb)
        self._floor_db = max(self._floor_db, -100.0)
        if level > self._peak_db:
            self._peak_db = level
        else:
            self._peak_db = max(self._floor_db + 20.0, self._peak_db - 2.0 * self._hop_s)


MEASURED_DELAY_S = 0.025
"""Sound-to-mouth delay of LipSync at 48 kHz, as the cross-correlation test and bench_voice measure it."""


class LipSyncedSource:
    """Any AudioSource turned into a talking one: visemes estimated from its own audio as it is read.

    For an agent whose voice comes without visemes (a WAV, a hosted voice model that sends only
    audio), so that it can still send a viseme stream. Keys are stamped `MEASURED_DELAY_S` earlier than
    the hop that produced them, which puts them back in step with the sound, but never before the start
    of the `read` that produced them: a sender that asks `visemes_between` for each block it reads
    must not be handed keys for audio it has already shipped. A key is emitted when the
    dominant viseme changes or its weight moves by more than `min_change`. Same thread rules as the
    wrapped source.
    """

    def __init__(
        self, source: AudioSource, *, min_change: float = 0.15, lipsync: LipSync | None = None
    ) -> None:
        self.source = source
        self.sample_rate: int = source.sample_rate
        self.lipsync = lipsync or LipSync()
        self.min_change = min_change
        self._keys: list[VisemeKey] = []
        self._last: tuple[int, float] = (SIL, 0.0)
        self._samples = 0

    def read(self, frames: int) -> MonoBlock:
        block = self.source.read(frames)
        read_start = self._samples / SAMPLE_RATE
        for start in range(0, len(block), HOP):
            piece = block[start : start + HOP]
            hops = self.lipsync.hops
            self.lipsync.push(piece)
            self._samples += len(piece)
            if self.lipsync.hops != hops:
                self._observe(max(read_start, self._samples / SAMPLE_RATE - MEASURED_DELAY_S))
        return block

    @property
    def position(self) -> float:
        """Seconds of audio read so far: the clock of `visemes_between`."""
        return self._samples / SAMPLE_RATE

    def _observe(self, t: float) -> None:
        act = self.lipsync.activations
        total = float(act.sum())
        viseme, weight = (SIL, 1.0) if total < 0.05 else (int(np.argmax(act)), min(1.0, total))
        last_viseme, last_weight = self._last
        if viseme != last_viseme or abs(weight - last_weight) > self.min_change:
            self._keys.append(VisemeKey(t, viseme, round(weight, 3)))
            self._last = (viseme, weight)

    def visemes_between(self, start: float, stop: float) -> list[VisemeKey]:
        """Keys estimated so far with start <= time < stop; older keys are dropped as they are asked for."""
        keys = [k for k in self._keys if start <= k.time < stop]
        self._keys = [k for k in self._keys if k.time >= start]
        return keys

    def close(self) -> None:
        self.source.close()
