"""Issue 19's demo proofs, on the suite's 1366×768 Xvfb screen (tests/support/xvfb.py).

The window opens with its default docks and no size set by the test: it must fit the screen's
available geometry and give the viewport most of its width; View → Reset layout brings the default
back after the docks were moved; a layout saved by the old default is not restored. The demo's room
and bots run in their child process (demo_room.py) as `headset-emulator demo` runs them: in the first
frame with both bots drawn, each one's bounds cover at least 1% of the viewport and it faces the user,
measured with the render's own projection (render/framing.py). The child ends with the app: when
the window closes, on Ctrl+C, and when the app is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.audio.factory import AudioSpec
from emulator.cli.demo_bots import ROOM
from emulator.headset import HeadsetConfig
from emulator.model.pose import Pose
from tests.support.processes import stop_group
from tests.support.room import cli, cli_env

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def _fits(window: Any) -> None:
    screen = window.screen().availableGeometry()
    frame = window.frameGeometry()
    assert screen.contains(frame), (frame, screen)
    share = window.viewport.width() / window.width()
    assert share >= 0.55, f"the viewport has {share:.0%} of the window's width"


def _docks_on_the_right_tabbed(window: Any) -> None:
    from PySide6.QtCore import Qt

    for title, dock in window.docks.items():
        assert not dock.isFloating(), title
        assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea, title
    first = window.docks["Connect"]
    assert set(window.tabifiedDockWidgets(first)) == {d for d in window.docks.values() if d is not first}
    _tab_titles_whole(window)


def _tab_titles_whole(window: Any) -> None:
    """Every dock's tab shows its whole title, and every tab lies inside the column."""
    from PySide6.QtWidgets import QTabBar

    bars = [b for b in window.findChildren(QTabBar) if b.parent() is window and b.isVisible()]
    (bar,) = [b for b in bars if "Connect" in [b.tabText(i) for i in range(b.count())]]
    titles = [bar.tabText(i) for i in range(bar.count())]
    assert sorted(titles) == sorted(window.docks), titles
    for i, title in enumerate(titles):
        needed = bar.fontMetrics().horizontalAdvance(title)
        rect = bar.tabRect(i)
        assert rect.width() >= needed, f"the {title!r} tab is {rect.width()} px, its title needs {needed}"
        assert rect.right() <= bar.width(), f"the {title!r} tab ends past the dock column"


@contextlib.contextmanager
def _loop(qapp: Any) -> Iterator[asyncio.AbstractEventLoop]:
    import qasync

    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def _close(loop: asyncio.AbstractEventLoop, window: Any) -> None:
    if not window.closed.is_set():
        window.close()
        loop.run_until_complete(asyncio.wait_for(window.closed.wait(), 30))
    window.deleteLater()


def _pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_window_fits_a_laptop_screen_and_reset_layout_restores_the_default(
    qapp: Any, qtbot: Any, tmp_path: Path
) -> None:
    from PySide6.QtCore import Qt

    from emulator.ui.app import settings
    from emulator.ui.window import MainWindow

    assert qapp.primaryScreen().availableGeometry().size().toTuple() == (1366, 768)
    with _loop(qapp) as loop:
        window = MainWindow(settings(tmp_path / "settings.ini"), fps=30.0, gamepad=False)
        window.show()
        try:
            qtbot.waitUntil(lambda: window.viewport.frames > 0, timeout=20000)
            _fits(window)
            _docks_on_the_right_tabbed(window)
            assert window.minimumSizeHint().height() < 768 - 48, "the docks' minimum is not their sum"

            # Move docks about, as a user would, then View → Reset layout.
            window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.docks["Stats"])
            window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, window.docks["Face"])
            window.docks["Audio"].setFloating(True)
            window.resize(600, 400)
            qtbot.waitUntil(lambda: window.viewport.width() < 400, timeout=5000)
            reset = next(a for a in window.menuBar().actions() if a.text() == "&View").menu()
            next(a for a in reset.actions() if a.text() == "Reset &layout").trigger()
            qtbot.waitUntil(lambda: window.viewport.width() >= 0.55 * window.width(), timeout=5000)
            qtbot.waitUntil(lambda: window.docks["Connect"].width() > 400, timeout=5000)
            _fits(window)
            _docks_on_the_right_tabbed(window)
            assert window.width() > 1000

            # A layout saved by the old default (no version: docks on the left) gives way to the new one.
            window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.docks["Connect"])
            old = settings(tmp_path / "old.ini")
            old.setValue("window/state", window.saveState())
            old.setValue("window/geometry", window.saveGeometry())
            old.sync()
        finally:
            _close(loop, window)
        again = MainWindow(settings(tmp_path / "old.ini"), fps=30.0, gamepad=False)
        again.show()
        try:
            qtbot.waitUntil(lambda: again.viewport.frames > 0, timeout=20000)
            _docks_on_the_right_tabbed(again)
            _fits(again)
        finally:
            _close(loop, again)
    qapp.processEvents()


