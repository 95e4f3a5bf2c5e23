import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.drive.controls import MAX_STEP_S, Bindings, Controller, ControlSettings
from emulator.drive.errors import DriveError
from emulator.drive.spec import placement
from emulator.model.pose import Vec3

HOME = placement("0,1.6,0", 0.0)


def walk(controller: Controller, seconds: float, step: float = 1 / 60) -> None:
    for _ in range(round(seconds / step)):
        controller.update(step)


def close(a: Vec3, b: Vec3, tol: float = 1e-6) -> bool:
    return (a - b).length() < tol


def test_w_walks_forward_at_the_set_speed() -> None:
    c = Controller(HOME)
    assert c.key_down("W")
    walk(c, 1.0)
    assert close(c.pose.position, Vec3(0.0, 1.6, -1.4))
    c.key_up("W")
    walk(c, 1.0)
    assert close(c.pose.position, Vec3(0.0, 1.6, -1.4))


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("S", Vec3(0, 1.6, 1.4)),
        ("A", Vec3(-1.4, 1.6, 0)),
        ("D", Vec3(1.4, 1.6, 0)),
        ("Q", Vec3(0, 0.8, 0)),
        ("E", Vec3(0, 2.4, 0)),
    ],
)
def test_each_movement_key_goes_its_way(key: str, expected: Vec3) -> None:
    c = Controller(HOME)
    c.key_down(key)
    walk(c, 1.0)
    assert close(c.pose.position, expected)


def test_movement_follows_the_heading_but_stays_level() -> None:
    c = Controller(placement("0,1.6,0", 90.0))  # facing -x
    c.mouse_look(0, -200)  # and looking up
    assert c.pitch_degrees > 20
    c.key_down("w")  # key names are case-insensitive
    walk(c, 1.0)
    assert close(c.pose.position, Vec3(-1.4, 1.6, 0.0))


def test_diagonals_are_not_faster_and_shift_runs() -> None:
    c = Controller(HOME)
    c.key_down("W")
    c.key_down("D")
    walk(c, 1.0)
    assert (c.pose.position - HOME.position).length() == pytest.approx(1.4)
    c.reset()
    c.release_all()
    c.key_down("Shift")
    c.key_down("W")
    walk(c, 1.0)
    assert (c.pose.position - HOME.position).length() == pytest.approx(1.4 * 3)


def test_mouse_right_turns_right_and_down_looks_down() -> None:
    c = Controller(HOME)
    c.mouse_look(100, 0)  # 100 px × 0.15°/px
    assert c.yaw_degrees == pytest.approx(-15.0)
    assert c.pose.forward().x > 0.2  # facing a little towards +x, i.e. to the right
    c.mouse_look(0, 100)
    assert c.pitch_degrees == pytest.approx(-15.0)
    assert c.pose.forward().y < 0


def test_pitch_is_clamped_and_invert_y_flips_it() -> None:
    c = Controller(HOME)
    c.mouse_look(0, -100_000)
    assert c.pitch_degrees == pytest.approx(85.0)
    c.mouse_look(0, 100_000)
    assert c.pitch_degrees == pytest.approx(-85.0)
    inverted = Controller(HOME, settings=ControlSettings(invert_y=True))
    inverted.mouse_look(0, 100)
    assert inverted.pitch_degrees == pytest.approx(15.0)


def test_arrow_keys_turn_at_the_turn_speed() -> None:
    c = Controller(HOME)
    c.key_down("Left")
    walk(c, 0.5)
    assert c.yaw_degrees == pytest.approx(60.0)
    c.key_up("Left")
    c.key_down("Down")
    walk(c, 0.25)
    assert c.pitch_degrees == pytest.approx(-30.0)


def test_r_resets_to_the_placement() -> None:
    home = placement("1,1.7,2", 45.0)
    c = Controller(home)
    c.key_down("W")
    c.mouse_look(300, 50)
    walk(c, 0.5)
    c.key_up("W")
    assert c.key_down("R")
    assert close(c.pose.position, home.position)
    assert c.pose.orientation.angle_to(home.orientation) < 1e-9


