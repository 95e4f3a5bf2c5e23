"""Reading SOFA (AES69) SimpleFreeFieldHRIR files, such as a personal HRTF or a CIPIC subject.

SOFA files are netCDF-4, which is HDF5 underneath, so h5py reads them directly: it is one small
binary wheel with HDF5 inside, where netCDF4 or sofar would add the netCDF C library (and sofar its
own dependency tree) to read the handful of variables this needs. Only what the renderer uses is
read: `Data.IR`, `Data.SamplingRate`, `Data.Delay`, `SourcePosition` and the convention attributes.
Every problem becomes an `HrtfError` naming the file and the field at fault.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from emulator.audio.hrtf_set import HrtfError, HrtfSet, make_hrtf_set

log = logging.getLogger(__name__)

CONVENTION = "SimpleFreeFieldHRIR"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.size == 1:
        return _text(value.reshape(-1)[0])
    return str(value)


# What a real HRIR set needs, with room to spare: the densest public sets have ~12,000 directions and
# a few thousand taps. A file declaring more is refused from its shape, before anything is read.
MAX_MEASUREMENTS = 100_000
MAX_TAPS = 32_768
MAX_VALUES = 2**26  # 512 MiB as float64, for any one variable


def _array(file: Any, name: str, where: str) -> npt.NDArray[np.float64]:
    if name not in file:
        raise HrtfError(f"{where}: no {name} variable")
    dataset = file[name]
    shape = tuple(getattr(dataset, "shape", None) or ())
    if int(np.prod(shape, dtype=np.float64)) > MAX_VALUES:
        raise HrtfError(f"{where}: {name} declares {shape} values, more than an HRIR set can need")
    try:
        return np.asarray(dataset[()], dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise HrtfError(f"{where}: {name} is not numeric ({error})") from None


def _source_directions(file: Any, where: str, count: int) -> tuple[npt.NDArray[np.float64], ...]:
    pos = _array(file, "SourcePosition", where)
    if pos.ndim == 1 and pos.shape == (3,):
        pos = pos[None, :]
    if pos.ndim != 2 or pos.shape[1] != 3 or pos.shape[0] not in (1, count):
        raise HrtfError(f"{where}: SourcePosition should be ({count}, 3), got {pos.shape}")
    pos = np.broadcast_to(pos, (count, 3))
    kind = _text(file["SourcePosition"].attrs.get("Type", "spherical")).strip().lower()
    if kind == "spherical":
        return pos[:, 0], pos[:, 1]
    if kind == "cartesian":
        # SOFA's cartesian frame: x forward, y left, z up.
        x, y, z = pos[:, 0], pos[:, 1], pos[:, 2]
        return np.degrees(np.arctan2(y, x)), np.degrees(np.arctan2(z, np.hypot(x, y)))
    raise HrtfError(f"{where}: SourcePosition Type {kind!r} is neither spherical nor cartesian")


def _sample_rate(file: Any, where: str) -> float:
    if "Data.SamplingRate" not in file:
        raise HrtfError(f"{where}: no sample rate (Data.SamplingRate is missing)")
    rates = _array(file, "Data.SamplingRate", where).reshape(-1)
    if rates.size == 0 or not np.all(np.isfinite(rates)):
        raise HrtfError(f"{where}: Data.SamplingRate holds no finite sample rate")
    if np.any(rates != rates[0]):
        raise HrtfError(f"{where}: Data.SamplingRate differs between measurements, which is not supported")
    return float(rates[0])


def _apply_delay(file: Any, ir: npt.NDArray[np.float64], where: str) -> npt.NDArray[np.float64]:
    """Fold SOFA's broadband `Data.Delay` (samples, per measurement or shared) into the responses."""
    if "Data.Delay" not in file:
        return ir
    delay = _array(file, "Data.Delay", where)
    if delay.ndim == 1:
        delay = delay[None, :]
    if delay.ndim != 2 or delay.shape[1] != 2 or delay.shape[0] not in (1, ir.shape[0]):
        raise HrtfError(f"{where}: Data.Delay should be (1 or {ir.shape[0]}, 2), got {delay.shape}")
    if not np.all(np.isfinite(delay)) or np.any(delay < 0) or np.any(delay > 10 * ir.shape[2]):
        raise HrtfError(f"{where}: Data.Delay holds negative, huge or non-finite delays")
    whole = np.rint(np.broadcast_to(delay, (ir.shape[0], 2))).astype(np.intp)
    if not np.any(whole):
        return ir
    if np.any(np.abs(delay - np.rint(delay)) > 1e-6):
        log.warning("%s: fractional Data.Delay rounded to whole samples", where)
    out = np.zeros((ir.shape[0], 2, ir.shape[2] + int(whole.max())))
    for m, ear in np.ndindex(ir.shape[0], 2):
        d = int(whole[m, ear])
        out[m, ear, d : d + ir.shape[2]] = ir[m, ear]
    return out


