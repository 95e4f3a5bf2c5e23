import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from emulator.drive.errors import DriveError
from emulator.drive.lipsync import LipSync

RATE = 48_000
BLOCK = 960  # 20 ms, as the sender reads audio


def tone(freq: float, seconds: float, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def feed_and_watch(lips: LipSync, signal: np.ndarray, name: str = "jawOpen") -> np.ndarray:
    values = []
    for start in range(0, len(signal) - BLOCK + 1, BLOCK):
        lips.feed(signal[start : start + BLOCK])
        values.append(lips.sample(start / RATE)[name])
    return np.array(values)


def test_the_jaw_opens_with_sound_and_closes_in_silence() -> None:
    lips = LipSync(RATE)
    assert feed_and_watch(lips, np.zeros(RATE // 2, dtype=np.float32)).max() == 0.0
    loud = feed_and_watch(lips, tone(300, 0.3))
    assert loud[-1] > 0.5
    assert loud[2] > 0.3  # opens within ~60 ms
    quiet = feed_and_watch(lips, np.zeros(int(0.4 * RATE), dtype=np.float32))
    assert quiet[-1] < 0.02


def test_the_mouth_follows_the_syllable_rhythm() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(2 * RATE) / RATE
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None)  # four bursts a second
    signal = (0.4 * envelope * rng.standard_normal(len(t))).astype(np.float32)
    jaw = feed_and_watch(LipSync(RATE), signal)
    opened = np.concatenate(([0], (jaw > 0.3).astype(int)))
    assert np.count_nonzero(np.diff(opened) == 1) == 8


def test_hiss_spreads_the_lips_and_a_low_voice_rounds_them() -> None:
    rng = np.random.default_rng(1)
    hiss = np.diff(rng.standard_normal(RATE // 2)).astype(np.float32) * 0.2  # high-frequency noise
    bright = LipSync(RATE)
    feed_and_watch(bright, hiss)
    face = bright.sample(0.5)
    assert face["mouthStretchLeft"] > face["mouthFunnel"] + 0.2
    dark = LipSync(RATE)
    feed_and_watch(dark, tone(180, 0.5))
    face = dark.sample(0.5)
    assert face["mouthFunnel"] > face["mouthStretchLeft"] + 0.2


def test_any_block_size_works_and_bad_blocks_are_refused() -> None:
    lips = LipSync(RATE)
    signal = tone(300, 0.2)
    for size in (1, 7, 333, 1000):  # slices of 10 ms are assembled across calls
        for start in range(0, len(signal), size):
            lips.feed(signal[start : start + size])
    assert lips.openness > 0.5
    with pytest.raises(DriveError, match="mono"):
        lips.feed(np.zeros((2, 480), dtype=np.float32))
    with pytest.raises(DriveError, match="8 kHz"):
        LipSync(4000)


@given(arrays(np.float32, st.integers(0, 3000), elements=st.floats(width=32)))
def test_garbage_audio_never_breaks_the_face(block: np.ndarray) -> None:
    lips = LipSync(RATE)
    lips.feed(block)
    weights = lips.sample(1.0).weights
    assert np.isfinite(weights).all() and ((weights >= 0) & (weights <= 1)).all()
