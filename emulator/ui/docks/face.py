"""Face dock: the 52 ARKit weights as sliders grouped by region, presets, lip-sync, Live Link CSV.

Moving a slider takes the face over (`AppSession.set_face_override`): the sliders' face is sent until
a driver button (blink, talk, lip-sync, CSV) hands the face back to a driver. Presets neutral, smile
and surprise set the sliders, so a preset can then be adjusted by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from emulator.drive.errors import DriveError
from emulator.drive.faces import PRESETS, Blink, FaceDriver, HeldFace, Talk
from emulator.drive.lipsync import LipSync
from emulator.drive.livelink import load_livelink_csv
from emulator.model.face import ARKIT_NAMES, Face
from emulator.ui.face_tips import FACE_TIPS
from emulator.ui.session import AppSession

SCALE = 100
PRESET_TIPS = {
    "neutral": "A relaxed face: every slider to 0 (Ctrl+1)",
    "smile": "Hold a smile (Ctrl+2)",
    "surprise": "Hold a surprised face: brows up, jaw open (Ctrl+3)",
    "blink": "Blink now and then, as people do (Ctrl+4)",
    "talk": "Move the mouth as if talking, without sound (Ctrl+5)",
}

REGIONS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("Eyes", lambda n: n.startswith("eye")),
    ("Jaw", lambda n: n.startswith("jaw")),
    ("Mouth", lambda n: n.startswith("mouth")),
    ("Brows, cheeks, nose, tongue", lambda n: n.startswith(("brow", "cheek", "nose", "tongue"))),
)


class FacePanel(QWidget):
    message = Signal(str)

    def __init__(self, session: AppSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.sliders: dict[str, QSlider] = {}
        self._quiet = False
        self.lipsync: LipSync | None = None
        presets = QHBoxLayout()
        for name in ("neutral", "smile", "surprise", "blink", "talk"):
            button = QPushButton(name)
            button.clicked.connect(lambda _=False, n=name: self.apply_preset(n))
            button.setToolTip(PRESET_TIPS[name])
            presets.addWidget(button)
        drivers = QHBoxLayout()
        lipsync = QPushButton("Lip-sync from microphone")
        lipsync.clicked.connect(self.use_lipsync)
        lipsync.setToolTip("Move the mouth with what the microphone sends (visemes from the sound)")
        csv = QPushButton("Play Live Link CSV…")
        csv.clicked.connect(self._pick_csv)
        csv.setToolTip("Play a face recorded by the Live Link Face app (its CSV export)")
        drivers.addWidget(lipsync)
        drivers.addWidget(csv)
        groups = QWidget()
        groups_layout = QVBoxLayout(groups)
        for title, belongs in REGIONS:
            box = QGroupBox(title)
            grid = QGridLayout(box)
            for row, name in enumerate(n for n in ARKIT_NAMES if belongs(n)):
                slider = QSlider(Qt.Orientation.Horizontal)
                slider.setRange(0, SCALE)
                slider.setObjectName(name)
                slider.setToolTip(FACE_TIPS[name])
                slider.valueChanged.connect(self._slider_moved)
                grid.addWidget(QLabel(name), row, 0)
                grid.addWidget(slider, row, 1)
                self.sliders[name] = slider
            groups_layout.addWidget(box)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(groups)
        layout = QVBoxLayout(self)
        layout.addLayout(presets)
        layout.addLayout(drivers)
        layout.addWidget(scroll, 1)

    def slider_face(self) -> Face:
        return Face.from_mapping({n: s.value() / SCALE for n, s in self.sliders.items()})

    def _slider_moved(self, _value: int) -> None:
        if not self._quiet:
            self.session.set_face_override(self.slider_face())

    def _set_sliders(self, values: dict[str, float]) -> None:
        self._quiet = True
        try:
            for name, slider in self.sliders.items():
                slider.setValue(round(values.get(name, 0.0) * SCALE))
        finally:
            self._quiet = False

    def set_driver(self, driver: FaceDriver, what: str) -> None:
        self._set_sliders({})
        self.session.set_face_override(None)
        self.session.driver.face = driver
        self.message.emit(f"face: {what}")

    def apply_preset(self, name: str) -> None:
        if name == "blink":
            self.set_driver(Blink(), "blinking")
        elif name == "talk":
            self.set_driver(Talk(), "talking")
        else:
            self.session.driver.face = HeldFace.preset("neutral")
            self._set_sliders(dict(PRESETS[name]))
            self.session.set_face_override(self.slider_face() if name != "neutral" else None)

    def use_lipsync(self) -> None:
        self.lipsync = LipSync()
        self.session.lipsync = self.lipsync
        self.set_driver(self.lipsync, "lip-sync from the microphone")

    def play_csv(self, path: str) -> None:
        try:
            driver = load_livelink_csv(Path(path))  # the picker's file itself, not a spec to parse
        except DriveError as error:
            self.message.emit(f"Live Link CSV: {error}")
            return
        self.set_driver(driver, f"playing {path}")

    def _pick_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Live Link Face CSV", "", "CSV files (*.csv)")
        if path:
            self.play_csv(path)
