"""Scripted head motions, sampled at any time: `motion.sample(t)` for `t` seconds since the start.

Each motion starts from a placement (`--at X,Y,Z --yaw DEG`) and moves in that placement's level
frame, so `--yaw` turns the whole path with it:

- `still`: stays at the placement.
- `orbit[:radius=1.5,period=20,facing=centre|path]`: walks a circle counter-clockwise seen from
  above. The circle passes through the placement and its centre is `radius` metres straight ahead,
  so a bot placed 1.5 m in front of the user, facing them, circles the user. By default it keeps
  facing the centre, because that is what spatial-audio and avatar tests want (the speaker's mouth
  points at the listener all the way round); `facing=path` looks where it walks instead.
  `arc=DEG` (below 360) walks back and forth along that much of the circle instead, centred on the
  placement: the demo's bots pace in front of the user that way. `turn=cw` goes (or sets off)
  clockwise instead.
- `nod[:amplitude=15,period=2]`: pitches up and down by `amplitude` degrees.
- `look-around[:yaw=60,pitch=10,period=8]`: sweeps the gaze left/right and, at a different rate,
  up/down, so it covers the room without repeating the same line.
- `walk[:distance=3,speed=1,turn=1]`: walks `distance` metres forward at `speed` m/s, turns round
  (left, in `turn` seconds) and walks back, for ever.
- `trace:FILE.jsonl[,once][,absolute]`: replays recorded poses (see `emulator.drive.trace`).

Timestamps on the returned poses are `t` in microseconds; a headset restamps them with its clock.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from emulator.drive.errors import DriveError
from emulator.drive.spec import (
    check_time,
    level,
    param_float,
    parse_params,
    seconds_to_us,
    split_flags,
    split_spec,
)
from emulator.model.pose import Pose, Quat, Vec3

MOTION_NAMES = ("still", "orbit", "nod", "look-around", "walk", "trace")


class Motion(Protocol):
    """Anything that says where the head is `t` seconds after it started."""

    def sample(self, t: float) -> Pose: ...


@functools.lru_cache(maxsize=4096)
def _level_frame(start: Pose) -> Pose:
    # A motion's start never changes and each headset samples it 90 times a second: level it once.
    return level(start).with_timestamp(0)


class _Framed:
    """A motion's level frame, kept on the motion: looking it up in `_level_frame`'s cache hashed the
    whole start pose at every sample."""

    start: Pose

    @functools.cached_property
    def _frame(self) -> tuple[float, float, float, float, float, float, float]:
        frame = _level_frame(self.start)
        p, q = frame.position, frame.orientation
        return p.x, p.y, p.z, q.x, q.y, q.z, q.w

    def _in_frame(self, t: float, px: float, py: float, pz: float, yaw: float, pitch: float = 0.0) -> Pose:
        """A pose given in the start's level frame (radians), stamped with `t`.

        Quat.from_euler(yaw, pitch).normalized(), the frame's rotate and add and the Hamilton product
        written out in plain floats, in the same order (a headset samples its motion 90 times a
        second): the same pose, bit for bit, with three objects made instead of a dozen."""
        fx, fy, fz, qx, qy, qz, qw = self._frame
        sy, cy = math.sin(yaw / 2), math.cos(yaw / 2)
        sp, cp = math.sin(pitch / 2), math.cos(pitch / 2)
        tx, ty, tz, tw = cy * sp, sy * cp, 0.0 - sy * sp, cy * cp
        n = math.sqrt(tx * tx + ty * ty + tz * tz + tw * tw)
        if not math.isfinite(n) or n < 1e-9:
            Quat(tx, ty, tz, tw).normalized()  # raises, naming the quaternion
        if abs(n - 1.0) >= 1e-12:
            tx, ty, tz, tw = tx / n, ty / n, tz / n, tw / n
        # v + 2w(q × v) + q × 2(q × v): Quat.rotate
        ax, ay, az = (qy * pz - qz * py) * 2.0, (qz * px - qx * pz) * 2.0, (qx * py - qy * px) * 2.0
        rx = px + ax * qw + (qy * az - qz * ay)
        ry = py + ay * qw + (qz * ax - qx * az)
        rz = pz + az * qw + (qx * ay - qy * ax)
        return Pose(
            Vec3(fx + rx, fy + ry, fz + rz),
            Quat(
                qw * tx + qx * tw + qy * tz - qz * ty,
                qw * ty - qx * tz + qy * tw + qz * tx,
                qw * tz + qx * ty - qy * tx + qz * tw,
                qw * tw - qx * tx - qy * ty - qz * tz,
            ),
            seconds_to_us(t),
        )


def _smoothstep(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3.0 - 2.0 * x)


@dataclass(frozen=True)
class Still:
    start: Pose

    def sample(self, t: float) -> Pose:
        return self.start.with_timestamp(seconds_to_us(check_time(t)))


@dataclass(frozen=True)
class Orbit(_Framed):
    start: Pose
    radius: float = 1.5
    period: float = 20.0
    face_centre: bool = True
    arc_degrees: float = 360.0
    clockwise: bool = False

    def centre(self) -> Vec3:
        return level(self.start).transform_point(Vec3(0.0, 0.0, -self.radius))

    def sample(self, t: float) -> Pose:
        t = check_time(t)
        way = -1.0 if self.clockwise else 1.0
        phase = 2.0 * math.pi * ((t / self.period) % 1.0)
        heading = -way * math.pi / 2  # counter-clockwise travel: 90° right of facing the centre
        if self.arc_degrees >= 360.0:
            angle = way * phase
        else:  # to and fro, slowing at each end like a person pacing
            angle = way * math.radians(self.arc_degrees) / 2 * math.sin(phase)
            if math.cos(phase) < 0:
                heading = -heading
        # In the start's level frame the centre is at (0, 0, -r) and the start at the origin:
        # (0, 0, -r) + Quat.from_euler(angle).rotate((0, 0, r)), written out as _in_frame is.
        r = self.radius
        sy, cy = math.sin(angle / 2), math.cos(angle / 2)
        qx, qy, qz, qw = cy * 0.0, sy * 1.0, 0.0 - sy * 0.0, cy * 1.0  # from_euler's, pitch 0
        ax, ay, az = (qy * r - qz * 0.0) * 2.0, (qz * 0.0 - qx * r) * 2.0, (qx * 0.0 - qy * 0.0) * 2.0
        px = 0.0 + (0.0 + ax * qw + (qy * az - qz * ay))
        py = 0.0 + (0.0 + ay * qw + (qz * ax - qx * az))
        pz = -r + (r + az * qw + (qx * ay - qy * ax))
        return self._in_frame(t, px, py, pz, angle if self.face_centre else angle + heading)


@dataclass(frozen=True)
class Nod(_Framed):
    start: Pose
    amplitude_degrees: float = 15.0
    period: float = 2.0

    def sample(self, t: float) -> Pose:
        t = check_time(t)
        pitch = math.radians(self.amplitude_degrees) * math.sin(2.0 * math.pi * t / self.period)
        return self._in_frame(t, 0.0, 0.0, 0.0, 0.0, pitch)


@dataclass(frozen=True)
class LookAround(_Framed):
    start: Pose
    yaw_degrees: float = 60.0
    pitch_degrees: float = 10.0
    period: float = 8.0

    def sample(self, t: float) -> Pose:
        t = check_time(t)
        phase = 2.0 * math.pi * t / self.period
        yaw = math.radians(self.yaw_degrees) * math.sin(phase)
        # An irrational ratio of rates so the gaze path does not close on itself quickly.
        pitch = math.radians(self.pitch_degrees) * math.sin(phase * math.sqrt(2.0))
        return self._in_frame(t, 0.0, 0.0, 0.0, yaw, pitch)


@dataclass(frozen=True)
class Walk(_Framed):
    start: Pose
    distance: float = 3.0
    speed: float = 1.0
    turn_seconds: float = 1.0

    def sample(self, t: float) -> Pose:
        t = check_time(t)
        leg = self.distance / self.speed
        cycle = 2.0 * (leg + self.turn_seconds)
        u = t % cycle
        if u < leg:  # walking out
            along, yaw = self.speed * u, 0.0
        elif u < leg + self.turn_seconds:  # turning round at the far end
            along, yaw = self.distance, math.pi * _smoothstep((u - leg) / self.turn_seconds)
        elif u < 2.0 * leg + self.turn_seconds:  # walking back
            along, yaw = self.distance - self.speed * (u - leg - self.turn_seconds), math.pi
        else:  # turning round at the start, again to the left, so the yaw keeps growing smoothly
            done = (u - 2.0 * leg - self.turn_seconds) / self.turn_seconds
            along, yaw = 0.0, math.pi * (1.0 + _smoothstep(done))
        return self._in_frame(t, 0.0, 0.0, -along, yaw)


MotionOption = tuple[str, float | bool]
_KINDS: dict[str, Callable[..., Motion]] = {
    "still": Still, "orbit": Orbit, "nod": Nod, "look-around": LookAround, "walk": Walk,
}  # fmt: skip
_TRACE_FLAGS = ("once", "absolute", "loop")


@dataclass(frozen=True)
class MotionSpec:
    """A `--motion` value, checked: which motion, with which options; `build(start)` makes it.

    A trace's file is named here and read by `build`, when a headset starts (it is opened then).
    """

    text: str  # as written: what reports and the control API show
    name: str  # one of MOTION_NAMES
    options: tuple[MotionOption, ...] = ()  # keyword arguments of the motion's class
    path: Path | None = None  # trace:FILE
    flags: frozenset[str] = frozenset()  # a trace's once / absolute / loop

    @classmethod
    def parse(cls, text: str) -> MotionSpec:
        """The spec `text` names; a `DriveError` names the value and what is accepted."""
        name, rest = split_spec(text)
        what = f"motion {text.strip()!r}"
        if name == "trace":
            path, flags = split_flags(rest, _TRACE_FLAGS)
            if not path:
                raise DriveError(f"{what}: expected trace:FILE.jsonl")
            if {"once", "loop"} <= flags:
                raise DriveError(f"{what}: choose once or loop, not both")
            return cls(text, name, path=Path(path), flags=frozenset(flags))
        return cls(text, *_parse_built_in(name, rest, what))

    def build(self, start: Pose) -> Motion:
        """The motion, starting at `start`; a trace that cannot be read is a `TraceError`."""
        if self.path is not None:
            from emulator.drive.trace import load_trace  # a trace's file is read only when one is asked for

            once, absolute = "once" in self.flags, "absolute" in self.flags
            return load_trace(self.path, start, loop=not once, absolute=absolute)
        return _KINDS[self.name](start, **dict(self.options))

    def __str__(self) -> str:
        return self.text


STILL = MotionSpec("still", "still")


def _parse_built_in(name: str, rest: str, what: str) -> tuple[str, tuple[MotionOption, ...]]:
    """(canonical name, options) of a built-in motion."""
    if name == "still":
        parse_params(rest, (), what=what)
        return name, ()
    if name == "orbit":
        params = parse_params(rest, ("radius", "period", "facing", "arc", "turn"), what=what)
        facing = params.get("facing", "centre").lower()
        if facing not in ("centre", "center", "path"):
            raise DriveError(f"{what}: facing must be centre or path, got {facing!r}")
        turn = params.get("turn", "ccw").lower()
        if turn not in ("ccw", "cw"):
            raise DriveError(f"{what}: turn must be ccw or cw, got {turn!r}")
        return name, (
            ("radius", param_float(params, "radius", 1.5, what=what, low=0.01, high=1000.0)),
            ("period", param_float(params, "period", 20.0, what=what, low=0.1, high=1e6)),
            ("face_centre", facing != "path"),
            ("arc_degrees", param_float(params, "arc", 360.0, what=what, low=1.0, high=360.0)),
            ("clockwise", turn == "cw"),
        )
    if name == "nod":
        params = parse_params(rest, ("amplitude", "period"), what=what)
        return name, (
            ("amplitude_degrees", param_float(params, "amplitude", 15.0, what=what, low=0.0, high=89.0)),
            ("period", param_float(params, "period", 2.0, what=what, low=0.05, high=1e6)),
        )
    if name in ("look-around", "lookaround", "look_around"):
        params = parse_params(rest, ("yaw", "pitch", "period"), what=what)
        return "look-around", (
            ("yaw_degrees", param_float(params, "yaw", 60.0, what=what, low=0.0, high=180.0)),
            ("pitch_degrees", param_float(params, "pitch", 10.0, what=what, low=0.0, high=89.0)),
            ("period", param_float(params, "period", 8.0, what=what, low=0.1, high=1e6)),
        )
    if name == "walk":
        params = parse_params(rest, ("distance", "speed", "turn"), what=what)
        return name, (
            ("distance", param_float(params, "distance", 3.0, what=what, low=0.01, high=1000.0)),
            ("speed", param_float(params, "speed", 1.0, what=what, low=0.01, high=20.0)),
            ("turn_seconds", param_float(params, "turn", 1.0, what=what, low=0.01, high=60.0)),
        )
    raise DriveError(f"unknown motion {name!r}; choose one of {', '.join(MOTION_NAMES)} (trace:FILE.jsonl)")


def motion_from_spec(spec: str, start: Pose) -> Motion:
    """The motion a spec string names, starting at `start`; a `DriveError` names what is wrong."""
    return MotionSpec.parse(spec).build(start)
