"""Gamepads through SDL2's GameController API (PySDL2 + the SDL2 library from pysdl2-dll).

Qt 6 has no gamepad module, and SDL's GameController layer gives every pad the same named layout
(an Xbox-style a/b/x/y, two sticks, two triggers) from its mapping database, plus hot-plug events.
The left stick moves, the right stick looks, the right/left triggers rise/sink, and buttons fire
actions: `face:<preset>` (the face dock's presets), `reset` or `hand:right`/`hand:left` (raise or
lower that hand; the shoulder buttons by default). Sticks get a radial dead zone, so a
worn stick resting slightly off centre does not drift the head.

Without SDL (no library, no PySDL2) or without a pad this is simply "no gamepad": one log line, then
`poll()` keeps returning an idle frame. It never raises for a missing device.

Thread: create, poll and close on one thread (the GUI thread from a ~60 Hz timer, or a headless
loop); SDL's event queue is process-wide, so one `Gamepad` per process.
"""

from __future__ import annotations

import ctypes
import logging
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from emulator.drive.controls import Controller
from emulator.drive.errors import DriveError
from emulator.drive.faces import PRESETS
from emulator.model.hands import HandSide

log = logging.getLogger(__name__)

# SDL's own names for the GameController buttons (SDL_GameControllerGetStringForButton).
BUTTON_NAMES = (
    "a", "b", "x", "y", "back", "guide", "start", "leftstick", "rightstick", "leftshoulder",
    "rightshoulder", "dpup", "dpdown", "dpleft", "dpright", "misc1", "paddle1", "paddle2", "paddle3",
    "paddle4", "touchpad",
)  # fmt: skip
FACE_ACTIONS = tuple(f"face:{name}" for name in (*PRESETS, "blink", "talk"))
HAND_ACTIONS = ("hand:right", "hand:left")  # raise the hand, press again to lower it
BUTTON_ACTIONS = (*FACE_ACTIONS, "reset", *HAND_ACTIONS)

DEFAULT_BUTTONS: Mapping[str, str] = {
    "a": "face:smile",
    "b": "face:surprise",
    "x": "face:blink",
    "y": "face:talk",
    "back": "face:neutral",
    "rightstick": "reset",
    "rightshoulder": "hand:right",
    "leftshoulder": "hand:left",
}

_AXIS_MAX = 32767.0


def radial_dead_zone(x: float, y: float, dead_zone: float) -> tuple[float, float]:
    """A stick's (x, y) with the inner `dead_zone` removed and the rest rescaled to reach 1 again."""
    magnitude = math.hypot(x, y)
    if magnitude <= dead_zone or magnitude == 0.0:
        return 0.0, 0.0
    scaled = min(1.0, (magnitude - dead_zone) / (1.0 - dead_zone))
    return x / magnitude * scaled, y / magnitude * scaled


def _unit(raw: int) -> float:
    return max(-1.0, min(1.0, raw / _AXIS_MAX))


@dataclass(frozen=True)
class GamepadFrame:
    """What the pad says now: held analog input (after dead zones) and what happened since the last poll."""

    connected: bool = False
    name: str | None = None
    strafe: float = 0.0  # left stick, right positive
    forward: float = 0.0  # left stick, pushed away positive
    vertical: float = 0.0  # right trigger minus left trigger
    look_x: float = 0.0  # right stick, right positive
    look_y: float = 0.0  # right stick, pushed away (look up) positive
    actions: tuple[str, ...] = ()  # button actions fired since the last poll, in order
    plugged: tuple[str, ...] = ()  # names of pads that appeared since the last poll
    unplugged: tuple[str, ...] = ()

    @property
    def face_presets(self) -> list[str]:
        return [a.removeprefix("face:") for a in self.actions if a.startswith("face:")]

    def apply_to(self, controller: Controller) -> None:
        """Hand the sticks to the controller, perform `reset` and raise or lower hands; face actions
        are the caller's."""
        controller.set_analog(self.strafe, self.forward, self.vertical, self.look_x, self.look_y)
        if "reset" in self.actions:
            controller.reset()
        for action in self.actions:
            if action in HAND_ACTIONS:
                controller.hands.toggle(HandSide.RIGHT if action == "hand:right" else HandSide.LEFT)


def _load_sdl() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PySDL2 warns that it uses pysdl2-dll's library: intended
            import sdl2
    except Exception as error:  # ImportError, or RuntimeError when no SDL2 library loads
        log.warning("no gamepad: SDL2 is not available (%s)", error)
        return None
    return sdl2


