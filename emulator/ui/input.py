"""The input tick: every ~10 ms the gamepad is polled and the controller integrates held keys and sticks.

The controller must move even when nothing repaints (a minimised window still walks while W is held),
so integration has its own QTimer rather than riding on paintGL. The gamepad is SDL's, polled on the
same GUI thread (SDL's event queue is process-wide; one `Gamepad` per process). Hot-plugging and the
face buttons are reported through signals. Closing stops the timer and releases SDL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from PySide6.QtCore import QObject, QTimer, Signal

from emulator.drive.controls import Controller
from emulator.drive.errors import DriveError
from emulator.drive.gamepad import Gamepad

log = logging.getLogger(__name__)

TICK_MS = 10


class InputTick(QObject):
    gamepad_changed = Signal(str)  # "" when no pad, else the pad's name
    face_preset = Signal(str)

    def __init__(self, controller: Controller, parent: QObject | None = None, gamepad: bool = True) -> None:
        super().__init__(parent)
        self.controller = controller
        self.gamepad: Gamepad | None = None
        if gamepad:
            self.set_buttons(None)
        self._last = time.monotonic()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.tick)
        self._timer.start(TICK_MS)

    def set_buttons(self, buttons: Mapping[str, str] | None) -> None:
        """(Re)open the gamepad with these button → action bindings (None: the defaults)."""
        if self.gamepad is not None:
            self.gamepad.close()
            self.gamepad = None
        try:
            self.gamepad = Gamepad() if buttons is None else Gamepad(buttons=dict(buttons))
        except DriveError as error:
            log.warning("gamepad bindings refused: %s", error)
            self.gamepad = Gamepad()
        if self.gamepad.connected:
            self.gamepad_changed.emit(self.gamepad.name or "gamepad")

    def tick(self) -> None:
        now = time.monotonic()
        dt, self._last = now - self._last, now
        pad = self.gamepad
        if pad is not None and pad.available:
            frame = pad.poll()
            if frame.plugged or frame.unplugged:
                self.gamepad_changed.emit(pad.name or "")
            if frame.connected:
                frame.apply_to(self.controller)
            elif frame.unplugged:
                self.controller.set_analog(0.0, 0.0)
            for preset in frame.face_presets:
                self.face_preset.emit(preset)
        self.controller.update(dt)

    def stop(self) -> None:
        self._timer.stop()
        if self.gamepad is not None:
            self.gamepad.close()
            self.gamepad = None
