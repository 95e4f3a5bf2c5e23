"""A bad value given to a dock is reported in the app's words: the control's name, then what the value's
own parser said (which names the value), never a command-line option."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emulator.ui.app import settings


def test_a_live_link_csv_that_cannot_be_read_is_reported_by_the_face_dock(qapp: Any, tmp_path: Path) -> None:
    from emulator.ui.docks.face import FacePanel
    from emulator.ui.session import AppSession

    panel = FacePanel(AppSession())
    said: list[str] = []
    panel.message.connect(said.append)
    try:
        missing = tmp_path / "take,once.csv"  # a file the picker gave: its name is not read as a spec
        panel.play_csv(str(missing))
        assert len(said) == 1 and said[0].startswith("Live Link CSV: cannot read face CSV "), said
        assert str(missing) in said[0] and "--" not in said[0]
    finally:
        panel.deleteLater()
    qapp.processEvents()


def test_network_conditions_out_of_range_are_reported_by_the_network_dock(qapp: Any, tmp_path: Path) -> None:
    from emulator.ui.docks.network import NetworkPanel
    from emulator.ui.session import AppSession

    panel = NetworkPanel(AppSession(), settings(tmp_path / "settings.ini"))
    said: list[str] = []
    panel.message.connect(said.append)
    try:
        panel.preset.setCurrentIndex(panel.preset.findData("custom"))
        panel.rate.setValue(4.0)  # kbit/s: below what a voice needs, so the conditions refuse it
        panel.apply()
        assert len(said) == 1, said
        assert said[0].startswith("Network conditions not applied: network 'custom:"), said
        assert said[0].endswith("rate must be at least 8kbps") and "--" not in said[0]
    finally:
        panel.deleteLater()
    qapp.processEvents()
