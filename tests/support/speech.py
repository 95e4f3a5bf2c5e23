"""Speech fixtures: a short script spoken by the real espeak-ng, and envelope helpers for checking it."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from emulator.audio.source import SAMPLE_RATE
from emulator.audio.speech import ScriptLine, SpeechSource

# Lines chosen to start with different kinds of sound: h, a vowel, a fricative, a nasal, a plosive.
TEST_SCRIPT = (
    ScriptLine(0.2, "Hello, everyone."),
    ScriptLine(2.0, "Six thousand thoughtful things."),
    ScriptLine(4.5, "Maybe we should ask Peter."),
    ScriptLine(7.0, "Are you sure? Fine, then."),
)


@pytest.fixture
def spoken_script() -> SpeechSource:
    """The test script freshly synthesized (about 30 ms of espeak-ng work; sources are stateful)."""
    return SpeechSource(TEST_SCRIPT)


def envelope_db(audio: npt.NDArray[np.float32], hop: int, window: int) -> npt.NDArray[np.float64]:
    """Level in dB of `window` samples centred on every `hop`-th sample: a zero-delay reference."""
    centres = np.arange(0, len(audio), hop)
    half = window // 2
    power = np.array([np.mean(audio[max(0, c - half) : c + half] ** 2) for c in centres])
    return 10 * np.log10(power + 1e-12)


def energy_onsets(
    audio: npt.NDArray[np.float32], below_peak_db: float = 35.0, min_gap_s: float = 0.1
) -> list[float]:
    """Times where the level rises above (peak - below_peak_db) after at least `min_gap_s` below it.

    35 dB, because espeak-ng fills some pauses with a murmur about 40 dB below its peak.
    """
    hop = SAMPLE_RATE // 200  # 5 ms
    level = envelope_db(audio, hop, 2 * hop)
    threshold = level.max() - below_peak_db
    onsets: list[float] = []
    quiet = min_gap_s * 200  # the start counts as silence
    for i, value in enumerate(level):
        if value > threshold:
            if quiet >= min_gap_s * 200:
                onsets.append(i * hop / SAMPLE_RATE)
            quiet = 0
        else:
            quiet += 1
    return onsets


def delay_by_cross_correlation(
    signal: npt.NDArray[np.float64], reference: npt.NDArray[np.float64], step_s: float, max_lag: int = 20
) -> float:
    """Seconds by which `signal` lags `reference` (both sampled every `step_s`), parabola-refined."""
    a = signal - signal.mean()
    b = reference - reference.mean()
    lags = np.arange(-max_lag, max_lag + 1)
    corr = np.array(
        [np.dot(a[max(0, k) : len(a) + min(0, k)], b[max(0, -k) : len(b) - max(0, k)]) for k in lags]
    )
    best = int(np.argmax(corr))
    shift = 0.0
    if 0 < best < len(corr) - 1:
        left, mid, right = corr[best - 1], corr[best], corr[best + 1]
        shift = 0.5 * (left - right) / (left - 2 * mid + right)
    return float((lags[best] + shift) * step_s)
