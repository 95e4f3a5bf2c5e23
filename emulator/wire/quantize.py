"""Fixed-point forms of positions, orientations and weights, with the error bounds PROTOCOL.md states.

- Position: 3 × i16 millimetres, ±32.767 m; -32768 is not used (so the range is symmetric) and is
  refused on parse. Rounding to the millimetre: error ≤ 0.5 mm per axis, ≤ 0.87 mm in space.
- Orientation, 5 bytes "smallest three": the 2-bit index of the component with the largest magnitude
  (made positive, as q and -q are the same rotation), then the other three in that order as 12-bit
  levels of [-1/√2, 1/√2] (no other component can be larger than that), then 2 reserved bits that
  must be 0. Level = 2047 + round(c × 2047 √2), so 0 and ±1/√2 are exact and level 4095 is unused
  (refused on parse). Step 1/(2047 √2) ≈ 3.5e-4 per component: angle error ≤ 0.035°.
- Weight: u8, round(w × 255): error ≤ 1/510.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from emulator.model.pose import Quat, Vec3
from emulator.wire.errors import WireError

POSITION_FORMAT = "!hhh"
POSITION_SIZE = 6
ORIENTATION_SIZE = 5
POSE_SIZE = POSITION_SIZE + ORIENTATION_SIZE
MM_PER_M = 1000.0
POSITION_LIMIT_MM = 32767
ORIENTATION_BITS = 12
_BIT_MASK = (1 << ORIENTATION_BITS) - 1
_ZERO_LEVEL = 2047  # level of a 0 component; 0 … 4094 spans [-1/√2, 1/√2]
_MAX_LEVEL = 2 * _ZERO_LEVEL
_TO_LEVEL = _ZERO_LEVEL * math.sqrt(2.0)
_FROM_LEVEL = 1.0 / _TO_LEVEL
_TIE_TOLERANCE = 1e-9  # exact ties (a 90° turn) differ by float noise only; leave those alone
WEIGHT_LEVELS = 255

_position = struct.Struct(POSITION_FORMAT)


def position_mm(v: Vec3 | Sequence[float], what: str = "position") -> tuple[int, int, int]:
    """Millimetres, or WireError when a coordinate is not finite or beyond ±32.767 m."""
    x, y, z = v.as_tuple() if isinstance(v, Vec3) else (float(v[0]), float(v[1]), float(v[2]))
    out = []
    for c in (x, y, z):
        if not math.isfinite(c):
            raise WireError(f"{what} {(x, y, z)} is not finite")
        scaled = c * MM_PER_M  # may overflow to infinity for absurd values: compare before rounding
        if not -POSITION_LIMIT_MM - 0.5 < scaled < POSITION_LIMIT_MM + 0.5:
            raise WireError(f"{what} {(x, y, z)} is beyond the ±32.767 m the wire carries")
        out.append(round(scaled))
    return out[0], out[1], out[2]


def pack_position(v: Vec3 | Sequence[float], what: str = "position") -> bytes:
    return _position.pack(*position_mm(v, what))


def unpack_position_mm(data: bytes, offset: int, what: str = "position") -> tuple[int, int, int]:
    x, y, z = _position.unpack_from(data, offset)
    if -POSITION_LIMIT_MM - 1 in (x, y, z):
        raise WireError(f"{what} uses the reserved value -32768 mm")
    return x, y, z


def vec_from_mm(mm: tuple[int, int, int]) -> Vec3:
    return Vec3(mm[0] / MM_PER_M, mm[1] / MM_PER_M, mm[2] / MM_PER_M)


def pack_orientation(q: Quat) -> bytes:
    """Smallest-three; `q` must be finite and non-zero (it is normalised here).

    When two components are nearly equal in size, rounding can leave the one that is left out (and
    rebuilt from the others) smaller than one that is sent; the encoder then pulls the sent one in by a
    level. So the decoded rotation always has its largest component where the index says, and
    decode-then-encode gives the same bytes: a relay that re-encodes a decoded pose does not drift.
    """
    # Plain float steps in the order Quat.norm and the list form took them (every headset sends 90 a
    # second): the same levels, bit for bit (tests/unit/test_state_fast_path.py).
    x, y, z, w = q.x, q.y, q.z, q.w
    if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z) and math.isfinite(w)):
        raise WireError(f"orientation {q.as_tuple()} is not finite")
    n = math.sqrt(x * x + y * y + z * z + w * w)
    if n < 1e-9:
        raise WireError(f"orientation {q.as_tuple()} has no direction")
    x, y, z, w = x / n, y / n, z / n, w / n
    # The first of equal magnitudes, as list.index(max(...)) gave: written out, with no lists made.
    ax, ay, az, aw = abs(x), abs(y), abs(z), abs(w)
    if ax >= ay and ax >= az and ax >= aw:
        largest, big, a, b, c = 0, x, y, z, w
    elif ay >= az and ay >= aw:
        largest, big, a, b, c = 1, y, x, z, w
    elif az >= aw:
        largest, big, a, b, c = 2, z, x, y, w
    else:
        largest, big, a, b, c = 3, w, x, y, z
    scale = -_TO_LEVEL if big < 0 else _TO_LEVEL
    la, lb, lc = round(a * scale), round(b * scale), round(c * scale)
    la, lb, lc = la + _ZERO_LEVEL, lb + _ZERO_LEVEL, lc + _ZERO_LEVEL
    if not (0 <= la <= _MAX_LEVEL and 0 <= lb <= _MAX_LEVEL and 0 <= lc <= _MAX_LEVEL):
        la, lb, lc = (min(_MAX_LEVEL, max(0, level)) for level in (la, lb, lc))  # float noise at ±1/√2
    for _ in range(3):
        a = (la - _ZERO_LEVEL) * _FROM_LEVEL
        b = (lb - _ZERO_LEVEL) * _FROM_LEVEL
        c = (lc - _ZERO_LEVEL) * _FROM_LEVEL
        sa, sb, sc = abs(a), abs(b), abs(c)
        size = max(sa, sb, sc)
        rest = 1.0 - (a * a + b * b + c * c)
        if (math.sqrt(rest) if rest > 0.0 else 0.0) >= size - _TIE_TOLERANCE:
            break
        # Pull the first of the biggest in by a level, towards zero.
        if sa == size:
            la += -1 if la > _ZERO_LEVEL else 1
        elif sb == size:
            lb += -1 if lb > _ZERO_LEVEL else 1
        else:
            lc += -1 if lc > _ZERO_LEVEL else 1
    bits = ((largest << ORIENTATION_BITS | la) << ORIENTATION_BITS | lb) << ORIENTATION_BITS | lc
    return (bits << 2).to_bytes(ORIENTATION_SIZE, "big")


def unpack_orientation(data: bytes, offset: int, what: str = "orientation") -> Quat:
    bits = int.from_bytes(data[offset : offset + ORIENTATION_SIZE], "big")
    if bits & 0b11:
        raise WireError(f"{what}: reserved bits set")
    largest = bits >> 38
    levels = [(bits >> shift) & _BIT_MASK for shift in (26, 14, 2)]
    if _MAX_LEVEL + 1 in levels:
        raise WireError(f"{what}: component level 4095 is not used")
    small = [(level - _ZERO_LEVEL) * _FROM_LEVEL for level in levels]
    rest = 1.0 - (small[0] * small[0] + small[1] * small[1] + small[2] * small[2])
    if rest < 0.0:
        raise WireError(f"{what}: the three smallest components are longer than a unit quaternion")
    small.insert(largest, math.sqrt(rest))
    return Quat(small[0], small[1], small[2], small[3])


def _level(w: float) -> int:
    """One weight's level, as `weight_levels` gives it (round() and np.rint both round half to even)."""
    return round(min(max(w * WEIGHT_LEVELS, 0.0), float(WEIGHT_LEVELS)))


