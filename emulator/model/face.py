"""Faces as the 52 ARKit blendshape weights, in Apple's order, each clamped to 0..1.

The order is the wire order too, so it never changes. Names are the camelCase ones avatar files use;
look-ups also accept Apple's raw `_L`/`_R` strings, Live Link Face's PascalCase and any case.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt

from emulator.model.errors import ModelError

ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight", "mouthSmileLeft",
    "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)  # fmt: skip
ARKIT_COUNT = len(ARKIT_NAMES)
assert ARKIT_COUNT == 52

FloatArray = npt.NDArray[np.float32]


def canonical_key(name: str) -> str:
    """A case- and separator-free key: `eyeBlink_L`, `EyeBlinkLeft` and `eye_blink_left` agree."""
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    if name.endswith(("_L", "_l")):
        key = key[:-1] + "left"
    elif name.endswith(("_R", "_r")):
        key = key[:-1] + "right"
    return key


_INDEX_BY_KEY: dict[str, int] = {canonical_key(n): i for i, n in enumerate(ARKIT_NAMES)}


def arkit_index(name: str) -> int | None:
    """Index of an ARKit blendshape in Apple's order, or None when the name is not one of the 52."""
    return _INDEX_BY_KEY.get(canonical_key(name))


class Face:
    """52 ARKit weights. Mutable on purpose: drivers update it in place many times a second.

    Weights are clamped to 0..1 on every write; a NaN is refused (it would poison every avatar).
    """

    __slots__ = ("weights",)

    def __init__(self, weights: Iterable[float] | FloatArray | None = None) -> None:
        self.weights: FloatArray = np.zeros(ARKIT_COUNT, dtype=np.float32)
        if weights is not None:
            values = np.asarray(list(weights) if not isinstance(weights, np.ndarray) else weights)
            if values.shape != (ARKIT_COUNT,):
                raise ModelError(f"a face has {ARKIT_COUNT} weights, got shape {values.shape}")
            self.set_all(values)

    @classmethod
    def adopt(cls, weights: FloatArray) -> Face:
        """A face around `weights`, 52 float32s already in 0..1 that nobody else holds (a driver's own
        fresh output), taken as they are: no copy, no checks. Drivers make 60 a second per headset."""
        face = cls.__new__(cls)
        face.weights = weights
        return face

    @staticmethod
    def from_mapping(values: Mapping[str, float], *, strict: bool = True) -> Face:
        """A face from {name: weight}; with `strict`, an unknown name is an error naming it."""
        face = Face()
        for name, value in values.items():
            index = arkit_index(name)
            if index is None:
                if strict:
                    raise ModelError(f"{name!r} is not one of the 52 ARKit blendshapes")
                continue
            face.set_index(index, value)
        return face

    def set_all(self, values: npt.ArrayLike) -> None:
        array = np.asarray(values, dtype=np.float64)
        if array.shape != (ARKIT_COUNT,):
            raise ModelError(f"a face has {ARKIT_COUNT} weights, got shape {array.shape}")
        if np.isnan(array).any():
            raise ModelError("a face weight is NaN")
        np.clip(array, 0.0, 1.0, out=array)
        self.weights[:] = array

    def set_index(self, index: int, value: float) -> None:
        if math.isnan(value):
            raise ModelError(f"weight of {ARKIT_NAMES[index]} is NaN")
        self.weights[index] = min(1.0, max(0.0, value))

    def __getitem__(self, name: str) -> float:
        index = arkit_index(name)
        if index is None:
            raise KeyError(name)
        return float(self.weights[index])

    def __setitem__(self, name: str, value: float) -> None:
        index = arkit_index(name)
        if index is None:
            raise KeyError(name)
        self.set_index(index, value)

    def copy(self) -> Face:
        return Face(self.weights.copy())

    def as_dict(self, *, nonzero_only: bool = False) -> dict[str, float]:
        return {n: float(w) for n, w in zip(ARKIT_NAMES, self.weights, strict=True) if w or not nonzero_only}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Face) and bool(np.array_equal(self.weights, other.weights))

    def __repr__(self) -> str:
        active = ", ".join(f"{k}={v:.2f}" for k, v in self.as_dict(nonzero_only=True).items())
        return f"Face({active})"
