"""Lip-sync from audio alone, for voices that come without visemes (a microphone, a WAV, a browser).

Causal and cheap enough to run once per remote speaker. Every 10 ms a 20 ms Hann window of the most
recent audio gives:

- its level in dB against a tracked noise floor: a gate with hysteresis decides speech or silence, and
  the level above the gate (normalised by a slowly decaying peak, so a quiet talker still opens the
  mouth) gives the opening;
- four band energies (150–700 Hz, 700–1800, 1800–4000, 4000–10000): vowels whose energy sits low
  (o, u: low first and second formants) round the lips, energy at 1.8–4 kHz (e, i: high second
  formant) spreads them, and energy above 4 kHz (s, sh, f) marks a fricative with a nearly closed jaw.

Outputs are smoothed with a fast attack and a slower release. The delay from sound to mouth is half
the window (10 ms) plus up to one hop (10 ms) plus the attack smoothing; `tests/unit/test_lipsync.py`
measures it by cross-correlating the mouth opening with the audio envelope (about 20–30 ms).
"""

from __future__ import annotations

import math

import numpy as np

from emulator.audio.source import SAMPLE_RATE, MonoBlock
from emulator.model.face import Face, arkit_index

HOP = SAMPLE_RATE // 100  # 10 ms
WINDOW = 2 * HOP  # 20 ms
_BANDS_HZ = ((150.0, 700.0), (700.0, 1800.0), (1800.0, 4000.0), (4000.0, 10000.0))
_EPS = 1e-12


def _index(name: str) -> int:
    index = arkit_index(name)
    assert index is not None, name
    return index


_JAW = _index("jawOpen")
_FUNNEL = _index("mouthFunnel")
_PUCKER = _index("mouthPucker")
_CLOSE = _index("mouthClose")
_SMILE = (_index("mouthSmileLeft"), _index("mouthSmileRight"))
_STRETCH = (_index("mouthStretchLeft"), _index("mouthStretchRight"))
_LOWER = (_index("mouthLowerDownLeft"), _index("mouthLowerDownRight"))
_PRESS = (_index("mouthPressLeft"), _index("mouthPressRight"))


