"""Hands on the wire: 87 bytes per hand instead of 26 full joint poses.

    wrist position     3 × i16 mm (as a pose position)
    wrist orientation  5 bytes smallest-three (as a pose orientation)
    radius scale       u8: the joint radii are the canonical table × level / 100
    25 joint deltas    3 × i8 mm each, for every joint but the wrist in joint order, each the offset
                       from its parent joint's *decoded* position (closed loop: rounding errors do
                       not add up along a finger, every joint is within 0.5 mm per axis)

Orientations of the joints other than the wrist are not sent: the receiver rebuilds them from the
bone directions and the wrist (`emulator.model.hands.orientations_from_positions`), when they
are first read (`HandPose.from_positions`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from emulator.model.hands import (
    CANONICAL_RADII,
    HAND_JOINT_COUNT,
    HAND_PARENTS,
    HandJoint,
    HandPose,
    HandSide,
)
from emulator.model.pose import Quat
from emulator.wire.errors import WireError
from emulator.wire.quantize import (
    ORIENTATION_SIZE,
    POSE_SIZE,
    POSITION_LIMIT_MM,
    pack_orientation,
    position_mm,
    unpack_orientation,
    unpack_position_mm,
)

DELTA_LIMIT_MM = 127  # -128 is not used, so the range is symmetric; refused on parse
RADIUS_SCALE_DIVISOR = 100  # radius scale level 100 = the canonical radii
DELTA_JOINTS = np.array([j for j in range(HAND_JOINT_COUNT) if j != HandJoint.WRIST])
HAND_BLOCK_SIZE = POSE_SIZE + 1 + 3 * len(DELTA_JOINTS)
assert HAND_BLOCK_SIZE == 87
HAND_MASK_LEFT = 0b01
HAND_MASK_RIGHT = 0b10

_PARENTS = np.array(HAND_PARENTS)


def _depth(j: int) -> int:
    return 0 if HAND_PARENTS[j] < 0 else 1 + _depth(HAND_PARENTS[j])


# Joints grouped by distance from the wrist: each group's parents are all decoded before it.
_LEVELS: tuple[npt.NDArray[np.int64], ...] = tuple(
    np.array([j for j in DELTA_JOINTS if _depth(int(j)) == d]) for d in range(1, 6)
)
_RADII_NORM = float(CANONICAL_RADII @ CANONICAL_RADII)


def _ancestry() -> npt.NDArray[np.int64]:
    """(26, 25): row j has a 1 for each delta on the path from the wrist to joint j, so that the decoded
    positions are one product of it with the deltas, plus the wrist."""
    out = np.zeros((HAND_JOINT_COUNT, len(DELTA_JOINTS)), dtype=np.int64)
    column = {int(j): k for k, j in enumerate(DELTA_JOINTS)}
    for j in range(HAND_JOINT_COUNT):
        k = j
        while HAND_PARENTS[k] >= 0:
            out[j, column[k]] = 1
            k = HAND_PARENTS[k]
    return out


_ANCESTRY = _ancestry()


@dataclass(frozen=True, eq=False)
class QuantizedHand:
    """A hand exactly as the wire carries it; both the binary and the JSON form are made from this."""

    side: HandSide
    joints_mm: npt.NDArray[np.int64]  # (26, 3) decoded absolute positions in millimetres
    wrist_orientation: Quat
    radius_level: int

    def __post_init__(self) -> None:
        if self.joints_mm.shape != (HAND_JOINT_COUNT, 3):
            raise WireError(f"a hand has 26 joints, got shape {self.joints_mm.shape}")
        if np.abs(self.joints_mm[HandJoint.WRIST]).max() > POSITION_LIMIT_MM:
            raise WireError("hand wrist is beyond the ±32.767 m the wire carries")
        deltas = self.joints_mm[DELTA_JOINTS] - self.joints_mm[_PARENTS[DELTA_JOINTS]]
        far = np.abs(deltas).max(axis=1) > DELTA_LIMIT_MM
        if far.any():
            joint = HandJoint(int(DELTA_JOINTS[np.argmax(far)]))
            raise WireError(f"hand joint {joint.name} is more than {DELTA_LIMIT_MM} mm from its parent")
        if not 0 <= self.radius_level <= 255:
            raise WireError(f"hand radius scale level {self.radius_level} is not 0..255")

    def to_hand_pose(self) -> HandPose:
        """The hand; its joint orientations are rebuilt from the bones when something first reads them."""
        positions = self.joints_mm / 1000.0
        radii = CANONICAL_RADII * self.radius_level / 100.0
        return HandPose.from_positions(self.side, positions, self.wrist_orientation.as_tuple(), radii)

    def encode_block(self) -> bytes:
        deltas = self.joints_mm[DELTA_JOINTS] - self.joints_mm[_PARENTS[DELTA_JOINTS]]
        wrist = self.joints_mm[HandJoint.WRIST]
        return b"".join((
            struct.pack("!hhh", *(int(c) for c in wrist)),
            pack_orientation(self.wrist_orientation),
            bytes((self.radius_level,)),
            deltas.astype(np.int8).tobytes(),
        ))  # fmt: skip


def quantize_hand(hand: HandPose) -> QuantizedHand:
    """The hand as the wire will carry it, closed-loop; WireError when a joint is out of reach."""
    wrist_mm = position_mm(hand.positions[HandJoint.WRIST].tolist(), "hand wrist")
    target = hand.positions * 1000.0
    decoded = np.zeros((HAND_JOINT_COUNT, 3), dtype=np.int64)
    decoded[HandJoint.WRIST] = wrist_mm
    for level in _LEVELS:
        parents = decoded[_PARENTS[level]]
        delta = np.rint(target[level] - parents)
        far = np.abs(delta).max(axis=1) > DELTA_LIMIT_MM
        if far.any():
            joint = HandJoint(int(level[np.argmax(far)]))
            raise WireError(f"hand joint {joint.name} is more than {DELTA_LIMIT_MM} mm from its parent")
        decoded[level] = parents + delta.astype(np.int64)
    fit = float(hand.radii @ CANONICAL_RADII) / _RADII_NORM
    scaled = fit * RADIUS_SCALE_DIVISOR  # radii are cosmetic: an absurd size is clamped, not refused
    radius_level = 255 if not scaled < 255 else max(0, round(scaled))
    wq = Quat(*(float(c) for c in hand.wrist_orientation))
    return QuantizedHand(hand.side, decoded, wq, radius_level)


def decode_hand_block(side: HandSide, data: bytes, offset: int) -> tuple[QuantizedHand, int]:
    end = offset + HAND_BLOCK_SIZE
    if len(data) < end:
        raise WireError(f"truncated: a hand needs {HAND_BLOCK_SIZE} bytes")
    wrist = unpack_position_mm(data, offset, "hand wrist")
    wrist_q = unpack_orientation(data, offset + 6, "hand wrist orientation")
    radius_level = data[offset + 6 + ORIENTATION_SIZE]
    deltas = np.frombuffer(data, dtype=np.int8, count=3 * len(DELTA_JOINTS), offset=offset + POSE_SIZE + 1)
    if (deltas == -128).any():
        raise WireError("hand joint delta uses the reserved value -128 mm")
    decoded = _ANCESTRY @ deltas.reshape(-1, 3).astype(np.int64) + np.array(wrist, dtype=np.int64)
    # Every check QuantizedHand makes holds by construction here (i8 deltas, a checked i16 wrist, a byte).
    hand = object.__new__(QuantizedHand)
    for name, value in (("side", side), ("joints_mm", decoded), ("wrist_orientation", wrist_q),
                        ("radius_level", radius_level)):  # fmt: skip
        object.__setattr__(hand, name, value)
    return hand, end
