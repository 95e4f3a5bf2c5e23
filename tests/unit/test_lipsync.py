"""Lip-sync from audio alone: real espeak-ng speech in, a mouth that follows it out."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import lfilter

from emulator.audio.espeak import synthesize
from emulator.audio.source import FRAME_SAMPLES, SAMPLE_RATE
from emulator.audio.speech import SpeechSource, TalkingSource
from emulator.drive.lipsync import HOP, LipSync, LipSyncedSource
from emulator.drive.visemes import VisemeFaceDriver
from emulator.model.face import arkit_index
from emulator.model.viseme_timeline import SIL, VisemeTimeline, viseme_index
from tests.support.speech import TEST_SCRIPT, delay_by_cross_correlation, envelope_db


def speech_with_noise(source: SpeechSource, noise_db: float = -55.0, seed: int = 7) -> np.ndarray:
    audio = source.read(round((source.duration + 0.5) * SAMPLE_RATE))
    noise = np.random.default_rng(seed).normal(0, 10 ** (noise_db / 20), len(audio))
    return (audio + noise).astype(np.float32)


def jaw_per_hop(audio: np.ndarray, block: int = HOP) -> np.ndarray:
    """jawOpen after every `block` samples pushed; entry k is known at sample (k + 1) * block."""
    lips = LipSync()
    return np.array(
        [lips.push(audio[i : i + block])["jawOpen"] for i in range(0, len(audio) - block + 1, block)]
    )


def test_the_mouth_opens_in_speech_and_shuts_in_silence(spoken_script: SpeechSource) -> None:
    spans = [(start, start + u.duration) for start, u in spoken_script.utterances]
    jaw = jaw_per_hop(speech_with_noise(spoken_script))
    times = (np.arange(len(jaw)) + 1) * HOP / SAMPLE_RATE
    for start, end in spans:
        during = jaw[(times >= start) & (times < end)]
        assert during.max() > 0.35 and during.mean() > 0.15, f"line at {start:.1f} s: mouth barely moves"
        assert (during > 0.1).mean() > 0.6, f"line at {start:.1f} s: the mouth is shut for most of it"
    for (_, end), (start, _) in itertools.pairwise(spans):
        between = jaw[(times > end + 0.2) & (times < start)]
        assert len(between) > 30 and between.max() < 0.02, f"mouth open in the silence after {end:.1f} s"
    assert jaw[times < spans[0][0]].max() == 0.0


def test_delay_from_sound_to_mouth_is_at_most_50_ms(spoken_script: SpeechSource) -> None:
    audio = speech_with_noise(spoken_script)
    jaw = jaw_per_hop(audio)
    # The reference is the level of 10 ms of audio centred on the instant each jaw value appears: what
    # a mouth with no delay at all would follow. Floored at the noise so silence is flat in both.
    at = (np.arange(len(jaw)) + 1) * HOP
    level = envelope_db(audio, HOP, HOP)[at // HOP]
    reference = np.maximum(level, -50.0)
    delay = delay_by_cross_correlation(jaw, reference, HOP / SAMPLE_RATE)
    assert 0.0 <= delay <= 0.050, f"lip-sync lags the sound by {delay * 1000:.0f} ms"


def test_block_size_does_not_change_the_result(spoken_script: SpeechSource) -> None:
    audio = speech_with_noise(spoken_script)[: SAMPLE_RATE * 3]
    by_hop = jaw_per_hop(audio, HOP)
    lips = LipSync()
    odd = []
    pos = 0
    for size in [1, 7, 960, 333, 4800, 2] * 40:
        lips.push(audio[pos : pos + size])
        pos += size
        odd.append((pos // HOP, lips.mouth_open()))
    for hops, value in odd:
        if 0 < hops <= len(by_hop):
            assert value == pytest.approx(by_hop[hops - 1], abs=1e-6)


def average_face_while_speaking(text: str) -> dict[str, float]:
    """Mean weights over the hops the gate calls speech, for `text` spoken by espeak-ng."""
    audio = synthesize(text).samples
    audio = np.concatenate([np.zeros(SAMPLE_RATE // 4, dtype=np.float32), audio]) + np.float32(1e-4)
    lips = LipSync()
    faces = []
    for i in range(0, len(audio) - HOP + 1, HOP):
        face = lips.push(audio[i : i + HOP])
        if lips.speaking:
            faces.append(face.weights.copy())
    mean = np.mean(faces, axis=0)
    return {name: float(mean[arkit_index(name)]) for name in ("jawOpen", "mouthPucker", "mouthSmileLeft")}  # type: ignore[index]


def test_vowel_colour_shapes_the_lips() -> None:
    oo, ee, ah = (average_face_while_speaking(vowel) for vowel in ("Ooh.", "Eee.", "Ah."))
    assert oo["mouthPucker"] > 3 * max(ee["mouthPucker"], ah["mouthPucker"])
    assert ee["mouthSmileLeft"] > 3 * max(oo["mouthSmileLeft"], ah["mouthSmileLeft"])
    # The jaw follows loudness first; an open vowel opens it further.
    assert ah["jawOpen"] > 1.25 * max(oo["jawOpen"], ee["jawOpen"])


def test_rounding_shows_in_running_speech_too() -> None:
    oo = average_face_while_speaking("Ooh, who knew? You do, too.")
    ee = average_face_while_speaking("Eee, see me, Steve.")
    assert oo["mouthPucker"] > 2 * ee["mouthPucker"]
    assert ee["mouthSmileLeft"] > 2 * oo["mouthSmileLeft"]


def test_hiss_keeps_the_jaw_nearly_closed() -> None:
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 1, SAMPLE_RATE // 2)
    hiss = lfilter([1, -1], [1], lfilter([1, -1], [1], noise))  # tilted to the top, like an "s"
    hiss = (0.3 * hiss / np.abs(hiss).max()).astype(np.float32)
    vowel = synthesize("Ah").samples
    vowel = (0.3 * vowel / np.abs(vowel).max()).astype(np.float32)
    quiet = np.full(SAMPLE_RATE // 2, 1e-4, dtype=np.float32)
    lips = LipSync()
    lips.push(quiet)
    s = lips.push(hiss).copy()
    lips.reset()
    lips.push(quiet)
    ah = max(lips.push(vowel[i : i + HOP])["jawOpen"] for i in range(0, len(vowel) - HOP, HOP))
    assert s["jawOpen"] < 0.5 * ah
    assert s["mouthStretchLeft"] > 0.1


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=2000))
def test_hostile_samples_never_break_the_face(samples: list[float]) -> None:
    lips = LipSync()
    face = lips.push(np.asarray(samples, dtype=np.float32))
    face = lips.push(np.full(HOP * 3, 1e30, dtype=np.float32))
    assert np.all(np.isfinite(face.weights)) and np.all((face.weights >= 0) & (face.weights <= 1))
    lips.reset()
    assert lips.mouth_open() == 0 and lips.hops == 0


def test_any_source_becomes_a_talking_source_with_visemes_from_its_sound(spoken_script: SpeechSource) -> None:
    """A WAV-like source without visemes: the estimated keys start speaking when the script does."""
    plain = SpeechSource(TEST_SCRIPT)  # used only as an AudioSource here; its own visemes are ignored
    talking = LipSyncedSource(plain)
    assert isinstance(talking, TalkingSource)
    keys = []
    for frame in range(round(plain.duration * SAMPLE_RATE) // FRAME_SAMPLES):
        talking.read(FRAME_SAMPLES)
        keys += talking.visemes_between(frame * FRAME_SAMPLES / SAMPLE_RATE, talking.position)
    talking.close()
    estimated = VisemeTimeline(keys).speech_onsets()
    assert len(estimated) >= len(TEST_SCRIPT)
    for line in TEST_SCRIPT:
        assert min(abs(t - line.start) for t in estimated) <= 0.05
    assert any(k.viseme == viseme_index("aa") for k in keys) and any(k.viseme == SIL for k in keys)
    driven = VisemeFaceDriver(keys)
    ends = [start + u.duration for start, u in plain.utterances]
    assert driven.face_at(ends[0] + 0.4)["jawOpen"] < 0.02
    assert max(driven.face_at(t)["jawOpen"] for t in np.arange(TEST_SCRIPT[0].start, ends[0], 0.01)) > 0.3
