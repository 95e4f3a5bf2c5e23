"""Starting Qt for the app: the OpenGL format, the QApplication, and one loop shared with asyncio.

The default QSurfaceFormat (OpenGL 3.3 core, 24-bit depth) must be set before the QApplication exists,
or the viewport's context is a compatibility one the renderer cannot use. The loop is qasync's
QEventLoop: aiortc needs UDP endpoints, which PySide6's own QtAsyncio cannot create yet. All network
work and all painting then run on this one thread, so painting can read the room state without locks
and never waits on the network.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import qasync
from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QSurfaceFormat
from PySide6.QtWidgets import QApplication

from emulator.ui.crash import ErrorReporter
from emulator.ui.refcount import NoneKeeper

ORGANIZATION = "headset-emulator"
APPLICATION = "headset-emulator"
DESKTOP_FILE = "headset-emulator"  # packaging/headset-emulator.desktop: docks and taskbars group by it
ICON = Path(__file__).resolve().parent / "icons" / "headset-emulator.png"
_keepers: list[NoneKeeper] = []


def display_problem() -> str | None:
    """Why no window can open here, or None. Checked before Qt, which would abort the process."""
    if os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "no display (DISPLAY is not set): run it on a desktop, or under Xvfb: "
        "xvfb-run -a headset-emulator demo"
    )


def configure_surface() -> None:
    """OpenGL 3.3 core with a depth buffer for every widget; call before the QApplication exists."""
    fmt = QSurfaceFormat()
    fmt.setRenderableType(QSurfaceFormat.RenderableType.OpenGL)
    fmt.setVersion(3, 3)
    fmt.setProfile(QSurfaceFormat.OpenGLContextProfile.CoreProfile)
    fmt.setDepthBufferSize(24)
    fmt.setSwapInterval(1)
    QSurfaceFormat.setDefaultFormat(fmt)


def application() -> QApplication:
    """The process's QApplication, made with the right surface format when it does not exist yet."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    configure_surface()
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication([sys.argv[0] if sys.argv else APPLICATION])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    QGuiApplication.setDesktopFileName(DESKTOP_FILE)
    QGuiApplication.setWindowIcon(QIcon(str(ICON)))
    # The loop, not Qt, decides when the program ends: the window's close waits for the room to be left.
    app.setQuitOnLastWindowClosed(False)
    _keepers.append(NoneKeeper(app))  # PySide6 leaks references to None on every qasync callback
    return app


def settings(path: Path | None = None) -> QSettings:
    """The app's remembered settings: the user's (QSettings' place) or an INI file (tests, --settings)."""
    if path is not None:
        return QSettings(str(path), QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


def run(main: Callable[[QApplication], Awaitable[int]]) -> int:
    """Run `main(app)` on a qasync loop until it returns; the loop is closed afterwards. Exceptions
    that escape a slot or a task meanwhile are logged and shown in a dialog (emulator/ui/crash.py)."""
    app = application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    reporter = ErrorReporter()
    reporter.install(loop)
    try:
        return int(loop.run_until_complete(main(app)))
    finally:
        reporter.uninstall()
        loop.close()
        asyncio.set_event_loop(None)
