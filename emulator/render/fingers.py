"""Finger bones aimed along the received hand's joints (OpenXR's 26), five digits at a time.

Each finger bone turns so its rest direction points along its received segment, parents first: the
digits' first bones, then their second, then their third, each depth one batch of numpy.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from emulator.render.rotations import rotation_between, unit
from emulator.render.skeleton import Skeleton

F64 = npt.NDArray[np.float64]


class Solver(Protocol):
    """What finger posing needs of posing.py's solver: posed parents, one aim, the posed bones."""

    delta: dict[int, F64]

    def parent_delta(self, bone: int) -> F64: ...

    def aim(self, bone: int, toward: int | None, direction: F64) -> None: ...


_FINGERS = (
    ("Thumb", ("Metacarpal", "Proximal", "Distal"), (2, 3, 4, 5)),
    ("Index", ("Proximal", "Intermediate", "Distal"), (7, 8, 9, 10)),
    ("Middle", ("Proximal", "Intermediate", "Distal"), (12, 13, 14, 15)),
    ("Ring", ("Proximal", "Intermediate", "Distal"), (17, 18, 19, 20)),
    ("Little", ("Proximal", "Intermediate", "Distal"), (22, 23, 24, 25)),
)


# A vector v times this, reshaped to 3x3, is the cross-product matrix [v]x (row-major).
_SKEW = np.array(
    [[0, 0, 0, 0, 0, -1, 0, 1, 0], [0, 0, 1, 0, 0, 0, -1, 0, 0], [0, -1, 0, 1, 0, 0, 0, 0, 0]], np.float64
)


class _Level(NamedTuple):
    """Finger bones of one depth (the digits' first bones, their second, their third) and their constants."""

    bones: tuple[int, ...]
    towards: tuple[int, ...]  # the bone each one's rest direction points to
    starts: npt.NDArray[np.int64]  # the received joint each bone starts at
    ends: npt.NDArray[np.int64]  # the received joint it points to
    origin: F64  # (n, 3) rest positions
    rest: F64  # (n, 3) unit rest directions
    cross: F64  # (n, 3, 3): cross[k] @ v is rest[k] x v


def finger_levels(skeleton: Skeleton, side: str) -> tuple[_Level, ...]:
    rows: list[list[tuple[int, int, int, int]]] = [[], [], []]
    for digit, parts, joints in _FINGERS:
        bones = [skeleton.bone(f"{side}{digit}{part}") for part in parts]
        for k, bone in enumerate(bones):
            if bone is None:
                continue
            children = skeleton.children(bone)
            toward = bones[k + 1] if k + 1 < len(bones) and bones[k + 1] is not None else None
            toward = toward if toward is not None else (children[0] if children else None)
            if toward is not None:
                rows[k].append((bone, toward, joints[k], joints[k + 1]))
    levels = []
    origin_of = skeleton.rest[:, :3, 3]
    for level in filter(None, rows):
        ids, towards, starts, ends = zip(*level, strict=True)
        origin = origin_of[list(ids)]
        rest = np.stack([unit(origin_of[t] - origin_of[b]) for b, t in zip(ids, towards, strict=True)])
        cross = (rest @ _SKEW).reshape(-1, 3, 3)
        levels.append(_Level(ids, towards, np.array(starts), np.array(ends), origin, rest, cross))
    return tuple(levels)


def pose_each(solver: Solver, levels: tuple[_Level, ...], hand: F64) -> None:
    """Each finger bone aimed along its received segment, one by one: what `pose_fingers` computes."""
    for level in levels:
        for k, bone in enumerate(level.bones):
            solver.aim(bone, level.towards[k], hand[level.ends[k]] - hand[level.starts[k]])


def pose_fingers(solver: Solver, levels: tuple[_Level, ...], hand: F64) -> None:
    """`pose_each` with the five digits of one depth in one batch: 3 rounds of numpy, not 15.
    Rodrigues with the unnormalised axis v = rest x target: R = I + [v]x + [v]x^2 (1 - c) / |v|^2."""
    for level in levels:
        parents = np.array([solver.parent_delta(b) for b in level.bones])  # (n, 4, 4)
        target = np.einsum("nji,nj->ni", parents[:, :3, :3], hand[level.ends] - hand[level.starts])
        length = np.sqrt(np.einsum("ni,ni->n", target, target))
        target /= np.where(length > 1e-9, length, 1.0)[:, None]
        axis = np.einsum("nij,nj->ni", level.cross, target)
        sin2 = np.einsum("ni,ni->n", axis, axis)
        cos = np.einsum("ni,ni->n", level.rest, target)
        skew = (axis @ _SKEW).reshape(-1, 3, 3)
        about = np.zeros_like(parents)
        rotation = about[:, :3, :3]
        np.matmul(skew, skew, out=rotation)
        rotation *= ((1.0 - cos) / np.maximum(sin2, 1e-300))[:, None, None]
        rotation += skew
        rotation[:, (0, 1, 2), (0, 1, 2)] += 1.0
        for k in np.flatnonzero(sin2 < 1e-18).tolist():  # parallel or opposite: the special cases
            rotation[k] = rotation_between(level.rest[k], target[k])
        about[:, :3, 3] = level.origin - np.einsum("nij,nj->ni", rotation, level.origin)
        about[:, 3, 3] = 1.0
        posed = parents @ about
        for k, bone in enumerate(level.bones):
            solver.delta[bone] = posed[k]
