"""Participants dock: everyone else in the room with distance, speaking level, loss and round trip."""

from __future__ import annotations

from PySide6.QtWidgets import QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from emulator.ui.session import AppSession
from emulator.ui.stats_model import StatsCollector

COLUMNS = ("name", "profile", "distance (m)", "speaking", "loss (%)", "round trip (ms)")


def _text(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


class ParticipantsPanel(QWidget):
    def __init__(self, session: AppSession, collector: StatsCollector, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.collector = collector
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setToolTip("Everyone else in the room, with what this headset receives from each")
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)

    def refresh(self) -> None:
        headset = self.session.headset
        people = list(headset.room_state) if headset is not None else []
        me = self.session.controller.pose.position
        self.table.setRowCount(len(people))
        for row, p in enumerate(people):
            series = self.collector.series.get(p.id)
            distance = None if p.pose is None else (p.pose.position - me).length()
            level = self.session.levels.get(p.id, 0.0)
            values = (
                p.name,
                p.profile,
                _text(distance, 2),
                "█" * round(level * 8) or "·",
                _text(series.latest("loss_pct") if series else None),
                _text(series.latest("round_trip_ms") if series else None),
            )
            for column, text in enumerate(values):
                item = self.table.item(row, column)
                if item is None:
                    self.table.setItem(row, column, QTableWidgetItem(text))
                else:
                    item.setText(text)
