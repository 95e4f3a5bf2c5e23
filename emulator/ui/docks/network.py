"""Network dock: the app's own packets through good, wifi, 4g, lossy or custom conditions, live.

The conditions are `emulator/net/conditions.py`'s, the same as `join --net`: loss, one-way delay,
jitter and a rate limit, applied in user space to this headset's datagrams both ways. Applying them
while joined changes the running session at once; they also apply to every later join. The counters
show what the conditioner did (datagrams passed and lost each way), so a user can see it working.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from emulator.net.conditions import PRESETS, ConditionsError, NetConditions, parse_conditions
from emulator.ui.session import AppSession

CUSTOM = "custom"


def _spin(maximum: float, suffix: str, decimals: int = 0) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0.0, maximum)
    spin.setDecimals(decimals)
    spin.setSuffix(suffix)
    return spin


class NetworkPanel(QWidget):
    message = Signal(str)

    def __init__(self, session: AppSession, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.preset = QComboBox()
        for name in PRESETS:
            self.preset.addItem(name, name)
        self.preset.addItem("custom", CUSTOM)
        self.loss = _spin(99.0, " %", 1)
        self.delay = _spin(9999.0, " ms")
        self.jitter = _spin(9999.0, " ms")
        self.rate = _spin(1_000_000.0, " kbit/s")
        self.rate.setSpecialValueText("unlimited")  # 0 means no limit
        self.apply_button = QPushButton("Apply")
        self.apply_button.clicked.connect(self.apply)
        for widget, tip in (
            (self.preset, "Network conditions to emulate: a preset, or custom values below"),
            (self.loss, "The share of packets lost, in per cent"),
            (self.delay, "Extra one-way delay added to every packet"),
            (self.jitter, "Random variation of the delay, plus or minus"),
            (self.rate, "A bandwidth limit; 0 is unlimited"),
            (self.apply_button, "Put these conditions in force now"),
        ):
            widget.setToolTip(tip)
        self.in_force = QLabel()
        self.in_force.setWordWrap(True)
        self.counters = QLabel("not joined")
        self.counters.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Conditions", self.preset)
        form.addRow("Loss", self.loss)
        form.addRow("Delay (one way)", self.delay)
        form.addRow("Jitter (±)", self.jitter)
        form.addRow("Rate", self.rate)
        form.addRow(self.apply_button)
        form.addRow("In force", self.in_force)
        form.addRow("Packets", self.counters)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)
        self.preset.currentIndexChanged.connect(self._preset_chosen)
        saved = str(settings.value("network/spec", "good"))
        try:
            self.show_conditions(parse_conditions(saved))
        except ConditionsError:
            self.show_conditions(PRESETS["good"])
        self.session.tools.set_conditions(self.conditions())
        self._show_in_force()

    def _preset_chosen(self, _index: int) -> None:
        name = str(self.preset.currentData())
        if name in PRESETS:
            self._fill(PRESETS[name])

    def _fill(self, conditions: NetConditions) -> None:
        self.loss.setValue(conditions.loss * 100)
        self.delay.setValue(conditions.delay_s * 1000)
        self.jitter.setValue(conditions.jitter_s * 1000)
        self.rate.setValue(0.0 if conditions.rate_bps is None else conditions.rate_bps / 1000)

    def show_conditions(self, conditions: NetConditions) -> None:
        """Put `conditions` in the controls (not applied until `apply`)."""
        index = self.preset.findData(conditions.name if conditions.name in PRESETS else CUSTOM)
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(max(0, index))
        self.preset.blockSignals(False)
        self._fill(conditions)

    def spec(self) -> str:
        """The controls as a `--net` spec: the preset's name unless a field was changed from it."""
        name = str(self.preset.currentData())
        parts = [f"loss={self.loss.value():g}%", f"delay={self.delay.value():g}ms"]
        parts.append(f"jitter={self.jitter.value():g}ms")
        if self.rate.value() > 0:
            parts.append(f"rate={self.rate.value():g}kbps")
        custom = "custom:" + ",".join(parts)
        if name in PRESETS and _same(parse_conditions(custom), PRESETS[name]):
            return name
        return custom

    def conditions(self) -> NetConditions:
        return parse_conditions(self.spec())

    def apply(self) -> None:
        try:
            conditions = self.conditions()
        except ConditionsError as error:
            self.message.emit(str(error))
            return
        self.settings.setValue("network/spec", self.spec())
        self.session.tools.set_conditions(conditions)
        self.show_conditions(conditions)
        self._show_in_force()
        self.message.emit(f"network {conditions.describe()}")

    def set_spec(self, spec: str) -> None:
        """Fill the controls from a `--net` spec and apply it (ConditionsError if it does not parse)."""
        self.show_conditions(parse_conditions(spec))
        self.apply()

    def _show_in_force(self) -> None:
        self.in_force.setText(self.session.tools.conditions.describe())

    def refresh(self) -> None:
        network = self.session.tools.network
        if network is None:
            self.counters.setText("joined, unimpaired" if self.session.connected else "not joined")
            return
        out, into = network.outgoing.stats, network.incoming.stats
        self.counters.setText(
            f"out: {out.passed} passed, {out.lost + out.queue_drops} lost\n"
            f"in: {into.passed} passed, {into.lost + into.queue_drops} lost"
        )


def _same(a: NetConditions, b: NetConditions) -> bool:
    """The same conditions whatever they are called (the fields went through ms and % text)."""
    pairs = ((a.loss, b.loss), (a.delay_s, b.delay_s), (a.jitter_s, b.jitter_s))
    if any(not math.isclose(x, y, abs_tol=1e-9) for x, y in pairs):
        return False
    if a.rate_bps is None or b.rate_bps is None:
        return a.rate_bps is b.rate_bps
    return math.isclose(a.rate_bps, b.rate_bps, rel_tol=1e-6)
