"""Meta's 70 face-tracking expressions (OpenXR XR_FB_face_tracking2) and their mapping to ARKit's 52.

A Quest profile tracks this set; avatars mostly carry ARKit's 52 morph targets, so a receiver maps one
to the other. The order below is `XrFaceExpression2FB` (BROW_LOWERER_L = 0 … TONGUE_RETREAT = 69) and
is the wire order too. Meta's `_L`/`_R` are the user's own left and right, like ARKit's Left/Right, so
no side is ever swapped; only the eye-gaze names need care: Meta says which way an eye looks
(`EYES_LOOK_RIGHT_L`, the left eye looking to the user's right), ARKit whether it looks in or out (the
left eye looking in, towards the nose, is looking to the user's right: `eyeLookInLeft`).

Mapping (Meta → ARKit; ARKit → Meta is the reverse of each row):

| ARKit | Meta | kind |
|---|---|---|
| eyeBlinkLeft/Right | EYES_CLOSED_L/R | exact |
| eyeLookDownLeft/Right | EYES_LOOK_DOWN_L/R | exact |
| eyeLookInLeft/Right | EYES_LOOK_RIGHT_L / EYES_LOOK_LEFT_R | exact |
| eyeLookOutLeft/Right | EYES_LOOK_LEFT_L / EYES_LOOK_RIGHT_R | exact |
| eyeLookUpLeft/Right | EYES_LOOK_UP_L/R | exact |
| eyeSquintLeft/Right | LID_TIGHTENER_L/R | exact |
| eyeWideLeft/Right | UPPER_LID_RAISER_L/R | exact |
| jawForward, jawLeft, jawRight, jawOpen | JAW_THRUST, JAW_SIDEWAYS_LEFT/RIGHT, JAW_DROP | exact |
| mouthClose | LIPS_TOWARD | exact |
| mouthLeft/Right | MOUTH_LEFT/RIGHT | exact |
| mouthSmileLeft/Right | LIP_CORNER_PULLER_L/R | exact |
| mouthFrownLeft/Right | LIP_CORNER_DEPRESSOR_L/R | exact |
| mouthDimpleLeft/Right | DIMPLER_L/R | exact |
| mouthStretchLeft/Right | LIP_STRETCHER_L/R | exact |
| mouthShrugLower/Upper | CHIN_RAISER_B/T | exact |
| mouthPressLeft/Right | LIP_PRESSOR_L/R | exact |
| mouthLowerDownLeft/Right | LOWER_LIP_DEPRESSOR_L/R | exact |
| mouthUpperUpLeft/Right | UPPER_LIP_RAISER_L/R | exact |
| browDownLeft/Right | BROW_LOWERER_L/R | exact |
| browOuterUpLeft/Right | OUTER_BROW_RAISER_L/R | exact |
| cheekSquintLeft/Right | CHEEK_RAISER_L/R | exact |
| noseSneerLeft/Right | NOSE_WRINKLER_L/R | exact |
| tongueOut | TONGUE_OUT | exact |
| browInnerUp | mean of INNER_BROW_RAISER_L, _R | approximate |
| cheekPuff | mean of CHEEK_PUFF_L, _R | approximate |
| mouthFunnel | mean of LIP_FUNNELER_LB, _LT, _RB, _RT | approximate |
| mouthPucker | mean of LIP_PUCKER_L, _R | approximate |
| mouthRollLower | mean of LIP_SUCK_LB, _RB | approximate |
| mouthRollUpper | mean of LIP_SUCK_LT, _RT | approximate |
| (none) | CHEEK_SUCK_L/R, LIP_TIGHTENER_L/R, the six other TONGUE_* | dropped |

"Exact" rows carry one weight to one weight unchanged both ways. An approximate ARKit shape is the mean
of its Meta parts and, going back, every part gets the ARKit weight: a symmetric Meta face survives
Meta → ARKit → Meta unchanged, an asymmetric one comes back with each group evened out to its mean
(a left/right pair moves by half its difference). ARKit → Meta → ARKit is lossless for all 52. The
dropped Meta expressions have no ARKit shape and come back as 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from emulator.model.errors import ModelError
from emulator.model.face import ARKIT_COUNT, Face, arkit_index, canonical_key

META_NAMES: tuple[str, ...] = (
    "BROW_LOWERER_L", "BROW_LOWERER_R", "CHEEK_PUFF_L", "CHEEK_PUFF_R", "CHEEK_RAISER_L", "CHEEK_RAISER_R",
    "CHEEK_SUCK_L", "CHEEK_SUCK_R", "CHIN_RAISER_B", "CHIN_RAISER_T", "DIMPLER_L", "DIMPLER_R",
    "EYES_CLOSED_L", "EYES_CLOSED_R", "EYES_LOOK_DOWN_L", "EYES_LOOK_DOWN_R", "EYES_LOOK_LEFT_L",
    "EYES_LOOK_LEFT_R", "EYES_LOOK_RIGHT_L", "EYES_LOOK_RIGHT_R", "EYES_LOOK_UP_L", "EYES_LOOK_UP_R",
    "INNER_BROW_RAISER_L", "INNER_BROW_RAISER_R", "JAW_DROP", "JAW_SIDEWAYS_LEFT", "JAW_SIDEWAYS_RIGHT",
    "JAW_THRUST", "LID_TIGHTENER_L", "LID_TIGHTENER_R", "LIP_CORNER_DEPRESSOR_L", "LIP_CORNER_DEPRESSOR_R",
    "LIP_CORNER_PULLER_L", "LIP_CORNER_PULLER_R", "LIP_FUNNELER_LB", "LIP_FUNNELER_LT", "LIP_FUNNELER_RB",
    "LIP_FUNNELER_RT", "LIP_PRESSOR_L", "LIP_PRESSOR_R", "LIP_PUCKER_L", "LIP_PUCKER_R", "LIP_STRETCHER_L",
    "LIP_STRETCHER_R", "LIP_SUCK_LB", "LIP_SUCK_LT", "LIP_SUCK_RB", "LIP_SUCK_RT", "LIP_TIGHTENER_L",
    "LIP_TIGHTENER_R", "LIPS_TOWARD", "LOWER_LIP_DEPRESSOR_L", "LOWER_LIP_DEPRESSOR_R", "MOUTH_LEFT",
    "MOUTH_RIGHT", "NOSE_WRINKLER_L", "NOSE_WRINKLER_R", "OUTER_BROW_RAISER_L", "OUTER_BROW_RAISER_R",
    "UPPER_LID_RAISER_L", "UPPER_LID_RAISER_R", "UPPER_LIP_RAISER_L", "UPPER_LIP_RAISER_R",
    "TONGUE_TIP_INTERDENTAL", "TONGUE_TIP_ALVEOLAR", "TONGUE_FRONT_DORSAL_PALATE", "TONGUE_MID_DORSAL_PALATE",
    "TONGUE_BACK_DORSAL_VELAR", "TONGUE_OUT", "TONGUE_RETREAT",
)  # fmt: skip
META_COUNT = len(META_NAMES)
assert META_COUNT == 70

_META_INDEX: dict[str, int] = {n.replace("_", "").lower(): i for i, n in enumerate(META_NAMES)}


def meta_index(name: str) -> int | None:
    """Index of a Meta expression, tolerant of case, separators and OpenXR's `XR_FACE_EXPRESSION2_…_FB`."""
    key = name.upper()
    if key.startswith("XR_FACE_EXPRESSION2_") and key.endswith("_FB"):
        key = key[len("XR_FACE_EXPRESSION2_") : -len("_FB")]
    return _META_INDEX.get(key.replace("_", "").lower())