def _check_ir_shape(file: Any, where: str) -> None:
    if "Data.IR" not in file:
        raise HrtfError(f"{where}: no Data.IR variable")
    shape = tuple(getattr(file["Data.IR"], "shape", None) or ())
    if len(shape) != 3:
        raise HrtfError(f"{where}: Data.IR should be (measurements, 2, samples), got {shape}")
    measurements, _, taps = shape
    if measurements > MAX_MEASUREMENTS or taps > MAX_TAPS:
        raise HrtfError(
            f"{where}: Data.IR declares {measurements} measurements of {taps} samples; "
            f"at most {MAX_MEASUREMENTS} of {MAX_TAPS} are read"
        )


def read_sofa(path: Path) -> HrtfSet:
    """The HRTF set in a SOFA SimpleFreeFieldHRIR file, resampled to 48 kHz."""
    import h5py  # imported here so that the default KEMAR path never needs it

    where = str(path)
    try:
        with path.open("rb") as handle:
            signature = handle.read(8)
    except OSError as error:
        raise HrtfError(f"{where}: cannot read ({error.strerror or error})") from None
    if signature != _HDF5_SIGNATURE:
        raise HrtfError(f"{where}: not a SOFA file (SOFA files are netCDF-4/HDF5, this is something else)")
    try:
        with h5py.File(path, "r") as file:
            conventions = _text(file.attrs.get("Conventions", "")).strip()
            if conventions != "SOFA":
                raise HrtfError(f"{where}: not a SOFA file (its Conventions attribute is {conventions!r})")
            convention = _text(file.attrs.get("SOFAConventions", "")).strip()
            if convention != CONVENTION:
                raise HrtfError(
                    f"{where}: SOFA convention {convention!r} is not supported; need {CONVENTION}"
                )
            data_type = _text(file.attrs.get("DataType", "FIR")).strip()
            if data_type != "FIR":
                raise HrtfError(f"{where}: DataType {data_type!r} is not supported; need FIR")
            _check_ir_shape(file, where)
            ir = _array(file, "Data.IR", where)
            if ir.ndim != 3 or ir.shape[0] < 1 or ir.shape[2] < 1:
                raise HrtfError(f"{where}: Data.IR should be (measurements, 2, samples), got {ir.shape}")
            if ir.shape[1] != 2:
                raise HrtfError(f"{where}: Data.IR has {ir.shape[1]} receivers; an HRIR set needs 2 ears")
            if not np.all(np.isfinite(ir)):
                raise HrtfError(f"{where}: Data.IR contains NaN or infinite values")
            rate = _sample_rate(file, where)
            azimuth, elevation = _source_directions(file, where, ir.shape[0])
            ir = _apply_delay(file, ir, where)
            title = _text(file.attrs.get("Title", "")).strip() or path.stem
            credit = ", ".join(
                _text(file.attrs[k]).strip() for k in ("Organization", "License") if k in file.attrs
            )
    except HrtfError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise HrtfError(f"{where}: not a readable SOFA file ({error})") from None
    hrtf = replace(
        make_hrtf_set(where, ir, azimuth, elevation, rate, credit=credit), name=f"{title} ({path.name})"
    )
    log.info("%s: %d directions, %d taps at 48 kHz", where, hrtf.directions, hrtf.taps)
    return hrtf
