"""Posing a skeleton from what a headset sends: head orientation, body yaw that lags, arms, hands.

All in numpy, no GL. `BodyYaw` is the one piece of state (per participant, fed with frame times): the
body turns toward where the head looks only once the head has been turned past a dead zone for a
while, then catches up with a lag, as social-VR avatars do, so a glance moves the head alone.
`pose_skeleton` turns that and the received head pose into the avatar's placement and one skin
matrix per skeleton slot:
- the head's orientation relative to the body is split between neck and head, clamped to human limits;
- arms hang relaxed from a T or A pose, or reach for the received wrists (two-bone IK with the elbow
  out and down), hands take the received palm's orientation and each finger bone points along its
  received segment, when the skeleton has those bones;
- the root follows the head's position and the body's yaw, never the head's pitch or roll. The
  headset's position is where the eyes are with the head straight on the body; turning the head about
  the neck moves the eyes a few centimetres from it (as it moves a real headset), and the body stays
  put rather than swinging the other way.
Bone rotations are given in the avatar frame's axes at rest and applied about each bone's rest
position, children after parents, so a rotation of the upper arm carries the forearm with it.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from emulator.model.hands import HandJoint, HandPose
from emulator.model.pose import Pose
from emulator.render import fingers
from emulator.render.rotations import frame, rotation_between, unit
from emulator.render.skeleton import Skeleton

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BodyYawConfig:
    dead_zone_deg: float = 45.0  # head yaw off the body's that the body ignores
    hold_s: float = 0.5  # how long the head must stay past the dead zone before the body turns
    lag_s: float = 0.35  # time constant of the body catching up once it turns
    settle_deg: float = 5.0  # the body stops turning this close to the head's yaw
    max_twist_deg: float = 100.0  # past this the body is dragged along at once (no neck turns further)


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


class BodyYaw:
    """The body's yaw (radians, about +y) following the head's yaw over time."""

    def __init__(self, config: BodyYawConfig | None = None) -> None:
        self.config = config or BodyYawConfig()
        self.yaw: float | None = None
        self._held_s = 0.0
        self._turning = False
        self._last_us: int | None = None

    def update(self, head_yaw: float, now_us: int) -> float:
        c = self.config
        if self.yaw is None or self._last_us is None or not math.isfinite(self.yaw):
            self.yaw, self._last_us = head_yaw, now_us
            return head_yaw
        dt = min(1.0, max(0.0, (now_us - self._last_us) / 1e6))  # a stalled stream must not spin the body
        self._last_us = now_us
        offset = _wrap(head_yaw - self.yaw)
        limit = math.radians(c.max_twist_deg)
        if abs(offset) > limit:
            self.yaw = _wrap(head_yaw - math.copysign(limit, offset))
            offset = math.copysign(limit, offset)
        if self._turning:
            self.yaw = _wrap(self.yaw + offset * (1.0 - math.exp(-dt / max(c.lag_s, 1e-3))))
            if abs(_wrap(head_yaw - self.yaw)) < math.radians(c.settle_deg):
                self._turning, self._held_s = False, 0.0
        elif abs(offset) > math.radians(c.dead_zone_deg):
            self._held_s += dt
            self._turning = self._held_s >= c.hold_s
        else:
            self._held_s = 0.0
        return self.yaw


@dataclass(frozen=True)
class HeadLimits:
    """How far a head turns on its body (degrees), and the neck's share of it."""

    yaw: float = 80.0
    pitch_up: float = 50.0
    pitch_down: float = 60.0
    roll: float = 35.0
    neck_share: float = 0.4


def yaw_of(orientation: F64) -> float:
    """Yaw (about +y) of a rotation matrix, from where its -z (forward) points."""
    return math.atan2(orientation[0, 2], orientation[2, 2])


def _euler(yaw: float, pitch: float, roll: float) -> F64:
    """Yaw about +y, then pitch about +x, then roll about +z (intrinsic), as Quat.from_euler."""
    cy, sy, cp, sp, cr, sr = (f(a) for a in (yaw, pitch, roll) for f in (math.cos, math.sin))
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return np.asarray(ry @ rx @ rz)


def _to_euler(m: F64) -> tuple[float, float, float]:
    pitch = math.asin(max(-1.0, min(1.0, -m[1, 2])))
    return math.atan2(m[0, 2], m[2, 2]), pitch, math.atan2(m[1, 0], m[1, 1])


def head_rotations(relative: F64, limits: HeadLimits) -> tuple[F64, F64]:
    """(neck, head) rotations whose product is `relative` (head in body axes), clamped to `limits`."""
    yaw, pitch, roll = _to_euler(relative)
    yaw = max(-limits.yaw, min(limits.yaw, math.degrees(yaw)))
    pitch = max(-limits.pitch_down, min(limits.pitch_up, math.degrees(pitch)))
    roll = max(-limits.roll, min(limits.roll, math.degrees(roll)))
    full = _euler(*(math.radians(a) for a in (yaw, pitch, roll)))
    share = limits.neck_share
    neck = _euler(*(math.radians(a * share) for a in (yaw, pitch, roll)))
    return neck, neck.T @ full


