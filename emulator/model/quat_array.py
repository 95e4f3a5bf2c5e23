"""Quaternion maths over numpy arrays of shape (..., 4) in OpenXR (x, y, z, w) order.

`Quat` in pose.py is the friendly scalar type; a hand has 26 joints and a decoder rebuilds them many
times a second, so the same operations are needed batched. Conventions match `Quat`: Hamilton product,
`qmul(a, b)` applies `b` first, rotations follow the right-hand rule.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

_EPSILON = 1e-12


def cross(a: Array, b: Array) -> Array:
    """np.cross for (..., 3) vectors without its axis juggling, which costs more than the maths here."""
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    return np.stack((ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx), axis=-1)


def qmul(a: Array, b: Array) -> Array:
    """Hamilton product, broadcasting over leading axes."""
    ax, ay, az, aw = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bx, by, bz, bw = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack(
        (
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ),
        axis=-1,
    )


def qconj(q: Array) -> Array:
    out: Array = q * np.array([-1.0, -1.0, -1.0, 1.0])
    return out


def qrotate(q: Array, v: Array) -> Array:
    """Rotate vectors (..., 3) by unit quaternions (..., 4)."""
    u = q[..., :3]
    t = 2.0 * cross(u, v)
    out: Array = v + q[..., 3:4] * t + cross(u, t)
    return out


def qnormalize(q: Array) -> Array:
    """Unit length; rows with no direction (zero or non-finite) become the identity rather than NaN."""
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    good = np.isfinite(n) & (n > _EPSILON)
    out = np.where(good, q / np.where(good, n, 1.0), np.array([0.0, 0.0, 0.0, 1.0]))
    return np.asarray(out, dtype=np.float64)


def qangle(a: Array, b: Array) -> Array:
    """Smallest angle (radians) between orientations, sign of the quaternion ignored."""
    d = np.abs(np.sum(a * b, axis=-1))
    return np.asarray(2.0 * np.arccos(np.clip(d, 0.0, 1.0)), dtype=np.float64)


def qaxis_angle(axis: tuple[float, float, float], angle: float) -> Array:
    """One rotation of `angle` radians about a unit `axis`."""
    s = np.sin(angle / 2.0)
    return np.array([axis[0] * s, axis[1] * s, axis[2] * s, np.cos(angle / 2.0)])
