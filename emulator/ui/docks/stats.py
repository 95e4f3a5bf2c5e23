"""Stats dock: pyqtgraph live plots, one per figure, one curve per participant (see `stats_model`).

A plot with nothing to show is replaced by a line saying why (`StatsCollector.why_empty`), so an
empty frame is never mistaken for a figure of zero.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from emulator.render.scene import TINTS
from emulator.ui.stats_model import METRICS, OUT, StatsCollector
from emulator.ui.theme import colour_plot


class StatsPanel(QWidget):
    def __init__(self, collector: StatsCollector, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.collector = collector
        self.plots: dict[str, pg.PlotWidget] = {}
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.empty: dict[str, QLabel] = {}  # metric → the line shown instead of its empty plot
        layout = QVBoxLayout(self)
        for metric, title in METRICS:
            note = QLabel()
            note.setWordWrap(True)
            note.setObjectName(f"empty-{metric}")
            self.empty[metric] = note
            layout.addWidget(note)
            plot = pg.PlotWidget(title=title)
            plot.setMinimumHeight(110)
            plot.showGrid(x=True, y=True, alpha=0.3)
            plot.addLegend(offset=(5, 5))
            plot.setToolTip(f"{title} per participant; drag to pan, wheel to zoom, right-click for options")
            self.plots[metric] = plot
            layout.addWidget(plot)
        layout.addStretch(1)
        self._colours: dict[str, tuple[int, int, int]] = {}
        self.apply_palette()
        self.show_empty()

    def apply_palette(self) -> None:
        for metric, title in METRICS:
            colour_plot(self.plots[metric], self.palette(), title)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self.apply_palette()
        super().changeEvent(event)

    def _colour(self, key: str) -> tuple[int, int, int]:
        if key not in self._colours:
            tint = (0.8, 0.8, 0.8) if key == OUT else TINTS[len(self._colours) % len(TINTS)]
            self._colours[key] = (round(tint[0] * 255), round(tint[1] * 255), round(tint[2] * 255))
        return self._colours[key]

    def refresh(self, now: float) -> None:
        """Redraw every curve from the collector (x: seconds before now)."""
        for key, series in self.collector.series.items():
            for metric, points in series.points.items():
                curve = self.curves.get((key, metric))
                if curve is None:
                    curve = self.plots[metric].plot(
                        name=series.name, pen=pg.mkPen(self._colour(key), width=2)
                    )
                    self.curves[(key, metric)] = curve
                xs = [t - now for t, _ in points]
                ys = [v for _, v in points]
                curve.setData(xs, ys)
        for (key, metric), curve in list(self.curves.items()):
            if key not in self.collector.series:
                self.plots[metric].removeItem(curve)
                del self.curves[(key, metric)]
        self.show_empty()

    def show_empty(self) -> None:
        """Each plot, or in its place the reason it has nothing to show."""
        for metric, title in METRICS:
            reason = self.collector.why_empty(metric)
            self.plots[metric].setVisible(reason is None)
            self.empty[metric].setVisible(reason is not None)
            if reason is not None:
                self.empty[metric].setText(f"<b>{title}</b>: {reason}")

    def point_count(self) -> int:
        """How many points the plots show (the GUI test checks that the plots fill)."""
        total = 0
        for curve in self.curves.values():
            xs, _ = curve.getData()
            total += 0 if xs is None else len(xs)
        return total
