"""The interactive head controller: mouse-look, WASD/QE movement, reset, raising a hand (H/G, the
hands themselves are `hand_controls.HandControl`); bindings as editable data.

The app translates Qt events into calls here (`key_down("W")`, `mouse_look(dx, dy)`) and calls
`update(dt)` on every frame; the gamepad feeds the same controller through `set_analog`. Keeping the
controller free of Qt means the same code is unit-tested without a window and could be driven by
any front end.

Key names are the text Qt gives a key (`QKeySequence(key).toString()`): `W`, `Shift`, `Space`, `Up`…,
matched case-insensitively. Thread: the GUI thread only; nothing here locks.

Conventions (OpenXR axes, `emulator.model.pose`): yaw turns about +y and positive yaw is to the left,
so moving the mouse right (dx > 0) turns right; screen y grows downwards, so moving the mouse down
looks down unless `invert_y`. Movement stays in the horizontal plane whatever the pitch, the way a
person walks while looking up.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace

from emulator.drive.errors import DriveError
from emulator.drive.hand_controls import HandControl
from emulator.drive.spec import placement
from emulator.model.hands import HandSide
from emulator.model.pose import Pose, Quat, Vec3

ACTIONS = (
    "forward", "back", "left", "right", "up", "down",
    "turn_left", "turn_right", "look_up", "look_down", "fast", "reset", "raise_right", "raise_left",
)  # fmt: skip

DEFAULT_BINDINGS: Mapping[str, tuple[str, ...]] = {
    "forward": ("W",),
    "back": ("S",),
    "left": ("A",),
    "right": ("D",),
    "down": ("Q",),
    "up": ("E",),
    "turn_left": ("Left",),
    "turn_right": ("Right",),
    "look_up": ("Up",),
    "look_down": ("Down",),
    "fast": ("Shift",),
    "reset": ("R",),
    "raise_right": ("H",),  # toggles: raise the hand, press again to lower it
    "raise_left": ("G",),
}

# After a stall (a dragged window, a breakpoint) one update must not fling the head across the room.
MAX_STEP_S = 0.25


def _key(name: str) -> str:
    return name.strip().casefold()


class Bindings:
    """Which keys trigger which action; immutable, so the app edits by making a new one and saving it."""

    def __init__(self, mapping: Mapping[str, Iterable[str]] | None = None) -> None:
        source = DEFAULT_BINDINGS if mapping is None else mapping
        table: dict[str, tuple[str, ...]] = {action: () for action in ACTIONS}
        for action, keys in source.items():
            if action not in ACTIONS:
                raise DriveError(f"bindings: unknown action {action!r} (known: {', '.join(ACTIONS)})")
            if isinstance(keys, str):
                raise DriveError(f"bindings: {action} needs a list of key names, got the string {keys!r}")
            names = tuple(str(k).strip() for k in keys)
            if any(not n for n in names):
                raise DriveError(f"bindings: {action} has an empty key name")
            table[action] = names
        self._table = table
        self._by_key: dict[str, list[str]] = {}
        for action, keys in table.items():
            for name in keys:
                self._by_key.setdefault(_key(name), []).append(action)

    def keys(self, action: str) -> tuple[str, ...]:
        return self._table[action]

    def actions(self, key: str) -> list[str]:
        return list(self._by_key.get(_key(key), ()))

    def rebind(self, action: str, keys: Iterable[str]) -> Bindings:
        table = dict(self._table)
        table[action] = tuple(keys)
        return Bindings(table)

    def conflicts(self) -> dict[str, list[str]]:
        """Keys bound to more than one action (the bindings editor warns about these)."""
        return {k: list(a) for k, a in self._by_key.items() if len(a) > 1}

    def to_dict(self) -> dict[str, list[str]]:
        return {action: list(keys) for action, keys in self._table.items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @staticmethod
    def from_json(text: str) -> Bindings:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise DriveError("bindings: not valid JSON") from None
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise DriveError("bindings: expected an object of action → list of key names")
        if not all(isinstance(k, str) for v in data.values() for k in v):
            raise DriveError("bindings: key names must be strings")
        # Bindings saved before an action existed give it its default key rather than none.
        missing = {a: list(keys) for a, keys in DEFAULT_BINDINGS.items() if a not in data}
        return Bindings({**missing, **data})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bindings) and self._table == other._table

    def __repr__(self) -> str:
        return f"Bindings({self.to_dict()})"


@dataclass(frozen=True)
class ControlSettings:
    """Speeds and sensitivities the Controls dock edits."""

    move_speed: float = 1.4  # m/s, a walking pace
    vertical_speed: float = 0.8  # m/s
    fast_multiplier: float = 3.0
    mouse_degrees_per_pixel: float = 0.15
    turn_degrees_per_second: float = 120.0  # arrow keys and a full-deflected stick
    pitch_limit_degrees: float = 85.0
    invert_y: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "invert_y" and (not math.isfinite(value) or value < 0):
                raise DriveError(f"control setting {f.name} must be a finite number ≥ 0, got {value}")
        if self.pitch_limit_degrees > 89.9:
            raise DriveError("control setting pitch_limit_degrees must stay below 90")

    def to_dict(self) -> dict[str, float | bool]:
        return asdict(self)

    @staticmethod
    def from_dict(data: Mapping[str, object]) -> ControlSettings:
        known = {f.name for f in fields(ControlSettings)}
        unknown = set(data) - known
        if unknown:
            raise DriveError(f"control settings: unknown {', '.join(sorted(unknown))}")
        try:
            return replace(ControlSettings(), **data)  # type: ignore[arg-type]
        except TypeError as error:
            raise DriveError(f"control settings: {error}") from None


class Controller:
    """Integrates key, mouse and stick input into a head pose. Not thread-safe: GUI thread only."""

    def __init__(
        self,
        home: Pose | None = None,
        bindings: Bindings | None = None,
        settings: ControlSettings | None = None,
    ) -> None:
        self.bindings = bindings or Bindings()
        self.settings = settings or ControlSettings()
        self._held: set[str] = set()
        self._analog = (0.0, 0.0, 0.0, 0.0, 0.0)
        self.hands = HandControl()  # the headset samples it at the hand rate (Headset.hands_driver)
        self.set_home(home or placement())

    # -- placement -------------------------------------------------------------------------------

    def set_home(self, home: Pose) -> None:
        """Where `reset` returns to (the `--at/--yaw` placement); also moves there now."""
        self._home = home
        self.reset()

    def reset(self) -> None:
        yaw, pitch, _ = self._home.yaw_pitch_roll()
        self._position = self._home.position
        self._yaw = math.degrees(yaw)
        self._pitch = self._clamp_pitch(math.degrees(pitch))

    @property
    def yaw_degrees(self) -> float:
        return self._yaw

    @property
    def pitch_degrees(self) -> float:
        return self._pitch

    @property
    def pose(self) -> Pose:
        return Pose(self._position, Quat.from_euler(math.radians(self._yaw), math.radians(self._pitch)))

    # -- input -----------------------------------------------------------------------------------

    def key_down(self, key: str) -> bool:
        """A key was pressed; True when it is bound (so the app can accept the event)."""
        actions = self.bindings.actions(key)
        if not actions:
            return False
        self._held.add(_key(key))
        if "reset" in actions:
            self.reset()
        for action, side in (("raise_right", HandSide.RIGHT), ("raise_left", HandSide.LEFT)):
            if action in actions:
                self.hands.toggle(side)
        return True

    def key_up(self, key: str) -> bool:
        self._held.discard(_key(key))
        return bool(self.bindings.actions(key))

    def release_all(self) -> None:
        """The window lost focus: a key released elsewhere must not keep walking."""
        self._held.clear()
        self._analog = (0.0, 0.0, 0.0, 0.0, 0.0)

    def mouse_look(self, dx_pixels: float, dy_pixels: float) -> None:
        """Turn by a mouse movement in pixels (right-drag or pointer lock), immediately."""
        if not (math.isfinite(dx_pixels) and math.isfinite(dy_pixels)):
            return
        k = self.settings.mouse_degrees_per_pixel
        self._yaw = self._wrap(self._yaw - dx_pixels * k)
        dy = -dy_pixels if self.settings.invert_y else dy_pixels
        self._pitch = self._clamp_pitch(self._pitch - dy * k)

    def mouse_hand(self, dx_pixels: float, dy_pixels: float) -> None:
        """Move the raised hand by a mouse movement (Ctrl held while dragging or pointer-locked)."""
        self.hands.move(dx_pixels, dy_pixels)

    def set_analog(
        self, strafe: float, forward: float, vertical: float = 0.0, look_x: float = 0.0, look_y: float = 0.0
    ) -> None:
        """Held analog input, each -1..1 (a gamepad after its dead zone).

        `strafe` right, `forward` ahead, `vertical` up, `look_x` turn right, `look_y` look up; a
        full deflection moves or turns as fast as the matching key.
        """
        c = [
            max(-1.0, min(1.0, v)) if math.isfinite(v) else 0.0
            for v in (strafe, forward, vertical, look_x, look_y)
        ]
        self._analog = (c[0], c[1], c[2], c[3], c[4])

    # -- integration -----------------------------------------------------------------------------

    def _active(self, action: str) -> bool:
        return any(_key(k) in self._held for k in self.bindings.keys(action))

    def _axis(self, positive: str, negative: str) -> float:
        return float(self._active(positive)) - float(self._active(negative))

    def update(self, dt: float) -> Pose:
        """Advance held keys and sticks by `dt` seconds (clamped to 0..MAX_STEP_S); the new pose."""
        if not math.isfinite(dt):
            raise DriveError(f"controller update with a non-finite step {dt}")
        dt = min(MAX_STEP_S, max(0.0, dt))
        s = self.settings
        strafe_a, forward_a, vertical_a, look_x, look_y = self._analog
        turn = self._axis("turn_left", "turn_right") - look_x
        tilt = self._axis("look_up", "look_down") + (-look_y if s.invert_y else look_y)
        self._yaw = self._wrap(self._yaw + max(-1.0, min(1.0, turn)) * s.turn_degrees_per_second * dt)
        self._pitch = self._clamp_pitch(
            self._pitch + max(-1.0, min(1.0, tilt)) * s.turn_degrees_per_second * dt
        )

        strafe = max(-1.0, min(1.0, self._axis("right", "left") + strafe_a))
        forward = max(-1.0, min(1.0, self._axis("forward", "back") + forward_a))
        vertical = max(-1.0, min(1.0, self._axis("up", "down") + vertical_a))
        # Diagonals are no faster than straight lines.
        planar = math.hypot(strafe, forward)
        if planar > 1.0:
            strafe, forward = strafe / planar, forward / planar
        speed = s.move_speed * (s.fast_multiplier if self._active("fast") else 1.0)
        yaw = math.radians(self._yaw)
        ahead = Vec3(-math.sin(yaw), 0.0, -math.cos(yaw))
        right = Vec3(math.cos(yaw), 0.0, -math.sin(yaw))
        step = (ahead * forward + right * strafe) * (speed * dt)
        step = step + Vec3(0.0, vertical * s.vertical_speed * dt, 0.0)
        self._position = self._position + step
        return self.pose

    def _clamp_pitch(self, pitch: float) -> float:
        limit = self.settings.pitch_limit_degrees
        return max(-limit, min(limit, pitch))

    @staticmethod
    def _wrap(yaw: float) -> float:
        return (yaw + 180.0) % 360.0 - 180.0