def _clamp01(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


class LipSync:
    """Audio blocks in, an ARKit face out. One instance per speaker; one thread at a time.

    `push(block)` accepts any block size of 48 kHz mono float32 and returns the face after the last
    complete 10 ms hop. The returned Face is this object's own, updated in place by later pushes:
    copy it to keep it.
    """

    algorithmic_delay_s = (WINDOW / 2 + HOP / 2) / SAMPLE_RATE
    """Half the window plus half a hop on average; smoothing adds a little on top (see module doc)."""

    def __init__(
        self,
        *,
        gate_open_db: float = 10.0,
        gate_close_db: float = 6.0,
        min_level_db: float = -55.0,
        attack_s: float = 0.012,
        release_s: float = 0.06,
        max_jaw: float = 0.7,
    ) -> None:
        self._config = {
            "gate_open_db": gate_open_db, "gate_close_db": gate_close_db, "min_level_db": min_level_db,
            "attack_s": attack_s, "release_s": release_s, "max_jaw": max_jaw,
        }  # fmt: skip
        self.gate_open_db = gate_open_db
        self.gate_close_db = gate_close_db
        self.min_level_db = min_level_db
        self.max_jaw = max_jaw
        self._attack = 1.0 - math.exp(-HOP / SAMPLE_RATE / attack_s)
        self._release = 1.0 - math.exp(-HOP / SAMPLE_RATE / release_s)
        self._window = np.hanning(WINDOW).astype(np.float32)
        self._window_power = float(np.mean(self._window**2))
        freqs = np.fft.rfftfreq(WINDOW, 1.0 / SAMPLE_RATE)
        self._bands = [
            (int(np.searchsorted(freqs, lo)), int(np.searchsorted(freqs, hi))) for lo, hi in _BANDS_HZ
        ]
        self._ring = np.zeros(WINDOW, dtype=np.float32)
        self._pending = np.zeros(HOP, dtype=np.float32)
        self._pending_count = 0
        self._floor_db = -70.0
        self._peak_db = -30.0
        self._speaking = False
        self._hold = 0  # hops since the gate last saw speech, for closures inside words
        self._state = np.zeros(5, dtype=np.float64)  # jaw, round, spread, fricative, closure
        self.face = Face()
        self.level_db = -120.0
        self.hops = 0

    @property
    def speaking(self) -> bool:
        return self._speaking

    def reset(self) -> None:
        """Forget the speaker (a new stream): the gate, floor and face start over."""
        self.__init__(**self._config)  # type: ignore[misc]

    def push(self, block: MonoBlock) -> Face:
        samples = np.asarray(block, dtype=np.float32).ravel()
        pos = 0
        while pos < len(samples):
            take = min(HOP - self._pending_count, len(samples) - pos)
            self._pending[self._pending_count : self._pending_count + take] = samples[pos : pos + take]
            self._pending_count += take
            pos += take
            if self._pending_count == HOP:
                self._ring[:HOP] = self._ring[HOP:]
                self._ring[HOP:] = self._pending
                self._pending_count = 0
                self._hop()
        return self.face

    def _hop(self) -> None:
        self.hops += 1
        frame = self._ring * self._window
        if not np.isfinite(frame).all():  # hostile or broken input: treat as silence, never poison the face
            frame = np.zeros_like(frame)
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

        target = np.zeros(5)
        if self._speaking:
            gate = self._floor_db + self.gate_close_db
            opening = _clamp01((level - gate) / max(self._peak_db - gate, 12.0)) ** 0.8
            spectrum = np.abs(np.fft.rfft(frame)) ** 2
            low, mid, high, hiss = (float(spectrum[a:b].sum()) for a, b in self._bands)
            voiced = low + mid + high + _EPS
            fricative = _clamp01((hiss / (voiced + hiss) - 0.35) / 0.4)
            roundness = _clamp01((low / voiced - 0.6) / 0.3) * (1.0 - _clamp01(high / voiced / 0.15))
            spread = _clamp01((high / voiced - 0.12) / 0.25)
            target[0] = opening * (1.0 - 0.7 * fricative) * (1.0 - 0.4 * roundness)
            target[1] = opening * roundness
            target[2] = opening * max(spread, 0.6 * fricative)
            target[3] = opening * fricative
        elif self._hold <= 8:
            # A dip inside speech (p, b, m closures, short pauses): press the lips rather than hang open.
            target[4] = 1.0 - self._hold / 8.0

        rate = np.where(target > self._state, self._attack, self._release)
        self._state += rate * (target - self._state)
        self._write_face()

    def _track_floor_and_peak(self, level: float) -> None:
        """The floor falls fast to any quieter hop and creeps up 3 dB/s; the peak does the opposite."""
        hop_s = HOP / SAMPLE_RATE
        if self.hops == 1:
            self._floor_db = level  # a stream that starts in speech corrects this at the first pause
        elif level < self._floor_db:
            self._floor_db += 0.5 * (level - self._floor_db)
        else:
            self._floor_db = min(level, self._floor_db + 3.0 * hop_s)
        self._floor_db = max(self._floor_db, -100.0)
        if level > self._peak_db:
            self._peak_db = level
        else:
            self._peak_db = max(self._floor_db + 20.0, self._peak_db - 2.0 * hop_s)

    def _write_face(self) -> None:
        jaw, rounded, spread, fricative, closure = (float(x) for x in self._state)
        weights = self.face.weights
        weights[_JAW] = self.max_jaw * jaw
        weights[_FUNNEL] = 0.6 * rounded
        weights[_PUCKER] = 0.5 * rounded
        for i in _SMILE:
            weights[i] = 0.35 * spread
        for i in _STRETCH:
            weights[i] = 0.3 * spread + 0.2 * fricative
        for i in _LOWER:
            weights[i] = 0.3 * jaw
        for i in _PRESS:
            weights[i] = 0.3 * closure
        weights[_CLOSE] = 0.0
        np.clip(weights, 0.0, 1.0, out=weights)

    def mouth_open(self) -> float:
        """How open the mouth is now, 0..1 (jawOpen): the one number most checks want."""
        return float(self.face.weights[_JAW])
