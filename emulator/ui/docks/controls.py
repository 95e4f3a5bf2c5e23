"""Controls dock: raising and shaping the hands, key bindings per action, speeds and sensitivity, the
gamepad and its buttons.

Edits make a new `Bindings`/`ControlSettings` (both immutable) and hand them to the controller; both
are saved in QSettings as JSON, so a bad saved value is refused with a message and the defaults used.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from emulator.drive.controls import ACTIONS, Bindings, Controller, ControlSettings
from emulator.drive.errors import DriveError
from emulator.drive.gamepad import BUTTON_ACTIONS, DEFAULT_BUTTONS
from emulator.drive.hand_controls import HAND_SHAPES
from emulator.model.hands import HandSide

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
        hands_box = self._hands_box(controller)
        keys_box = QGroupBox("Keys (comma-separated, as Qt names them)")
        keys_form = QFormLayout(keys_box)
        for action in ACTIONS:
            edit = QLineEdit(", ".join(controller.bindings.keys(action)))
            edit.editingFinished.connect(self._apply_keys)
            edit.setToolTip(f"Keys that {action.replace('_', ' ')}, comma-separated (e.g. W, Up)")
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
            spin.setToolTip(f"{label.capitalize()}: from {low:g} to {high:g}")
            speed_form.addRow(label, spin)
            self.speeds[name] = spin
        self.invert = QCheckBox("invert look up/down")
        self.invert.setChecked(controller.settings.invert_y)
        self.invert.toggled.connect(self._apply_speeds)
        self.invert.setToolTip("Moving the mouse or stick up looks down, as in a flight simulator")
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
        layout.addWidget(hands_box)
        layout.addWidget(keys_box)
        layout.addWidget(speed_box)
        layout.addWidget(pad_box)
        layout.addStretch(1)

    def _hands_box(self, controller: Controller) -> QGroupBox:
        box = QGroupBox("Hands (Ctrl + mouse moves a raised hand)")
        layout = QVBoxLayout(box)
        raise_row, shape_row = QHBoxLayout(), QHBoxLayout()
        self.raise_buttons: dict[HandSide, QPushButton] = {}
        for side, action in ((HandSide.RIGHT, "raise_right"), (HandSide.LEFT, "raise_left")):
            keys = "/".join(controller.bindings.keys(action))
            button = QPushButton(f"raise {side.name.lower()}" + (f" ({keys})" if keys else ""))
            button.setCheckable(True)
            button.toggled.connect(lambda on, s=side: self.controller.hands.set_raised(s, on))
            button.setToolTip(f"Raise the {side.name.lower()} hand in front of you; Ctrl + mouse moves it")
            raise_row.addWidget(button)
            self.raise_buttons[side] = button
        self.shape_buttons = QButtonGroup(self)
        for name in HAND_SHAPES:
            button = QPushButton(name)
            button.setCheckable(True)
            button.setChecked(name == controller.hands.shape)
            button.clicked.connect(lambda _=False, n=name: self.controller.hands.set_shape(n))
            button.setToolTip(f"Raised hands make the {name} gesture")
            self.shape_buttons.addButton(button)
            shape_row.addWidget(button)
        layout.addLayout(raise_row)
        layout.addLayout(shape_row)
        # Keys and gamepad buttons raise hands too: the buttons follow while the dock is shown.
        self._hands_timer = QTimer(self)
        self._hands_timer.timeout.connect(self.sync_hands)
        self._hands_timer.start(200)
        return box

    def sync_hands(self) -> None:
        if not self.isVisible():
            return
        for side, button in self.raise_buttons.items():
            if button.isChecked() != self.controller.hands.raised[side]:
                button.blockSignals(True)
                button.setChecked(self.controller.hands.raised[side])
                button.blockSignals(False)
        for shape in self.shape_buttons.buttons():
            if shape.text() == self.controller.hands.shape and not shape.isChecked():
                shape.setChecked(True)

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
