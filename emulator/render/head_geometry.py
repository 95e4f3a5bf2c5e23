"""The default avatar's rest geometry: a stylized head built from numpy, no third-party art.

Frame (the avatar frame of `avatar.py`): metres, +y up, the face looks toward -z like the headset it
stands for, so the avatar's own left is -x. The origin is the point between the eyes: a participant's
head pose is the pose of its headset, which sits at the eyes.

The skin is one closed surface (a deformed UV sphere). The mouth is a seam: inside the mouth's width
the row of vertices on the lip line is doubled, one copy for the upper lip and one for the lower, so
the rest mesh is closed and a morph that moves the lower copy opens a lens-shaped mouth. Behind it sit
a dark mouth cavity, teeth and a tongue; eyeballs poke through the skin and spherical lids close over
them. `head_targets.py` builds the 52 ARKit morph targets from the labels kept here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]

# Part labels, one per vertex; targets pick their vertices by part.
SKIN, EYE_LEFT, EYE_RIGHT, LID_LEFT, LID_RIGHT, BROW_LEFT, BROW_RIGHT = 0, 1, 2, 3, 4, 5, 6
TEETH_UPPER, TEETH_LOWER, MOUTH, TONGUE = 7, 8, 9, 10

SKULL_CENTRE = np.array([0.0, 0.015, 0.045])
SKULL_RADII = np.array([0.078, 0.112, 0.098])
MOUTH_Y = -0.058
MOUTH_HALF_WIDTH = 0.026
EYE_X = 0.032
EYE_RADIUS = 0.0135
LID_RADIUS = EYE_RADIUS * 1.14
UPPER_LID_OPEN_DEG = 34.0  # lid edge angle above the eye's forward axis when open
LOWER_LID_OPEN_DEG = -42.0
LID_TOP_DEG = 110.0
LID_BOTTOM_DEG = -100.0


@dataclass(frozen=True)
class Palette:
    """Colours of one variant, linear-ish RGB 0..1."""

    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    iris: tuple[float, float, float]
    lips: tuple[float, float, float]
    shirt: tuple[float, float, float] = (0.3, 0.34, 0.42)  # the bust's torso (bust_geometry.py)


@dataclass
class HeadParts:
    """Everything the targets need: positions, colours, triangles and what each vertex belongs to."""

    positions: F64
    colors: F32
    triangles: I32
    part: npt.NDArray[np.int8]
    lower: npt.NDArray[np.bool_]  # skin below the lip line (the lower copy on the seam)
    lid_t: F64  # lids: 0 at the lid's edge, 1 where it is fixed
    lid_upper: npt.NDArray[np.bool_]
    lid_yaw: F64  # lids: angle about the eye's vertical axis, radians
    mouth_z: float
    eye_centres: dict[int, F64] = field(default_factory=dict)
    single_sided: int = 0  # the first this many triangles are closed surfaces, wound outward (cullable)


def _smoothstep(edge0: float, edge1: float, x: F64) -> F64:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return np.asarray(t * t * (3.0 - 2.0 * t))


def _gauss(points: F64, centre: tuple[float, float, float], sigma: tuple[float, float, float]) -> F64:
    d = (points - np.asarray(centre)) / np.asarray(sigma)
    return np.asarray(np.exp(-0.5 * np.sum(d * d, axis=-1)))


def _skull_point(direction: F64) -> F64:
    """The skull surface along unit directions from its centre: an ellipsoid with a jaw, nose and ears."""
    p = SKULL_CENTRE + SKULL_RADII * direction
    below = np.clip(-direction[..., 1], 0.0, 1.0)
    p[..., 0] = SKULL_CENTRE[0] + (p[..., 0] - SKULL_CENTRE[0]) * (1.0 - 0.3 * below**1.5)
    front = np.clip(-direction[..., 2], 0.0, 1.0)
    # A flatter face and a chin that stays forward.
    p[..., 2] = SKULL_CENTRE[2] + (p[..., 2] - SKULL_CENTRE[2]) * (1.0 - 0.1 * front**2 * (1.0 - below))
    nose = _gauss(p, (0.0, -0.026, -0.06), (0.010, 0.016, 1.0)) * front**4
    p[..., 2] -= 0.019 * nose
    brow = _gauss(p, (0.0, 0.022, -0.06), (0.05, 0.008, 1.0)) * front**4
    p[..., 2] -= 0.004 * brow
    for side in (-1.0, 1.0):
        ear = _gauss(p, (side * 0.078, -0.008, 0.05), (0.03, 0.022, 0.012))
        p[..., 0] += side * 0.012 * ear
    return p


def _skull_direction(theta: F64, phi: F64) -> F64:
    """Polar angle from +y, azimuth from the face (-z) toward +x."""
    s = np.sin(theta)
    return np.stack([s * np.sin(phi), np.cos(theta), -s * np.cos(phi)], axis=-1)


def _surface_z(x: float, y: float) -> float:
    """z of the front of the skull at (x, y), found by bisection on the azimuth/polar grid."""
    best = (1e9, 0.0)
    for theta in np.linspace(0.3, math.pi - 0.2, 400):
        phi = np.linspace(-1.4, 1.4, 400)
        pts = _skull_point(_skull_direction(np.full_like(phi, theta), phi))
        err = (pts[:, 0] - x) ** 2 + (pts[:, 1] - y) ** 2
        i = int(np.argmin(err))
        if err[i] < best[0]:
            best = (float(err[i]), float(pts[i, 2]))
    return best[1]


class _Builder:
    def __init__(self) -> None:
        self.positions: list[F64] = []
        self.colors: list[F32] = []
        self.triangles: list[I32] = []
        self.parts: list[npt.NDArray[np.int8]] = []
        self.count = 0

    def add(self, positions: F64, colors: F32 | tuple[float, ...], triangles: I32, part: int) -> int:
        start = self.count
        n = len(positions)
        self.positions.append(np.asarray(positions, dtype=np.float64))
        c = np.asarray(colors, dtype=np.float32)
        self.colors.append(np.broadcast_to(c, (n, 3)).copy() if c.ndim == 1 else c)
        self.triangles.append(np.asarray(triangles, dtype=np.int32) + start)
        self.parts.append(np.full(n, part, dtype=np.int8))
        self.count += n
        return start


def _grid_triangles(rows: int, cols: int, wrap: bool) -> I32:
    tris = []
    for i in range(rows - 1):
        for j in range(cols if wrap else cols - 1):
            a, b = i * cols + j, i * cols + (j + 1) % cols
            c, d = a + cols, b + cols
            tris += [(a, c, b), (b, c, d)]
    return np.asarray(tris, dtype=np.int32)


def _skin(builder: _Builder, palette: Palette) -> tuple[int, npt.NDArray[np.bool_], float]:
    theta_mouth = _mouth_theta()
    # Rows packed densely around the mouth and the eyes by inverting a cumulative density.
    fine = np.linspace(0.0, math.pi, 4000)
    density = (
        1.0
        + 2.5 * np.exp(-(((fine - theta_mouth) / 0.16) ** 2))
        + 0.8 * np.exp(-(((fine - 1.71) / 0.15) ** 2))
    )
    cumulative = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2 * np.diff(fine))])
    thetas = np.interp(np.linspace(0.0, cumulative[-1], 64), cumulative, fine)
    thetas[int(np.argmin(np.abs(thetas - theta_mouth)))] = theta_mouth
    thetas[0], thetas[-1] = 1e-3, math.pi - 1e-3
    seam_row = int(np.argmin(np.abs(thetas - theta_mouth)))
    s = np.linspace(-math.pi, math.pi, 84, endpoint=False)
    phis = s - 0.6 * np.sin(s)  # denser columns on the face
    rows, cols = len(thetas), len(phis)
    theta_grid, phi_grid = np.meshgrid(thetas, phis, indexing="ij")
    points = _skull_point(_skull_direction(theta_grid, phi_grid)).reshape(-1, 3)
    seam = points[seam_row * cols : (seam_row + 1) * cols]
    inside = np.where((np.abs(seam[:, 0]) < MOUTH_HALF_WIDTH) & (seam[:, 2] < 0.0))[0]
    # The lower lip's copies of the seam vertices, appended after the grid.
    lower_copy = {int(j): rows * cols + k for k, j in enumerate(inside)}
    triangles = _grid_triangles(rows, cols, wrap=True)
    lower_band = (triangles[:, 0] // cols >= seam_row) & (triangles[:, 1] // cols >= seam_row)
    lower_band &= triangles[:, 2] // cols >= seam_row
    for t in np.where(lower_band)[0]:
        for k in range(3):
            v = int(triangles[t, k])
            if v // cols == seam_row and v % cols in lower_copy:
                triangles[t, k] = lower_copy[v % cols]
    all_points = np.concatenate([points, seam[inside]])
    mouth_z = float(seam[inside, 2].min())
    colors = _skin_colors(all_points, palette)
    lower = np.zeros(len(all_points), dtype=bool)
    lower[(seam_row + 1) * cols : rows * cols] = True
    lower[rows * cols :] = True
    all_points = _lip_volume(all_points)
    all_points = _hair_volume(all_points)
    start = builder.add(all_points, colors, triangles, SKIN)
    return start, lower, mouth_z


def _mouth_theta() -> float:
    # The polar angle whose front point sits at MOUTH_Y (the skull's y is monotonic in theta at phi=0).
    thetas = np.linspace(1.5, 2.9, 2000)
    ys = _skull_point(_skull_direction(thetas, np.zeros_like(thetas)))[:, 1]
    return float(thetas[int(np.argmin(np.abs(ys - MOUTH_Y)))])


def lip_weight(points: F64) -> F64:
    """1 on the lips, 0 off them: an ellipse around the mouth, narrow toward the corners."""
    x = np.abs(points[:, 0]) / (MOUTH_HALF_WIDTH * 1.08)
    across = np.sqrt(np.clip(1.0 - x * x, 0.0, 1.0))
    height = 0.002 + 0.0058 * across
    dy = np.abs(points[:, 1] - MOUTH_Y)
    front = points[:, 2] < -0.02
    return np.asarray(_smoothstep(1.0, 0.75, dy / height) * (x < 1.0) * front)


def _skin_colors(points: F64, palette: Palette) -> F32:
    skin = np.asarray(palette.skin)
    colors = np.broadcast_to(skin, points.shape).copy()
    d = (points - SKULL_CENTRE) / SKULL_RADII
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    hairline = 0.5 - 0.85 * np.clip(d[:, 2], 0.0, 1.0) + 0.15 * np.clip(-d[:, 2], 0.0, 1.0)
    hair = _smoothstep(-0.03, 0.03, d[:, 1] - hairline)
    colors = colors * (1 - hair[:, None]) + np.asarray(palette.hair) * hair[:, None]
    lips = lip_weight(points)
    colors = colors * (1 - lips[:, None]) + np.asarray(palette.lips) * lips[:, None]
    cheeks = _gauss(points, (-0.042, -0.032, -0.04), (0.014, 0.012, 0.05))
    cheeks = cheeks + _gauss(points, (0.042, -0.032, -0.04), (0.014, 0.012, 0.05))
    colors = colors * (1 - 0.25 * cheeks[:, None]) + np.asarray(palette.lips) * 0.25 * cheeks[:, None]
    return colors.astype(np.float32)


def _lip_volume(points: F64) -> F64:
    out = points.copy()
    out[:, 2] -= 0.0025 * lip_weight(points)
    return out


def _hair_volume(points: F64) -> F64:
    d = (points - SKULL_CENTRE) / SKULL_RADII
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    hairline = 0.5 - 0.85 * np.clip(d[:, 2], 0.0, 1.0) + 0.15 * np.clip(-d[:, 2], 0.0, 1.0)
    hair = _smoothstep(-0.05, 0.1, d[:, 1] - hairline)
    out = points.copy()
    out += (
        (points - SKULL_CENTRE)
        / np.linalg.norm(points - SKULL_CENTRE, axis=1, keepdims=True)
        * (0.007 * hair[:, None])
    )
    return out


def _sphere(
    centre: F64, radii: F64, rows: int, cols: int, axis_forward: bool, cap_deg: float = 180.0
) -> tuple[F64, I32]:
    """A UV sphere (or the cap of one up to `cap_deg` from pole 0); with `axis_forward` its poles are on
    the z axis (pole 0 looks toward -z)."""
    theta = np.linspace(0.0, math.radians(cap_deg), rows)
    phi = np.linspace(0.0, 2 * math.pi, cols, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    if axis_forward:
        d = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), -np.cos(t)], axis=-1)
    else:
        d = np.stack([np.sin(t) * np.cos(p), np.cos(t), np.sin(t) * np.sin(p)], axis=-1)
    return centre + radii * d.reshape(-1, 3), _grid_triangles(rows, cols, wrap=True)


def _eye(builder: _Builder, centre: F64, palette: Palette, part: int) -> None:
    # Only the front 115 degrees: the rest is inside the head even with the eye turned 30 degrees.
    points, tris = _sphere(centre, np.full(3, EYE_RADIUS), 16, 24, axis_forward=True, cap_deg=115.0)
    angle = np.degrees(np.arccos(np.clip(-(points[:, 2] - centre[2]) / EYE_RADIUS, -1, 1)))
    white = np.array([0.93, 0.92, 0.9])
    colors = np.where((angle < 30.0)[:, None], np.asarray(palette.iris), white)
    colors = np.where((angle < 13.0)[:, None], np.array([0.03, 0.03, 0.04]), colors)
    builder.add(points, colors.astype(np.float32), tris, part)


def lid_point(centre: F64, pitch: F64, yaw: F64) -> F64:
    """A point on a lid sphere: `pitch` up from the eye's forward axis, `yaw` about its vertical."""
    d = np.stack([np.sin(yaw) * np.cos(pitch), np.sin(pitch), -np.cos(yaw) * np.cos(pitch)], axis=-1)
    return np.asarray(centre + LID_RADIUS * d)


