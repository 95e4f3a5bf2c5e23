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

import numpy as np
import numpy.typing as npt

from emulator.model.errors import ModelError
from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.quat_array import qaxis_angle, qbetween, qmul, qnormalize, qrotate

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


class HandPose:
    """One tracked hand: per-joint positions (26, 3), orientations (26, 4) and radii (26,).

    Arrays are float64 and read-only once built, so a pose can be shared between the network thread
    and a renderer without copies. Orientations are normalised on construction; anything not finite,
    a negative radius or an orientation with no direction is refused.
    """

    __slots__ = ("orientations", "positions", "radii", "side")

    def __init__(self, side: HandSide, positions: npt.ArrayLike, orientations: npt.ArrayLike,
                 radii: npt.ArrayLike | None = None) -> None:  # fmt: skip
        self.side = HandSide(side)
        p = np.array(positions, dtype=np.float64)
        q = np.array(orientations, dtype=np.float64)
        r = np.array(CANONICAL_RADII if radii is None else radii, dtype=np.float64)
        if p.shape != (HAND_JOINT_COUNT, 3):
            raise ModelError(f"hand positions should have shape (26, 3), got {p.shape}")
        if q.shape != (HAND_JOINT_COUNT, 4):
            raise ModelError(f"hand orientations should have shape (26, 4), got {q.shape}")
        if r.shape != (HAND_JOINT_COUNT,):
            raise ModelError(f"hand radii should have shape (26,), got {r.shape}")
        for name, values in (("position", p), ("orientation", q), ("radius", r)):
            bad = np.flatnonzero(~np.isfinite(values).reshape(HAND_JOINT_COUNT, -1).all(axis=1))
            if bad.size:
                raise ModelError(f"hand {name} of {HandJoint(int(bad[0])).name} is not finite")
        norms = np.linalg.norm(q, axis=1)
        if (norms < 1e-6).any():
            raise ModelError(f"hand orientation of {HandJoint(int(np.argmin(norms))).name} has no direction")
        if (r < 0).any():
            raise ModelError(f"hand radius of {HandJoint(int(np.argmin(r))).name} is negative")
        q /= norms[:, None]
        for array in (p, q, r):
            array.setflags(write=False)
        self.positions: Array = p
        self.orientations: Array = q
        self.radii: Array = r

    def joint_pose(self, joint: HandJoint) -> Pose:
        return Pose(Vec3.of(list(self.positions[joint])), Quat.of(list(self.orientations[joint])))

    @property
    def wrist(self) -> Pose:
        return self.joint_pose(HandJoint.WRIST)

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
        q = _REST_RIGHT[d]
        p = np.array(offset) * scale
        for k, joint in enumerate(digit):
            if k < len(flex):
                if d > 0 and k == 1:
                    q = qmul(q, qaxis_angle((0.0, 1.0, 0.0), math.radians(_FINGER_SPREAD[d - 1] * spread)))
                q = qmul(q, qaxis_angle((1.0, 0.0, 0.0), -math.radians(flex[k] * amount)))
            positions[joint] = p
            orientations[joint] = q
            if joint in _BONE_LENGTHS:
                p = p + qrotate(q, _FORWARD * _BONE_LENGTHS[joint] * scale)
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
    twist, so the loss is small (PROTOCOL.md gives figures).
    """
    q = np.zeros((HAND_JOINT_COUNT, 4))
    q[HandJoint.WRIST] = wrist_orientation
    q[HandJoint.PALM] = wrist_orientation
    rest = metacarpal_rest_rotations(side)
    for k in range(5):
        rows = [d for d, digit in enumerate(DIGITS) if len(digit) > k]
        joints = [int(DIGITS[d][k]) for d in rows]
        if k == 0:
            reference = qmul(np.broadcast_to(wrist_orientation, (len(rows), 4)), rest[rows])
        else:
            reference = q[[HAND_PARENTS[j] for j in joints]]
        has_bone = np.array([j not in _TIPS for j in joints])
        bone = np.array([positions[j + 1] - positions[j] if j not in _TIPS else _FORWARD for j in joints])
        swing = qbetween(qrotate(reference, np.broadcast_to(_FORWARD, bone.shape)), bone)
        q[joints] = np.where(has_bone[:, None], qmul(swing, reference), reference)
    return qnormalize(q)