# (ARKit name, Meta parts, exact). One row per ARKit shape; see the module docstring for the table.
MAPPING: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("eyeBlinkLeft", ("EYES_CLOSED_L",), True), ("eyeBlinkRight", ("EYES_CLOSED_R",), True),
    ("eyeLookDownLeft", ("EYES_LOOK_DOWN_L",), True), ("eyeLookDownRight", ("EYES_LOOK_DOWN_R",), True),
    ("eyeLookInLeft", ("EYES_LOOK_RIGHT_L",), True), ("eyeLookInRight", ("EYES_LOOK_LEFT_R",), True),
    ("eyeLookOutLeft", ("EYES_LOOK_LEFT_L",), True), ("eyeLookOutRight", ("EYES_LOOK_RIGHT_R",), True),
    ("eyeLookUpLeft", ("EYES_LOOK_UP_L",), True), ("eyeLookUpRight", ("EYES_LOOK_UP_R",), True),
    ("eyeSquintLeft", ("LID_TIGHTENER_L",), True), ("eyeSquintRight", ("LID_TIGHTENER_R",), True),
    ("eyeWideLeft", ("UPPER_LID_RAISER_L",), True), ("eyeWideRight", ("UPPER_LID_RAISER_R",), True),
    ("jawForward", ("JAW_THRUST",), True), ("jawLeft", ("JAW_SIDEWAYS_LEFT",), True),
    ("jawRight", ("JAW_SIDEWAYS_RIGHT",), True), ("jawOpen", ("JAW_DROP",), True),
    ("mouthClose", ("LIPS_TOWARD",), True),
    ("mouthFunnel", ("LIP_FUNNELER_LB", "LIP_FUNNELER_LT", "LIP_FUNNELER_RB", "LIP_FUNNELER_RT"), False),
    ("mouthPucker", ("LIP_PUCKER_L", "LIP_PUCKER_R"), False),
    ("mouthLeft", ("MOUTH_LEFT",), True), ("mouthRight", ("MOUTH_RIGHT",), True),
    ("mouthSmileLeft", ("LIP_CORNER_PULLER_L",), True), ("mouthSmileRight", ("LIP_CORNER_PULLER_R",), True),
    ("mouthFrownLeft", ("LIP_CORNER_DEPRESSOR_L",), True),
    ("mouthFrownRight", ("LIP_CORNER_DEPRESSOR_R",), True),
    ("mouthDimpleLeft", ("DIMPLER_L",), True), ("mouthDimpleRight", ("DIMPLER_R",), True),
    ("mouthStretchLeft", ("LIP_STRETCHER_L",), True), ("mouthStretchRight", ("LIP_STRETCHER_R",), True),
    ("mouthRollLower", ("LIP_SUCK_LB", "LIP_SUCK_RB"), False),
    ("mouthRollUpper", ("LIP_SUCK_LT", "LIP_SUCK_RT"), False),
    ("mouthShrugLower", ("CHIN_RAISER_B",), True), ("mouthShrugUpper", ("CHIN_RAISER_T",), True),
    ("mouthPressLeft", ("LIP_PRESSOR_L",), True), ("mouthPressRight", ("LIP_PRESSOR_R",), True),
    ("mouthLowerDownLeft", ("LOWER_LIP_DEPRESSOR_L",), True),
    ("mouthLowerDownRight", ("LOWER_LIP_DEPRESSOR_R",), True),
    ("mouthUpperUpLeft", ("UPPER_LIP_RAISER_L",), True), ("mouthUpperUpRight", ("UPPER_LIP_RAISER_R",), True),
    ("browDownLeft", ("BROW_LOWERER_L",), True), ("browDownRight", ("BROW_LOWERER_R",), True),
    ("browInnerUp", ("INNER_BROW_RAISER_L", "INNER_BROW_RAISER_R"), False),
    ("browOuterUpLeft", ("OUTER_BROW_RAISER_L",), True), ("browOuterUpRight", ("OUTER_BROW_RAISER_R",), True),
    ("cheekPuff", ("CHEEK_PUFF_L", "CHEEK_PUFF_R"), False),
    ("cheekSquintLeft", ("CHEEK_RAISER_L",), True), ("cheekSquintRight", ("CHEEK_RAISER_R",), True),
    ("noseSneerLeft", ("NOSE_WRINKLER_L",), True), ("noseSneerRight", ("NOSE_WRINKLER_R",), True),
    ("tongueOut", ("TONGUE_OUT",), True),
)  # fmt: skip


