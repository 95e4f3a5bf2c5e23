"""Cameras as view and projection matrices (numpy, row-major, column vectors; transpose for GL).

A camera is an eye pose in the world (OpenXR axes: +y up, looking down its -z) and a field of view.
`headset_eyes` gives what a headset's displays show: the eye(s) at the head pose, each eye offset half
the profile's IPD along the head's own x axis. `orbit_camera` circles a point for debugging.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.profiles import DeviceProfile

M4 = npt.NDArray[np.float64]
NEAR, FAR = 0.05, 200.0


def pose_matrix(pose: Pose) -> M4:
    """World-from-local matrix of a pose."""
    m = np.eye(4)
    m[:3, :3] = np.asarray(pose.orientation.as_matrix())
    m[:3, 3] = pose.position.as_tuple()
    return m


def perspective(fov_x_deg: float, fov_y_deg: float, near: float = NEAR, far: float = FAR) -> M4:
    """OpenGL clip matrix from full horizontal and vertical fields of view."""
    sx = 1.0 / math.tan(math.radians(fov_x_deg) / 2)
    sy = 1.0 / math.tan(math.radians(fov_y_deg) / 2)
    m = np.zeros((4, 4))
    m[0, 0], m[1, 1] = sx, sy
    m[2, 2] = (far + near) / (near - far)
    m[2, 3] = 2 * far * near / (near - far)
    m[3, 2] = -1.0
    return m


def vertical_fov(fov_x_deg: float, aspect: float) -> float:
    """The vertical field of view that keeps `fov_x_deg` across a viewport of width/height `aspect`."""
    return math.degrees(2 * math.atan(math.tan(math.radians(fov_x_deg) / 2) / aspect))


@dataclass(frozen=True)
class Camera:
    """An eye in the world and its horizontal field of view; the vertical one follows the viewport."""

    eye: Pose
    fov_x_deg: float

    def view(self) -> M4:
        return np.asarray(np.linalg.inv(pose_matrix(self.eye)), dtype=np.float64)

    def projection(self, aspect: float) -> M4:
        return perspective(self.fov_x_deg, vertical_fov(self.fov_x_deg, aspect))

    def pixels_per_metre(self, aspect: float, height_px: int) -> float:
        """How many pixels tall a 1 m object 1 m ahead is, in a viewport `height_px` tall."""
        return height_px / 2 / math.tan(math.radians(vertical_fov(self.fov_x_deg, aspect)) / 2)

    def view_projection(self, aspect: float) -> M4:
        return self.projection(aspect) @ self.view()


def headset_eyes(head: Pose, profile: DeviceProfile, stereo: bool = False) -> list[Camera]:
    """The camera(s) of a headset at `head`: one centred eye, or left then right eye for stereo."""
    if not stereo:
        return [Camera(head, profile.fov_horizontal_deg)]
    half = profile.ipd_mm / 2000.0
    return [
        Camera(head.compose(Pose(Vec3(side * half, 0.0, 0.0))), profile.fov_horizontal_deg)
        for side in (-1, 1)
    ]


def look_at(eye: Vec3, target: Vec3) -> Pose:
    """The pose at `eye` whose -z points at `target`, kept level (no roll)."""
    d = target - eye
    yaw = math.atan2(-d.x, -d.z)
    pitch = math.atan2(d.y, math.hypot(d.x, d.z))
    return Pose(eye, Quat.from_euler(yaw, pitch))


def orbit_camera(
    target: Vec3, distance: float, azimuth_deg: float, elevation_deg: float, fov_x_deg: float = 70.0
) -> Camera:
    """A camera `distance` m from `target`; azimuth 0 is on the target's +z side, positive turns left."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    offset = Vec3(math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)) * distance
    return Camera(look_at(target + offset, target), fov_x_deg)
