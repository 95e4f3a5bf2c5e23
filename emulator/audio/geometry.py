"""Where a sound comes from, seen from the listener's head, and how loud distance leaves it.

Directions are in the listener's head frame (OpenXR: x right, y up, -z forward) and, as angles, in
SOFA's convention: azimuth counterclockwise from straight ahead (90° is the left ear), elevation up.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from emulator.model.pose import Pose, Vec3

# Below this a source sits inside the head and has no direction: it is heard from straight ahead.
_NO_DIRECTION_M = 1e-6


def head_direction(listener: Pose, position: Vec3) -> tuple[float, float, float]:
    """(azimuth°, elevation°, distance m) of a point as the listener hears it."""
    local = listener.inverse_transform_point(position)
    distance = local.length()
    if distance < _NO_DIRECTION_M:
        return 0.0, 0.0, distance
    # Straight above or below, azimuth means nothing: call it 0 rather than whatever atan2(±0, ±0) says.
    horizontal = math.hypot(local.x, local.z)
    azimuth = math.degrees(math.atan2(-local.x, -local.z)) if horizontal > _NO_DIRECTION_M else 0.0
    elevation = math.degrees(math.asin(max(-1.0, min(1.0, local.y / distance))))
    return azimuth, elevation, distance


def head_frame_points(listener: Pose, positions: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """(n, 3) world points in the listener's head frame; the batch form of `inverse_transform_point`."""
    rotation = np.asarray(listener.orientation.as_matrix(), dtype=np.float64)
    offset = positions - np.asarray(listener.position.as_tuple(), dtype=np.float64)
    # The inverse rotation is the transpose: row-vector form of R^T (p - t).
    return offset @ rotation


def unit_directions(
    local: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Unit vectors and distances of head-frame points; a point at the head itself faces forward."""
    distance = np.linalg.norm(local, axis=1)
    inside = distance < _NO_DIRECTION_M
    safe = np.where(inside, 1.0, distance)
    units = local / safe[:, None]
    units[inside] = (0.0, 0.0, -1.0)
    return units, distance


def distance_gain(distance: npt.ArrayLike, min_distance_m: float, rolloff: float) -> npt.NDArray[np.float64]:
    """Inverse-distance law: (min_distance / max(d, min_distance)) ** rolloff, as in DeviceProfile.

    With rolloff 1, twice the distance is 6 dB quieter; nearer than min_distance nothing gets louder.
    """
    d = np.maximum(np.asarray(distance, dtype=np.float64), min_distance_m)
    result: npt.NDArray[np.float64] = (min_distance_m / d) ** rolloff
    return result


def unplaced_position(listener: Pose) -> Vec3:
    """Where to hear a voice whose speaker's first pose has not arrived yet: 1 m straight ahead.

    The headset's ears and the room's mix both use it, so the two modes sound the same meanwhile.
    """
    return listener.transform_point(Vec3(0.0, 0.0, -1.0))
