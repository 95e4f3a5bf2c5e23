"""Issue 21's "the app as a Qt user expects", proved on the suite's Xvfb screen with the real window.

A join to a room nobody serves puts a banner in the Connect dock that outlives the status bar's
message and goes only when dismissed; an exception in a Qt slot, a session task or a loop callback,
under `ui.app.run` as the program runs, opens the error dialog whose Copy details puts the traceback
on the clipboard; the window has its icon and desktop file name; every control in every dock has a
tooltip; a dark palette reaches the plots and the HUD; the recordings folder chosen is remembered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.room import free_port

pytestmark = [pytest.mark.gui]

REPO = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def shown_window(qapp: Any, tmp_path: Path, settings_name: str = "settings.ini") -> Iterator[Any]:
    """The main window on a qasync loop, closed (leaving nothing running) afterwards."""
    import qasync

    from emulator.ui.app import settings
    from emulator.ui.window import MainWindow

    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    window = MainWindow(settings(tmp_path / settings_name), fps=10.0, gamepad=False)
    window.show()
    try:
        yield window
    finally:
        if not window.closed.is_set():
            window.close()
            loop.run_until_complete(asyncio.wait_for(window.closed.wait(), 30))
        window.deleteLater()
        qapp.processEvents()
        loop.close()
        asyncio.set_event_loop(None)


def run_for(seconds: float) -> None:
    asyncio.get_event_loop().run_until_complete(asyncio.sleep(seconds))


def run_until(condition: Any, what: str, timeout: float = 30.0) -> None:
    """Run the loop (the app's tasks need it running) until `condition()` holds."""

    async def wait() -> None:
        for _ in range(int(timeout / 0.05)):
            if condition():
                return
            await asyncio.sleep(0.05)
        pytest.fail(f"gave up waiting: {what}")

    asyncio.get_event_loop().run_until_complete(wait())


def test_the_window_has_an_icon_and_the_desktop_file_name(qapp: Any, tmp_path: Path) -> None:
    from PySide6.QtGui import QGuiApplication

    with shown_window(qapp, tmp_path) as window:
        assert not window.windowIcon().isNull()
        assert window.windowIcon().availableSizes(), "the icon file was not found"
        name = QGuiApplication.desktopFileName()
    assert name == "headset-emulator"
    entry = (REPO / "packaging" / f"{name}.desktop").read_text()
    assert "Icon=headset-emulator" in entry


def test_a_join_to_a_dead_room_shows_a_banner_that_stays_until_dismissed(
    qapp: Any, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtCore import Qt

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with shown_window(qapp, tmp_path) as window:
        panel, banner = window.connect_panel, window.connect_panel.banner
        assert banner.isHidden()
        window.docks["Stats"].raise_()  # the user is looking elsewhere
        panel.url.setText(f"ws://127.0.0.1:{free_port()}/ws")  # nothing listens there
        qtbot.mouseClick(panel.join_button, Qt.MouseButton.LeftButton)
        run_until(banner.isVisible, "the banner, in front")  # the Connect dock came forward
        assert "could not join" in banner.error.text()
        assert "check the Server address" in banner.hint.text()
        assert window.session.state == "disconnected" and panel.join_button.isEnabled()

        run_for(16.0)  # longer than the status bar keeps an error
        assert "error" not in window.statusBar().currentMessage()
        assert banner.isVisible() and "could not join" in banner.error.text()

        qtbot.mouseClick(banner.close_button, Qt.MouseButton.LeftButton)
        assert banner.isHidden()


def _boom_in_slot() -> None:
    raise ValueError("boom in a slot")


async def _boom_in_task() -> None:
    await asyncio.sleep(0)
    raise RuntimeError("boom in a task")


def _boom_in_callback() -> None:
    raise KeyError("boom in a callback")


@pytest.mark.qt_no_exception_capture
def test_unexpected_exceptions_open_a_dialog_whose_copy_puts_the_traceback_on_the_clipboard(
    qapp: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Under `run`, as the program runs: a slot, a session task and a loop callback raise."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QGuiApplication

    from emulator.ui import app
    from emulator.ui.crash import ErrorDialog
    from emulator.ui.session import AppSession

    seen: dict[str, str] = {}

    def dialog() -> ErrorDialog | None:
        found = [w for w in qapp.topLevelWidgets() if isinstance(w, ErrorDialog) and w.isVisible()]
        return found[0] if found else None

    async def until(what: str, condition: Any) -> None:
        for _ in range(200):
            if condition():
                return
            await asyncio.sleep(0.05)
        pytest.fail(f"gave up waiting: {what}")

    async def main(_app: Any) -> int:
        QTimer.singleShot(0, _boom_in_slot)
        await until("a dialog for the slot", lambda: dialog() is not None)
        shown = dialog()
        assert shown is not None
        seen["summary slot"] = shown.summary.text()
        shown.copy_button.click()
        seen["clipboard slot"] = QGuiApplication.clipboard().text()
        shown.close()

        session = AppSession()
        session.spawn(_boom_in_task(), "boom")
        await until("a dialog for the task", lambda: dialog() is not None)
        shown = dialog()
        assert shown is not None
        seen["summary task"] = shown.summary.text()
        asyncio.get_running_loop().call_soon(_boom_in_callback)
        await until("the callback's error", lambda: shown.count == 3)
        shown.copy_button.click()
        seen["clipboard all"] = QGuiApplication.clipboard().text()
        shown.close()
        shown.deleteLater()
        await session.stop()
        return 0

    with caplog.at_level(logging.ERROR):
        assert app.run(main) == 0
    assert "ValueError: boom in a slot" in seen["summary slot"]
    assert "Traceback" in seen["clipboard slot"] and "_boom_in_slot" in seen["clipboard slot"]
    assert "RuntimeError: boom in a task" in seen["summary task"]
    for where in ("_boom_in_slot", "_boom_in_task", "app-boom", "_boom_in_callback", "boom in a callback"):
        assert where in seen["clipboard all"], where
    logged = caplog.text  # each one is logged too
    for message in ("boom in a slot", "boom in a task", "boom in a callback"):
        assert message in logged, message


def _without_tooltip(root: Any) -> list[str]:
    """Interactive widgets under `root` without a tooltip (a control's own parts are not walked)."""
    import pyqtgraph as pg
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QAbstractSlider,
        QAbstractSpinBox,
        QComboBox,
        QLineEdit,
        QScrollBar,
        QWidget,
    )

    controls = (
        QAbstractButton,
        QComboBox,
        QLineEdit,
        QAbstractSpinBox,
        QAbstractSlider,
        QAbstractItemView,
        pg.PlotWidget,
    )
    missing: list[str] = []
    for child in root.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly):
        if isinstance(child, QScrollBar):
            continue
        if isinstance(child, controls):
            if not child.toolTip().strip():
                label = getattr(child, "text", lambda: "")() if isinstance(child, QAbstractButton) else ""
                missing.append(f"{type(child).__name__} {child.objectName() or label!r}")
            continue
        missing.extend(_without_tooltip(child))
    return missing


def test_every_control_in_every_dock_has_a_tooltip(qapp: Any, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QSlider

    with shown_window(qapp, tmp_path) as window:
        missing = {title: _without_tooltip(dock.widget()) for title, dock in window.docks.items()}
        sliders = window.face_panel.findChildren(QSlider)
        tips = {s.objectName(): s.toolTip() for s in sliders}
    assert not any(missing.values()), {t: m for t, m in missing.items() if m}
    assert len(tips) == 52
    for name, tip in tips.items():
        assert tip.startswith(f"{name}: ") and len(tip) > len(name) + 12, tip
    assert len(set(tips.values())) == 52
    assert "closes the left eyelid" in tips["eyeBlinkLeft"]


def test_a_dark_palette_reaches_the_plots_and_the_hud(qapp: Any, tmp_path: Path) -> None:
    from PySide6.QtGui import QColor, QPalette

    dark = QPalette(qapp.palette())
    for role, colour in (
        (QPalette.ColorRole.Window, "#202124"),
        (QPalette.ColorRole.WindowText, "#e8eaed"),
        (QPalette.ColorRole.Base, "#17181a"),
        (QPalette.ColorRole.Text, "#dadce0"),
    ):
        dark.setColor(role, QColor(colour))
    light = QPalette(qapp.palette())
    with shown_window(qapp, tmp_path) as window:
        plot = window.stats_panel.plots["round_trip_ms"]
        assert plot.backgroundBrush().color().name() == light.color(QPalette.ColorRole.Base).name()
        qapp.setPalette(dark)
        try:
            qapp.processEvents()
            assert plot.backgroundBrush().color().name() == "#17181a"
            assert plot.getAxis("left").textPen().color().name() == "#dadce0"
            style = window.hud.styleSheet()
            assert "color: #e8eaed" in style and "rgba(32, 33, 36," in style
            # What a user sees: the plot, grabbed, is dark.
            plot.show()
            image = plot.grab().toImage()
            assert image.pixelColor(image.width() - 3, image.height() // 2).lightness() < 64
        finally:
            qapp.setPalette(light)
            qapp.processEvents()
        assert plot.backgroundBrush().color().name() == light.color(QPalette.ColorRole.Base).name()


def test_the_recordings_folder_chosen_is_remembered(qapp: Any, tmp_path: Path) -> None:
    chosen = tmp_path / "my recordings"
    with shown_window(qapp, tmp_path) as window:
        file_menu = next(a for a in window.menuBar().actions() if a.text() == "&File").menu()
        assert any(a.text() == "Recordings &folder…" for a in file_menu.actions())
        window.qa.set_folder(chosen)
        assert window.qa.folder() == chosen
    with shown_window(qapp, tmp_path) as again:
        assert again.qa.folder() == chosen
