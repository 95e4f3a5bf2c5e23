import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.model.errors import ModelError
from emulator.model.pose import FORWARD, Pose, Quat, Vec3

angles = st.floats(min_value=-math.pi, max_value=math.pi, allow_nan=False)
coords = st.floats(min_value=-50, max_value=50, allow_nan=False)


def close(a: Vec3, b: Vec3, tol: float = 1e-9) -> bool:
    return (a - b).length() < tol


def test_positive_yaw_turns_left_and_positive_pitch_looks_up() -> None:
    left = Quat.from_euler(math.radians(90)).rotate(FORWARD)
    assert close(left, Vec3(-1, 0, 0))
    up = Quat.from_euler(0, math.radians(90)).rotate(FORWARD)
    assert close(up, Vec3(0, 1, 0))
    tilted = Quat.from_euler(0, 0, math.radians(90)).rotate(Vec3(0, 1, 0))
    assert close(tilted, Vec3(-1, 0, 0))


@given(angles, st.floats(min_value=-1.5, max_value=1.5), angles)
def test_euler_round_trip(yaw: float, pitch: float, roll: float) -> None:
    q = Quat.from_euler(yaw, pitch, roll)
    assert q.angle_to(Quat.from_euler(*q.to_euler())) < 1e-6


@given(coords, coords, coords, angles, angles)
def test_compose_with_inverse_is_identity(x: float, y: float, z: float, yaw: float, pitch: float) -> None:
    pose = Pose(Vec3(x, y, z), Quat.from_euler(yaw, pitch))
    ident = pose.compose(pose.inverse())
    assert ident.position.length() < 1e-9
    assert ident.orientation.angle_to(Quat.identity()) < 1e-6
    p = Vec3(0.3, -1.0, 2.0)
    assert close(pose.inverse_transform_point(pose.transform_point(p)), p, 1e-9)


def test_relative_to_puts_a_speaker_on_the_listeners_left() -> None:
    listener = Pose.at(0, 0, 0, yaw_degrees=-90)  # facing +x
    speaker = Pose.at(0, 0, -2)  # 2 m along world forward, i.e. on the listener's left
    local = speaker.relative_to(listener).position
    assert close(local, Vec3(-2, 0, 0))


def test_slerp_halfway_and_shorter_arc() -> None:
    a = Quat.from_euler(0.0)
    b = Quat.from_euler(math.radians(90))
    mid = a.slerp(b, 0.5)
    assert mid.angle_to(Quat.from_euler(math.radians(45))) < 1e-9
    negated = Quat(-b.x, -b.y, -b.z, -b.w)
    assert a.slerp(negated, 0.5).angle_to(mid) < 1e-9


def test_tolerant_normalisation_and_refusals() -> None:
    pose = Pose(Vec3(), Quat(0, 0, 0, 2.0))
    assert pose.orientation == Quat(0, 0, 0, 1.0)
    with pytest.raises(ModelError):
        Pose(Vec3(), Quat(0, 0, 0, 0))
    with pytest.raises(ModelError):
        Pose(Vec3(math.nan, 0, 0))
    with pytest.raises(ModelError):
        Quat(math.inf, 0, 0, 1).normalized()


def test_interpolate_between_timestamps() -> None:
    a = Pose.at(0, 0, 0, 0, timestamp_us=0)
    b = Pose.at(2, 0, 0, 90, timestamp_us=1000)
    mid = a.interpolate(b, 0.5)
    assert close(mid.position, Vec3(1, 0, 0))
    assert mid.timestamp_us == 500
    assert abs(math.degrees(mid.yaw_pitch_roll()[0]) - 45) < 1e-6
