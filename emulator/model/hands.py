"""Hands as the 26 OpenXR hand joints (XR_EXT_hand_tracking), in OpenXR's order and axes.

Each joint has a position (metres), an orientation (unit quaternion x, y, z, w) and a radius (metres).
OpenXR's joint axes: -Z runs along the joint's bone towards the finger tip, +Y points out of the back
of the hand (the nail side), X completes a right-handed frame. A right hand held palm down with
fingers forward has its thumb on its -X side; a left hand is its mirror image across the YZ plane.

Besides the data type this module holds the one canonical hand both ends of the wire agree on: its
rest geometry (how each metacarpal sits relative to the wrist, joint radii) lets a receiver rebuild
joint orientations from positions alone (`orientations_from_positions`), which is what makes hands
cheap to send; `hand_pose` poses that canonical hand for tests, drivers and demos.
"""

from __future__ import annotations

import itertools
import math
from enum import IntEnum
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from emulator.model.errors import ModelError
from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.quat_array import qaxis_angle, qmul, qnormalize, qrotate

Array = npt.NDArray[np.float64]


class HandSide(IntEnum):
    LEFT = 0
    RIGHT = 1


class HandJoint(IntEnum):
    """XrHandJointEXT: the index of each joint in every per-joint array."""

    PALM = 0
    WRIST = 1
    THUMB_METACARPAL = 2
    THUMB_PROXIMAL = 3
    THUMB_DISTAL = 4
    THUMB_TIP = 5
    INDEX_METACARPAL = 6
    INDEX_PROXIMAL = 7
    INDEX_INTERMEDIATE = 8
    INDEX_DISTAL = 9
    INDEX_TIP = 10
    MIDDLE_METACARPAL = 11
    MIDDLE_PROXIMAL = 12
    MIDDLE_INTERMEDIATE = 13
    MIDDLE_DISTAL = 14
    MIDDLE_TIP = 15
    RING_METACARPAL = 16
    RING_PROXIMAL = 17
    RING_INTERMEDIATE = 18
    RING_DISTAL = 19
    RING_TIP = 20
    LITTLE_METACARPAL = 21
    LITTLE_PROXIMAL = 22
    LITTLE_INTERMEDIATE = 23
    LITTLE_DISTAL = 24
    LITTLE_TIP = 25


HAND_JOINT_COUNT = len(HandJoint)
assert HAND_JOINT_COUNT == 26

# Wrist first, then each digit from its metacarpal to its tip; the thumb has no intermediate joint.
DIGITS: tuple[tuple[HandJoint, ...], ...] = (
    tuple(HandJoint(i) for i in range(2, 6)),
    tuple(HandJoint(i) for i in range(6, 11)),
    tuple(HandJoint(i) for i in range(11, 16)),
    tuple(HandJoint(i) for i in range(16, 21)),
    tuple(HandJoint(i) for i in range(21, 26)),
)


def _parents() -> tuple[int, ...]:
    parents = [int(HandJoint.WRIST)] * HAND_JOINT_COUNT
    parents[HandJoint.WRIST] = -1
    for digit in DIGITS:
        for previous, joint in itertools.pairwise(digit):
            parents[joint] = int(previous)
    return tuple(parents)


# Parent of each joint in the skeleton; the wrist is the root (-1). The palm hangs off the wrist.
HAND_PARENTS: tuple[int, ...] = _parents()

# Bone lengths of the canonical right hand (metres): from each joint to the next one along its digit.
_BONE_LENGTHS: dict[HandJoint, float] = {
    HandJoint.THUMB_METACARPAL: 0.044, HandJoint.THUMB_PROXIMAL: 0.033, HandJoint.THUMB_DISTAL: 0.027,
    HandJoint.INDEX_METACARPAL: 0.066, HandJoint.INDEX_PROXIMAL: 0.040,
    HandJoint.INDEX_INTERMEDIATE: 0.024, HandJoint.INDEX_DISTAL: 0.022,
    HandJoint.MIDDLE_METACARPAL: 0.063, HandJoint.MIDDLE_PROXIMAL: 0.045,
    HandJoint.MIDDLE_INTERMEDIATE: 0.028, HandJoint.MIDDLE_DISTAL: 0.024,
    HandJoint.RING_METACARPAL: 0.058, HandJoint.RING_PROXIMAL: 0.042,
    HandJoint.RING_INTERMEDIATE: 0.027, HandJoint.RING_DISTAL: 0.023,
    HandJoint.LITTLE_METACARPAL: 0.052, HandJoint.LITTLE_PROXIMAL: 0.034,
    HandJoint.LITTLE_INTERMEDIATE: 0.019, HandJoint.LITTLE_DISTAL: 0.021,
}  # fmt: skip

