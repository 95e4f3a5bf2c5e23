"""Motions written out in plain floats sample the very poses the Vec3/Quat form gave (kept here as the
reference), bit for bit, for random starts, options and times."""

from __future__ import annotations

import math
import random

import pytest

from emulator.drive.motions import LookAround, Nod, Orbit, Walk, _level_frame, _smoothstep
from emulator.drive.spec import check_time, seconds_to_us
from emulator.model.pose import Pose, Quat, Vec3


def _in_frame_before(start: Pose, t: float, position: Vec3, yaw: float, pitch: float = 0.0) -> Pose:
    frame = _level_frame(start)
    turn = Quat.from_euler(yaw, pitch).normalized()
    where = frame.position + frame.orientation.rotate(position)
    return Pose(where, frame.orientation * turn, seconds_to_us(t))


def _orbit_before(m: Orbit, t: float) -> Pose:
    t = check_time(t)
    way = -1.0 if m.clockwise else 1.0
    phase = 2.0 * math.pi * ((t / m.period) % 1.0)
    heading = -way * math.pi / 2
    if m.arc_degrees >= 360.0:
        angle = way * phase
    else:
        angle = way * math.radians(m.arc_degrees) / 2 * math.sin(phase)
        if math.cos(phase) < 0:
            heading = -heading
    turn = Quat.from_euler(angle)
    position = Vec3(0.0, 0.0, -m.radius) + turn.rotate(Vec3(0.0, 0.0, m.radius))
    return _in_frame_before(m.start, t, position, angle if m.face_centre else angle + heading)


def _nod_before(m: Nod, t: float) -> Pose:
    t = check_time(t)
    pitch = math.radians(m.amplitude_degrees) * math.sin(2.0 * math.pi * t / m.period)
    return _in_frame_before(m.start, t, Vec3(), 0.0, pitch)


def _look_around_before(m: LookAround, t: float) -> Pose:
    t = check_time(t)
    phase = 2.0 * math.pi * t / m.period
    yaw = math.radians(m.yaw_degrees) * math.sin(phase)
    pitch = math.radians(m.pitch_degrees) * math.sin(phase * math.sqrt(2.0))
    return _in_frame_before(m.start, t, Vec3(), yaw, pitch)


def _walk_before(m: Walk, t: float) -> Pose:
    t = check_time(t)
    leg = m.distance / m.speed
    cycle = 2.0 * (leg + m.turn_seconds)
    u = t % cycle
    if u < leg:
        along, yaw = m.speed * u, 0.0
    elif u < leg + m.turn_seconds:
        along, yaw = m.distance, math.pi * _smoothstep((u - leg) / m.turn_seconds)
    elif u < 2.0 * leg + m.turn_seconds:
        along, yaw = m.distance - m.speed * (u - leg - m.turn_seconds), math.pi
    else:
        done = (u - 2.0 * leg - m.turn_seconds) / m.turn_seconds
        along, yaw = 0.0, math.pi * (1.0 + _smoothstep(done))
    return _in_frame_before(m.start, t, Vec3(0.0, 0.0, -along), yaw)


def _start(rng: random.Random) -> Pose:
    position = Vec3(rng.uniform(-10, 10), rng.uniform(0, 2), rng.uniform(-10, 10))
    yaw, pitch, roll = (rng.choice([rng.uniform(-math.pi, math.pi), 0.0, math.pi / 2]) for _ in "ypr")
    return Pose(position, Quat.from_euler(yaw, pitch, roll))


def _motions(rng: random.Random, start: Pose) -> list[tuple[Orbit | Nod | LookAround | Walk, object]]:
    return [
        (Orbit(start, rng.uniform(0.01, 5), rng.uniform(0.1, 40), rng.random() < 0.5,
               rng.choice([360.0, rng.uniform(1, 359)]), rng.random() < 0.5), _orbit_before),
        (Nod(start, rng.uniform(0, 89), rng.uniform(0.05, 10)), _nod_before),
        (LookAround(start, rng.uniform(0, 180), rng.uniform(0, 89), rng.uniform(0.1, 20)),
         _look_around_before),
        (Walk(start, rng.uniform(0.01, 10), rng.uniform(0.01, 5), rng.uniform(0.01, 3)), _walk_before),
    ]  # fmt: skip


@pytest.mark.parametrize("seed", range(20))
def test_motions_sample_the_poses_the_object_form_gave(seed: int) -> None:
    rng = random.Random(seed)
    for motion, before in _motions(rng, _start(rng)):
        for k in range(300):
            t = rng.choice([k / 90, rng.uniform(0, 1e5), -1.0, 0.0])
            fast, slow = motion.sample(t), before(motion, t)  # type: ignore[operator]
            assert fast == slow, (type(motion).__name__, t)
            assert repr(fast) == repr(slow)  # signed zeros alike too
