from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.io import wavfile

from emulator.audio.factory import open_source, register_source
from emulator.audio.source import SAMPLE_RATE
from emulator.audio.tone import SilenceSource
from emulator.audio.wavfile import SourceError
from tests.support.media import dominant_hz


def test_tone_has_its_frequency_and_joins_blocks_without_a_click() -> None:
    src = open_source("tone:660")
    blocks = [src.read(960) for _ in range(50)]
    pcm = np.concatenate(blocks)
    assert abs(dominant_hz(pcm) - 660) < 2
    steps = np.abs(np.diff(pcm))
    assert steps.max() < 2 * np.pi * 660 / SAMPLE_RATE * 0.3 * 1.01  # no jump at block edges
    assert all(b.dtype == np.float32 and b.shape == (960,) for b in blocks)


def test_wav_any_rate_and_channels_plays_at_48k_mono(tmp_path: Path) -> None:
    rate = 22_050
    t = np.arange(rate) / rate
    stereo = np.stack([np.sin(2 * np.pi * 500 * t), np.sin(2 * np.pi * 500 * t)], axis=1)
    path = tmp_path / "s.wav"
    wavfile.write(path, rate, (stereo * 16000).astype(np.int16))
    src = open_source(f"wav:{path}")
    pcm = src.read(SAMPLE_RATE)
    assert abs(dominant_hz(pcm[: SAMPLE_RATE - 100]) - 500) < 3
    assert np.max(np.abs(pcm)) == pytest.approx(16000 / 32768, rel=0.05)
    assert not np.any(src.read(960)), "a file played once ends in silence"


def test_wav_loop_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    wavfile.write(path, SAMPLE_RATE, np.linspace(0.1, 0.5, 480, dtype=np.float32))
    src = open_source(f"wav:{path}:loop")
    pcm = src.read(1200)
    assert pcm[480] == pytest.approx(0.1) and pcm[960] == pytest.approx(0.1)


def test_missing_broken_and_malformed_specs_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        open_source(f"wav:{tmp_path / 'nope.wav'}")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    with pytest.raises(SourceError, match="damaged WAV"):
        open_source(f"wav:{broken}")
    with pytest.raises(SourceError, match="frequency"):
        open_source("tone:loud")
    with pytest.raises(SourceError, match="between"):
        open_source("tone:30000")
    with pytest.raises(SourceError, match="unknown audio source"):
        open_source("mic2")


def test_other_modules_can_register_a_kind() -> None:
    register_source("test-silence", lambda arg: SilenceSource())
    assert not np.any(open_source("test-silence").read(960))
    assert not np.any(open_source("silence").read(960))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_hostile_wav_bytes_give_a_clear_error_or_audio(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.wav"
    path.write_bytes(b"RIFF" + len(data).to_bytes(4, "little") + b"WAVE" + data)
    try:
        src = open_source(f"wav:{path}")
    except SourceError as exc:
        assert str(path) in str(exc)
    else:
        block = src.read(960)
        assert block.shape == (960,) and np.all(np.abs(block) <= 1)
