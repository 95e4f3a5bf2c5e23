"""The viewport: what the emulated headset sees, drawn by `emulator.render` inside a QOpenGLWidget.

Each paint copies the newest remote states out of the headset's RoomState into the render Scene
(only states that arrived since the last paint) and draws the scene from the controller's pose with
the profile's field of view: one camera, or the two eyes side by side. Painting never awaits anything:
it reads what the loop already received. Runs on the GUI thread (the loop's thread under qasync).

Input: keys go to the `Controller` by the text Qt gives them (`W`, `Shift`, `Left`); right-drag
turns the head; leaving the window releases every held key so nobody keeps walking.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QMouseEvent
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QWidget

from emulator.render.avatar import Avatar
from emulator.render.avatar_gen import VARIANTS, load_default_avatar
from emulator.render.camera import headset_eyes
from emulator.render.errors import AvatarError
from emulator.render.lod import LEVELS, simplified
from emulator.render.renderer import Renderer
from emulator.render.scene import Scene
from emulator.ui.session import AppSession

log = logging.getLogger(__name__)

DEFAULT_FPS = 90.0


class Viewport(QOpenGLWidget):
    frame_drawn = Signal(int)  # avatars drawn in this frame
    render_failed = Signal(str)

    def __init__(self, session: AppSession, parent: QWidget | None = None, fps: float = DEFAULT_FPS) -> None:
        super().__init__(parent)
        self.session = session
        self.scene = Scene()
        self.stereo = False
        self.renderer: Renderer | None = None
        self.failed: str | None = None
        self.frames = 0
        self.avatars_drawn = 0
        self._avatars: dict[str, Avatar] = {}
        self._seen: dict[str, int] = {}  # participant id → states_received already copied to the scene
        self._drag: QPoint | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(320, 200)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.update)
        self.set_fps(fps)

    def set_fps(self, fps: float) -> None:
        """Repaint rate; 0 repaints as fast as the GL can (the frame-rate benchmark)."""
        self._timer.start(0 if fps <= 0 else max(1, round(1000 / fps)))

    def stop(self) -> None:
        self._timer.stop()

    # --- GL lifecycle -----------------------------------------------------------------------------

    def initializeGL(self) -> None:
        try:
            self.renderer = Renderer()
        except Exception as error:  # a GL without 3.3 core, shader compile errors: say so, draw nothing
            log.error("the viewport cannot draw: %s", error)
            self.failed = f"the viewport cannot draw: {error}"
            self.render_failed.emit(self.failed)
            return
        context = self.context()
        if context is not None:
            context.aboutToBeDestroyed.connect(self._release)

    def _release(self) -> None:
        if self.renderer is None:
            return
        self.makeCurrent()
        try:
            self.renderer.release()
        finally:
            self.renderer = None
            self.doneCurrent()

    def paintGL(self) -> None:
        self.sync_scene()
        if self.renderer is None:
            return
        ratio = self.devicePixelRatioF()
        width, height = round(self.width() * ratio), round(self.height() * ratio)
        cameras = headset_eyes(self.session.controller.pose, self.session.profile, self.stereo)
        now_us = time.monotonic_ns() // 1000
        items = self.scene.frame(now_us)
        self.renderer.draw_views(items, cameras, width, height)
        self.frames += 1
        self.avatars_drawn = len(items)
        self.frame_drawn.emit(len(items))

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
                self.scene.update(participant.id, participant.pose, participant.face, time_us=when)
        for gone in [p.id for p in self.scene.participants() if p.id not in present]:
            self.scene.remove(gone)
            self._seen.pop(gone, None)

    # --- input ------------------------------------------------------------------------------------

    @staticmethod
    def key_name(event: QKeyEvent) -> str:
        return QKeySequence(event.key()).toString()

    def keyPressEvent(self, event: QKeyEvent) -> None:
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
        super().focusOutEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        if event.button() == Qt.MouseButton.RightButton:
            self._drag = event.position().toPoint()
            self.setCursor(Qt.CursorShape.BlankCursor)
            event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            point = event.position().toPoint()
            delta = point - self._drag
            self._drag = point
            self.session.controller.mouse_look(delta.x(), delta.y())
            event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.RightButton and self._drag is not None:
            self._drag = None
            self.unsetCursor()
            event.accept()