# Where each metacarpal joint sits in the right wrist's frame (metres), and how it is turned relative
# to the wrist as (yaw about +Y, pitch about +X, roll about +Z) in degrees. The thumb is rolled so its
# nail faces outwards, which is why it is carried here: a receiver cannot infer a roll from positions.
_METACARPAL_REST: tuple[tuple[tuple[float, float, float], tuple[float, float, float]], ...] = (
    ((-0.020, -0.008, -0.020), (40.0, -15.0, 60.0)),
    ((-0.016, 0.006, -0.028), (9.0, 0.0, 0.0)),
    ((-0.004, 0.007, -0.030), (2.0, 0.0, 0.0)),
    ((0.008, 0.006, -0.028), (-5.0, 0.0, 0.0)),
    ((0.018, 0.002, -0.024), (-12.0, 0.0, 0.0)),
)

# Joint radii of the canonical hand (metres); a sender's radii travel as one scale of this table.
CANONICAL_RADII: Array = np.array([
    0.025, 0.022,                          # palm, wrist
    0.016, 0.011, 0.009, 0.008,            # thumb
    0.014, 0.010, 0.008, 0.007, 0.006,     # index
    0.014, 0.011, 0.009, 0.008, 0.007,     # middle
    0.013, 0.010, 0.008, 0.007, 0.006,     # ring
    0.012, 0.009, 0.007, 0.006, 0.005,     # little
])  # fmt: skip
CANONICAL_RADII.setflags(write=False)

# Flexion (degrees) of each joint of a digit at full curl, metacarpal first.
_THUMB_FLEX = (15.0, 40.0, 60.0)
_FINGER_FLEX = (0.0, 80.0, 100.0, 65.0)
# Sideways turn (degrees, + towards the thumb) of each finger's proximal joint at full spread.
_FINGER_SPREAD = (12.0, 2.0, -6.0, -14.0)

_TIPS = frozenset(int(digit[-1]) for digit in DIGITS)
_FORWARD = np.array([0.0, 0.0, -1.0])
_MIRROR_Q = np.array([1.0, -1.0, -1.0, 1.0])
_MIRROR_P = np.array([-1.0, 1.0, 1.0])


def _euler_q(yaw: float, pitch: float, roll: float) -> Array:
    yaw_q = qaxis_angle((0.0, 1.0, 0.0), math.radians(yaw))
    pitch_q = qaxis_angle((1.0, 0.0, 0.0), math.radians(pitch))
    roll_q = qaxis_angle((0.0, 0.0, 1.0), math.radians(roll))
    return qmul(qmul(yaw_q, pitch_q), roll_q)


_REST_RIGHT: Array = np.stack([_euler_q(*angles) for _, angles in _METACARPAL_REST])


def metacarpal_rest_rotations(side: HandSide) -> Array:
    """(5, 4): each digit's metacarpal orientation relative to the wrist in the canonical open hand."""
    return _REST_RIGHT if side is HandSide.RIGHT else _REST_RIGHT * _MIRROR_Q


def _check_finite(name: str, values: Array) -> None:
    if not np.isfinite(values).all():
        bad = np.flatnonzero(~np.isfinite(values).reshape(len(values), -1).all(axis=1))
        raise ModelError(f"hand {name} of {HandJoint(int(bad[0])).name} is not finite")


def _normalised(q: Array) -> Array:
    """`q` (26, 4) scaled to unit rows in place and made read-only; refused if a row has no length."""
    norms = np.linalg.norm(q, axis=1)
    if (norms < 1e-6).any():
        raise ModelError(f"hand orientation of {HandJoint(int(np.argmin(norms))).name} has no direction")
    q /= norms[:, None]
    q.setflags(write=False)
    return q