def _lids(builder: _Builder, centre: F64, palette: Palette, part: int) -> tuple[int, F64, F64, F64]:
    """Upper and lower lid shells around one eye; returns start, t (edge 0..fixed 1), upper flag, yaw."""
    yaws = np.radians(np.linspace(-80.0, 80.0, 13))
    ts = np.linspace(0.0, 1.0, 7)
    blocks, t_all, upper_all, yaw_all, tris = [], [], [], [], []
    for upper, edge, fixed in (
        (True, UPPER_LID_OPEN_DEG, LID_TOP_DEG),
        (False, LOWER_LID_OPEN_DEG, LID_BOTTOM_DEG),
    ):
        t, y = np.meshgrid(ts, yaws, indexing="ij")
        pitch = np.radians(edge + t * (fixed - edge))
        blocks.append(lid_point(centre, pitch, y).reshape(-1, 3))
        tris.append(_grid_triangles(len(ts), len(yaws), wrap=False) + sum(len(b) for b in blocks[:-1]))
        t_all.append(t.ravel())
        upper_all.append(np.full(t.size, upper))
        yaw_all.append(y.ravel())
    points = np.concatenate(blocks)
    t_flat = np.concatenate(t_all)
    skin = np.asarray(palette.skin) * 0.92
    lash = np.array([0.08, 0.06, 0.05])
    edge_mix = _smoothstep(0.2, 0.0, t_flat)[:, None]
    colors = (skin * (1 - edge_mix) + lash * edge_mix).astype(np.float32)
    start = builder.add(points, colors, np.concatenate(tris), part)
    return start, t_flat, np.concatenate(upper_all).astype(np.float64), np.concatenate(yaw_all)