def test_bindings_are_data_the_app_can_edit_and_save() -> None:
    bindings = Bindings().rebind("forward", ["Up", "Z"]).rebind("look_up", [])
    saved = bindings.to_json()
    restored = Bindings.from_json(saved)
    assert restored == bindings
    c = Controller(HOME, bindings=restored)
    assert not c.key_down("W")  # no longer bound: the app lets the event through
    c.key_down("z")
    walk(c, 0.5)
    assert close(c.pose.position, Vec3(0.0, 1.6, -0.7))
    assert Bindings().rebind("reset", ["W"]).conflicts() == {"w": ["forward", "reset"]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ('{"jump": ["Space"]}', "unknown action 'jump'"),
        ('{"forward": "W"}', "expected an object"),
        ('{"forward": [1]}', "key names must be strings"),
        ('{"forward": [" "]}', "empty key name"),
    ],
)
def test_bad_saved_bindings_are_refused(text: str, message: str) -> None:
    with pytest.raises(DriveError, match=message):
        Bindings.from_json(text)


def test_settings_round_trip_and_refuse_nonsense() -> None:
    settings = ControlSettings(move_speed=2.0, invert_y=True)
    assert ControlSettings.from_dict(settings.to_dict()) == settings
    with pytest.raises(DriveError, match="move_speed"):
        ControlSettings(move_speed=-1)
    with pytest.raises(DriveError, match="unknown"):
        ControlSettings.from_dict({"warp": 9})
    with pytest.raises(DriveError, match="below 90"):
        ControlSettings(pitch_limit_degrees=90)


def test_a_stall_does_not_fling_the_head() -> None:
    c = Controller(HOME)
    c.key_down("W")
    c.update(30.0)
    assert (c.pose.position - HOME.position).length() == pytest.approx(1.4 * MAX_STEP_S)
    c.update(-1.0)
    assert (c.pose.position - HOME.position).length() == pytest.approx(1.4 * MAX_STEP_S)
    with pytest.raises(DriveError, match="non-finite"):
        c.update(math.nan)


def test_analog_input_moves_and_looks_like_the_keys() -> None:
    c = Controller(HOME)
    c.set_analog(0.0, 1.0)  # stick fully forward
    walk(c, 1.0)
    assert close(c.pose.position, Vec3(0.0, 1.6, -1.4))
    c.set_analog(0.0, 0.0, look_x=1.0)  # right stick fully right
    walk(c, 0.25)
    assert c.yaw_degrees == pytest.approx(-30.0)
    c.release_all()
    walk(c, 1.0)
    assert c.yaw_degrees == pytest.approx(-30.0)


inputs = st.lists(
    st.one_of(
        st.tuples(
            st.just("down"), st.sampled_from(["W", "A", "S", "D", "Q", "E", "R", "Shift", "Left", "Up", "X"])
        ),
        st.tuples(st.just("up"), st.sampled_from(["W", "A", "S", "D", "Shift", "Left", "Up"])),
        st.tuples(st.just("mouse"), st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)),
        st.tuples(st.just("analog"), st.floats(allow_nan=True), st.floats(-5, 5)),
        st.tuples(st.just("tick"), st.floats(-1, 10)),
    ),
    max_size=40,
)


@given(inputs)
def test_any_input_keeps_the_pose_sane(events: list[tuple[object, ...]]) -> None:
    c = Controller(HOME)
    for event in events:
        kind = event[0]
        if kind == "down":
            c.key_down(str(event[1]))
        elif kind == "up":
            c.key_up(str(event[1]))
        elif kind == "mouse":
            c.mouse_look(float(event[1]), float(event[2]))  # type: ignore[arg-type]
        elif kind == "analog":
            c.set_analog(float(event[1]), float(event[2]))  # type: ignore[arg-type]
        else:
            c.update(float(event[1]))  # type: ignore[arg-type]
    pose = c.pose
    assert pose.position.is_finite() and abs(c.pitch_degrees) <= 85.0 and -180 <= c.yaw_degrees < 180
