"""Rotations between 3-vectors for posing: plain float arithmetic on a few dozen vectors per avatar."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


# Posing works on a few dozen 3-vectors per avatar per frame: plain float arithmetic here costs a
# fraction of numpy's per-call overhead (np.cross alone took a third of the posing time).
def unit(v: F64) -> F64:
    n = math.sqrt(float(v[0]) ** 2 + float(v[1]) ** 2 + float(v[2]) ** 2)
    return v / n if n > 1e-9 else v


def cross(a: F64, b: F64) -> F64:
    ax, ay, az = float(a[0]), float(a[1]), float(a[2])
    bx, by, bz = float(b[0]), float(b[1]), float(b[2])
    return np.array([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx])


def rotation_between(a: F64, b: F64) -> F64:
    """The smallest rotation taking direction `a` to direction `b` (Rodrigues)."""
    a, b = unit(a), unit(b)
    x, y, z = (float(v) for v in cross(a, b))
    s = math.sqrt(x * x + y * y + z * z)
    c = float(a[0] * b[0] + a[1] * b[1] + a[2] * b[2])
    if s < 1e-9:
        if c > 0:
            return np.eye(3)
        other = np.array([1.0, 0, 0]) if abs(a[0]) < 0.9 else np.array([0, 1.0, 0])
        axis = unit(cross(a, other))
        return np.asarray(2 * np.outer(axis, axis) - np.eye(3))
    x, y, z = x / s, y / s, z / s
    t = 1.0 - c
    return np.array(
        [
            [c + t * x * x, t * x * y - s * z, t * x * z + s * y],
            [t * x * y + s * z, c + t * y * y, t * y * z - s * x],
            [t * x * z - s * y, t * y * z + s * x, c + t * z * z],
        ]
    )


def frame(forward: F64, side: F64) -> F64:
    f = unit(forward)
    up = unit(cross(f, side))
    return np.stack([f, unit(cross(up, f)), up], axis=1)
