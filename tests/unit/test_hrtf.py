"""HRTF sets: the bundled KEMAR data and SOFA files, good and broken."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.audio.directions import DirectionInterpolator
from emulator.audio.hrtf import HrtfError, load_hrtf, load_kemar
from emulator.audio.sofa import read_sofa
from tests.support.sofa import sphere_grid, write_sofa


def impulses(directions: np.ndarray, taps: int = 64) -> np.ndarray:
    ir = np.zeros((len(directions), 2, taps))
    ir[:, 0, 5] = 1.0
    ir[:, 1, 9] = 0.5
    return ir


def test_kemar_is_bundled_at_48k_with_credit() -> None:
    kemar = load_hrtf(None)
    assert kemar is load_kemar()
    assert kemar.sample_rate == 48_000
    assert kemar.directions == 710
    assert kemar.hrir.shape == (710, 2, 512)
    assert float(kemar.elevation_deg.min()) == -40.0 and float(kemar.elevation_deg.max()) == 90.0
    assert "Gardner" in kemar.credit and "Martin" in kemar.credit and "1994" in kemar.credit
    assert np.all(np.isfinite(kemar.hrir))


def test_kemar_left_ear_is_louder_for_a_source_on_the_left() -> None:
    kemar = load_kemar()
    left = int(np.flatnonzero((kemar.azimuth_deg == 90) & (kemar.elevation_deg == 0))[0])
    energy = np.sum(kemar.hrir[left].astype(np.float64) ** 2, axis=-1)
    assert 10 * np.log10(energy[0] / energy[1]) > 6


def test_sofa_file_reads_back(tmp_path: Path) -> None:
    grid = sphere_grid()
    path = write_sofa(tmp_path / "set.sofa", impulses(grid), grid)
    hrtf = load_hrtf(str(path))
    assert hrtf.directions == len(grid)
    assert hrtf.sample_rate == 48_000
    np.testing.assert_allclose(hrtf.hrir, impulses(grid))
    np.testing.assert_allclose(hrtf.azimuth_deg, np.mod(grid[:, 0], 360))
    assert "CC0" in hrtf.credit


def test_sofa_at_44k1_is_resampled_to_48k(tmp_path: Path) -> None:
    grid = sphere_grid()
    path = write_sofa(tmp_path / "set.sofa", impulses(grid, taps=441), grid, sample_rate=44_100.0)
    hrtf = read_sofa(path)
    assert hrtf.sample_rate == 48_000
    assert hrtf.taps == 480


def test_sofa_data_delay_is_folded_in(tmp_path: Path) -> None:
    grid = sphere_grid()
    path = write_sofa(
        tmp_path / "set.sofa", impulses(grid), grid, variables={"Data.Delay": np.array([[3.0, 0.0]])}
    )
    hrtf = read_sofa(path)
    assert int(np.argmax(hrtf.hrir[0, 0])) == 8 and int(np.argmax(hrtf.hrir[0, 1])) == 9


def _broken(tmp_path: Path, **changes: object) -> Path:
    grid = sphere_grid()
    return write_sofa(tmp_path / "broken.sofa", impulses(grid), grid, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"attributes": {"Conventions": "netCDF"}}, "not a SOFA file"),
        (
            {"attributes": {"SOFAConventions": "SimpleFreeFieldHRTF"}},
            "'SimpleFreeFieldHRTF' is not supported",
        ),
        ({"attributes": {"DataType": "TF"}}, "DataType 'TF'"),
        ({"variables": {"Data.IR": np.zeros((62, 3, 64))}}, "3 receivers"),
        ({"variables": {"Data.IR": np.zeros((62, 64))}}, "Data.IR should be (measurements, 2, samples)"),
        ({"variables": {"Data.IR": None}}, "no Data.IR"),
        ({"variables": {"Data.SamplingRate": None}}, "no sample rate"),
        ({"variables": {"Data.SamplingRate": np.array([np.nan])}}, "no finite sample rate"),
        ({"variables": {"Data.SamplingRate": np.array([100.0])}}, "not a usable audio rate"),
        ({"variables": {"SourcePosition": np.zeros((5, 3))}}, "SourcePosition should be (62, 3)"),
        ({"variables": {"SourcePosition": None}}, "no SourcePosition"),
    ],
)
def test_broken_sofa_files_say_what_is_wrong(tmp_path: Path, changes: dict[str, dict], message: str) -> None:
    path = _broken(tmp_path, **changes)
    with pytest.raises(HrtfError) as error:
        load_hrtf(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_nan_in_responses_is_named(tmp_path: Path) -> None:
    grid = sphere_grid()
    ir = impulses(grid)
    ir[3, 1, 7] = np.nan
    path = write_sofa(tmp_path / "nan.sofa", ir, grid)
    with pytest.raises(HrtfError, match="NaN"):
        read_sofa(path)


def test_a_file_that_is_not_sofa_at_all(tmp_path: Path) -> None:
    path = tmp_path / "voice.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    with pytest.raises(HrtfError, match="not a SOFA file"):
        load_hrtf(path)
    with pytest.raises(HrtfError, match="cannot read"):
        load_hrtf(tmp_path / "missing.sofa")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2048), st.booleans())
def test_hostile_bytes_give_hrtf_error_only(tmp_path: Path, payload: bytes, hdf5_header: bool) -> None:
    path = tmp_path / "fuzz.sofa"
    path.write_bytes((b"\x89HDF\r\n\x1a\n" if hdf5_header else b"") + payload)
    with pytest.raises(HrtfError):
        read_sofa(path)


def test_measured_direction_gets_full_weight_and_between_is_shared() -> None:
    kemar = load_kemar()
    interp = DirectionInterpolator(kemar.unit_vectors())
    assert interp.triangulated
    idx, w = interp.weights(kemar.unit_vectors()[[0, 123, 709]])
    for row, measured in enumerate((0, 123, 709)):
        assert w[row][np.argmax(w[row])] == 1.0 and idx[row][np.argmax(w[row])] == measured
    between = (kemar.unit_vectors()[100] + kemar.unit_vectors()[101]) / 2
    idx, w = interp.weights(between / np.linalg.norm(between))
    shares = {int(i): float(x) for i, x in zip(idx[0], w[0], strict=True) if x > 0}
    assert set(shares) == {100, 101}
    assert shares[100] == pytest.approx(0.5, abs=1e-6)


def test_a_horizontal_ring_falls_back_to_the_nearest_direction() -> None:
    az = np.radians(np.arange(0, 360, 45.0))
    ring = np.column_stack([-np.sin(az), np.zeros_like(az), -np.cos(az)])
    interp = DirectionInterpolator(ring)
    assert not interp.triangulated
    idx, w = interp.weights(np.array([[-0.99, 0.1, -0.05]]))  # a little left of 90°
    assert idx[0, 0] == 2 and w[0, 0] == 1.0


def test_a_hint_never_changes_the_answer() -> None:
    kemar = load_kemar()
    interp = DirectionInterpolator(kemar.unit_vectors())
    rng = np.random.default_rng(4)
    d = rng.standard_normal((300, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    faces, w = interp.locate(d)
    for hint in (faces, np.roll(faces, 1), np.full(300, -1), rng.integers(0, faces.max() + 1, 300)):
        hinted_faces, hinted_w = interp.locate(d, hint)
        np.testing.assert_allclose(
            np.sum(kemar.unit_vectors()[interp.corners(hinted_faces)] * hinted_w[..., None], axis=1),
            np.sum(kemar.unit_vectors()[interp.corners(faces)] * w[..., None], axis=1),
            atol=1e-9,
        )