class HandPose:
    """One tracked hand: per-joint positions (26, 3), orientations (26, 4) and radii (26,).

    Arrays are float64 and read-only once built, so a pose can be shared between the network thread
    and a renderer without copies. Orientations are normalised on construction; anything not finite,
    a negative radius or an orientation with no direction is refused. A hand made by `from_positions`
    (as a receiver decodes one) rebuilds its orientations only when they are first read: most received
    hands are replaced before anything looks at them.
    """

    __slots__ = ("_orientations", "_wrist_q", "positions", "radii", "side")

    def __init__(self, side: HandSide, positions: npt.ArrayLike, orientations: npt.ArrayLike,
                 radii: npt.ArrayLike | None = None) -> None:  # fmt: skip
        self._set_positions(side, positions, radii)
        q = np.array(orientations, dtype=np.float64)
        if q.shape != (HAND_JOINT_COUNT, 4):
            raise ModelError(f"hand orientations should have shape (26, 4), got {q.shape}")
        _check_finite("orientation", q)
        self._orientations: Array | None = _normalised(q)
        self._wrist_q: _Q | None = None

    @classmethod
    def from_positions(cls, side: HandSide, positions: npt.ArrayLike, wrist_orientation: npt.ArrayLike,
                       radii: npt.ArrayLike | None = None) -> HandPose:  # fmt: skip
        """The hand whose orientations `orientations_from_positions` gives, rebuilt on first read."""
        hand = cls.__new__(cls)
        hand._set_positions(side, positions, radii)
        wq = np.array(wrist_orientation, dtype=np.float64)
        if wq.shape != (4,):
            raise ModelError(f"hand wrist orientation should have shape (4,), got {wq.shape}")
        _check_finite("orientation", wq.reshape(1, 4))
        hand._orientations = None
        hand._wrist_q = _unit(tuple(float(c) for c in wq))
        return hand

    def _set_positions(self, side: HandSide, positions: npt.ArrayLike, radii: npt.ArrayLike | None) -> None:
        self.side = HandSide(side)
        p = np.array(positions, dtype=np.float64)
        r = np.array(CANONICAL_RADII if radii is None else radii, dtype=np.float64)
        if p.shape != (HAND_JOINT_COUNT, 3):
            raise ModelError(f"hand positions should have shape (26, 3), got {p.shape}")
        if r.shape != (HAND_JOINT_COUNT,):
            raise ModelError(f"hand radii should have shape (26,), got {r.shape}")
        _check_finite("position", p)
        _check_finite("radius", r)
        if (r < 0).any():
            raise ModelError(f"hand radius of {HandJoint(int(np.argmin(r))).name} is negative")
        p.setflags(write=False)
        r.setflags(write=False)
        self.positions: Array = p
        self.radii: Array = r

    @property
    def orientations(self) -> Array:
        q = self._orientations
        if q is None:  # two threads may both rebuild; they get equal arrays, either one is kept
            assert self._wrist_q is not None
            q = _normalised(orientations_from_positions(self.side, self.positions, np.array(self._wrist_q)))
            self._orientations = q
        return q

    def joint_pose(self, joint: HandJoint) -> Pose:
        return Pose(Vec3.of(list(self.positions[joint])), Quat.of(list(self.orientations[joint])))

    @property
    def wrist(self) -> Pose:
        return Pose(Vec3.of(list(self.positions[HandJoint.WRIST])), Quat.of(list(self.wrist_orientation)))

    @property
    def wrist_orientation(self) -> Array:
        """orientations[WRIST], without rebuilding the other joints' orientations."""
        q: Array = (
            _normalised(np.array([self._wrist_q]))[0]
            if self._orientations is None and self._wrist_q is not None
            else self.orientations[HandJoint.WRIST]
        )
        return q

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, HandPose)
            and self.side is other.side
            and bool(np.array_equal(self.positions, other.positions))
            and bool(np.array_equal(self.orientations, other.orientations))
            and bool(np.array_equal(self.radii, other.radii))
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        w = self.positions[HandJoint.WRIST]
        return f"HandPose({self.side.name.lower()}, wrist at ({w[0]:.3f}, {w[1]:.3f}, {w[2]:.3f}))"


class Hands(NamedTuple):
    """Both hands at one moment; a side that is not tracked is None."""

    left: HandPose | None
    right: HandPose | None


NO_HANDS = Hands(None, None)


