"""The viewport: what the emulated headset sees, drawn by `emulator.render` on an OpenGL surface.

Each paint copies the newest remote states out of the headset's RoomState into the render Scene
(only states that arrived since the last paint) and draws the scene from the controller's pose with
the profile's field of view: one camera, or the two eyes side by side. Painting never awaits anything:
it reads what the loop already received. Runs on the GUI thread (the loop's thread under qasync).

The surface (surfaces.py) is a QOpenGLWindow in a window container by default: it presents its frames
straight to its own native window. A QOpenGLWidget ("widget", the measured baseline) renders into a texture
that Qt composes with every other widget of the main window on each frame, which on a software GL
(Mesa llvmpipe) cost more CPU than the avatars. Labels over the viewport (the window's HUD) are
painted by Qt into an image when they change and drawn by GL each frame (hud.py), so nothing has to
be composed over the 3D view. (Drawing the world at a reduced scale and stretching it was measured
too: on llvmpipe the stretching pass cost more than the pixels it saved, see BENCHMARKS.md.)

Ghosts (recorded participants played back, `emulator/ui/ghost.py`) are drawn like participants,
with their own tint and label, from their pose and face now.

Input: keys go to the `Controller` by the text Qt gives them (`W`, `Shift`, `Left`); right-drag
turns the head; leaving the window releases every held key so nobody keeps walking. Pointer lock
(double-click, or `set_pointer_lock`) hides the cursor and puts it back in the middle after every
move, so the mouse turns the head without a button held and without running into the screen's
edge; Esc or losing focus releases it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import numpy as np
from OpenGL import GL
from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QCursor, QImage, QKeyEvent, QKeySequence, QMouseEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from emulator.render.avatar import Avatar
from emulator.render.avatar_gen import VARIANTS, load_default_avatar
from emulator.render.camera import headset_eyes
from emulator.render.errors import AvatarError
from emulator.render.flat import flat
from emulator.render.framing import Framing, framing
from emulator.render.hud import HudLayer
from emulator.render.lod import LEVELS, simplified
from emulator.render.offscreen import Framebuffer
from emulator.render.renderer import Renderer
from emulator.render.scene import Scene
from emulator.ui.ghost import GHOST_TINT
from emulator.ui.session import AppSession
from emulator.ui.surfaces import SURFACES, WidgetSurface, WindowSurface

log = logging.getLogger(__name__)

DEFAULT_FPS = 90.0
DEFAULT_SURFACE = "window"  # "widget": the composed QOpenGLWidget, kept as the measured baseline


class Viewport(QWidget):
    frame_drawn = Signal(int)  # avatars drawn in this frame
    render_failed = Signal(str)
    pointer_lock_changed = Signal(bool)

    def __init__(
        self,
        session: AppSession,
        parent: QWidget | None = None,
        fps: float = DEFAULT_FPS,
        *,
        surface: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.scene = Scene()
        self.stereo = False
        self.renderer: Renderer | None = None
        self.failed: str | None = None
        self.frames = 0  # frames drawn
        self.presented = 0  # frames handed to the window system (swapped)
        self.avatars_drawn = 0
        self._avatars: dict[str, Avatar] = {}
        self._seen: dict[str, int] = {}  # participant id → states_received already copied to the scene
        self._drag: QPoint | None = None
        self._hud: HudLayer | None = None
        self._overlays: dict[int, tuple[Any, ...]] = {}  # label id → what its uploaded image shows
        self.pointer_locked = False
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(320, 200)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._container: QWidget | None = None
        self._surface: WidgetSurface | WindowSurface = self._make_surface(surface or DEFAULT_SURFACE)
        self._unlimited = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._request_frame)
        self.set_fps(fps)

    def _make_surface(self, kind: str) -> WidgetSurface | WindowSurface:
        if kind not in SURFACES:
            raise ValueError(f"unknown viewport surface {kind!r}: one of {', '.join(SURFACES)}")
        self.surface_kind = kind
        if kind == "widget":
            widget = WidgetSurface(self, self)
            self._layout.addWidget(widget)
            return widget
        surface = WindowSurface(self, self)
        container = QWidget.createWindowContainer(surface, self)
        container.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFocusProxy(container)
        self._layout.addWidget(container)
        self._container = container
        return surface

    def set_surface(self, kind: str) -> None:
        """Draw on another surface from now on ("window" or "widget"); the benchmark alternates them."""
        if kind == self.surface_kind:
            return
        self._release()
        context = self._surface.context()
        if context is not None:  # its destruction comes later and must not release the new surface's GL
            context.aboutToBeDestroyed.disconnect(self._release)
        old = self._surface if isinstance(self._surface, WidgetSurface) else self._container
        self._container = None
        self.setFocusProxy(None)  # type: ignore[arg-type]  # Qt takes nullptr: no proxy
        if old is not None:
            self._layout.removeWidget(old)
            old.hide()
            old.deleteLater()
        self._surface = self._make_surface(kind)
        for label in self.findChildren(QLabel, options=Qt.FindChildOption.FindDirectChildrenOnly):
            if kind == "widget" and label.testAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen):
                shown = label.isVisibleTo(self)
                label.hide()
                label.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, False)
                label.setVisible(shown)
            label.raise_()
        self._surface.show()
        self._request_frame()

    @property
    def surface(self) -> WidgetSurface | WindowSurface:
        """What draws and, on the window surface, first receives the user's keys and mouse."""
        return self._surface

    @property
    def hud_uploads(self) -> int:
        """How many times the HUD image went to the GL (once per change of its text, not per frame)."""
        return 0 if self._hud is None else self._hud.uploads

    def _request_frame(self) -> None:
        self._surface.update()

    def set_fps(self, fps: float) -> None:
        """Repaint rate; 0 repaints as fast as the GL can (the frame-rate benchmark).

        Unlimited means the next frame is asked for when the last one was presented, not by a 0 ms
        timer, which would spin the loop between frames and bill that to the frames."""
        self._unlimited = fps <= 0
        if self._unlimited:
            self._timer.stop()
            self._request_frame()
        else:
            self._timer.start(max(1, round(1000 / fps)))

    def stop(self) -> None:
        """No more frames: the window is closing. GL resources and the native surface go now, while
        the display is surely still there (not at interpreter exit, when Xlib may find it gone)."""
        self._unlimited = False
        self._timer.stop()
        self.set_pointer_lock(False)
        self._release()
        if self._container is not None:  # its QOpenGLWindow's context would otherwise outlive the display
            self._container.deleteLater()
            self._container = None

    # --- GL lifecycle (called by the surface, its context current) --------------------------------

    def initialize_gl(self) -> None:
        try:
            self.renderer = Renderer()
            self._hud = HudLayer()
            self._overlays.clear()
        except Exception as error:  # a GL without 3.3 core, shader compile errors: say so, draw nothing
            log.error("the viewport cannot draw: %s", error)
            self.failed = f"the viewport cannot draw: {error}"
            self.render_failed.emit(self.failed)
            return
        context = self._surface.context()
        if context is not None:
            context.aboutToBeDestroyed.connect(self._release)

    def _release(self) -> None:
        if self.renderer is None:
            return
        try:
            self._surface.makeCurrent()
            alive = True
        except RuntimeError:  # the surface is being destroyed: its destructor made the context current
            alive = False
        try:
            self.renderer.release()
            if self._hud is not None:
                self._hud.release()
        finally:
            self.renderer, self._hud = None, None
            if alive:
                self._surface.doneCurrent()

    def paint_gl(self, target: int) -> None:
        self.sync_scene()
        if self.renderer is None:
            return
        width, height = self._pixels()
        count = self._render(target, width, height)
        self.frames += 1
        self.avatars_drawn = count
        self.frame_drawn.emit(count)

    def frame_presented(self) -> None:
        self.presented += 1
        if self._unlimited:
            self._request_frame()

    def _pixels(self) -> tuple[int, int]:
        ratio = self._surface.devicePixelRatio()
        return round(self._surface.width() * ratio), round(self._surface.height() * ratio)

    def _render(self, target: int, width: int, height: int) -> int:
        """The whole picture into framebuffer `target` (width × height pixels); returns avatars drawn."""
        assert self.renderer is not None
        cameras = headset_eyes(self.session.controller.pose, self.session.profile, self.stereo)
        items = self.scene.frame(time.monotonic_ns() // 1000, self.renderer.head_pixels)  # anim_lod.py
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, target)
        self.renderer.draw_views(items, cameras, width, height)
        self._draw_overlays(width, height)
        return len(items)

    # --- labels over the view (the window's HUD) --------------------------------------------------

    def _draw_overlays(self, width: int, height: int) -> None:
        """QLabel children are drawn by GL from an image made when they change (window surface only)."""
        if self._hud is None or self.surface_kind == "widget":
            return
        for label in self.findChildren(QLabel, options=Qt.FindChildOption.FindDirectChildrenOnly):
            if not label.testAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen):
                shown = label.isVisibleTo(self)
                label.hide()
                label.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
                label.setVisible(shown)
            ratio = self._surface.devicePixelRatio()
            key = (label.text(), label.width(), label.height(), label.isVisibleTo(self), ratio)
            if self._overlays.get(id(label)) != key:
                self._overlays[id(label)] = key
                self._hud.set_image(_label_image(label, ratio) if label.isVisibleTo(self) else None)
            GL.glViewport(0, 0, width, height)
            self._hud.draw(round(label.x() * ratio), round(label.y() * ratio), width, height)
            break  # one HUD layer: the window has one HUD label

    # --- reading back what is shown ---------------------------------------------------------------

    def grabFramebuffer(self) -> QImage:
        """The picture the viewport shows now, drawn again into an offscreen framebuffer and read back."""
        if self.renderer is None:
            return QImage()
        self._surface.makeCurrent()
        width, height = self._pixels()
        target = Framebuffer(width, height)
        try:
            self._render(target.fbo, width, height)
            rgb = target.read_rgb()
        finally:
            target.release()
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self._surface.defaultFramebufferObject())
            self._surface.doneCurrent()
        rgba = np.concatenate([rgb, np.full((*rgb.shape[:2], 1), 255, np.uint8)], axis=2)
        return QImage(rgba.tobytes(), width, height, width * 4, QImage.Format.Format_RGBX8888).copy()

    def framing(self) -> list[Framing]:
        """Each avatar as the next frame shows it (first eye): its share of the view, whether it faces us."""
        width, height = self._pixels()
        camera = headset_eyes(self.session.controller.pose, self.session.profile, self.stereo)[0]
        if self.stereo:
            width //= 2
        return framing(self.scene.frame(time.monotonic_ns() // 1000), camera, width, height)

    # --- the scene from the room ------------------------------------------------------------------

    def preload(self) -> None:
        """Build every bundled avatar and its levels of detail now, before joining.

        Doing it on first sight would stall the loop for a few hundred ms per avatar in the middle of
        a session, in the middle of a session's handshake or heartbeat.
        """
        for number in range(len(VARIANTS)):
            avatar = self._avatar(number)
            for cell, _ in LEVELS:
                simplified(avatar, cell)
            flat(simplified(avatar, LEVELS[-1][0]))  # far avatars' baked colours (flat.py)

    async def first_frame(self) -> None:
        """Wait until the viewport has drawn once (its GL setup is done)."""
        while self.frames == 0 and self.failed is None:
            await asyncio.sleep(0.02)

    def _avatar(self, number: int) -> Avatar:
        variants = list(VARIANTS)
        variant = variants[number % len(variants)]
        avatar = self._avatars.get(variant)
        if avatar is None:
            try:
                avatar = load_default_avatar(variant)
            except AvatarError:
                avatar = load_default_avatar()
            self._avatars[variant] = avatar
        return avatar

    def sync_scene(self) -> None:
        """Copy new remote states into the scene; add and remove avatars as people come and go."""
        headset = self.session.headset
        present: set[str] = set()
        if headset is not None:
            for participant in headset.room_state:
                present.add(participant.id)
                if participant.id not in self.scene:
                    self.scene.add(participant.id, self._avatar(participant.number), participant.name)
                    self._seen[participant.id] = 0
                self.scene.set_speaking(participant.id, self.session.levels.get(participant.id, 0.0))
                if (
                    participant.pose is None
                    or participant.last_state_at is None
                    or self._seen.get(participant.id) == participant.states_received
                ):
                    continue
                self._seen[participant.id] = participant.states_received
                when = round(participant.last_state_at * 1_000_000)
                self.scene.update(
                    participant.id,
                    participant.pose,
                    participant.face,
                    time_us=when,
                    left_hand=participant.hands.get("left"),
                    right_hand=participant.hands.get("right"),
                )
        now_us = time.monotonic_ns() // 1000
        for ghost in list(self.session.tools.ghosts.values()):
            present.add(ghost.id)
            if ghost.id not in self.scene:
                self.scene.add(ghost.id, self._avatar(0), ghost.label, tint=GHOST_TINT)
            now = time.monotonic()
            pose, face = ghost.sample(now)
            hands = ghost.sample_hands(now)
            self.scene.update(
                ghost.id, pose, face, time_us=now_us, left_hand=hands.left, right_hand=hands.right
            )
        for gone in [p.id for p in self.scene.participants() if p.id not in present]:
            self.scene.remove(gone)
            self._seen.pop(gone, None)

    # --- input (the window surface forwards its events here) --------------------------------------

    @staticmethod
    def key_name(event: QKeyEvent) -> str:
        return QKeySequence(event.key()).toString()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.pointer_locked:
            self.set_pointer_lock(False)
            event.accept()
            return
        if event.isAutoRepeat():
            event.accept()
            return
        if self.session.controller.key_down(self.key_name(event)):
            event.accept()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.isAutoRepeat():
            event.accept()
            return
        if self.session.controller.key_up(self.key_name(event)):
            event.accept()
        else:
            super().keyReleaseEvent(event)

    def focusOutEvent(self, event: Any) -> None:
        self.session.controller.release_all()
        self.set_pointer_lock(False)
        super().focusOutEvent(event)

    def surface_focus_lost(self) -> None:
        self.session.controller.release_all()
        self.set_pointer_lock(False)

    def _centre(self) -> QPoint:
        return QPoint(self.width() // 2, self.height() // 2)

    def set_pointer_lock(self, locked: bool) -> None:
        """Lock (hide, grab and re-centre the cursor: every move turns the head) or release it."""
        if locked == self.pointer_locked:
            return
        self.pointer_locked = locked
        window = self._surface if isinstance(self._surface, WindowSurface) else None
        if locked:
            self._drag = None
            self.setFocus()
            self._set_cursor(Qt.CursorShape.BlankCursor)
            if window is not None:  # a native surface: its own window takes the grab
                window.setMouseGrabEnabled(True)
            else:
                self.setMouseTracking(True)
                self.grabMouse()
            QCursor.setPos(self.mapToGlobal(self._centre()))
        else:
            if window is not None:
                window.setMouseGrabEnabled(False)
            else:
                self.releaseMouse()
                self.setMouseTracking(False)
            self._set_cursor(None)
        self.pointer_lock_changed.emit(locked)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.set_pointer_lock(True)
            event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        if event.button() == Qt.MouseButton.RightButton:
            self._drag = event.position().toPoint()
            self._set_cursor(Qt.CursorShape.BlankCursor)
            event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.pointer_locked:
            centre = self._centre()
            delta = event.position().toPoint() - centre
            if not delta.isNull():  # the re-centring itself arrives as a move to the centre
                self._mouse_moved(event, delta)
                QCursor.setPos(self.mapToGlobal(centre))
            event.accept()
            return
        if self._drag is not None:
            point = event.position().toPoint()
            delta = point - self._drag
            self._drag = point
            self._mouse_moved(event, delta)
            event.accept()

    def _mouse_moved(self, event: QMouseEvent, delta: QPoint) -> None:
        """Ctrl held with a hand raised: the mouse moves that hand; otherwise it turns the head."""
        controller = self.session.controller
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and controller.hands.any_raised:
            controller.mouse_hand(delta.x(), delta.y())
        else:
            controller.mouse_look(delta.x(), delta.y())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.RightButton and self._drag is not None:
            self._drag = None
            self._set_cursor(None)
            event.accept()

    def _set_cursor(self, shape: Qt.CursorShape | None) -> None:
        """The cursor over the view: the widget's, and the native surface's when it has its own window."""
        if shape is None:
            self.unsetCursor()
            if isinstance(self._surface, WindowSurface):
                self._surface.unsetCursor()
        else:
            self.setCursor(shape)
            if isinstance(self._surface, WindowSurface):
                self._surface.setCursor(shape)


def _label_image(label: QLabel, ratio: float) -> Any:
    """The label as Qt paints it (its style sheet's translucent background included), RGBA top row first."""
    image = QImage(round(label.width() * ratio), round(label.height() * ratio), QImage.Format.Format_RGBA8888)
    image.setDevicePixelRatio(ratio)
    image.fill(Qt.GlobalColor.transparent)
    label.render(image, QPoint(), renderFlags=QWidget.RenderFlag.DrawChildren)
    data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    rows = data.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 4]
    return rows.reshape(image.height(), image.width(), 4).copy()
