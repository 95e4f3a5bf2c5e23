"""The HRTF set type: impulse responses per measured direction and ear, checked and at 48 kHz.

An `HrtfSet` is plain data at the renderer's rate (48 kHz): one impulse response per measured
direction and ear. Directions use SOFA's convention, azimuth counterclockwise from straight ahead
(90° is the listener's left) and elevation up, so a set read from a SOFA file needs no conversion.
Readers of HRTF files (`hrtf.py`, `sofa.py`) build sets through `make_hrtf_set`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from emulator.audio.source import SAMPLE_RATE

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]


class HrtfError(ValueError):
    """An HRTF file that cannot be used; the message says which file and why."""


@dataclass(frozen=True, eq=False)
class HrtfSet:
    """Head-related impulse responses for a set of measured directions.

    `hrir` is (directions, 2, taps) float32 with ear 0 the left ear; `azimuth_deg` and
    `elevation_deg` are (directions,) in SOFA's convention (see the module docstring).
    """

    name: str
    sample_rate: int
    hrir: FloatArray
    azimuth_deg: FloatArray
    elevation_deg: FloatArray
    credit: str = ""

    @property
    def directions(self) -> int:
        return int(self.hrir.shape[0])

    @property
    def taps(self) -> int:
        return int(self.hrir.shape[2])

    def unit_vectors(self) -> npt.NDArray[np.float64]:
        """(directions, 3) unit vectors in the head frame: x right, y up, -z forward (OpenXR)."""
        az = np.radians(self.azimuth_deg.astype(np.float64))
        el = np.radians(self.elevation_deg.astype(np.float64))
        return np.stack([-np.sin(az) * np.cos(el), np.sin(el), -np.cos(az) * np.cos(el)], axis=1)


def make_hrtf_set(
    name: str,
    hrir: npt.ArrayLike,
    azimuth_deg: npt.ArrayLike,
    elevation_deg: npt.ArrayLike,
    sample_rate: float,
    credit: str = "",
) -> HrtfSet:
    """Check the arrays, resample to 48 kHz if needed, and build the set; errors name `name`."""
    ir = np.asarray(hrir, dtype=np.float64)
    az = np.asarray(azimuth_deg, dtype=np.float64)
    el = np.asarray(elevation_deg, dtype=np.float64)
    if ir.ndim != 3 or ir.shape[1] != 2 or ir.shape[0] < 1 or ir.shape[2] < 1:
        raise HrtfError(f"{name}: impulse responses must be (directions, 2 ears, taps), got {ir.shape}")
    if az.shape != (ir.shape[0],) or el.shape != (ir.shape[0],):
        raise HrtfError(
            f"{name}: {ir.shape[0]} impulse responses but {az.shape} azimuths and {el.shape} elevations"
        )
    if not np.all(np.isfinite(ir)):
        raise HrtfError(f"{name}: the impulse responses contain NaN or infinite values")
    if not (np.all(np.isfinite(az)) and np.all(np.isfinite(el))):
        raise HrtfError(f"{name}: the source positions contain NaN or infinite values")
    if not (math.isfinite(sample_rate) and 8_000 <= sample_rate <= 384_000):
        raise HrtfError(f"{name}: sample rate {sample_rate} Hz is not a usable audio rate")
    if sample_rate != SAMPLE_RATE:
        ratio = Fraction(SAMPLE_RATE) / Fraction(sample_rate).limit_denominator(1000)
        from scipy.signal import resample_poly  # a second to import: only resampling pays

        ir = resample_poly(ir, ratio.numerator, ratio.denominator, axis=-1)
        log.info("%s: resampled from %g Hz to %d Hz", name, sample_rate, SAMPLE_RATE)
    return HrtfSet(
        name=name,
        sample_rate=SAMPLE_RATE,
        hrir=np.ascontiguousarray(ir, dtype=np.float32),
        azimuth_deg=np.mod(az, 360.0).astype(np.float32),
        elevation_deg=el.astype(np.float32),
        credit=credit,
    )