def _matrices() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    to_arkit = np.zeros((ARKIT_COUNT, META_COUNT), dtype=np.float32)
    to_meta = np.zeros((META_COUNT, ARKIT_COUNT), dtype=np.float32)
    for arkit_name, parts, _ in MAPPING:
        a = arkit_index(arkit_name)
        assert a is not None, arkit_name
        for part in parts:
            m = meta_index(part)
            assert m is not None, part
            to_arkit[a, m] = 1.0 / len(parts)
            to_meta[m, a] = 1.0
    return to_arkit, to_meta


# ARKit = _TO_ARKIT @ Meta and Meta = _TO_META @ ARKit: the table as two sparse-ish matrices.
_TO_ARKIT, _TO_META = _matrices()
assert len(MAPPING) == ARKIT_COUNT and not (_TO_ARKIT.sum(axis=1) == 0).any()

EXACT_ARKIT: frozenset[str] = frozenset(a for a, _, exact in MAPPING if exact)
DROPPED_META: frozenset[str] = frozenset(n for i, n in enumerate(META_NAMES) if not _TO_META[i].any())


class MetaFace:
    """70 Meta expression weights, clamped to 0..1 on every write; a NaN is refused."""

    __slots__ = ("weights",)

    def __init__(self, weights: Iterable[float] | npt.ArrayLike | None = None) -> None:
        self.weights: npt.NDArray[np.float32] = np.zeros(META_COUNT, dtype=np.float32)
        if weights is not None:
            self.set_all(weights if isinstance(weights, np.ndarray) else list(weights))  # type: ignore[arg-type]

    def set_all(self, values: npt.ArrayLike) -> None:
        array = np.asarray(values, dtype=np.float64)
        if array.shape != (META_COUNT,):
            raise ModelError(f"a Meta face has {META_COUNT} weights, got shape {array.shape}")
        if np.isnan(array).any():
            raise ModelError(f"Meta weight {META_NAMES[int(np.argmax(np.isnan(array)))]} is NaN")
        self.weights[:] = np.clip(array, 0.0, 1.0)

    def _index(self, name: str) -> int:
        index = meta_index(name)
        if index is None:
            raise KeyError(name)
        return index

    def __getitem__(self, name: str) -> float:
        return float(self.weights[self._index(name)])

    def __setitem__(self, name: str, value: float) -> None:
        if math.isnan(value):
            raise ModelError(f"weight of {name} is NaN")
        self.weights[self._index(name)] = min(1.0, max(0.0, value))

    def to_arkit(self) -> Face:
        return meta_to_arkit(self)

    def copy(self) -> MetaFace:
        return MetaFace(self.weights.copy())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MetaFace) and bool(np.array_equal(self.weights, other.weights))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        active = ", ".join(f"{n}={w:.2f}" for n, w in zip(META_NAMES, self.weights, strict=True) if w)
        return f"MetaFace({active})"


def meta_to_arkit(meta: MetaFace) -> Face:
    """The ARKit face an avatar with only ARKit targets should show for this Meta face."""
    return Face(_TO_ARKIT @ meta.weights)


def arkit_to_meta(face: Face) -> MetaFace:
    """The Meta face standing for an ARKit face (approximate groups get the ARKit weight each)."""
    return MetaFace(_TO_META @ face.weights)


def is_exact(arkit_name: str) -> bool:
    """Whether an ARKit shape maps one-to-one onto a Meta expression."""
    return any(canonical_key(a) == canonical_key(arkit_name) for a in EXACT_ARKIT)
