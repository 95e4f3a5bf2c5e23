"""Which of an avatar's morph targets each ARKit blendshape and Oculus viseme drives.

Avatar files name their targets in many dialects: `jawOpen`, `JawOpen`, `blendShape1.jawOpen`,
`ARKit_jawOpen`, `eyeBlink_L`. Names are matched case-insensitively after stripping a prefix
(anything up to the last `.`, `|` or `:`, and `ARKit_`/`BS_`-style tags), using the model layer's
tolerant `arkit_index`. Visemes are matched the same way against the 15 Oculus/RPM names.

Meta Quest faces arrive as 70 FACS weights; `arkit_weights` maps them onto ARKit with the model
layer's table (`meta_face.meta_to_arkit`), so everything else works on the 52 ARKit weights plus
optional viseme weights.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from emulator.model.face import ARKIT_COUNT, ARKIT_NAMES, Face, arkit_index
from emulator.model.meta_face import MetaFace, meta_to_arkit
from emulator.model.visemes import VISEME_COUNT, Viseme

VISEME_NAMES: tuple[str, ...] = tuple(v.target_name for v in Viseme)  # the wire order
_VISEME_INDEX = {n.lower(): i for i, n in enumerate(VISEME_NAMES)}
_PREFIX = re.compile(r"^(?:arkit|bs|blendshape\d*|shapes?|morph)[_\-.]", re.IGNORECASE)

F32 = npt.NDArray[np.float32]


def strip_prefix(name: str) -> str:
    """`blendShape1.jawOpen` → `jawOpen`; `ARKit_eyeBlinkLeft` → `eyeBlinkLeft`."""
    base = re.split(r"[.|:]", name)[-1]
    while True:
        stripped = _PREFIX.sub("", base)
        if stripped == base or not stripped:
            return base
        base = stripped


def viseme_index(name: str) -> int | None:
    base = strip_prefix(name).lower()
    if not base.startswith("viseme_"):
        base = "viseme_" + base if f"viseme_{base}" in _VISEME_INDEX else base
    return _VISEME_INDEX.get(base)


@dataclass(frozen=True)
class TargetMap:
    """For each ARKit shape and viseme, the avatar's target index or -1 when it has none."""

    arkit: npt.NDArray[np.int32]
    visemes: npt.NDArray[np.int32]
    target_count: int

    @property
    def missing_arkit(self) -> tuple[str, ...]:
        return tuple(n for n, t in zip(ARKIT_NAMES, self.arkit, strict=True) if t < 0)

    @property
    def has_visemes(self) -> bool:
        return bool((self.visemes >= 0).any())

    def weights(self, arkit: F32 | None, visemes: F32 | None = None) -> F32:
        """Per-target weights from 52 ARKit weights and optionally 15 viseme weights (both 0..1).

        When the avatar has no viseme targets, visemes are ignored: lip-sync drivers fill the
        ARKit mouth shapes themselves. Two sources driving one target add up, clamped to 1.
        """
        out = np.zeros(self.target_count, np.float32)
        if arkit is not None:
            sel = self.arkit >= 0
            np.add.at(out, self.arkit[sel], np.asarray(arkit, np.float32)[:ARKIT_COUNT][sel])
        if visemes is not None and self.has_visemes:
            sel = self.visemes >= 0
            np.add.at(out, self.visemes[sel], np.asarray(visemes, np.float32)[:VISEME_COUNT][sel])
        np.clip(out, 0.0, 1.0, out=out)
        return out


def map_targets(names: Sequence[str]) -> TargetMap:
    arkit = np.full(ARKIT_COUNT, -1, np.int32)
    visemes = np.full(VISEME_COUNT, -1, np.int32)
    for target, name in enumerate(names):
        a = arkit_index(strip_prefix(name))
        if a is not None and arkit[a] < 0:
            arkit[a] = target
            continue
        v = viseme_index(name)
        if v is not None and visemes[v] < 0:
            visemes[v] = target
    return TargetMap(arkit, visemes, len(names))


def arkit_weights(face: Face | MetaFace | npt.ArrayLike) -> F32:
    """52 ARKit weights from an ARKit Face, a Meta face (mapped onto ARKit) or a plain 52-vector."""
    if isinstance(face, MetaFace):
        face = meta_to_arkit(face)
    if isinstance(face, Face):
        return face.weights.copy()
    return np.asarray(face, np.float32).reshape(ARKIT_COUNT)


def visemes_from_mapping(values: Mapping[str, float]) -> F32:
    """{'viseme_aa': 0.8, 'PP': 0.2} → a 15-vector; unknown names are ignored."""
    out = np.zeros(VISEME_COUNT, np.float32)
    for name, value in values.items():
        index = viseme_index(name)
        if index is not None:
            out[index] = min(1.0, max(0.0, float(value)))
    return out
