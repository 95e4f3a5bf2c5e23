"""The two OpenGL surfaces the viewport can draw on; both hand their GL work to the `Viewport`.

`WindowSurface` (the default) is a QOpenGLWindow: a native window of its own, placed in the main
window by a window container, whose frames go straight to the screen. `WidgetSurface` is a
QOpenGLWidget: it renders into a texture that Qt composes with the rest of the main window for every
frame, a full-window pass that on a software GL (Mesa llvmpipe) costs more than the 3D view itself.
It is kept as the measured baseline (BENCHMARKS.md, app) and as a fallback.

Input reaching the native window is forwarded to the viewport widget, so keys, mouse-look and focus
behave the same on both surfaces.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtOpenGL import QOpenGLWindow
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QWidget

SURFACES = ("window", "widget")


class GlClient(Protocol):
    """What a surface hands its GL work and focus to: the `Viewport`."""

    def initialize_gl(self) -> None: ...

    def paint_gl(self, target: int) -> None: ...

    def frame_presented(self) -> None: ...

    def surface_focus_lost(self) -> None: ...


class WidgetSurface(QOpenGLWidget):
    """The composed surface; mouse events pass through to the viewport, which also keeps the focus."""

    def __init__(self, parent: QWidget, client: GlClient) -> None:
        super().__init__(parent)
        self._client = client
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.frameSwapped.connect(client.frame_presented)

    def initializeGL(self) -> None:
        self._client.initialize_gl()

    def paintGL(self) -> None:
        self._client.paint_gl(self.defaultFramebufferObject())


class WindowSurface(QOpenGLWindow):
    """The native surface; its key, mouse and focus events go on to the viewport widget."""

    _FORWARDED = frozenset(
        {
            QEvent.Type.KeyPress,
            QEvent.Type.KeyRelease,
            QEvent.Type.MouseButtonPress,
            QEvent.Type.MouseButtonRelease,
            QEvent.Type.MouseMove,
            QEvent.Type.MouseButtonDblClick,
        }
    )

    def __init__(self, events_to: QWidget, client: GlClient) -> None:
        super().__init__(QOpenGLWindow.UpdateBehavior.NoPartialUpdate)
        self._client = client
        self._events_to = events_to
        self.frameSwapped.connect(client.frame_presented)

    def initializeGL(self) -> None:
        self._client.initialize_gl()

    def paintGL(self) -> None:
        self._client.paint_gl(self.defaultFramebufferObject())

    def event(self, event: QEvent) -> bool:
        if event.type() in self._FORWARDED:
            QCoreApplication.sendEvent(self._events_to, event)
            return True
        if event.type() == QEvent.Type.FocusOut:
            self._client.surface_focus_lost()
        return super().event(event)