async def _demo_in_the_window(window: Any, tmp_path: Path) -> None:
    from emulator.cli.demo import both_faces
    from emulator.cli.demo_bots import BOTS
    from emulator.cli.demo_room import DemoProcess

    secret = secrets.token_urlsafe(24)
    background = DemoProcess(len(BOTS), secret)
    try:
        await background.start()
        assert background.pid is not None and _pid_alive(background.pid)
        config = HeadsetConfig(
            background.url,
            ROOM,
            "me",
            placement=Pose.at(0.0, 1.6, 0.0),
            secret=secret,
            audio=AudioSpec.parse("silence"),
        )
        assert await window.join(config), window.statusBar().currentMessage()
        deadline = time.monotonic() + 60
        while window.viewport.avatars_drawn < len(BOTS):
            assert time.monotonic() < deadline, "the bots were not drawn"
            assert background.failure() is None, background.failure()
            await asyncio.sleep(0.02)
        first = {f.name: f for f in window.viewport.framing()}  # the frame just drawn, as the render sees it
        assert set(first) == {bot.name for bot in BOTS}
        for name, framing in first.items():
            assert framing.coverage >= 0.01, f"{name} covers {framing.coverage:.2%} of the viewport"
            assert framing.faces_camera(45.0), f"{name} faces {framing.facing_deg:.0f}° away from the user"
            assert 1.0 <= framing.distance_m <= 3.0, f"{name} stands {framing.distance_m:.2f} m away"
        assert both_faces(window, len(BOTS))
        _fits(window)
        # The HUD's round trip comes from the state stream with the bots in their own process.
        deadline = time.monotonic() + 20
        while window.round_trip_ms() is None:
            assert time.monotonic() < deadline, "no round trip to the bots"
            await asyncio.sleep(0.1)
        await window.session.leave()
    finally:
        pid = background.pid
        await background.stop()
    assert pid is not None and not _pid_alive(pid), "the demo's child outlived the app's stop"


def test_the_demo_shows_both_faces_in_the_first_frame(qapp: Any, qtbot: Any, tmp_path: Path) -> None:
    from emulator.ui.app import settings
    from emulator.ui.window import MainWindow

    with _loop(qapp) as loop:
        window = MainWindow(settings(tmp_path / "settings.ini"), fps=30.0, gamepad=False)
        window.show()
        try:
            loop.run_until_complete(asyncio.wait_for(window.viewport.first_frame(), 30))
            window.viewport.preload()
            loop.run_until_complete(asyncio.wait_for(_demo_in_the_window(window, tmp_path), 150))
        finally:
            _close(loop, window)
    qapp.processEvents()


def _start_demo(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`headset-emulator demo` as a user starts it; returns it and its room child once faces show."""
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            cli("demo", "--settings", str(tmp_path / "settings.ini")),
            env=dict(cli_env(tmp_path), QT_QPA_PLATFORM="xcb"),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 120
    while "first frame with 2 faces" not in log.read_text(errors="replace"):
        if time.monotonic() > deadline or process.poll() is not None:
            stop_group(process)
            pytest.fail(f"the demo did not show both faces: {log.read_text(errors='replace')[-1500:]}")
        time.sleep(0.2)
    children = [
        int(pid)
        for task in Path(f"/proc/{process.pid}/task").iterdir()
        for pid in (task / "children").read_text().split()
    ]
    assert len(children) == 1, children
    return process, children[0]


@pytest.mark.parametrize("how", ["ctrl-c", "killed"])
def test_the_demo_child_ends_with_the_app(how: str, tmp_path: Path) -> None:
    process, child = _start_demo(tmp_path)
    try:
        os.kill(process.pid, signal.SIGINT if how == "ctrl-c" else signal.SIGKILL)
        code = process.wait(timeout=60)
        assert code == (0 if how == "ctrl-c" else -signal.SIGKILL)
        deadline = time.monotonic() + 20
        while _pid_alive(child):
            assert time.monotonic() < deadline, f"the room child {child} outlived the app ({how})"
            time.sleep(0.1)
    finally:
        if process.poll() is None:
            stop_group(process)
        if _pid_alive(child):
            os.kill(child, signal.SIGKILL)