def _brow(builder: _Builder, side: float, palette: Palette, part: int) -> None:
    u = np.linspace(0.0, 1.0, 12)  # 0 at the inner end, 1 at the outer
    xs = side * (0.011 + 0.042 * u)
    ys = 0.021 + 0.006 * np.sin(u * math.pi * 0.85) - 0.002 * u
    zs = np.array([_surface_z(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]) - 0.0015
    thick = 0.0028 + 0.0022 * np.sin(np.clip(u * 1.3, 0, 1) * math.pi * 0.5)
    ring = [(0.0, 1.0, 0.0), (0.0, 0.0, -1.0), (0.0, -1.0, 0.0), (0.0, 0.0, 1.0)]
    points = []
    for x, y, z, h in zip(xs, ys, zs, thick, strict=True):
        for _dx, dy, dz in ring:
            points.append((x, y + dy * h, z + dz * 0.0025))
    tris = _grid_triangles(len(u), len(ring), wrap=True)
    cap = np.array([(0, 1, 2), (0, 2, 3)], dtype=np.int32)
    end = cap[:, ::-1] + (len(u) - 1) * len(ring)
    builder.add(np.asarray(points), palette.hair, np.concatenate([tris, cap, end]), part)


def _teeth(builder: _Builder, mouth_z: float, upper: bool) -> None:
    angles = np.linspace(-1.0, 1.0, 15)
    radius = 0.032
    xs = radius * np.sin(angles) * 0.75
    zs = mouth_z + 0.007 + radius * (1 - np.cos(angles))
    heights = (0.0015, 0.0095) if upper else (-0.0012, -0.0085)
    points = [(x, MOUTH_Y + h, z) for h in heights for x, z in zip(xs, zs, strict=True)]
    tris = _grid_triangles(2, len(angles), wrap=False)
    builder.add(np.asarray(points), (0.95, 0.94, 0.88), tris, TEETH_UPPER if upper else TEETH_LOWER)


def _mouth(builder: _Builder, mouth_z: float) -> None:
    centre = np.array([0.0, MOUTH_Y - 0.001, mouth_z + 0.036])
    points, tris = _sphere(centre, np.array([0.034, 0.015, 0.03]), 14, 24, axis_forward=True)
    keep = points[:, 2] > mouth_z + 0.011
    # Keep triangles entirely behind the lips: the cavity is a bowl open toward the face.
    tri_keep = keep[tris].all(axis=1)
    builder.add(points, (0.22, 0.05, 0.06), tris[tri_keep], MOUTH)


def _tongue(builder: _Builder, mouth_z: float) -> None:
    centre = np.array([0.0, MOUTH_Y - 0.0095, mouth_z + 0.021])
    points, tris = _sphere(centre, np.array([0.017, 0.0055, 0.019]), 10, 16, axis_forward=True)
    builder.add(points, (0.78, 0.32, 0.35), tris, TONGUE)


def build_head(palette: Palette) -> HeadParts:
    builder = _Builder()
    _, lower_skin, mouth_z = _skin(builder, palette)
    lid_t_parts, upper_parts, yaw_parts, lid_starts = [], [], [], []
    eye_centres: dict[int, F64] = {}
    for part_eye, part_lid, part_brow, side in (
        (EYE_LEFT, LID_LEFT, BROW_LEFT, -1.0),
        (EYE_RIGHT, LID_RIGHT, BROW_RIGHT, 1.0),
    ):
        z = _surface_z(side * EYE_X, 0.0) + EYE_RADIUS - 0.0048
        centre = np.array([side * EYE_X, 0.0, z])
        eye_centres[part_eye] = eye_centres[part_lid] = centre
        _eye(builder, centre, palette, part_eye)
        start, t, upper, yaw = _lids(builder, centre, palette, part_lid)
        lid_starts.append(start)
        lid_t_parts.append(t)
        upper_parts.append(upper)
        yaw_parts.append(yaw)
        _brow(builder, side, palette, part_brow)
    _teeth(builder, mouth_z, upper=True)
    _teeth(builder, mouth_z, upper=False)
    _mouth(builder, mouth_z)
    _tongue(builder, mouth_z)
    positions = np.concatenate(builder.positions)
    n = len(positions)
    lower = np.zeros(n, dtype=bool)
    lower[: len(lower_skin)] = lower_skin
    lid_t, lid_upper, lid_yaw = np.zeros(n), np.zeros(n, dtype=bool), np.zeros(n)
    for start, t, upper, yaw in zip(lid_starts, lid_t_parts, upper_parts, yaw_parts, strict=True):
        lid_t[start : start + len(t)] = t
        lid_upper[start : start + len(t)] = upper > 0.5
        lid_yaw[start : start + len(t)] = yaw
    triangles = np.concatenate(builder.triangles).astype(np.int32)
    part = np.concatenate(builder.parts)
    # Closed surfaces first, turned to wind counter-clockwise seen from outside (the grids wind inward), so
    # the renderer can cull their back faces; open shells (lids, brows, teeth, the mouth) stay two-sided.
    closed = np.isin(part[triangles[:, 0]], (SKIN, EYE_LEFT, EYE_RIGHT, TONGUE))
    triangles = np.concatenate([triangles[closed][:, [0, 2, 1]], triangles[~closed]])
    return HeadParts(
        positions=positions,
        colors=np.concatenate(builder.colors).astype(np.float32),
        triangles=triangles,
        single_sided=int(closed.sum()),
        part=part,
        lower=lower,
        lid_t=lid_t,
        lid_upper=lid_upper,
        lid_yaw=lid_yaw,
        mouth_z=mouth_z,
        eye_centres=eye_centres,
    )
