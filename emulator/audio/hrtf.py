"""HRTF sets: the measured MIT KEMAR set bundled in assets/hrtf, or any SOFA SimpleFreeFieldHRIR file.

The set itself (`HrtfSet`, its directions' convention) is in `hrtf_set.py`; this module loads one
and checks that its ears are not swapped. Everything that goes wrong while reading one is an
`HrtfError` whose message names the file and what is wrong with it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from emulator.audio.hrtf_set import HrtfError as HrtfError
from emulator.audio.hrtf_set import HrtfSet as HrtfSet
from emulator.audio.hrtf_set import make_hrtf_set
from emulator.model.assets import asset_path

log = logging.getLogger(__name__)

KEMAR_ASSET = ("hrtf", "mit_kemar_48k.npz")
KEMAR_CREDIT = "MIT KEMAR HRTF, Bill Gardner and Keith Martin, MIT Media Lab, 1994"


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


KEMAR_NAMES = ("", "kemar", "default")
OFF_NAMES = ("off", "none")


@dataclass(frozen=True)
class HrtfSpec:
    """An `--hrtf` value: the bundled KEMAR set, none at all (`off`: voices summed to both ears), or a
    SOFA file. Any text is one of these, so parsing never fails; the file is read (and refused if it
    cannot be used) by `load_hrtf`, when the ears open."""

    text: str  # as written
    path: Path | None = None  # the SOFA file; None: KEMAR, or no HRTF when `off`
    off: bool = False

    @classmethod
    def parse(cls, text: str) -> HrtfSpec:
        name = text.strip().lower()
        if name in OFF_NAMES:
            return cls(text, off=True)
        if name in KEMAR_NAMES:
            return cls(text)
        return cls(text, Path(text))

    def __str__(self) -> str:
        return self.text


def load_hrtf(spec: HrtfSpec | str | Path | None = None, *, mirror: bool = False) -> HrtfSet:
    """`None` or "kemar" → the bundled set; anything else is a path to a SOFA file.

    `mirror` swaps the ears. A file that looks mirrored (sources on the left louder in the right ear)
    is played as it is, with a one-line warning that says so.
    """
    if isinstance(spec, HrtfSpec):
        spec = spec.path
    if spec is None or str(spec).lower() in KEMAR_NAMES:
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
            "right look swapped; play it mirrored (its ears swapped) to hear it the right way round",
            hrtf.name, -ild,
        )  # fmt: skip
    return hrtf
