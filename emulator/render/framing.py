"""How an avatar sits in a view: the share of the viewport its bounds cover, and whether it faces the eye.

Both come from the renderer's own matrices (the draw item's world-from-avatar matrix and the
camera's view-projection for the viewport's aspect), so a demo or a test that checks "both faces
are in view" measures what is drawn rather than a number worked out by hand. Avatars face their
local -z (the loader turns glTF's +z round), as a headset looks down its -z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from emulator.render.camera import Camera
from emulator.render.scene import DrawItem


@dataclass(frozen=True)
class Framing:
    id: str
    name: str
    coverage: float  # share of the viewport's area inside the projected bounds (0-1)
    facing_deg: float  # angle between where the avatar faces and the direction to the eye, level
    distance_m: float

    def faces_camera(self, within_deg: float = 45.0) -> bool:
        return self.facing_deg <= within_deg


def _corners(positions: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    low, high = positions.min(axis=0), positions.max(axis=0)
    return np.array(
        [[x, y, z, 1.0] for x in (low[0], high[0]) for y in (low[1], high[1]) for z in (low[2], high[2])]
    )


def screen_coverage(item: DrawItem, camera: Camera, width: int, height: int) -> float:
    """The share of a width × height viewport covered by the screen rectangle of the item's bounds."""
    if len(item.avatar.positions) == 0 or width <= 0 or height <= 0:
        return 0.0
    clip = (camera.view_projection(width / height) @ item.model @ _corners(item.avatar.positions).T).T
    ahead = clip[:, 3] > 1e-6
    if not ahead.any():
        return 0.0
    # Corners behind the eye would flip through infinity: an avatar partly behind counts by its front.
    ndc = clip[ahead, :2] / clip[ahead, 3:4]
    low, high = np.clip(ndc.min(axis=0), -1.0, 1.0), np.clip(ndc.max(axis=0), -1.0, 1.0)
    return float(np.prod(np.maximum(high - low, 0.0)) / 4.0)


def facing_degrees(item: DrawItem, eye: tuple[float, float, float]) -> float:
    """Level angle between the avatar's forward (-z) and the direction from it to `eye` (0: facing it)."""
    forward = item.model[:3, :3] @ np.array([0.0, 0.0, -1.0])
    to_eye = np.asarray(eye) - item.model[:3, 3]
    a, b = forward[[0, 2]], to_eye[[0, 2]]
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norms < 1e-9:
        return 180.0
    return math.degrees(math.acos(max(-1.0, min(1.0, float(a @ b) / norms))))


def framing(items: list[DrawItem], camera: Camera, width: int, height: int) -> list[Framing]:
    eye = camera.eye.position.as_tuple()
    return [
        Framing(
            item.id,
            item.name,
            screen_coverage(item, camera, width, height),
            facing_degrees(item, eye),
            float(np.linalg.norm(item.model[:3, 3] - np.asarray(eye))),
        )
        for item in items
    ]
