import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.drive.errors import DriveError
from emulator.drive.motions import LookAround, Nod, Orbit, Walk, motion_from_spec
from emulator.drive.spec import placement
from emulator.model.pose import Pose, Vec3

START = placement("0,1.6,1.5", 0.0)  # 1.5 m behind the origin, facing it (-z)


def close(a: Vec3, b: Vec3, tol: float = 1e-6) -> bool:
    return (a - b).length() < tol


def yaw_deg(pose: Pose) -> float:
    return math.degrees(pose.yaw_pitch_roll()[0])


def test_still_stays_at_the_placement() -> None:
    motion = motion_from_spec("still", START)
    for t in (0.0, 1.0, 1234.5):
        pose = motion.sample(t)
        assert pose.position == START.position and pose.orientation.angle_to(START.orientation) < 1e-9


def test_orbit_circles_the_point_ahead_while_facing_it() -> None:
    motion = motion_from_spec("orbit:radius=1.5,period=12", START)
    assert isinstance(motion, Orbit)
    centre = motion.centre()
    assert close(centre, Vec3(0.0, 1.6, 0.0))
    assert close(motion.sample(0).position, START.position)
    for i in range(48):
        pose = motion.sample(i * 0.25)
        to_centre = centre - pose.position
        assert abs(to_centre.length() - 1.5) < 1e-6
        assert abs(pose.position.y - 1.6) < 1e-9
        assert pose.forward().dot(to_centre * (1 / to_centre.length())) > 0.9999
    # Counter-clockwise from above: a quarter period later it stands at the start's right (+x).
    assert close(motion.sample(3.0).position, Vec3(1.5, 1.6, 0.0))
    assert close(motion.sample(12.0).position, START.position)


def test_orbit_facing_path_looks_where_it_walks() -> None:
    motion = motion_from_spec("orbit:facing=path,period=10", START)
    for t in (0.0, 1.3, 4.0, 7.7):
        velocity = motion.sample(t + 1e-4).position - motion.sample(t).position
        assert motion.sample(t).forward().dot(velocity * (1 / velocity.length())) > 0.999


def test_orbit_arc_paces_to_and_fro_facing_the_centre() -> None:
    motion = motion_from_spec("orbit:radius=1.5,period=20,arc=40", START)
    centre = Vec3(0.0, 1.6, 0.0)
    angles = []
    for i in range(81):
        pose = motion.sample(i * 0.25)
        to_centre = centre - pose.position
        assert abs(to_centre.length() - 1.5) < 1e-6
        assert pose.forward().dot(to_centre * (1 / to_centre.length())) > 0.9999
        angles.append(math.degrees(math.atan2(pose.position.x, pose.position.z)))
    assert max(angles) == pytest.approx(20.0, abs=0.1) and min(angles) == pytest.approx(-20.0, abs=0.1)
    assert motion.sample(2.0).position.x > 0  # sets off counter-clockwise: to the start's right
    assert motion_from_spec("orbit:period=20,arc=40,turn=cw", START).sample(2.0).position.x < 0
    full = motion_from_spec("orbit:radius=1.5,period=12,turn=cw", START)
    assert close(full.sample(3.0).position, Vec3(-1.5, 1.6, 0.0))
    paced = motion_from_spec("orbit:facing=path,period=10,arc=60", START)
    for t in (0.5, 3.0, 6.0, 8.9):  # walking out and back, it looks where it goes
        velocity = paced.sample(t + 1e-4).position - paced.sample(t).position
        assert paced.sample(t).forward().dot(velocity * (1 / velocity.length())) > 0.999


def test_placement_yaw_turns_the_whole_path() -> None:
    turned = placement("2,1.5,0", 90.0)  # facing -x
    motion = Walk(turned, distance=2.0, speed=1.0)
    assert close(motion.sample(2.0).position, Vec3(0.0, 1.5, 0.0))
    orbit = Orbit(turned, radius=1.0)
    assert close(orbit.centre(), Vec3(1.0, 1.5, 0.0))


def test_nod_pitches_in_place() -> None:
    motion = motion_from_spec("nod:amplitude=20,period=2", START)
    assert isinstance(motion, Nod)
    top = motion.sample(0.5)
    yaw, pitch, _ = top.yaw_pitch_roll()
    assert math.degrees(pitch) == pytest.approx(20.0)
    assert abs(yaw) < 1e-9 and top.position == START.position
    assert math.degrees(motion.sample(1.5).yaw_pitch_roll()[1]) == pytest.approx(-20.0)


def test_look_around_sweeps_within_its_range() -> None:
    motion = motion_from_spec("look-around", START)
    assert isinstance(motion, LookAround)
    yaws = [yaw_deg(motion.sample(i * 0.05)) for i in range(400)]
    assert max(yaws) > 55 and min(yaws) < -55
    assert all(abs(y) <= 60.0 + 1e-6 for y in yaws)
    assert all(motion.sample(i * 0.1).position == START.position for i in range(20))


def test_walk_goes_out_turns_and_comes_back_smoothly() -> None:
    motion = motion_from_spec("walk:distance=3,speed=1,turn=1", START)
    assert close(motion.sample(3.0).position, Vec3(0.0, 1.6, -1.5))
    assert abs(yaw_deg(motion.sample(2.0))) < 1e-6
    assert abs(abs(yaw_deg(motion.sample(5.0))) - 180.0) < 1e-6  # walking back, facing back
    assert motion.sample(5.0).forward().z > 0.999
    assert close(motion.sample(8.0).position, START.position)
    previous = motion.sample(0.0)
    for i in range(1, 1700):  # two cycles at 100 Hz: no jumps in position or heading
        pose = motion.sample(i / 100)
        assert (pose.position - previous.position).length() <= 1.0 / 100 + 1e-9
        assert pose.orientation.angle_to(previous.orientation) < math.radians(5)
        previous = pose


def test_timestamps_follow_t_and_bad_times_are_named() -> None:
    motion = motion_from_spec("orbit", START)
    assert motion.sample(1.25).timestamp_us == 1_250_000
    assert motion.sample(-1.0).position == motion.sample(0.0).position
    with pytest.raises(DriveError, match="non-finite"):
        motion.sample(math.nan)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("fly", "unknown motion 'fly'"),
        ("orbit:radius=-1", "radius"),
        ("orbit:turn=sideways", "turn"),
        ("orbit:radius=abc", "must be a number"),
        ("orbit:speed=2", "unknown option 'speed'"),
        ("orbit:facing=sideways", "facing"),
        ("walk:distance", "expected key=value"),
        ("still:x=1", "unknown option"),
        ("trace:", "expected trace:FILE"),
        ("trace:/nonexistent/walk.jsonl", "cannot read trace"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(DriveError, match=message):
        motion_from_spec(spec, START)


@given(st.text(max_size=40))
def test_any_spec_either_works_or_raises_drive_error(spec: str) -> None:
    try:
        motion = motion_from_spec(spec, START)
    except DriveError:
        return
    assert motion.sample(3.0).position.is_finite()


@pytest.mark.parametrize(("at", "yaw"), [("1,2", 0.0), ("a,b,c", 0.0), ("1,2,nan", 0.0), ("0,0,0", math.inf)])
def test_bad_placements_are_refused(at: str, yaw: float) -> None:
    with pytest.raises(DriveError, match="placement"):
        placement(at, yaw)


def test_default_placement_stands_at_eye_height() -> None:
    assert placement() == Pose(Vec3(0.0, 1.6, 0.0))
    assert placement(" 1, 1.7 ,-2", 45).position == Vec3(1.0, 1.7, -2.0)
