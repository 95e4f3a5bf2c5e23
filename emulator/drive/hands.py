"""Scripted hands, sampled at any time: `hands.sample(t, head)` for `t` seconds since the start.

Hands come out as a tracker reports them: the 26 OpenXR joints of each hand in the room frame of the
head pose, placed where a standing person's hands are relative to their head. Each preset is laid
out in the head's *level* frame (its heading, not its pitch or roll), so nodding does not swing the
arms while turning round turns them with the body.

- `none`: no hands are sent.
- `relaxed` (default): both hands loose at waist height, a little in front, palms facing in, fingers
  half curled, with a slight sway.
- `wave`: the right hand raised beside the head, palm forward, waving side to side; left relaxed.
- `point`: the right hand at chest height pointing forward, index straight, the rest curled.
- `pinch`: the right hand in front closing thumb and index tips together and opening again.
- `thumbs-up`: the right fist held in front, thumb up.
- `talk`: both hands in front of the chest making small conversational gestures.
- `trace:FILE.jsonl[,once][,absolute]`: replays recorded joints (see `emulator.drive.hand_trace`).

`period=SECONDS` sets the cycle of the moving presets (`wave:period=1`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from emulator.drive.errors import DriveError
from emulator.drive.spec import check_time, level, param_float, parse_params, split_flags, split_spec
from emulator.model.hands import DIGITS, HandPose, HandSide, hand_pose

# The pair a driver returns is model data; callers of the drivers keep naming it from here.
from emulator.model.hands import NO_HANDS as NO_HANDS
from emulator.model.hands import Hands as Hands
from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.quat_array import qmul, qrotate

Array = npt.NDArray[np.float64]

HANDS_NAMES = ("none", "relaxed", "wave", "point", "pinch", "thumbs-up", "talk", "trace")

# Per-digit curl (thumb, index, middle, ring, little) of the shapes the presets and the app use.
OPEN = (0.0, 0.0, 0.0, 0.0, 0.0)
LOOSE = (0.3, 0.3, 0.3, 0.3, 0.3)
POINTING = (0.8, 0.0, 1.0, 1.0, 1.0)
PINCHED = (0.7, 0.6, 0.3, 0.3, 0.3)  # thumb and index tips within a centimetre on the canonical hand
FIST_THUMB_UP = (-0.2, 1.0, 1.0, 1.0, 1.0)


class HandsDriver(Protocol):
    """Anything that says where the hands are `t` seconds after the start, given the head pose then."""

    def sample(self, t: float, head: Pose) -> Hands: ...


CURL_STEP = 0.005  # a moving finger's tip steps by about a millimetre: posed hands can be cached


@functools.lru_cache(maxsize=4096)
def _canonical(side: HandSide, curl: float, thumb: float) -> HandPose:
    return hand_pose(side, curl=curl, thumb_curl=thumb)


def _shaped(side: HandSide, curls: tuple[float, ...]) -> tuple[Array, Array, Array]:
    """Positions, orientations and radii of the canonical hand at the origin, each digit curled by
    its own amount. Each digit's chain depends only on the wrist and its own curl, so a digit can be
    taken from a hand curled uniformly by that amount; the palm follows the middle finger."""
    rounded = tuple(round(c / CURL_STEP) * CURL_STEP for c in curls)
    base = _canonical(side, rounded[2], rounded[0])
    positions = base.positions.copy()
    orientations = base.orientations.copy()
    for d, digit in enumerate(DIGITS):
        if d == 0 or rounded[d] == rounded[2]:
            continue
        other = _canonical(side, rounded[d], rounded[0])
        rows = [int(j) for j in digit]
        positions[rows] = other.positions[rows]
        orientations[rows] = other.orientations[rows]
    return positions, orientations, base.radii


def shaped_hand(side: HandSide, wrist: Pose, curls: tuple[float, ...]) -> HandPose:
    """The canonical hand with each digit curled by its own amount, its wrist at `wrist`."""
    positions, orientations, radii = _shaped(side, curls)
    wq = np.array(wrist.orientation.as_tuple())
    positions = qrotate(wq, positions) + np.array(wrist.position.as_tuple())
    return HandPose(side, positions, qmul(wq, orientations), radii)


@functools.lru_cache(maxsize=4096)
def _turned(side: HandSide, turn: tuple[float, float, float, float], curls: tuple[float, ...]) -> tuple[
    Array, Array, Array
]:  # fmt: skip
    """A shaped hand turned by `turn` about its wrist at the origin: what a preset holds still."""
    positions, orientations, radii = _shaped(side, curls)
    wq = np.array(turn)
    return qrotate(wq, positions), qmul(wq, orientations), radii


def _yawed(side: HandSide, frame: Pose, where: Vec3, local: tuple[Array, Array, Array]) -> HandPose:
    """A hand given about its wrist turned by a level frame (a rotation about +y only) and moved to
    `where`: written out rather than through general quaternion products, presets do this 30 times
    a second per hand."""
    positions, orientations, radii = local
    s, c = frame.orientation.y, frame.orientation.w  # the frame's quaternion is (0, s, 0, c)
    cos, sin = c * c - s * s, 2.0 * s * c  # the yaw's cosine and sine
    x, y, z = positions[:, 0], positions[:, 1], positions[:, 2]
    moved = np.column_stack((cos * x + sin * z + where.x, y + where.y, cos * z - sin * x + where.z))
    qx, qy, qz, qw = orientations[:, 0], orientations[:, 1], orientations[:, 2], orientations[:, 3]
    turned = np.column_stack((c * qx + s * qz, c * qy + s * qw, c * qz - s * qx, c * qw - s * qy))
    return HandPose(side, moved, turned, radii)


def _mirror(side: HandSide, x: float, roll: float) -> tuple[float, float]:
    """Offsets and rolls are written for the right hand; the left is its mirror image."""
    return (x, roll) if side is HandSide.RIGHT else (-x, -roll)


def hand_at(
    side: HandSide,
    head: Pose,
    offset: tuple[float, float, float],
    *,
    pitch: float = 0.0,
    roll: float = 0.0,
    yaw: float = 0.0,
    tilt: float = 0.0,
    curls: tuple[float, ...] = LOOSE,
) -> HandPose:
    """A hand whose wrist sits at `offset` metres in the head's level frame (x right, y up, -z ahead).

    Angles are degrees for the right hand (mirrored for the left): `pitch` raises the fingers (90:
    pointing up), `roll` turns the palm about the forearm (-90: a right palm facing left), `yaw`
    turns the fingers to the left, and `tilt` leans the whole hand to the left about the forward axis
    (a wave).
    """
    frame = level(head)
    x, roll = _mirror(side, offset[0], roll)
    yaw, tilt = (yaw, tilt) if side is HandSide.RIGHT else (-yaw, -tilt)
    where = frame.transform_point(Vec3(x, offset[1], offset[2]))
    turn = Quat.from_euler(math.radians(yaw), math.radians(pitch), math.radians(roll))
    if tilt:
        turn = Quat.from_euler(0.0, 0.0, math.radians(tilt)) * turn
    rounded = tuple(round(c / CURL_STEP) * CURL_STEP for c in curls)
    return _yawed(side, frame, where, _turned(side, turn.as_tuple(), rounded))


def _relaxed(side: HandSide, head: Pose, t: float) -> HandPose:
    sway = 0.01 * math.sin(2.0 * math.pi * t / 4.0 + (0.0 if side is HandSide.RIGHT else 1.3))
    return hand_at(side, head, (0.18, -0.62 + sway, -0.22), pitch=-35.0, roll=-70.0, curls=LOOSE)


@dataclass(frozen=True)
class NoHands:
    def sample(self, t: float, head: Pose) -> Hands:
        return NO_HANDS


@dataclass(frozen=True)
class Relaxed:
    def sample(self, t: float, head: Pose) -> Hands:
        t = check_time(t)
        return Hands(_relaxed(HandSide.LEFT, head, t), _relaxed(HandSide.RIGHT, head, t))


@dataclass(frozen=True)
class Wave:
    period: float = 1.2

    def sample(self, t: float, head: Pose) -> Hands:
        t = check_time(t)
        swing = math.sin(2.0 * math.pi * t / self.period)
        right = hand_at(
            HandSide.RIGHT, head, (0.28 + 0.06 * swing, -0.05, -0.2), pitch=90.0, tilt=-25.0 * swing,
            curls=OPEN,
        )  # fmt: skip
        return Hands(_relaxed(HandSide.LEFT, head, t), right)


@dataclass(frozen=True)
class Point:
    def sample(self, t: float, head: Pose) -> Hands:
        t = check_time(t)
        right = hand_at(HandSide.RIGHT, head, (0.15, -0.32, -0.42), pitch=5.0, roll=-20.0, curls=POINTING)
        return Hands(_relaxed(HandSide.LEFT, head, t), right)


@dataclass(frozen=True)
class Pinch:
    period: float = 2.0

    def amount(self, t: float) -> float:
        """0 (open) … 1 (tips together): closes in the first half of each cycle, holds, opens."""
        u = (t / self.period) % 1.0
        return min(1.0, 1.5 - abs(3.0 * u - 1.5))

    def sample(self, t: float, head: Pose) -> Hands:
        t = check_time(t)
        a = self.amount(t)
        curls = tuple(o + (p - o) * a for o, p in zip(OPEN, PINCHED, strict=True))
        right = hand_at(HandSide.RIGHT, head, (0.12, -0.35, -0.35), pitch=10.0, roll=-40.0, curls=curls)
        return Hands(_relaxed(HandSide.LEFT, head, t), right)


@dataclass(frozen=True)
class ThumbsUp:
    def sample(self, t: float, head: Pose) -> Hands:
        t = check_time(t)
        right = hand_at(HandSide.RIGHT, head, (0.15, -0.35, -0.35), roll=-90.0, curls=FIST_THUMB_UP)
        return Hands(_relaxed(HandSide.LEFT, head, t), right)


@dataclass(frozen=True)
class Talk:
    """Both hands in front of the chest, drifting, turning palm-up and opening at unrelated rates
    (irrational ratios), the way people move their hands while they speak."""

    period: float = 3.0

    def _hand(self, side: HandSide, head: Pose, t: float) -> HandPose:
        phase = 2.0 * math.pi * t / self.period + (0.0 if side is HandSide.RIGHT else 2.1)
        x = 0.17 + 0.04 * math.sin(phase * math.sqrt(2.0))
        y = -0.45 + 0.05 * math.sin(phase)
        z = -0.32 + 0.04 * math.sin(phase * math.sqrt(3.0))
        openness = 0.5 + 0.5 * math.sin(phase * 1.7)
        curls = tuple(0.5 - 0.4 * openness for _ in range(5))
        roll = -110.0 + 40.0 * math.sin(phase * 0.9)  # palm up and inwards, turning
        return hand_at(side, head, (x, y, z), pitch=10.0, roll=roll, yaw=10.0, curls=curls)

    def sample(self, t: float, head: Pose) -> Hands:
        t = check_time(t)
        return Hands(self._hand(HandSide.LEFT, head, t), self._hand(HandSide.RIGHT, head, t))


def hands_from_spec(spec: str) -> HandsDriver:
    """The driver a hands spec names (`wave`, `wave:period=1`, `trace:FILE.jsonl,once`).

    A `DriveError` names the spec and what is wrong with it.
    """
    name, rest = split_spec(spec)
    what = f"hands {spec.strip()!r}"
    if name == "trace":
        from emulator.drive.hand_trace import load_hand_trace

        path, flags = split_flags(rest, ("once", "absolute", "loop"))
        if not path:
            raise DriveError(f"{what}: expected trace:FILE.jsonl")
        if {"once", "loop"} <= flags:
            raise DriveError(f"{what}: choose once or loop, not both")
        return load_hand_trace(Path(path), loop="once" not in flags, absolute="absolute" in flags)
    simple: dict[str, type[NoHands | Relaxed | Point | ThumbsUp]] = {
        "none": NoHands, "relaxed": Relaxed, "point": Point, "thumbs-up": ThumbsUp, "thumbsup": ThumbsUp,
    }  # fmt: skip
    if name in simple:
        parse_params(rest, (), what=what)
        return simple[name]()
    periodic: dict[str, tuple[type[Wave | Pinch | Talk], float]] = {
        "wave": (Wave, 1.2), "pinch": (Pinch, 2.0), "talk": (Talk, 3.0),
    }  # fmt: skip
    if name in periodic:
        kind, default = periodic[name]
        params = parse_params(rest, ("period",), what=what)
        return kind(param_float(params, "period", default, what=what, low=0.1, high=1e6))
    raise DriveError(f"unknown hands {name!r}; choose one of {', '.join(HANDS_NAMES)} (trace:FILE.jsonl)")