@dataclass
class Gamepad:
    """The first connected game controller, re-chosen on hot-plug. Use as a context manager or `close()`."""

    dead_zone: float = 0.15
    trigger_dead_zone: float = 0.05
    buttons: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_BUTTONS))
    _sdl: Any = field(default=None, init=False, repr=False)
    _controller: Any = field(default=None, init=False, repr=False)
    _instance: int | None = field(default=None, init=False)
    _name: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if not (0.0 <= self.dead_zone < 1.0 and 0.0 <= self.trigger_dead_zone < 1.0):
            raise DriveError("gamepad dead zones must be within 0..1")
        for button, action in self.buttons.items():
            if button not in BUTTON_NAMES:
                raise DriveError(f"gamepad: unknown button {button!r} (known: {', '.join(BUTTON_NAMES)})")
            if action not in BUTTON_ACTIONS:
                raise DriveError(f"gamepad: unknown action {action!r} (known: {', '.join(BUTTON_ACTIONS)})")
        sdl = _load_sdl()
        if sdl is None:
            return
        # SDL must not take over SIGINT/SIGTERM from Qt or asyncio; and a pad keeps working while
        # another window (SDL has none of its own) has the focus.
        sdl.SDL_SetHint(b"SDL_NO_SIGNAL_HANDLERS", b"1")
        sdl.SDL_SetHint(b"SDL_JOYSTICK_ALLOW_BACKGROUND_EVENTS", b"1")
        if sdl.SDL_InitSubSystem(sdl.SDL_INIT_GAMECONTROLLER | sdl.SDL_INIT_EVENTS) != 0:
            log.warning("no gamepad: SDL could not start (%s)", sdl.SDL_GetError().decode(errors="replace"))
            return
        self._sdl = sdl
        for index in range(sdl.SDL_NumJoysticks()):
            if sdl.SDL_IsGameController(index) and self._open(index):
                break
        if self._controller is None:
            log.info("no gamepad connected yet; waiting for one to be plugged in")

    @property
    def available(self) -> bool:
        """SDL is running, so pads can be plugged in."""
        return self._sdl is not None

    @property
    def connected(self) -> bool:
        return self._controller is not None

    @property
    def name(self) -> str | None:
        return self._name

    def _open(self, device_index: int) -> bool:
        sdl = self._sdl
        controller = sdl.SDL_GameControllerOpen(device_index)
        if not controller:
            log.warning(
                "gamepad %d could not be opened: %s",
                device_index,
                sdl.SDL_GetError().decode(errors="replace"),
            )
            return False
        joystick = sdl.SDL_GameControllerGetJoystick(controller)
        self._controller = controller
        self._instance = int(sdl.SDL_JoystickInstanceID(joystick))
        raw_name = sdl.SDL_GameControllerName(controller)
        self._name = raw_name.decode(errors="replace") if raw_name else f"gamepad {device_index}"
        log.info("gamepad connected: %s", self._name)
        return True

    def _close_controller(self) -> None:
        if self._controller is not None:
            self._sdl.SDL_GameControllerClose(self._controller)
        self._controller = None
        self._instance = None
        self._name = None

    def poll(self) -> GamepadFrame:
        """Drain SDL's events (hot-plug, button presses) and read the sticks."""
        sdl = self._sdl
        if sdl is None:
            return GamepadFrame()
        actions: list[str] = []
        plugged: list[str] = []
        unplugged: list[str] = []
        event = sdl.SDL_Event()
        while sdl.SDL_PollEvent(ctypes.byref(event)):
            kind = event.type
            if kind == sdl.SDL_CONTROLLERDEVICEADDED:
                if self._controller is None and self._open(event.cdevice.which):
                    plugged.append(self._name or "")
            elif kind == sdl.SDL_CONTROLLERDEVICEREMOVED:
                if self._instance is not None and event.cdevice.which == self._instance:
                    log.info("gamepad disconnected: %s", self._name)
                    unplugged.append(self._name or "")
                    self._close_controller()
                    self._open_next(plugged)
            elif kind == sdl.SDL_CONTROLLERBUTTONDOWN and event.cbutton.which == self._instance:
                raw = sdl.SDL_GameControllerGetStringForButton(event.cbutton.button)
                action = self.buttons.get(raw.decode() if raw else "")
                if action is not None:
                    actions.append(action)
        if self._controller is None:
            return GamepadFrame(actions=tuple(actions), plugged=tuple(plugged), unplugged=tuple(unplugged))
        axis = self._axis
        strafe, back = radial_dead_zone(axis("LEFTX"), axis("LEFTY"), self.dead_zone)
        look_x, look_down = radial_dead_zone(axis("RIGHTX"), axis("RIGHTY"), self.dead_zone)
        rise = self._trigger(axis("TRIGGERRIGHT")) - self._trigger(axis("TRIGGERLEFT"))
        # SDL's stick y grows towards the player (pulled back); this project's forward and up are positive.
        return GamepadFrame(
            True,
            self._name,
            strafe,
            -back,
            rise,
            look_x,
            -look_down,
            tuple(actions),
            tuple(plugged),
            tuple(unplugged),
        )

    def _open_next(self, plugged: list[str]) -> None:
        sdl = self._sdl
        for index in range(sdl.SDL_NumJoysticks()):
            if sdl.SDL_IsGameController(index) and self._open(index):
                plugged.append(self._name or "")
                return

    def _axis(self, name: str) -> float:
        sdl = self._sdl
        return _unit(
            sdl.SDL_GameControllerGetAxis(self._controller, getattr(sdl, f"SDL_CONTROLLER_AXIS_{name}"))
        )

    def _trigger(self, value: float) -> float:
        if value <= self.trigger_dead_zone:
            return 0.0
        return min(1.0, (value - self.trigger_dead_zone) / (1.0 - self.trigger_dead_zone))

    def close(self) -> None:
        """Release the pad and SDL's subsystems; safe to call twice."""
        if self._sdl is None:
            return
        self._close_controller()
        self._sdl.SDL_QuitSubSystem(self._sdl.SDL_INIT_GAMECONTROLLER | self._sdl.SDL_INIT_EVENTS)
        self._sdl = None

    def __enter__(self) -> Gamepad:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
