"""Virtual game controllers for tests: SDL's own virtual joystick, seen by SDL like a plugged-in pad.

`virtual_gamepads` starts SDL's game-controller subsystem (with the dummy video driver and without
SDL's signal handlers), lets a test attach pads, move their sticks and press their buttons, and
detaches every pad and stops the subsystem at the end. The GUI tests use it to turn the view.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

_AXES = 6  # leftx, lefty, rightx, righty, lefttrigger, righttrigger
_BUTTONS = 15  # a … dpright: SDL then gives the pad its standard virtual mapping


def _sdl() -> Any:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import sdl2
    return sdl2


class VirtualPad:
    """One attached virtual controller; axis and button names are SDL's GameController names."""

    def __init__(self, sdl: Any) -> None:
        self._sdl = sdl
        index = sdl.SDL_JoystickAttachVirtual(sdl.SDL_JOYSTICK_TYPE_GAMECONTROLLER, _AXES, _BUTTONS, 0)
        if index < 0:
            raise RuntimeError(f"SDL could not attach a virtual pad: {sdl.SDL_GetError().decode()}")
        self._joystick = sdl.SDL_JoystickOpen(index)
        if not self._joystick:
            raise RuntimeError(f"SDL could not open the virtual pad: {sdl.SDL_GetError().decode()}")
        self.instance_id = int(sdl.SDL_JoystickInstanceID(self._joystick))
        self.attached = True

    def set_axis(self, name: str, value: float) -> None:
        """`value` in -1..1 (sticks) or 0..1 (triggers); SDL stick y is positive when pulled back."""
        axis = self._sdl.SDL_GameControllerGetAxisFromString(name.encode())
        raw = max(-32768, min(32767, round(value * 32767)))
        if self._sdl.SDL_JoystickSetVirtualAxis(self._joystick, axis, raw) != 0:
            raise RuntimeError(self._sdl.SDL_GetError().decode())

    def set_button(self, name: str, pressed: bool) -> None:
        button = self._sdl.SDL_GameControllerGetButtonFromString(name.encode())
        if self._sdl.SDL_JoystickSetVirtualButton(self._joystick, button, int(pressed)) != 0:
            raise RuntimeError(self._sdl.SDL_GetError().decode())

    def pump(self) -> None:
        """Let SDL apply the pending virtual state (a `Gamepad.poll` does this too)."""
        self._sdl.SDL_JoystickUpdate()

    def detach(self) -> None:
        if not self.attached:
            return
        self.attached = False
        self._sdl.SDL_JoystickClose(self._joystick)
        # Detach by the pad's current device index: earlier pads may have gone, shifting indices.
        for index in range(self._sdl.SDL_NumJoysticks()):
            if self._sdl.SDL_JoystickGetDeviceInstanceID(index) == self.instance_id:
                self._sdl.SDL_JoystickDetachVirtual(index)
                return


class VirtualPads:
    def __init__(self, sdl: Any) -> None:
        self._sdl = sdl
        self.pads: list[VirtualPad] = []

    def attach(self) -> VirtualPad:
        pad = VirtualPad(self._sdl)
        self.pads.append(pad)
        return pad

    def detach_all(self) -> None:
        for pad in self.pads:
            pad.detach()


@pytest.fixture
def virtual_gamepads() -> Iterator[VirtualPads]:
    """A factory of virtual pads; every pad is detached and SDL's subsystem released afterwards."""
    sdl = _sdl()
    sdl.SDL_SetHint(b"SDL_NO_SIGNAL_HANDLERS", b"1")
    if sdl.SDL_InitSubSystem(sdl.SDL_INIT_GAMECONTROLLER | sdl.SDL_INIT_EVENTS) != 0:
        raise RuntimeError(f"SDL could not start: {sdl.SDL_GetError().decode()}")
    pads = VirtualPads(sdl)
    try:
        yield pads
    finally:
        pads.detach_all()
        sdl.SDL_QuitSubSystem(sdl.SDL_INIT_GAMECONTROLLER | sdl.SDL_INIT_EVENTS)
