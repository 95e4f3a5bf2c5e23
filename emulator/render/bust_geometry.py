"""The default avatar's body: a neck, shoulders and upper torso under the head, and the skeleton they hang on.

Same frame as `head_geometry` (metres, +y up, facing -z, origin between the eyes). The neck is a tube
that starts inside the head behind the jaw; the torso is a stack of rounded-box cross sections from the
collar (which the neck fills) down to mid-chest, closed underneath. The top sections slope from the
back of the neck down to the collarbones and widen fast, so the shoulders fall away from the neck
(the trapezius) and round over at the arm sockets; below them the chest narrows to the cut. Both are
closed surfaces wound outward, so they are culled like the skull. No morph target moves them.

The skeleton uses Mixamo / Ready Player Me bone names, so code that poses those avatars poses this one:
each vertex is weighted to at most four bones (the head to Head; the neck blends Neck into Head; the
torso blends Spine1, Spine2, Neck and each side's Shoulder and Arm). The bones' bind pose is the rest
pose: arms hanging down, which is how the bust is shaped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from emulator.render.head_geometry import F64, HeadParts, Palette, build_head

NECK, TORSO = 11, 12  # part labels after head_geometry's

# (name, parent, position in the avatar frame). Hips and the lower spine sit below the bust: they are there
# so a posing library finds the chain it expects.
BONES: tuple[tuple[str, str | None, tuple[float, float, float]], ...] = (
    ("Hips", None, (0.0, -0.80, 0.06)),
    ("Spine", "Hips", (0.0, -0.66, 0.06)),
    ("Spine1", "Spine", (0.0, -0.52, 0.06)),
    ("Spine2", "Spine1", (0.0, -0.38, 0.06)),
    ("Neck", "Spine2", (0.0, -0.18, 0.06)),
    ("Head", "Neck", (0.0, -0.09, 0.05)),
    ("LeftShoulder", "Spine2", (-0.035, -0.22, 0.06)),
    ("LeftArm", "LeftShoulder", (-0.175, -0.26, 0.065)),
    ("LeftForeArm", "LeftArm", (-0.185, -0.53, 0.065)),
    ("LeftHand", "LeftForeArm", (-0.19, -0.80, 0.04)),
    ("RightShoulder", "Spine2", (0.035, -0.22, 0.06)),
    ("RightArm", "RightShoulder", (0.175, -0.26, 0.065)),
    ("RightForeArm", "RightArm", (0.185, -0.53, 0.065)),
    ("RightHand", "RightForeArm", (0.19, -0.80, 0.04)),
)
BONE_INDEX = {name: i for i, (name, _, _) in enumerate(BONES)}

NECK_Z = 0.06
NECK_RADII = (0.056, 0.054)  # x, z
NECK_TOP, NECK_BOTTOM = -0.06, -0.19  # the bottom is hidden inside the collar
# Torso cross sections, top to bottom: (y, half width, half depth, centre z, slope). A section's back
# is `slope` higher and its front `slope` lower than y: the collar sits lower in front than behind.
_SECTIONS: tuple[tuple[float, float, float, float, float], ...] = (
    (-0.135, 0.050, 0.048, 0.060, 0.030), (-0.145, 0.078, 0.064, 0.060, 0.030),  # inside the neck, its base
    (-0.158, 0.110, 0.072, 0.060, 0.026), (-0.172, 0.140, 0.080, 0.060, 0.022),  # trapezius
    (-0.186, 0.168, 0.088, 0.060, 0.017), (-0.198, 0.188, 0.095, 0.060, 0.012),
    (-0.212, 0.200, 0.101, 0.060, 0.007), (-0.232, 0.206, 0.107, 0.060, 0.002),  # shoulder tips
    (-0.262, 0.207, 0.112, 0.060, 0.000), (-0.300, 0.200, 0.116, 0.059, 0.000),  # arm sockets
    (-0.370, 0.182, 0.119, 0.057, 0.000), (-0.490, 0.160, 0.112, 0.060, 0.000),  # chest, the cut
)  # fmt: skip
BUST_BOTTOM = _SECTIONS[-1][0]
_TORSO_COLUMNS = 24
_NECK_COLUMNS = 16
_NECK_ROWS = 4
_SIDE_THINNING = 0.3
_EXPONENT = 2.6  # a superellipse: squarer shoulders than an ellipse


@dataclass
class BustParts:
    """The head's parts with the body appended, and each vertex's four bone indices and weights."""

    head: HeadParts
    joints: npt.NDArray[np.uint8]  # (V, 4) indices into BONES
    weights: npt.NDArray[np.float32]  # (V, 4), rows sum to 1


def _ring(columns: int, half_width: float, half_depth: float, exponent: float) -> F64:
    """A closed superellipse in the xz plane, starting at the front (-z) and turning toward +x."""
    angle = np.linspace(0.0, 2.0 * math.pi, columns, endpoint=False)
    s, c = np.sin(angle), -np.cos(angle)
    x = np.sign(s) * np.abs(s) ** (2.0 / exponent) * half_width
    z = np.sign(c) * np.abs(c) ** (2.0 / exponent) * half_depth
    return np.stack([x, np.zeros_like(x), z], axis=1)


def _tube_triangles(rows: int, cols: int) -> npt.NDArray[np.int32]:
    """Rows from top to bottom of `cols` vertices turning +x from the front: outward, counter-clockwise."""
    tris = []
    for i in range(rows - 1):
        for j in range(cols):
            a, b = i * cols + j, i * cols + (j + 1) % cols
            c, d = a + cols, b + cols
            tris += [(a, b, c), (b, d, c)]
    return np.asarray(tris, np.int32)


def _neck() -> tuple[F64, npt.NDArray[np.int32]]:
    ys = np.linspace(NECK_TOP, NECK_BOTTOM, _NECK_ROWS)
    ring = _ring(_NECK_COLUMNS, NECK_RADII[0], NECK_RADII[1], 2.0)
    points = np.concatenate([ring + np.array([0.0, y, NECK_Z]) for y in ys])
    top = len(points)  # a cap inside the head, so the tube is closed
    points = np.concatenate([points, [(0.0, NECK_TOP, NECK_Z)]])
    tris = _tube_triangles(len(ys), _NECK_COLUMNS).tolist()
    tris += [(top, (j + 1) % _NECK_COLUMNS, j) for j in range(_NECK_COLUMNS)]
    return points, np.asarray(tris, np.int32)


def _torso() -> tuple[F64, npt.NDArray[np.int32]]:
    rows = []
    for y, w, d, z, slope in _SECTIONS:
        ring = _ring(_TORSO_COLUMNS, w, d, _EXPONENT if w > 0.1 else 2.0)
        ring[:, 1] = slope * ring[:, 2] / d  # +z is the back
        ring[:, 2] *= 1.0 - _SIDE_THINNING * (np.abs(ring[:, 0]) / w) ** 4  # shoulders thinner than the chest
        rows.append(ring + np.array([0.0, y, z]))
    points = np.concatenate(rows)
    bottom = len(points)
    points = np.concatenate([points, [(0.0, BUST_BOTTOM, _SECTIONS[-1][3])]])
    tris = _tube_triangles(len(rows), _TORSO_COLUMNS).tolist()
    last = (len(rows) - 1) * _TORSO_COLUMNS
    tris += [(bottom, last + j, last + (j + 1) % _TORSO_COLUMNS) for j in range(_TORSO_COLUMNS)]
    return points, np.asarray(tris, np.int32)


def _smooth(edge0: float, edge1: float, x: F64) -> F64:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return np.asarray(t * t * (3.0 - 2.0 * t))


def _body_weights(points: F64, neck: npt.NDArray[np.bool_]) -> F64:
    """(V, bones) weights before trimming to four: smooth blends by height and distance from the middle."""
    w = np.zeros((len(points), len(BONES)))
    x, y = points[:, 0], points[:, 1]
    head = _smooth(-0.16, -0.07, y) * neck
    w[:, BONE_INDEX["Head"]] = head
    w[:, BONE_INDEX["Neck"]] = np.where(
        neck, 1.0 - head, _smooth(-0.23, -0.18, y) * _smooth(0.12, 0.06, np.abs(x))
    )
    body = ~neck
    shoulder = _smooth(0.07, 0.15, np.abs(x)) * _smooth(-0.42, -0.28, y) * body
    arm = _smooth(0.15, 0.2, np.abs(x)) * _smooth(-0.48, -0.34, y) * body
    rest = np.clip(1.0 - w[:, BONE_INDEX["Neck"]] * body - shoulder, 0.0, 1.0) * body
    upper = _smooth(-0.48, -0.4, y)
    w[:, BONE_INDEX["Spine2"]] = rest * upper
    w[:, BONE_INDEX["Spine1"]] = rest * (1.0 - upper)
    for side, sign in (("Left", -1.0), ("Right", 1.0)):
        mine = (np.sign(x) == sign) * 1.0
        w[:, BONE_INDEX[f"{side}Shoulder"]] = shoulder * mine * (1.0 - arm)
        w[:, BONE_INDEX[f"{side}Arm"]] = shoulder * mine * arm
    return w


def build_bust(palette: Palette) -> BustParts:
    """The head of `head_geometry` on a neck and upper torso, with bone weights for every vertex."""
    head = build_head(palette)
    n_head = len(head.positions)
    neck_points, neck_tris = _neck()
    torso_points, torso_tris = _torso()
    body_points = np.concatenate([neck_points, torso_points])
    body_tris = np.concatenate([neck_tris, torso_tris + len(neck_points)]) + n_head
    is_neck = np.arange(len(body_points)) < len(neck_points)
    shirt = np.asarray(palette.shirt, np.float32)
    body_colors = np.where(is_neck[:, None], np.asarray(palette.skin, np.float32), shirt).astype(np.float32)
    # Closed body surfaces join the head's closed ones at the front: the renderer culls the leading block.
    closed, open_ = head.triangles[: head.single_sided], head.triangles[head.single_sided :]
    n = n_head + len(body_points)

    extra = len(body_points)

    parts = HeadParts(
        positions=np.concatenate([head.positions, body_points]),
        colors=np.concatenate([head.colors, body_colors]),
        triangles=np.concatenate([closed, body_tris, open_]).astype(np.int32),
        single_sided=head.single_sided + len(body_tris),
        part=np.concatenate([head.part, np.where(is_neck, NECK, TORSO).astype(np.int8)]),
        lower=np.concatenate([head.lower, np.zeros(extra, bool)]),
        lid_t=np.concatenate([head.lid_t, np.zeros(extra)]),
        lid_upper=np.concatenate([head.lid_upper, np.zeros(extra, bool)]),
        lid_yaw=np.concatenate([head.lid_yaw, np.zeros(extra)]),
        mouth_z=head.mouth_z,
        eye_centres=head.eye_centres,
    )
    weights = np.zeros((n, len(BONES)))
    weights[:n_head, BONE_INDEX["Head"]] = 1.0
    weights[n_head:] = _body_weights(body_points, is_neck)
    order = np.argsort(-weights, axis=1)[:, :4]
    top = np.take_along_axis(weights, order, axis=1)
    top /= np.maximum(top.sum(axis=1, keepdims=True), 1e-9)
    order[top == 0] = 0  # glTF: an unused influence names joint 0 with weight 0
    return BustParts(parts, order.astype(np.uint8), top.astype(np.float32))
