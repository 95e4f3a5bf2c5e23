"""Controls dock: key bindings per action, speeds and sensitivity, the gamepad and its buttons.

Edits make a new `Bindings`/`ControlSettings` (both immutable) and hand them to the controller; both
are saved in QSettings as JSON, so a bad saved value is refused with a message and the defaults used.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from emulator.drive.controls import ACTIONS, Bindings, Controller, ControlSettings
from emulator.drive.errors import DriveError
from emulator.drive.gamepad import BUTTON_ACTIONS, DEFAULT_BUTTONS

log = logging.getLogger(__name__)

SPEEDS = (
    ("move_speed", "walk speed (m/s)", 0.1, 10.0),
    ("turn_degrees_per_second", "turn speed (°/s)", 10.0, 720.0),
    ("mouse_degrees_per_pixel", "mouse (°/pixel)", 0.01, 2.0),
)


def load_controls(settings: QSettings) -> tuple[Bindings, ControlSettings, dict[str, str], list[str]]:
    """Saved bindings, speeds and gamepad buttons; problems come back as messages, defaults used."""
    problems: list[str] = []
    bindings, speeds, buttons = Bindings(), ControlSettings(), dict(DEFAULT_BUTTONS)
    try:
        text = settings.value("controls/bindings")
        if text:
            bindings = Bindings.from_json(str(text))
        text = settings.value("controls/settings")
        if text:
            speeds = ControlSettings.from_dict(json.loads(str(text)))
        text = settings.value("controls/buttons")
        if text:
            loaded = json.loads(str(text))
            if isinstance(loaded, dict):
                buttons = {str(k): str(v) for k, v in loaded.items()}
    except (DriveError, ValueError, TypeError) as error:
        problems.append(f"saved controls ignored: {error}")
    return bindings, speeds, buttons, problems


class ControlsPanel(QWidget):
    message = Signal(str)

    def __init__(
        self,
        controller: Controller,
        settings: QSettings,
        on_buttons: Callable[[dict[str, str]], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.settings = settings
        self._on_buttons = on_buttons
        self.keys: dict[str, QLineEdit] = {}
        keys_box = QGroupBox("Keys (comma-separated, as Qt names them)")
        keys_form = QFormLayout(keys_box)
        for action in ACTIONS:
            edit = QLineEdit(", ".join(controller.bindings.keys(action)))
            edit.editingFinished.connect(self._apply_keys)
            keys_form.addRow(action.replace("_", " "), edit)
            self.keys[action] = edit
        speed_box = QGroupBox("Speeds and sensitivity")
        speed_form = QFormLayout(speed_box)
        self.speeds: dict[str, QDoubleSpinBox] = {}
        for name, label, low, high in SPEEDS:
            spin = QDoubleSpinBox()
            spin.setRange(low, high)
            spin.setDecimals(2)
            spin.setSingleStep(low)
            spin.setValue(float(getattr(controller.settings, name)))
            spin.valueChanged.connect(self._apply_speeds)
            speed_form.addRow(label, spin)
            self.speeds[name] = spin
        self.invert = QCheckBox("invert look up/down")
        self.invert.setChecked(controller.settings.invert_y)
        self.invert.toggled.connect(self._apply_speeds)
        speed_form.addRow(self.invert)
        pad_box = QGroupBox("Gamepad (left stick moves, right stick looks, triggers rise and sink)")
        pad_form = QFormLayout(pad_box)
        self.pad_state = QLabel("no gamepad")
        pad_form.addRow(self.pad_state)
        self.buttons = QLineEdit()
        self.buttons.setToolTip("button=action, …; actions: " + ", ".join(BUTTON_ACTIONS))
        self.buttons.editingFinished.connect(self._apply_buttons)
        pad_form.addRow("buttons", self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(keys_box)
        layout.addWidget(speed_box)
        layout.addWidget(pad_box)
        layout.addStretch(1)

    def show_buttons(self, buttons: dict[str, str]) -> None:
        self.buttons.setText(", ".join(f"{b}={a}" for b, a in buttons.items()))

    def show_gamepad(self, name: str) -> None:
        self.pad_state.setText(f"gamepad: {name}" if name else "no gamepad")

    def _apply_keys(self) -> None:
        table = {a: [k.strip() for k in e.text().split(",") if k.strip()] for a, e in self.keys.items()}
        try:
            bindings = Bindings(table)
        except DriveError as error:
            self.message.emit(str(error))
            return
        self.controller.bindings = bindings
        self.settings.setValue("controls/bindings", bindings.to_json())
        clashes = bindings.conflicts()
        if clashes:
            self.message.emit(
                "keys bound twice: " + ", ".join(f"{k} ({'/'.join(a)})" for k, a in clashes.items())
            )

    def _apply_speeds(self) -> None:
        values: dict[str, object] = {name: spin.value() for name, spin in self.speeds.items()}
        values["invert_y"] = self.invert.isChecked()
        try:
            speeds = ControlSettings.from_dict({**self.controller.settings.to_dict(), **values})
        except DriveError as error:
            self.message.emit(str(error))
            return
        self.controller.settings = speeds
        self.settings.setValue("controls/settings", json.dumps(speeds.to_dict()))

    def _apply_buttons(self) -> None:
        buttons: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in self.buttons.text().split(","))):
            button, sep, action = part.partition("=")
            if not sep:
                self.message.emit(f"gamepad buttons: {part!r} is not button=action")
                return
            buttons[button.strip().lower()] = action.strip()
        bad = [a for a in buttons.values() if a not in BUTTON_ACTIONS]
        if bad:
            self.message.emit(f"gamepad buttons: unknown action {bad[0]!r}")
            return
        self.settings.setValue("controls/buttons", json.dumps(buttons))
        self._on_buttons(buttons)
