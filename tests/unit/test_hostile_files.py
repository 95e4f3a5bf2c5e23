"""Broken and hostile audio files: a clear one-line error or a warning that names the fix, never a
traceback, a MemoryError or a mirrored room played without a word."""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy.io import wavfile

from emulator.audio.hrtf import HrtfError, lateral_ild_db, load_hrtf, load_kemar
from emulator.audio.wavfile import SourceError, load_wav_mono_48k
from tests.support.sofa import sphere_grid, write_sofa


def lateral_set(grid: np.ndarray, *, swapped: bool, taps: int = 32) -> np.ndarray:
    """Impulses whose near ear is louder: the left ear for sources at +90° (SOFA's left), or, swapped,
    the right ear, as some circulating conversions of public databases have it."""
    side = np.sin(np.radians(grid[:, 0])) * np.cos(np.radians(grid[:, 1]))  # +1 on the left
    if swapped:
        side = -side
    ir = np.zeros((len(grid), 2, taps))
    ir[:, 0, 3] = 1.0 + 0.8 * side
    ir[:, 1, 3] = 1.0 - 0.8 * side
    return ir


def test_a_sofa_file_declaring_a_huge_dataset_is_refused_from_its_shape(tmp_path: Path) -> None:
    grid = sphere_grid()
    path = write_sofa(tmp_path / "huge.sofa", lateral_set(grid, swapped=False), grid)
    with h5py.File(path, "a") as file:
        del file["Data.IR"]
        # 10^6 × 2 × 10^6 doubles: 14.6 TiB declared, a few KB on disk (chunks never written)
        file.create_dataset("Data.IR", shape=(1_000_000, 2, 1_000_000), dtype="f8", chunks=(1, 2, 4096))
    assert path.stat().st_size < 1_000_000
    with pytest.raises(HrtfError, match=r"huge\.sofa: Data\.IR declares 1000000 measurements of 1000000"):
        load_hrtf(str(path))


def test_a_sofa_variable_too_large_to_be_real_is_refused(tmp_path: Path) -> None:
    grid = sphere_grid()
    path = write_sofa(tmp_path / "positions.sofa", lateral_set(grid, swapped=False), grid)
    with h5py.File(path, "a") as file:
        del file["Data.Delay"]
        file.create_dataset("Data.Delay", shape=(2**30, 2), dtype="f8", chunks=(4096, 2))
    with pytest.raises(HrtfError, match=r"Data\.Delay declares .* more than an HRIR set can need"):
        load_hrtf(str(path))


def test_a_mirrored_sofa_file_is_detected_with_one_warning_naming_the_fix(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    grid = sphere_grid()
    good = write_sofa(tmp_path / "good.sofa", lateral_set(grid, swapped=False), grid)
    bad = write_sofa(tmp_path / "mirrored.sofa", lateral_set(grid, swapped=True), grid)
    with caplog.at_level(logging.WARNING, logger="emulator.audio.hrtf"):
        load_hrtf(str(good))
        assert not caplog.records
        hrtf = load_hrtf(str(bad))
    (warning,) = caplog.records
    assert "left and right look swapped" in warning.getMessage() and "mirrored" in warning.getMessage()
    assert "\n" not in warning.getMessage()
    ild = lateral_ild_db(hrtf)
    assert ild is not None and ild < -3
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="emulator.audio.hrtf"):
        fixed = load_hrtf(str(bad), mirror=True)
    assert not caplog.records
    ild = lateral_ild_db(fixed)
    assert ild is not None and ild > 3
    # after mirroring, a source on the left is louder in the left ear, as in the good file
    left = int(np.flatnonzero((fixed.azimuth_deg == 90) & (fixed.elevation_deg == 0))[0])
    energy = np.sum(fixed.hrir[left].astype(np.float64) ** 2, axis=-1)
    assert energy[0] > 4 * energy[1]


def test_the_bundled_kemar_set_is_not_taken_for_mirrored() -> None:
    ild = lateral_ild_db(load_kemar())
    assert ild is not None and ild > 6


def wav_with_header_bytes(tmp_path: Path, offset: int, value: bytes) -> Path:
    path = tmp_path / "broken.wav"
    wavfile.write(path, 48_000, np.zeros(480, dtype=np.int16))
    data = bytearray(path.read_bytes())
    data[offset : offset + len(value)] = value
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("offset", "value", "sentence"),
    [
        (22, b"\x00\x00", "its header says it has 0 channels"),
        (24, b"\x00\x00\x00\x00", "its header says 0 samples a second"),
        (32, b"\x00\x00", "its header gives a sample size of 0"),
        (20, b"\x55\x00", "WAV format 0x0055 is not supported"),
        (12, b"junk", "it has no format (fmt) chunk"),
    ],
)
def test_a_broken_wav_header_gives_a_sentence_a_person_understands(
    tmp_path: Path, offset: int, value: bytes, sentence: str
) -> None:
    path = wav_with_header_bytes(tmp_path, offset, value)
    with pytest.raises(SourceError) as caught:
        load_wav_mono_48k(path)
    message = str(caught.value)
    assert sentence in message and str(path) in message
    assert "division" not in message and "modulo" not in message


def test_a_file_that_is_not_a_wav_at_all(tmp_path: Path) -> None:
    path = tmp_path / "song.wav"
    path.write_bytes(b"ID3\x03\x00" + bytes(200))
    with pytest.raises(SourceError, match="is not a WAV file"):
        load_wav_mono_48k(path)
