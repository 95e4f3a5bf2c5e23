"""The viewport's native GL surface (a QOpenGLWindow in a container) under Xvfb with Mesa llvmpipe.

Frames reach the screen, keys and right-drags made on the native window still steer the head, window
shortcuts still fire while it has the focus, the HUD label is drawn into the view from an image that
is made again only when its text changes, and the old QOpenGLWidget surface still draws the same view.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = [pytest.mark.gui]


@pytest.fixture(scope="module")
def qapp(xvfb_display: str) -> Any:
    """pytest-qt's QApplication, made by the app's own code so the GL format is set first."""
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    from emulator.ui.app import application

    return application()


@pytest.fixture
def window(qapp: Any, qtbot: Any, tmp_path: Path) -> Iterator[Any]:
    import qasync

    from emulator.ui.app import settings
    from emulator.ui.window import MainWindow

    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    window = MainWindow(settings(tmp_path / "settings.ini"), fps=60.0, gamepad=False)
    window.resize(1000, 640)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.viewport.presented > 2, timeout=20000)
        yield window
    finally:
        window.close()
        loop.run_until_complete(asyncio.wait_for(window.closed.wait(), 30))
        loop.close()
        asyncio.set_event_loop(None)


def _rgb(image: Any) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGBX8888)
    data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    rows = data.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 4]
    return rows.reshape(image.height(), image.width(), 4)[:, :, :3].astype(np.int16)


def _on_screen(window: Any) -> np.ndarray:
    """What the X screen shows where the viewport is (native child windows included)."""
    from PySide6.QtGui import QGuiApplication

    viewport = window.viewport
    corner = viewport.mapToGlobal(viewport.rect().topLeft())
    screen = QGuiApplication.primaryScreen()
    return _rgb(screen.grabWindow(0, corner.x(), corner.y(), viewport.width(), viewport.height()).toImage())


def _looks_like_sky(pixels: np.ndarray) -> bool:
    r, _, b = (float(c) for c in pixels.reshape(-1, 3).mean(axis=0))
    return b > 150 and b > r + 30


def test_the_native_surface_presents_frames_to_the_screen(window: Any, qtbot: Any) -> None:
    assert window.viewport.surface_kind == "window"
    qtbot.wait(200)
    shown = _on_screen(window)
    h, w = shown.shape[:2]
    assert _looks_like_sky(shown[h // 8 : h // 4, w // 4 : 3 * w // 4]), "the sky at the top of the view"
    assert not _looks_like_sky(shown[7 * h // 8 :, w // 4 : 3 * w // 4]), "the floor at the bottom"


def test_keys_and_right_drag_on_the_native_window_steer_and_shortcuts_still_fire(
    window: Any, qtbot: Any
) -> None:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest

    surface = window.viewport.surface
    controller = window.session.controller
    yaw = controller.yaw_degrees
    QTest.keyPress(surface, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: controller.yaw_degrees > yaw + 5, timeout=5000)  # turning left while held
    QTest.keyRelease(surface, Qt.Key.Key_Left)
    qtbot.wait(100)
    held = controller.yaw_degrees
    qtbot.wait(300)
    assert controller.yaw_degrees == pytest.approx(held), "released: it stops turning"

    QTest.mousePress(surface, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, QPoint(200, 200))
    QTest.mouseMove(surface, QPoint(260, 200))
    QTest.mouseRelease(surface, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, QPoint(260, 200))
    assert controller.yaw_degrees < held - 1, "dragging right turns the head right"

    assert not window.viewport.stereo
    surface.requestActivate()  # as a click into the view does (there is no window manager here)
    qtbot.waitUntil(lambda: QGuiApplication.focusWindow() is surface, timeout=5000)
    QTest.keyClick(surface, Qt.Key.Key_F2)  # View ▸ Stereo, a main-window shortcut
    qtbot.waitUntil(lambda: window.viewport.stereo, timeout=5000)


def test_the_hud_is_drawn_into_the_view_and_uploaded_only_when_it_changes(window: Any, qtbot: Any) -> None:
    viewport, hud = window.viewport, window.hud
    window._slow.stop()  # the window refreshes the HUD text every 250 ms; hold it still
    before = viewport.hud_uploads
    hud.setText("HUD TEST LINE\nsecond line")
    hud.adjustSize()
    qtbot.waitUntil(lambda: viewport.hud_uploads > before, timeout=5000)
    frames, uploads = viewport.presented, viewport.hud_uploads
    qtbot.waitUntil(lambda: viewport.presented > frames + 10, timeout=10000)
    assert viewport.hud_uploads == uploads, "the same text is not uploaded again every frame"
    hud.setText("HUD TEST LINE\nchanged")
    qtbot.waitUntil(lambda: viewport.hud_uploads == uploads + 1, timeout=5000)

    ratio = viewport.devicePixelRatioF()
    box = _rgb(viewport.grabFramebuffer())[
        round(hud.y() * ratio) + 2 : round((hud.y() + hud.height()) * ratio) - 2,
        round(hud.x() * ratio) + 2 : round((hud.x() + hud.width()) * ratio) - 2,
    ]
    right_of_it = _rgb(viewport.grabFramebuffer())[
        round(hud.y() * ratio) : round((hud.y() + hud.height()) * ratio),
        round((hud.x() + hud.width() + 20) * ratio) : round((hud.x() + hud.width() + 60) * ratio),
    ]
    assert _looks_like_sky(right_of_it)
    # The box takes the palette's window colour (light by default, dark on a dark desktop): it stands
    # apart from the sky either way, and its text contrasts with it.
    brightness = box.sum(axis=2)
    background = float(np.median(brightness))
    assert abs(background - right_of_it.sum(axis=2).mean()) > 100, "a translucent box over the sky"
    assert (np.abs(brightness - background) > 250).sum() > 50, "with text in it"


def test_the_old_widget_surface_draws_the_same_view(window: Any, qtbot: Any) -> None:
    viewport = window.viewport
    window._slow.stop()
    qtbot.wait(100)
    on_window = _on_screen(window)
    viewport.set_surface("widget")
    presented = viewport.presented
    qtbot.waitUntil(lambda: viewport.presented > presented + 3, timeout=10000)
    qtbot.wait(300)  # the old surface is gone by now: its GL must not have taken the new one's with it
    drawn = viewport.frames
    qtbot.waitUntil(lambda: viewport.frames > drawn + 3, timeout=10000)
    assert viewport.surface_kind == "widget"
    assert window.hud.isVisible(), "on the widget surface the HUD is a widget over the view again"
    on_widget = _on_screen(window)
    assert on_widget.shape == on_window.shape
    difference = np.abs(on_widget - on_window).sum(axis=2)
    assert np.mean(difference > 30) < 0.02, "the same sky, floor and HUD on both surfaces"