def _threshold(level: int) -> float:
    """The smallest float64 weight whose level is `level` or more."""
    w = (level - 0.5) / WEIGHT_LEVELS
    while _level(w) >= level:
        w = math.nextafter(w, -math.inf)
    while _level(w) < level:
        w = math.nextafter(w, math.inf)
    return w


# A weight's level is how many of these it reaches: one searchsorted for a face's float32 weights, in
# place of five ufuncs on a float64 copy (a face is 52 or 70 weights, 60 a second per headset).
_THRESHOLDS = np.array([_threshold(level) for level in range(1, WEIGHT_LEVELS + 1)])
_FLOAT32 = np.dtype(np.float32)


def weight_levels(weights: npt.ArrayLike, what: str = "weight") -> npt.NDArray[np.uint8]:
    """u8 levels for weights; out of 0..1 is clamped (the model clamps too), NaN refused."""
    if type(weights) is np.ndarray and weights.dtype is _FLOAT32 and weights.ndim == 1:
        # A bool array's bytes are 0 or 1: `in` finds a NaN faster than .any() (and a dot product of
        # float32s may overflow, with a warning).
        if b"\x01" in np.isnan(weights).tobytes():
            raise WireError(f"a {what} is NaN")
        levels: npt.NDArray[np.uint8] = _THRESHOLDS.searchsorted(weights, "right").astype(np.uint8)
        return levels
    # A ufunc a step, in place on the product (a fresh float64 array): np.clip and isnan().any() cost
    # more than the arithmetic on 52 weights, 60 faces a second per headset. Clamping w × 255 to
    # 0..255 gives what clamping w to 0..1 and scaling gave; NaN passes the clamps, and then the sum
    # of squares (at most 65,025 a weight: no overflow) is NaN if and only if a weight is.
    w = np.multiply(weights, float(WEIGHT_LEVELS), dtype=np.float64)
    if not isinstance(w, np.ndarray):  # one weight: numpy answers with a scalar
        w = np.array(w)
    np.maximum(w, 0.0, out=w)
    np.minimum(w, float(WEIGHT_LEVELS), out=w)
    if math.isnan(np.vdot(w, w)):
        raise WireError(f"a {what} is NaN")
    return np.rint(w, out=w).astype(np.uint8)


POSITION_LIMIT_M = POSITION_LIMIT_MM / MM_PER_M  # 32.767 m: the farthest any axis of a pose can go


def position_problem(v: Vec3 | Sequence[float]) -> str | None:
    """Why a position cannot travel on the wire (beyond ±32.767 m on an axis), or None."""
    x, y, z = v.as_tuple() if isinstance(v, Vec3) else (float(v[0]), float(v[1]), float(v[2]))
    if all(abs(c) <= POSITION_LIMIT_M for c in (x, y, z)):
        return None
    return f"position ({x:g}, {y:g}, {z:g}) m is beyond the ±{POSITION_LIMIT_M:g} m a pose can carry"


def clamp_position(v: Vec3) -> Vec3:
    """`v` with each axis brought within ±32.767 m."""
    limit = POSITION_LIMIT_M
    return Vec3(*(min(limit, max(-limit, c)) for c in v.as_tuple()))
