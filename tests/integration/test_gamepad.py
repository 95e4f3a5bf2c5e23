"""The gamepad against SDL's real GameController layer, fed by SDL's virtual joystick."""

import logging
import math
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.drive.controls import Controller
from emulator.drive.errors import DriveError
from emulator.drive.gamepad import Gamepad, GamepadFrame, radial_dead_zone
from emulator.drive.spec import placement
from tests.support.gamepad import VirtualPads

HOME = placement("0,1.6,0", 0.0)


def drive(pad: Gamepad, controller: Controller, seconds: float) -> GamepadFrame:
    frame = GamepadFrame()
    for _ in range(round(seconds * 60)):
        frame = pad.poll()
        frame.apply_to(controller)
        controller.update(1 / 60)
    return frame


def test_right_stick_turns_the_view_and_left_stick_walks(virtual_gamepads: VirtualPads) -> None:
    virtual = virtual_gamepads.attach()
    controller = Controller(HOME)
    with Gamepad() as pad:
        assert pad.available and pad.connected and pad.name
        virtual.set_axis("rightx", 1.0)
        drive(pad, controller, 0.5)
        assert controller.yaw_degrees == pytest.approx(-60.0, abs=1.0)  # turned right at 120°/s
        assert controller.pose.forward().x > 0.8
        virtual.set_axis("rightx", 0.0)
        virtual.set_axis("righty", -1.0)  # pushed away: look up
        drive(pad, controller, 0.25)
        assert controller.pitch_degrees == pytest.approx(30.0, abs=1.0)
        virtual.set_axis("righty", 0.0)
        virtual.set_axis("lefty", -1.0)  # pushed away: walk where the head points (level)
        start = controller.pose.position
        drive(pad, controller, 1.0)
        step = controller.pose.position - start
        assert step.length() == pytest.approx(1.4, abs=0.05)
        assert step.x > 1.2 and abs(step.y) < 1e-9
        virtual.set_axis("lefty", 0.0)
        virtual.set_axis("righttrigger", 1.0)
        drive(pad, controller, 0.5)
        assert controller.pose.position.y - 1.6 == pytest.approx(0.4, abs=0.03)


def test_dead_zone_ignores_a_resting_stick(virtual_gamepads: VirtualPads) -> None:
    virtual = virtual_gamepads.attach()
    controller = Controller(HOME)
    with Gamepad(dead_zone=0.15) as pad:
        virtual.set_axis("leftx", 0.1)
        virtual.set_axis("righty", -0.12)
        frame = drive(pad, controller, 0.5)
        assert frame.connected and frame.strafe == 0.0 and frame.look_y == 0.0
        assert controller.pose == HOME


def test_buttons_fire_face_presets_and_reset(virtual_gamepads: VirtualPads) -> None:
    virtual = virtual_gamepads.attach()
    controller = Controller(HOME)
    with Gamepad() as pad:
        controller.mouse_look(400, 0)
        virtual.set_button("a", True)
        frame = pad.poll()
        assert frame.face_presets == ["smile"]
        virtual.set_button("a", False)
        virtual.set_button("y", True)
        assert pad.poll().face_presets == ["talk"]
        assert pad.poll().actions == ()  # held, not pressed again
        virtual.set_button("rightstick", True)
        frame = pad.poll()
        assert frame.actions == ("reset",)
        frame.apply_to(controller)
        assert controller.yaw_degrees == pytest.approx(0.0)


def native_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def test_pads_are_hot_plugged(virtual_gamepads: VirtualPads) -> None:
    threads_before = native_threads()
    with Gamepad() as pad:
        assert pad.available and not pad.connected
        assert pad.poll() == GamepadFrame()
        first = virtual_gamepads.attach()
        frame = pad.poll()
        assert frame.connected and len(frame.plugged) == 1 and pad.connected
        second = virtual_gamepads.attach()
        assert pad.poll().plugged == ()  # already have one
        first.detach()
        frame = pad.poll()
        assert (
            len(frame.unplugged) == 1 and len(frame.plugged) == 1 and frame.connected
        )  # moved to the second
        second.set_axis("rightx", 1.0)
        assert pad.poll().look_x == pytest.approx(1.0)
        second.detach()
        frame = pad.poll()
        assert len(frame.unplugged) == 1 and not frame.connected and not pad.connected
    assert native_threads() <= threads_before  # SDL left no thread of its own running


def test_without_sdl_it_is_just_no_gamepad(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "sdl2", None)  # the import fails, as with PySDL2 missing
    caplog.set_level(logging.WARNING, "emulator.drive.gamepad")
    pad = Gamepad()
    assert not pad.available and not pad.connected
    assert pad.poll() == GamepadFrame()
    pad.close()
    assert "no gamepad: SDL2 is not available" in caplog.text


def test_without_the_sdl_library_the_process_carries_on(tmp_path: os.PathLike[str]) -> None:
    code = (
        "import logging; logging.basicConfig(level=logging.INFO)\n"
        "from emulator.drive.gamepad import Gamepad\n"
        "pad = Gamepad(); print('connected', pad.connected, pad.poll().connected); pad.close()\n"
    )
    env = {**os.environ, "PYSDL2_DLL_PATH": str(tmp_path), "SDL_VIDEODRIVER": "dummy"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "connected False False" in done.stdout
    assert "no gamepad" in done.stderr  # SDL missing here, or no pad where the system has SDL2


def test_bad_button_bindings_are_refused() -> None:
    with pytest.raises(DriveError, match="unknown button 'z'"):
        Gamepad(buttons={"z": "reset"})
    with pytest.raises(DriveError, match="unknown action 'face:wink'"):
        Gamepad(buttons={"a": "face:wink"})


@given(st.floats(-1, 1), st.floats(-1, 1), st.floats(0, 0.9))
def test_radial_dead_zone_keeps_direction_and_range(x: float, y: float, dead: float) -> None:
    ox, oy = radial_dead_zone(x, y, dead)
    magnitude = math.hypot(x, y)
    if magnitude <= dead:
        assert (ox, oy) == (0.0, 0.0)
        return
    assert math.hypot(ox, oy) <= 1.0 + 1e-9
    assert ox * x >= 0 and oy * y >= 0
    assert abs(ox * y - oy * x) < 1e-9  # same direction
