"""Network dock: the app's own packets through good, wifi, 4g, lossy, commute, cafe-wifi or custom
conditions, live.

The conditions are `emulator/net/transport/conditions.py`'s, the same as `join --net`: loss (independent or in
bursts), one-way delay, jitter, a rate limit, reordering and duplicates, applied in user space to
this headset's datagrams both ways. The time-varying presets follow their seeded schedule, so their
fields show where they start and cannot be edited. Applying them
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

from emulator.net.transport.condition_spec import PRESETS, ConditionsError, NetConditions, parse_conditions
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
        self.burst = _spin(100.0, "", 1)
        self.burst.setSpecialValueText("off")  # 0: each packet lost independently
        self.reorder = _spin(100.0, " %", 1)
        self.duplicate = _spin(100.0, " %", 1)
        self.apply_button = QPushButton("Apply")
        self.apply_button.clicked.connect(self.apply)
        for widget, tip in (
            (self.preset, "Network conditions to emulate: a preset, or custom values below"),
            (self.loss, "The share of packets lost, in per cent"),
            (self.delay, "Extra one-way delay added to every packet"),
            (self.jitter, "Random variation of the delay, plus or minus"),
            (self.rate, "A bandwidth limit; 0 is unlimited"),
            (self.burst, "Mean length of a loss burst in packets (Gilbert-Elliott); off: independent losses"),
            (self.reorder, "The share of packets held back so that later ones overtake them"),
            (self.duplicate, "The share of packets delivered twice"),
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
        form.addRow("Burst (packets)", self.burst)
        form.addRow("Delay (one way)", self.delay)
        form.addRow("Jitter (±)", self.jitter)
        form.addRow("Rate", self.rate)
        form.addRow("Reorder", self.reorder)
        form.addRow("Duplicate", self.duplicate)
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
        self.burst.setValue(0.0 if conditions.burst is None else conditions.burst)
        self.delay.setValue(conditions.delay_s * 1000)
        self.jitter.setValue(conditions.jitter_s * 1000)
        self.rate.setValue(0.0 if conditions.rate_bps is None else conditions.rate_bps / 1000)
        self.reorder.setValue(conditions.reorder * 100)
        self.duplicate.setValue(conditions.duplicate * 100)
        for spin in (self.loss, self.burst, self.delay, self.jitter, self.rate, self.reorder, self.duplicate):
            spin.setEnabled(conditions.varying is None)  # a schedule's figures change by themselves

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
        if name in PRESETS and PRESETS[name].varying is not None:
            return name
        parts = [f"loss={self.loss.value():g}%", f"delay={self.delay.value():g}ms"]
        parts.append(f"jitter={self.jitter.value():g}ms")
        if self.rate.value() > 0:
            parts.append(f"rate={self.rate.value():g}kbps")
        if self.burst.value() > 0:
            parts.append(f"burst={self.burst.value():g}")
        for key, spin in (("reorder", self.reorder), ("duplicate", self.duplicate)):
            if spin.value() > 0:
                parts.append(f"{key}={spin.value():g}%")
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
            self.message.emit(f"Network conditions not applied: {error}")
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
        lines = []
        for way, stats in (("out", network.outgoing.stats), ("in", network.incoming.stats)):
            line = f"{way}: {stats.passed} passed, {stats.lost + stats.queue_drops} lost"
            if stats.reordered or stats.duplicated:
                line += f", {stats.reordered} reordered, {stats.duplicated} duplicated"
            lines.append(line)
        self.counters.setText("\n".join(lines))


def _same(a: NetConditions, b: NetConditions) -> bool:
    """The same conditions whatever they are called (the fields went through ms and % text)."""
    pairs = [(a.loss, b.loss), (a.delay_s, b.delay_s), (a.jitter_s, b.jitter_s), (a.reorder, b.reorder)]
    pairs += [(a.duplicate, b.duplicate), (a.burst or 0.0, b.burst or 0.0)]
    if a.varying != b.varying or any(not math.isclose(x, y, abs_tol=1e-9) for x, y in pairs):
        return False
    if a.rate_bps is None or b.rate_bps is None:
        return a.rate_bps is b.rate_bps
    return math.isclose(a.rate_bps, b.rate_bps, rel_tol=1e-6)
