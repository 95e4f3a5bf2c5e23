"""render/framing.py: an avatar's share of the view and whether it faces the eye, from the matrices."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emulator.model.pose import Pose
from emulator.render.avatar import Avatar
from emulator.render.camera import Camera, pose_matrix
from emulator.render.framing import framing
from emulator.render.scene import DrawItem

EYE = Camera(Pose.at(0.0, 1.6, 0.0), 90.0)


def _square(size: float) -> Avatar:
    """A flat square `size` m across in the avatar's x-y plane (no depth), facing -z."""
    h = size / 2
    positions = np.array([[-h, -h, 0], [h, -h, 0], [h, h, 0], [-h, h, 0]], np.float32)
    return Avatar(
        "square",
        positions,
        np.tile(np.array([0, 0, -1], np.float32), (4, 1)),
        np.ones((4, 4), np.float32),
        np.array([0, 1, 2, 0, 2, 3], np.uint32),
        (),
        np.zeros((0, 4, 3), np.float32),
    )


def _item(avatar: Avatar, pose: Pose) -> DrawItem:
    return DrawItem("p", avatar, pose_matrix(pose), pose, np.zeros(0, np.float32), (1, 1, 1), "P", 0.0)


def test_a_square_facing_the_eye_covers_what_the_projection_says() -> None:
    # 90° across a square viewport: at 2 m the view is 4 m wide, so a 1 m square covers 1/16 of it.
    facing_us = Pose.at(0.0, 1.6, -2.0, 180.0)
    (seen,) = framing([_item(_square(1.0), facing_us)], EYE, 500, 500)
    assert seen.coverage == pytest.approx(1 / 16, rel=1e-6)
    assert seen.facing_deg == pytest.approx(0.0, abs=1e-6) and seen.faces_camera()
    assert seen.distance_m == pytest.approx(2.0)


def test_turned_away_or_behind_the_eye() -> None:
    away = Pose.at(0.0, 1.6, -2.0, 0.0)
    (back,) = framing([_item(_square(1.0), away)], EYE, 500, 500)
    assert back.facing_deg == pytest.approx(180.0, abs=1e-6) and not back.faces_camera()
    side = Pose.at(0.0, 1.6, -2.0, 180.0 - 60.0)
    assert framing([_item(_square(1.0), side)], EYE, 500, 500)[0].facing_deg == pytest.approx(60.0, abs=1e-6)
    behind = Pose.at(0.0, 1.6, 2.0, 0.0)
    assert framing([_item(_square(1.0), behind)], EYE, 500, 500)[0].coverage == 0.0
    off_to_the_side = Pose.at(math.tan(math.radians(80)) * 2.0, 1.6, -2.0, 180.0)
    assert framing([_item(_square(1.0), off_to_the_side)], EYE, 500, 500)[0].coverage == 0.0
