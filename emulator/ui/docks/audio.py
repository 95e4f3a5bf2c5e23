"""Audio dock: microphone and output device, mute, level meters, HRTF choice and the spatial mode.

The devices apply to the next join (the headset opens them when it starts); the HRTF applies at once
when joined (the ears swap their renderer) and to later joins. The headset's ears
(`emulator/headset/ears.py`) play every remote voice spatialized to the output. The spatial mode is
the room's, not ours: a room started with `--mix binaural` mixes one binaural stream per listener and
says so in `welcome.mode` (emulator/room/SIGNALING.md); a client there must play that mix as it is,
so there is no per-listener choice to offer, and the dock shows which of the two is in force and what
the HRTF is used for in it. The meters show what arrives and what we send (the headset's `VoiceLevel`
events, kept by the session).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from emulator.audio.devices import OutputSpec, list_devices
from emulator.audio.factory import AudioSpec
from emulator.audio.hrtf import HrtfError, HrtfSpec
from emulator.ui.session import AppSession
from emulator.wire.signaling import RoomMode

log = logging.getLogger(__name__)

SILENCE = "silence (send nothing)"
MODE_TEXT: dict[str | None, str] = {
    None: "not joined: the room decides (client-side unless it runs --mix binaural)",
    RoomMode.FORWARD: "client-side: the room forwards each voice; this headset spatializes them with "
    "the HRTF",
    RoomMode.BINAURAL: "server-side: the room sends this listener's binaural mix, played as it is "
    "(the HRTF only places ghosts)",
}


class Meter(QWidget):
    """A level bar. Not a QProgressBar: that repaints synchronously on every change, and with a GL
    viewport in the window each repaint recomposes the whole window (tens of ms on llvmpipe)."""

    def __init__(self) -> None:
        super().__init__()
        self.level = 0.0
        self.setMinimumSize(60, 10)
        self.setMaximumHeight(12)

    def set_level(self, level: float) -> None:
        level = min(1.0, max(0.0, level))
        if abs(level - self.level) >= 0.02:
            self.level = level
            self.update()

    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Base))  # the trough
        width = round(self.width() * self.level)
        colour = QColor(80, 200, 90) if self.level < 0.85 else QColor(230, 80, 60)
        painter.fillRect(0, 0, width, self.height(), colour)
        painter.end()


def _meter() -> Meter:
    return Meter()


def _set(meter: Meter, level: float) -> None:
    meter.set_level(level)


class AudioPanel(QWidget):
    message = Signal(str)

    def __init__(self, session: AppSession, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.input = QComboBox()
        self.output = QComboBox()
        self.input.addItem(SILENCE, "silence")
        self.input.addItem("default microphone", "mic")
        self.output.addItem("default output", "default")
        self.output.addItem("none (meters only)", "")
        try:
            for device in list_devices():
                if device.input_channels:
                    self.input.addItem(device.name, f"mic:{device.name}")
                if device.output_channels:
                    self.output.addItem(device.name, device.name)
        except Exception as error:  # PortAudio missing or broken: the defaults still work
            log.warning("cannot list audio devices: %s", error)
        self._restore(self.input, "audio/input")
        self._restore(self.output, "audio/output")
        self.input.currentIndexChanged.connect(lambda _: self._save(self.input, "audio/input"))
        self.output.currentIndexChanged.connect(lambda _: self._save(self.output, "audio/output"))
        self.mute = QCheckBox("mute microphone")
        self.mute.setToolTip("Send silence instead of the microphone (the others hear nothing)")
        self.input.setToolTip("What the headset sends as its voice: a microphone, or silence")
        self.output.setToolTip("Where the room's voices play, spatialized; none shows only the meters")
        self.mute.toggled.connect(session.set_muted)
        self.hrtf = QComboBox()
        self.hrtf.addItem("MIT KEMAR (bundled)", "")
        self.hrtf.addItem("off (no spatialization)", "off")
        sofa = str(settings.value("audio/sofa", ""))
        if sofa:
            self.hrtf.addItem(sofa, sofa)
        self._restore(self.hrtf, "audio/hrtf")
        self.hrtf.currentIndexChanged.connect(self._hrtf_chosen)
        self.hrtf.setToolTip("The head-related transfer function that places each voice around you")
        self.mirror = QCheckBox("Mirror left/right")
        self.mirror.setToolTip("For a SOFA file whose ears are swapped (the log warns when one looks so)")
        self.mirror.setChecked(str(settings.value("audio/hrtf_mirror", "false")).lower() == "true")
        self.mirror.toggled.connect(self._mirror_toggled)
        pick = QPushButton("SOFA file…")
        pick.clicked.connect(self._pick_sofa)
        pick.setToolTip("Use your own HRTF measurements (a SOFA file)")
        self.mode = QLabel(MODE_TEXT[None])
        self.mode.setWordWrap(True)
        self.mode_shown: RoomMode | None = None
        form = QFormLayout()
        form.addRow("Microphone", self.input)
        form.addRow("Output", self.output)
        form.addRow(self.mute)
        hrtf_row = QHBoxLayout()
        hrtf_row.addWidget(self.hrtf, 1)
        hrtf_row.addWidget(pick)
        form.addRow("HRTF", hrtf_row)
        form.addRow(self.mirror)
        form.addRow("Spatial mode", self.mode)
        self.mic_meter = _meter()
        form.addRow("sent", self.mic_meter)
        self.meters_box = QGroupBox("Received")
        self.meters_form = QFormLayout(self.meters_box)
        self.meters: dict[str, Meter] = {}
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.meters_box)
        layout.addStretch(1)

    def _restore(self, combo: QComboBox, key: str) -> None:
        index = combo.findData(str(self.settings.value(key, combo.itemData(0))))
        if index >= 0:
            combo.setCurrentIndex(index)

    def _save(self, combo: QComboBox, key: str) -> None:
        self.settings.setValue(key, combo.currentData())

    def _hrtf_chosen(self, _index: int) -> None:
        self._save(self.hrtf, "audio/hrtf")
        try:
            self.session.tools.set_hrtf(self.hrtf_spec(), mirror=self.hrtf_mirror())
        except HrtfError as error:
            self.message.emit(f"HRTF: {error}")
            return
        if self.session.connected:
            self.message.emit(f"HRTF: {self.hrtf.currentText()}")

    def _mirror_toggled(self, on: bool) -> None:
        self.settings.setValue("audio/hrtf_mirror", "true" if on else "false")
        self._hrtf_chosen(self.hrtf.currentIndex())

    def hrtf_mirror(self) -> bool:
        return self.mirror.isChecked()

    def room_mode(self) -> RoomMode | None:
        """The joined room's spatial mode (forward or binaural), None when not joined."""
        headset = self.session.headset
        return headset.view.room_mode() if headset is not None else None

    def _pick_sofa(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "HRTF in SOFA format", "", "SOFA files (*.sofa)")
        if path:
            self.settings.setValue("audio/sofa", path)
            self.hrtf.addItem(path, path)
            self.hrtf.setCurrentIndex(self.hrtf.count() - 1)

    # The combos hold only what they offer (a device by its listed name, a file the picker gave), so
    # these parse: a device that went away, or a file that cannot be read, fails when it is opened.
    def audio_spec(self) -> AudioSpec:
        return AudioSpec.parse(str(self.input.currentData() or "silence"))

    def output_spec(self) -> OutputSpec | None:
        data = str(self.output.currentData())
        return OutputSpec.parse(data) if data else None

    def hrtf_spec(self) -> HrtfSpec | None:
        data = str(self.hrtf.currentData())
        return HrtfSpec.parse(data) if data else None

    def refresh(self) -> None:
        mode = self.room_mode()
        if mode != self.mode_shown:
            self.mode_shown = mode
            self.mode.setText(MODE_TEXT.get(mode, f"{mode} (unknown to this version)"))
        _set(self.mic_meter, self.session.sent_level)
        headset = self.session.headset
        names = {p.id: p.name for p in headset.room_state} if headset is not None else {}
        for gone in [i for i in self.meters if i not in names]:
            self.meters_form.removeRow(self.meters.pop(gone))
        for participant_id, name in names.items():
            meter = self.meters.get(participant_id)
            if meter is None:
                meter = self.meters[participant_id] = _meter()
                self.meters_form.addRow(name, meter)
            _set(meter, self.session.levels.get(participant_id, 0.0))
