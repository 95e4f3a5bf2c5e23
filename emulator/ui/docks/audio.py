"""Audio dock: microphone and output device, mute, level meters, HRTF choice and spatial mode.

The devices and the HRTF apply to the next join (the headset opens them when it starts); the headset's
ears (`emulator/headset/ears.py`) play every remote voice spatialized to the output. The meters show
what arrives (each remote's blocks from `Voice.listeners`) and what we send.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from emulator.audio.devices import list_devices
from emulator.ui.session import AppSession

log = logging.getLogger(__name__)

SILENCE = "silence (send nothing)"


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
        painter.fillRect(self.rect(), QColor(40, 40, 40))
        width = round(self.width() * self.level)
        colour = QColor(80, 200, 90) if self.level < 0.85 else QColor(230, 80, 60)
        painter.fillRect(0, 0, width, self.height(), colour)
        painter.end()


def _meter() -> Meter:
    return Meter()


def _set(meter: Meter, level: float) -> None:
    meter.set_level(level)


class AudioPanel(QWidget):
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
        self.mute.toggled.connect(session.set_muted)
        self.hrtf = QComboBox()
        self.hrtf.addItem("MIT KEMAR (bundled)", "")
        self.hrtf.addItem("off (no spatialization)", "off")
        sofa = str(settings.value("audio/sofa", ""))
        if sofa:
            self.hrtf.addItem(sofa, sofa)
        self._restore(self.hrtf, "audio/hrtf")
        self.hrtf.currentIndexChanged.connect(lambda _: self._save(self.hrtf, "audio/hrtf"))
        pick = QPushButton("SOFA file…")
        pick.clicked.connect(self._pick_sofa)
        self.mode = QComboBox()
        self.mode.addItem("client-side (each receiver spatializes)", "client")
        self.mode.addItem("server-side (the room mixes per listener)", "server")
        self._restore(self.mode, "audio/mode")
        self.mode.currentIndexChanged.connect(lambda _: self._save(self.mode, "audio/mode"))
        form = QFormLayout()
        form.addRow("Microphone", self.input)
        form.addRow("Output", self.output)
        form.addRow(self.mute)
        hrtf_row = QHBoxLayout()
        hrtf_row.addWidget(self.hrtf, 1)
        hrtf_row.addWidget(pick)
        form.addRow("HRTF", hrtf_row)
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

    def _pick_sofa(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "HRTF in SOFA format", "", "SOFA files (*.sofa)")
        if path:
            self.settings.setValue("audio/sofa", path)
            self.hrtf.addItem(path, path)
            self.hrtf.setCurrentIndex(self.hrtf.count() - 1)

    def audio_spec(self) -> str:
        return str(self.input.currentData() or "silence")

    def output_spec(self) -> str | None:
        return str(self.output.currentData()) or None

    def hrtf_spec(self) -> str | None:
        return str(self.hrtf.currentData()) or None

    def refresh(self) -> None:
        source = self.session.source
        _set(self.mic_meter, source.level if source else 0.0)
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
