"""Writing small SOFA SimpleFreeFieldHRIR files for tests, good ones and deliberately broken ones.

The files are HDF5 laid out as netCDF-4 SOFA files are: global attributes, `Data.IR` (M, R, N),
`Data.SamplingRate`, `SourcePosition` with Type/Units. `variables` and `attributes` replace or (with
None) remove entries, so each test breaks exactly one thing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt


def sphere_grid(
    azimuth_step: float = 30.0, elevations: tuple[float, ...] = (-60, -30, 0, 30, 60)
) -> npt.NDArray[np.float64]:
    """(M, 2) azimuth/elevation degrees covering the whole sphere, poles included."""
    rows = [(0.0, -90.0), (0.0, 90.0)]
    for el in elevations:
        rows.extend((az, float(el)) for az in np.arange(0.0, 360.0, azimuth_step))
    return np.asarray(rows)


def write_sofa(
    path: Path,
    ir: npt.ArrayLike,
    directions: npt.ArrayLike,
    sample_rate: float = 48_000.0,
    *,
    variables: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
) -> Path:
    ir = np.asarray(ir, dtype=np.float64)
    directions = np.asarray(directions, dtype=np.float64)
    positions = np.column_stack([directions, np.full(len(directions), 1.2)])
    attrs_out: dict[str, Any] = {
        "Conventions": "SOFA",
        "Version": "2.1",
        "SOFAConventions": "SimpleFreeFieldHRIR",
        "SOFAConventionsVersion": "1.0",
        "DataType": "FIR",
        "Title": "test set",
        "Organization": "headset-emulator tests",
        "License": "CC0",
    }
    vars_out: dict[str, Any] = {
        "Data.IR": ir,
        "Data.SamplingRate": np.array([sample_rate]),
        "Data.Delay": np.zeros((1, 2)),
        "SourcePosition": positions,
        "ListenerPosition": np.zeros((1, 3)),
        "ReceiverPosition": np.array([[0.0, 0.09, 0.0], [0.0, -0.09, 0.0]]),
    }
    for table, changes in ((vars_out, variables), (attrs_out, attributes)):
        for key, value in (changes or {}).items():
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value
    with h5py.File(path, "w") as file:
        for key, value in attrs_out.items():
            file.attrs[key] = value
        for key, value in vars_out.items():
            file.create_dataset(key, data=value)
        if "SourcePosition" in file:
            file["SourcePosition"].attrs["Type"] = "spherical"
            file["SourcePosition"].attrs["Units"] = "degree, degree, metre"
        if "Data.SamplingRate" in file:
            file["Data.SamplingRate"].attrs["Units"] = "hertz"
    return path
