"""Rigid poses in the OpenXR convention: metres, right-handed, +y up, -z forward.

Angles follow the right-hand rule about each axis, so a positive yaw (about +y) turns the head to the
left, a positive pitch (about +x) looks up and a positive roll (about +z, the backward axis) tilts
the top of the head to its left. Orientation is `yaw * pitch * roll`: the order a person turns, then nods,
then tilts. Everything here is immutable and pure; batch work belongs in numpy elsewhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from emulator.model.errors import ModelError

_NORM_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Vec3:
    """A point or direction in metres."""

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0

    def __add__(self, other: Vec3) -> Vec3:
        return Vec3(self.x + other.x, self.y + other.y, self.z + other.z)

    def __sub__(self, other: Vec3) -> Vec3:
        return Vec3(self.x - other.x, self.y - other.y, self.z - other.z)

    def __mul__(self, k: float) -> Vec3:
        return Vec3(self.x * k, self.y * k, self.z * k)

    __rmul__ = __mul__

    def __neg__(self) -> Vec3:
        return Vec3(-self.x, -self.y, -self.z)

    def dot(self, other: Vec3) -> float:
        return self.x * other.x + self.y * other.y + self.z * other.z

    def cross(self, other: Vec3) -> Vec3:
        return Vec3(
            self.y * other.z - self.z * other.y,
            self.z * other.x - self.x * other.z,
            self.x * other.y - self.y * other.x,
        )

    def length(self) -> float:
        return math.sqrt(self.dot(self))

    def lerp(self, other: Vec3, t: float) -> Vec3:
        return Vec3(
            self.x + (other.x - self.x) * t,
            self.y + (other.y - self.y) * t,
            self.z + (other.z - self.z) * t,
        )

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.x, self.y, self.z)

    def is_finite(self) -> bool:
        return math.isfinite(self.x) and math.isfinite(self.y) and math.isfinite(self.z)

    @staticmethod
    def of(values: tuple[float, float, float] | list[float]) -> Vec3:
        x, y, z = values
        return Vec3(float(x), float(y), float(z))


@dataclass(frozen=True, slots=True)
class Quat:
    """A rotation as a unit quaternion (x, y, z, w), the OpenXR component order."""

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    w: float = 1.0

    @staticmethod
    def identity() -> Quat:
        return Quat(0.0, 0.0, 0.0, 1.0)

    @staticmethod
    def from_axis_angle(axis: Vec3, angle: float) -> Quat:
        """Rotation by `angle` radians about `axis` (any non-zero length), right-hand rule."""
        n = axis.length()
        if not n > _NORM_EPSILON or not math.isfinite(n) or not math.isfinite(angle):
            raise ModelError(f"cannot rotate about axis {axis.as_tuple()} by {angle}")
        s = math.sin(angle / 2) / n
        return Quat(axis.x * s, axis.y * s, axis.z * s, math.cos(angle / 2))

    @staticmethod
    def from_euler(yaw: float, pitch: float = 0.0, roll: float = 0.0) -> Quat:
        """Yaw about +y, then pitch about +x, then roll about +z, in radians (intrinsic).

        Positive roll about +z (the backward axis) tilts the top of the head to the left.
        """
        # q_yaw * q_pitch * q_roll, multiplied out: the zero terms dropped (motions call this 90 times
        # a second per headset).
        sy, cy = math.sin(yaw / 2), math.cos(yaw / 2)
        sp, cp = math.sin(pitch / 2), math.cos(pitch / 2)
        x, y, z, w = cy * sp, sy * cp, 0.0 - sy * sp, cy * cp  # 0.0 - …: no -0.0, as the product gave
        if roll == 0.0:
            return Quat(x, y, z, w)
        sr, cr = math.sin(roll / 2), math.cos(roll / 2)
        return Quat(x * cr + y * sr, y * cr - x * sr, w * sr + z * cr, w * cr - z * sr)

    @staticmethod
    def from_yaw_degrees(yaw_degrees: float) -> Quat:
        return Quat.from_euler(math.radians(yaw_degrees))

    def to_euler(self) -> tuple[float, float, float]:
        """(yaw, pitch, roll) in radians, the inverse of `from_euler`; pitch in [-pi/2, pi/2]."""
        m = self.as_matrix()
        sin_pitch = max(-1.0, min(1.0, -m[1][2]))
        pitch = math.asin(sin_pitch)
        if abs(sin_pitch) < 0.999999:
            return math.atan2(m[0][2], m[2][2]), pitch, math.atan2(m[1][0], m[1][1])
        # Looking straight up or down, yaw and roll turn about the same axis: report it all as yaw.
        return math.atan2(m[0][1] * sin_pitch, m[0][0]), pitch, 0.0

    def __mul__(self, o: Quat) -> Quat:
        """Hamilton product: `a * b` applies `b` first, then `a`."""
        return Quat(
            self.w * o.x + self.x * o.w + self.y * o.z - self.z * o.y,
            self.w * o.y - self.x * o.z + self.y * o.w + self.z * o.x,
            self.w * o.z + self.x * o.y - self.y * o.x + self.z * o.w,
            self.w * o.w - self.x * o.x - self.y * o.y - self.z * o.z,
        )

    def norm(self) -> float:
        return math.sqrt(self.x * self.x + self.y * self.y + self.z * self.z + self.w * self.w)

    def normalized(self) -> Quat:
        """This rotation at unit length; forgiving of drift, but a zero or non-finite one is an error."""
        n = self.norm()
        if not math.isfinite(n) or n < _NORM_EPSILON:
            raise ModelError(f"quaternion {self.as_tuple()} has no direction (norm {n})")
        if abs(n - 1.0) < 1e-12:
            return self
        return Quat(self.x / n, self.y / n, self.z / n, self.w / n)

    def conjugate(self) -> Quat:
        return Quat(-self.x, -self.y, -self.z, self.w)

    inverse = conjugate  # unit quaternions only, which is all this type holds after normalisation

    def rotate(self, v: Vec3) -> Vec3:
        # v' = v + 2w(q x v) + 2 q x (q x v), the cheap form of q v q*.
        qv = Vec3(self.x, self.y, self.z)
        t = qv.cross(v) * 2.0
        return v + t * self.w + qv.cross(t)

    def dot(self, o: Quat) -> float:
        return self.x * o.x + self.y * o.y + self.z * o.z + self.w * o.w

    def angle_to(self, o: Quat) -> float:
        """The smallest rotation angle (radians) between the two orientations."""
        d = min(1.0, abs(self.dot(o)))
        return 2.0 * math.acos(d)

    def slerp(self, o: Quat, t: float) -> Quat:
        """Spherical interpolation along the shorter arc."""
        d = self.dot(o)
        ox, oy, oz, ow = o.x, o.y, o.z, o.w
        if d < 0.0:
            d, ox, oy, oz, ow = -d, -ox, -oy, -oz, -ow
        if d > 0.9995:
            return Quat(
                self.x + (ox - self.x) * t,
                self.y + (oy - self.y) * t,
                self.z + (oz - self.z) * t,
                self.w + (ow - self.w) * t,
            ).normalized()
        theta = math.acos(d)
        s = math.sin(theta)
        a = math.sin((1 - t) * theta) / s
        b = math.sin(t * theta) / s
        return Quat(
            a * self.x + b * ox, a * self.y + b * oy, a * self.z + b * oz, a * self.w + b * ow
        ).normalized()

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.z, self.w)

    def is_finite(self) -> bool:
        return all(math.isfinite(c) for c in self.as_tuple())

    def as_matrix(self) -> tuple[tuple[float, float, float], ...]:
        """Row-major 3x3 rotation matrix."""
        x, y, z, w = self.x, self.y, self.z, self.w
        return (
            (1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
            (2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
            (2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)),
        )

    @staticmethod
    def of(values: tuple[float, float, float, float] | list[float]) -> Quat:
        x, y, z, w = values
        return Quat(float(x), float(y), float(z), float(w)).normalized()


FORWARD = Vec3(0.0, 0.0, -1.0)
UP = Vec3(0.0, 1.0, 0.0)
RIGHT = Vec3(1.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class Pose:
    """Where a thing is and which way it faces, at a moment of its sender's monotonic clock.

    `timestamp_us` is microseconds on the sender's own monotonic clock; receivers convert it with the
    clock offset learnt from PING/PONG. The orientation is normalised on construction, so a pose read
    from a slightly denormalised source is still a rotation; a position or orientation that is not
    finite is refused.
    """

    position: Vec3 = field(default_factory=Vec3)
    orientation: Quat = field(default_factory=Quat.identity)
    timestamp_us: int = 0

    def __post_init__(self) -> None:
        if not self.position.is_finite():
            raise ModelError(f"pose position {self.position.as_tuple()} is not finite")
        object.__setattr__(self, "orientation", self.orientation.normalized())

    @staticmethod
    def at(x: float, y: float, z: float, yaw_degrees: float = 0.0, timestamp_us: int = 0) -> Pose:
        return Pose(Vec3(x, y, z), Quat.from_yaw_degrees(yaw_degrees), timestamp_us)

    def compose(self, local: Pose) -> Pose:
        """The pose `local`, given in this pose's frame, expressed in this pose's parent frame."""
        return Pose(
            self.position + self.orientation.rotate(local.position),
            self.orientation * local.orientation,
            max(self.timestamp_us, local.timestamp_us),
        )

    def inverse(self) -> Pose:
        inv = self.orientation.conjugate()
        return Pose(inv.rotate(-self.position), inv, self.timestamp_us)

    def relative_to(self, reference: Pose) -> Pose:
        """This pose seen from `reference`'s frame (e.g. a speaker in a listener's head frame)."""
        return reference.inverse().compose(self)

    def transform_point(self, p: Vec3) -> Vec3:
        """A point given in this pose's frame, in the parent frame."""
        return self.position + self.orientation.rotate(p)

    def inverse_transform_point(self, p: Vec3) -> Vec3:
        """A point given in the parent frame, in this pose's frame."""
        return self.orientation.conjugate().rotate(p - self.position)

    def forward(self) -> Vec3:
        return self.orientation.rotate(FORWARD)

    def yaw_pitch_roll(self) -> tuple[float, float, float]:
        """Radians; see `Quat.from_euler`."""
        return self.orientation.to_euler()

    def interpolate(self, other: Pose, t: float) -> Pose:
        """Linear in position and time, spherical in orientation; `t` outside 0..1 extrapolates position."""
        ts = round(self.timestamp_us + (other.timestamp_us - self.timestamp_us) * t)
        return Pose(
            self.position.lerp(other.position, t),
            self.orientation.slerp(other.orientation, min(1.0, max(0.0, t))),
            ts,
        )

    def with_timestamp(self, timestamp_us: int) -> Pose:
        return Pose(self.position, self.orientation, timestamp_us)