_EYE4 = np.eye(4)
_EYE4.flags.writeable = False  # handed out as "no parent posed": shared, never written


def _about(point: F64, rotation: F64) -> F64:
    m = np.eye(4)
    m[:3, :3] = rotation
    m[:3, 3] = point - rotation @ point
    return m


# Relaxed arms, in the avatar frame (+x right, -z forward): upper arms down and slightly out and
# forward, forearms a little more forward, hands carrying on from them.
_REST_UPPER = np.array([0.17, -1.0, -0.06])
_REST_LOWER = np.array([0.08, -1.0, -0.30])
_ELBOW_POLE = np.array([0.6, -1.0, 0.4])  # elbows bend out, down and back
_HANGING = math.cos(math.radians(30.0))  # an upper arm this close to straight down is left as it is


class _Solver:
    """Bone transforms (posed avatar-from-rest-avatar) from rotations and aims, parents first."""

    def __init__(self, skeleton: Skeleton) -> None:
        self.s = skeleton
        self.origin = skeleton.rest[:, :3, 3]
        self.delta: dict[int, F64] = {}  # bone -> 4x4, only bones whose chain is posed

    def parent_delta(self, bone: int) -> F64:
        b = int(self.s.parents[bone])
        while b >= 0:
            if b in self.delta:
                return self.delta[b]
            b = int(self.s.parents[b])
        return _EYE4

    def rotate(self, bone: int, rotation: F64) -> None:
        self.delta[bone] = self.parent_delta(bone) @ _about(self.origin[bone], rotation)

    def position(self, bone: int) -> F64:
        d = self.delta.get(bone)
        d = self.parent_delta(bone) if d is None else d
        return np.asarray(d[:3, :3] @ self.origin[bone] + d[:3, 3])

    def rest_direction(self, bone: int, toward: int | None) -> F64 | None:
        if toward is None:
            return None
        return unit(self.origin[toward] - self.origin[bone])

    def aim(self, bone: int, toward: int | None, direction: F64) -> None:
        """Turn `bone` so its rest direction to bone `toward` points along `direction` (posed space)."""
        rest = self.rest_direction(bone, toward)
        if rest is None:
            return
        parent = self.parent_delta(bone)[:3, :3]
        self.rotate(bone, rotation_between(rest, parent.T @ direction))

    def orient(self, bone: int, rest: tuple[F64, F64], target: tuple[F64, F64]) -> None:
        parent = self.parent_delta(bone)[:3, :3]
        posed = frame(parent.T @ target[0], parent.T @ target[1])
        self.rotate(bone, posed @ frame(*rest).T)

    def skin(self, owners: dict[tuple[int, ...], npt.NDArray[np.int64]]) -> F32:
        """(S, 3, 4) skin matrices of every slot; `owners` caches which posed bone moves each slot."""
        s = self.s
        posed = tuple(self.delta)
        owner = owners.get(posed)
        if owner is None:
            index = {bone: i + 1 for i, bone in enumerate(posed)}  # 0: the identity
            by_bone = np.zeros(len(s.parents), np.int64)
            for b, p in enumerate(s.parents.tolist()):  # parents come first (skeleton.py)
                by_bone[b] = index.get(b, by_bone[p] if p >= 0 else 0)
            owner = owners[posed] = by_bone[s.slot_bones]
        stack = np.stack([np.eye(4), *self.delta.values()])
        return np.asarray((stack[owner] @ s.slot_rest)[:, :3, :], np.float32)


class _Rig:
    """What posing one skeleton needs that never changes: the relaxed arms, slot owners."""

    def __init__(self, skeleton: Skeleton) -> None:
        self.owners: dict[tuple[int, ...], npt.NDArray[np.int64]] = {}
        self.relaxed: dict[str, dict[int, F64]] = {}
        moving = {skeleton.bone("head"), skeleton.bone("neck")} - {None}
        for side in ("left", "right"):
            upper = skeleton.bone(f"{side}UpperArm")
            if upper is None or moving & set(_ancestors(skeleton, upper)):
                continue  # arms hung from the neck move with it: posed every frame instead
            solver = _Solver(skeleton)
            _arm(solver, skeleton, side, None)
            self.relaxed[side] = solver.delta
        self.fingers = {side: fingers.finger_levels(skeleton, side) for side in ("left", "right")}


def _ancestors(skeleton: Skeleton, bone: int) -> list[int]:
    out = []
    bone = int(skeleton.parents[bone])
    while bone >= 0:
        out.append(bone)
        bone = int(skeleton.parents[bone])
    return out


_RIGS: dict[int, tuple[weakref.ref[Skeleton], _Rig]] = {}


def _rig(skeleton: Skeleton) -> _Rig:
    entry = _RIGS.get(id(skeleton))
    if entry is not None and entry[0]() is skeleton:
        return entry[1]
    rig = _Rig(skeleton)
    key = id(skeleton)
    _RIGS[key] = (weakref.ref(skeleton, lambda _: _RIGS.pop(key, None)), rig)
    return rig


