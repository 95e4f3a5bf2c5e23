"""`headset-emulator spatial-test`: the circling sound is heard left, then right; bad options are one line."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from emulator.cli import main
from tests.support.sofa import sphere_grid, write_sofa


def test_the_sound_passes_the_left_ear_then_the_right(tmp_path: Path) -> None:
    path = tmp_path / "circle.wav"
    assert main(["spatial-test", "--seconds", "2", "--output", f"wav:{path}"]) == 0
    with wave.open(str(path), "rb") as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2).astype(np.float64)
    quarter = len(pcm) // 4
    left_side = pcm[quarter - 2400 : quarter + 2400]
    right_side = pcm[3 * quarter - 2400 : 3 * quarter + 2400]

    def left_minus_right_db(x: np.ndarray) -> float:
        return float(10 * np.log10(np.sum(x[:, 0] ** 2) / np.sum(x[:, 1] ** 2)))

    assert left_minus_right_db(left_side) > 6
    assert left_minus_right_db(right_side) < -6


def test_a_sofa_file_is_used_and_a_broken_one_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = sphere_grid()
    ir = np.zeros((len(grid), 2, 32))
    ir[:, :, 0] = 1.0
    good = write_sofa(tmp_path / "flat.sofa", ir, grid)
    assert main(["spatial-test", "--seconds", "0.5", "--hrtf", str(good), "--output", "silent"]) == 0
    assert "flat.sofa" in capsys.readouterr().out
    broken = write_sofa(tmp_path / "broken.sofa", ir, grid, variables={"Data.SamplingRate": None})
    assert main(["spatial-test", "--hrtf", str(broken), "--output", "silent"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no sample rate" in err[0] and "Traceback" not in err[0]
    assert main(["spatial-test", "--output", "no-such-card-anywhere"]) == 2
    assert "no-such-card-anywhere" in capsys.readouterr().err
