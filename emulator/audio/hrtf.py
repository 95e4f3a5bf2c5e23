"""HRTF sets: the measured MIT KEMAR set bundled in assets/hrtf, or any SOFA SimpleFreeFieldHRIR file.

An `HrtfSet` is plain data at the renderer's rate (48 kHz): one impulse response per measured
direction and ear. Directions use SOFA's convention, azimuth counterclockwise from straight ahead
(90° is the listener's left) and elevation up, so a set read from a SOFA file needs no conversion.
Everything that goes wrong while reading one is an `HrtfError` whose message names the file and
what is wrong with it.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from emulator.audio.source import SAMPLE_RATE
from emulator.model.assets import asset_path

log = logging.getLogger(__name__)

KEMAR_ASSET = ("hrtf", "mit_kemar_48k.npz")
KEMAR_CREDIT = "MIT KEMAR HRTF, Bill Gardner and Keith Martin, MIT Media Lab, 1994"

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


@lru_cache(maxsize=1)
def load_kemar() -> HrtfSet:
    """The bundled MIT KEMAR set (710 directions, elevation -40°…+90°), already at 48 kHz.

    Cached: every renderer in the process shares the same read-only arrays.
    """
    path = asset_path(*KEMAR_ASSET)
    try:
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            hrtf = make_hrtf_set(
                str(meta["name"]),
                data["hrir"],
                data["azimuth_deg"],
                data["elevation_deg"],
                float(data["sample_rate"]),
                credit=str(meta["credit"]),
            )
    except (OSError, KeyError, ValueError) as error:
        if isinstance(error, HrtfError):
            raise
        raise HrtfError(f"{path}: the bundled KEMAR set cannot be read ({error})") from None
    hrtf.hrir.setflags(write=False)
    return hrtf


LATERAL_DEG = 30.0  # directions within this of 90° azimuth (either side), near the horizontal plane
MIRRORED_ILD_DB = 3.0  # sources on the left louder in the right ear by more than this: ears swapped


def lateral_ild_db(hrtf: HrtfSet) -> float | None:
    """Left-ear minus right-ear level (dB) of sources on the left, minus the same on the right, halved.

    About +10 dB or more for a correct set (the near ear is louder); negative when left and right are
    swapped. None when the set has no lateral directions near the horizontal plane to judge by.
    """
    az = hrtf.azimuth_deg.astype(np.float64)
    flat = np.abs(hrtf.elevation_deg) <= LATERAL_DEG
    left = flat & (np.abs(az - 90.0) <= LATERAL_DEG)
    right = flat & (np.abs(az - 270.0) <= LATERAL_DEG)
    if not left.any() or not right.any():
        return None
    energy = np.sum(hrtf.hrir.astype(np.float64) ** 2, axis=2) + 1e-20  # (directions, 2)
    ild = 10.0 * np.log10(energy[:, 0] / energy[:, 1])
    return float((np.mean(ild[left]) - np.mean(ild[right])) / 2.0)


def mirrored(hrtf: HrtfSet) -> HrtfSet:
    """The set with its ears swapped: what a file whose left and right were exchanged should have been."""
    hrir = np.ascontiguousarray(hrtf.hrir[:, ::-1, :])
    return HrtfSet(
        f"{hrtf.name}, mirrored", hrtf.sample_rate, hrir, hrtf.azimuth_deg, hrtf.elevation_deg, hrtf.credit
    )


def load_hrtf(spec: str | Path | None = None, *, mirror: bool = False) -> HrtfSet:
    """`None` or "kemar" → the bundled set; anything else is a path to a SOFA file (`--hrtf`).

    `mirror` swaps the ears (`--hrtf-mirror`). A file that looks mirrored (sources on the left louder
    in the right ear) is played as it is, with a one-line warning naming the option.
    """
    if spec is None or str(spec).lower() in ("", "kemar", "default"):
        hrtf = load_kemar()
    else:
        from emulator.audio.sofa import read_sofa  # h5py only when a SOFA file is asked for

        hrtf = read_sofa(Path(spec))
    if mirror:
        return mirrored(hrtf)
    ild = lateral_ild_db(hrtf)
    if ild is not None and ild < -MIRRORED_ILD_DB:
        log.warning(
            "%s: sources on the left (+90° azimuth) are %.0f dB louder in the right ear: its left and "
            "right look swapped; play it with --hrtf-mirror (the Audio dock: Mirror left/right)",
            hrtf.name, -ild,
        )  # fmt: skip
    return hrtf