@dataclass(frozen=True)
class Posed:
    model: F64  # world-from-avatar 4x4
    skin: F32  # (S, 3, 4) per-slot skin matrices, avatar frame


def _hand_targets(hand: HandPose, avatar_from_world: F64) -> F64:
    p = hand.positions
    return np.asarray(p @ avatar_from_world[:3, :3].T + avatar_from_world[:3, 3])


def _arm(solver: _Solver, skeleton: Skeleton, side: str, hand: F64 | None, fingers_too: bool = True) -> None:
    sign = -1.0 if side == "left" else 1.0  # the avatar's own left is -x
    flip = np.array([sign, 1.0, 1.0])
    upper, lower, wrist = (skeleton.bone(f"{side}{n}") for n in ("UpperArm", "LowerArm", "Hand"))
    if upper is None or lower is None:
        return
    if hand is None:
        rest = solver.rest_direction(upper, lower)
        if rest is not None and -rest[1] > _HANGING:
            return  # authored hanging already (a bust, a relaxed rest pose): kept as it is
        solver.aim(upper, lower, _REST_UPPER * flip)
        solver.aim(lower, wrist, _REST_LOWER * flip)
        return
    if wrist is None:
        solver.aim(upper, lower, hand[HandJoint.WRIST] - solver.position(upper))
        return
    shoulder, target = solver.position(upper), hand[HandJoint.WRIST]
    l1 = float(np.linalg.norm(solver.origin[lower] - solver.origin[upper]))
    l2 = float(np.linalg.norm(solver.origin[wrist] - solver.origin[lower]))
    reach = target - shoulder
    distance = min(float(np.linalg.norm(reach)), (l1 + l2) * 0.999)
    along = unit(reach)
    a = (l1 * l1 - l2 * l2 + distance * distance) / (2 * max(distance, 1e-6))
    h = math.sqrt(max(0.0, l1 * l1 - a * a))
    pole = _ELBOW_POLE * flip
    pole = unit(pole - np.dot(pole, along) * along)
    elbow = shoulder + a * along + h * pole
    solver.aim(upper, lower, elbow - shoulder)
    solver.aim(lower, wrist, shoulder + along * distance - solver.position(lower))
    middle = skeleton.bone(f"{side}MiddleProximal")
    index, little = skeleton.bone(f"{side}IndexProximal"), skeleton.bone(f"{side}LittleProximal")
    if middle is not None and index is not None and little is not None:
        o = solver.origin
        solver.orient(
            wrist,
            (o[middle] - o[wrist], o[little] - o[index]),
            (hand[HandJoint.MIDDLE_PROXIMAL] - hand[HandJoint.WRIST],
             hand[HandJoint.LITTLE_PROXIMAL] - hand[HandJoint.INDEX_PROXIMAL]),
        )  # fmt: skip
    if fingers_too:
        fingers.pose_fingers(solver, _rig(skeleton).fingers[side], hand)


def placement(head: Pose, body_yaw: float) -> F64:
    """World-from-avatar: at the head's position, turned by the body's yaw (not the head's pitch or roll)."""
    model = np.eye(4)
    model[:3, :3] = _euler(body_yaw, 0.0, 0.0)
    model[:3, 3] = head.position.as_tuple()
    return model


def pose_skeleton(
    skeleton: Skeleton,
    head: Pose,
    body_yaw: float,
    left_hand: HandPose | None = None,
    right_hand: HandPose | None = None,
    limits: HeadLimits | None = None,
    fingers: bool = True,
) -> Posed | None:
    """Placement and skin matrices; None when the skeleton has no head bone to turn (draw it rigidly).
    Without `fingers` the finger bones keep their rest shape on the posed hand (anim_lod.py)."""
    head_bone = skeleton.bone("head")
    if head_bone is None:
        return None
    limits = limits or HeadLimits()
    solver = _Solver(skeleton)
    model = placement(head, body_yaw)
    body = model[:3, :3]
    orientation = np.asarray(head.orientation.as_matrix(), np.float64)
    neck_turn, head_turn = head_rotations(body.T @ orientation, limits)
    neck_bone = skeleton.bone("neck")
    if neck_bone is not None:
        solver.rotate(neck_bone, neck_turn)
        solver.rotate(head_bone, head_turn)
    else:
        solver.rotate(head_bone, neck_turn @ head_turn)
    avatar_from_world = np.eye(4)  # the inverse of a rotation and a translation
    avatar_from_world[:3, :3] = body.T
    avatar_from_world[:3, 3] = -body.T @ model[:3, 3]
    rig = _rig(skeleton)
    for side, hand in (("left", left_hand), ("right", right_hand)):
        if hand is None and side in rig.relaxed:
            solver.delta.update(rig.relaxed[side])
        else:
            targets = None if hand is None else _hand_targets(hand, avatar_from_world)
            _arm(solver, skeleton, side, targets, fingers)
    return Posed(model, solver.skin(rig.owners))