def hand_pose(side: HandSide, wrist: Pose | None = None, *, curl: float = 0.0, spread: float = 0.0,
              thumb_curl: float | None = None, scale: float = 1.0) -> HandPose:  # fmt: skip
    """The canonical hand, posed: `curl` 0 (open) … 1 (fist), `spread` -1 … 1 fans the fingers.

    Fingers flex about their own X axes and spread about Y at the proximal joint, the way a real hand's
    joints move, so the result is a plausible tracked hand rather than a stick figure. `scale` sizes the
    hand (bone lengths and radii) for tests of bigger and smaller hands.
    """
    if not all(math.isfinite(v) for v in (curl, spread, scale)) or scale <= 0:
        raise ModelError(f"hand shape curl={curl} spread={spread} scale={scale} is not usable")
    thumb = curl if thumb_curl is None else thumb_curl
    positions = np.zeros((HAND_JOINT_COUNT, 3))
    orientations = np.zeros((HAND_JOINT_COUNT, 4))
    orientations[HandJoint.WRIST] = (0.0, 0.0, 0.0, 1.0)
    for d, digit in enumerate(DIGITS):
        offset, _ = _METACARPAL_REST[d]
        flex = _THUMB_FLEX if d == 0 else _FINGER_FLEX
        amount = thumb if d == 0 else curl
        q = _REST_TUPLES[HandSide.RIGHT][d]
        p = (offset[0] * scale, offset[1] * scale, offset[2] * scale)
        for k, joint in enumerate(digit):
            if k < len(flex):
                if d > 0 and k == 1:
                    q = _mul(q, _turn(1, math.radians(_FINGER_SPREAD[d - 1] * spread)))
                q = _mul(q, _turn(0, -math.radians(flex[k] * amount)))
            positions[joint] = p
            orientations[joint] = q
            if joint in _BONE_LENGTHS:
                f, length = _forward(q), _BONE_LENGTHS[joint] * scale
                p = (p[0] + f[0] * length, p[1] + f[1] * length, p[2] + f[2] * length)
    middle = DIGITS[2]
    positions[HandJoint.PALM] = (positions[middle[0]] + positions[middle[1]]) / 2
    orientations[HandJoint.PALM] = (0.0, 0.0, 0.0, 1.0)
    if side is HandSide.LEFT:
        positions *= _MIRROR_P
        orientations *= _MIRROR_Q
    if wrist is not None:
        wq = np.array(wrist.orientation.as_tuple())
        positions = qrotate(wq, positions) + np.array(wrist.position.as_tuple())
        orientations = qmul(wq, orientations)
    return HandPose(side, positions, qnormalize(orientations), CANONICAL_RADII * scale)


def orientations_from_positions(side: HandSide, positions: Array, wrist_orientation: Array) -> Array:
    """Joint orientations (26, 4) rebuilt from joint positions and the wrist's orientation.

    Each joint keeps its parent's frame (for a metacarpal: the wrist's turned by the canonical rest
    rotation) and swings it by the smallest rotation that lays its -Z along its bone, i.e. towards the
    next joint of its digit. Tips take their distal joint's orientation and the palm the wrist's. What
    this cannot know is a twist of a bone about its own axis relative to its parent; real joints barely
    twist, so the loss is small (PROTOCOL.md gives figures). Plain floats rather than numpy: with one
    short chain per digit, numpy's per-call cost would dominate (a receiver runs this for every hand).
    """
    p = np.asarray(positions, dtype=np.float64).tolist()
    wq = _unit(tuple(float(c) for c in wrist_orientation))
    out: list[_Q] = [wq] * HAND_JOINT_COUNT
    for digit, rest in zip(DIGITS, _REST_TUPLES[side], strict=True):
        reference = _mul(wq, rest)
        for joint in digit:
            if joint not in _TIPS:
                a, b = p[joint], p[joint + 1]
                reference = _mul(
                    _swing(_forward(reference), (b[0] - a[0], b[1] - a[1], b[2] - a[2])), reference
                )
            out[joint] = reference
    return np.array(out)


_Q = tuple[float, float, float, float]


def _turn(axis: int, angle: float) -> _Q:
    """A rotation about the x (0), y (1) or z (2) axis."""
    q = [0.0, 0.0, 0.0, math.cos(angle / 2)]
    q[axis] = math.sin(angle / 2)
    return (q[0], q[1], q[2], q[3])


def _unit(q: tuple[float, ...]) -> _Q:
    n = math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    if not n > 1e-12 or not math.isfinite(n):
        return (0.0, 0.0, 0.0, 1.0)
    return (q[0] / n, q[1] / n, q[2] / n, q[3] / n)


def _mul(a: _Q, b: _Q) -> _Q:
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def _forward(q: _Q) -> tuple[float, float, float]:
    """q applied to -Z: minus the third column of q's rotation matrix."""
    x, y, z, w = q
    return (-2 * (x * z + w * y), -2 * (y * z - w * x), -(1 - 2 * (x * x + y * y)))


def _swing(a: tuple[float, float, float], b: tuple[float, float, float]) -> _Q:
    """Smallest rotation from unit direction `a` to direction `b`; identity when `b` has no length."""
    n = math.sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2])
    if not n > 1e-12:
        return (0.0, 0.0, 0.0, 1.0)
    bx, by, bz = b[0] / n, b[1] / n, b[2] / n
    ax, ay, az = a
    w = 1.0 + ax * bx + ay * by + az * bz
    if w < 1e-9:  # opposite: half a turn about any axis perpendicular to a
        px, py, pz = (0.0, az, -ay) if abs(ax) < 0.9 else (-az, 0.0, ax)
        return _unit((px, py, pz, 0.0))
    return _unit((ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx, w))


_REST_TUPLES: dict[HandSide, tuple[_Q, ...]] = {
    side: tuple(_unit(tuple(float(c) for c in q)) for q in metacarpal_rest_rotations(side))
    for side in HandSide
}
