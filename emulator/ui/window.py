"""The main window: the viewport, docks tabbed beside it (layout.py), menus, HUD and status bar.

Closing is two-step: the first close event is refused while the session leaves the room (an awaited
task), then the window closes for real and `closed` is set, so whoever runs the loop can stop what it
started (the demo's room and bots). Errors reach the user as status-bar text or a dialog, never as a
traceback. Everything here runs on the GUI thread, which is the asyncio loop's thread (qasync).
"""

from __future__ import annotations

import asyncio
import logging
import platform
from dataclasses import replace
from typing import Any

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QEvent, QPoint, QRect, QSettings, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QImage, QKeySequence, QPainter
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox, QWidget

from emulator import __version__
from emulator.audio.source import AudioSource
from emulator.audio.tone import SilenceSource
from emulator.audio.wavfile import SourceError
from emulator.drive.controls import Controller
from emulator.headset import HeadsetConfig
from emulator.headset.events import StatsSampled
from emulator.model.errors import ModelError
from emulator.ui import layout
from emulator.ui.docks.audio import AudioPanel
from emulator.ui.docks.connect import ConnectPanel
from emulator.ui.docks.controls import ControlsPanel, load_controls
from emulator.ui.docks.face import FacePanel
from emulator.ui.docks.network import NetworkPanel
from emulator.ui.docks.participants import ParticipantsPanel
from emulator.ui.docks.stats import StatsPanel
from emulator.ui.input import InputTick
from emulator.ui.qa_actions import QaActions
from emulator.ui.session import AppSession, SessionState
from emulator.ui.stats_model import StatsCollector
from emulator.ui.theme import hud_style
from emulator.ui.viewport import DEFAULT_FPS, Viewport

log = logging.getLogger(__name__)

CREDITS = (
    "HRTF: MIT KEMAR measurements by Bill Gardner and Keith Martin, MIT Media Lab (1994), used with "
    "credit as their terms ask.<br>Speech for the demo bots: eSpeak NG.<br>"
    "Built on Qt for Python (PySide6), qasync, aiortc, PyAV, NumPy, PyOpenGL, pyqtgraph, PySDL2."
)
STATE_TEXT = {
    SessionState.DISCONNECTED: "not connected",
    SessionState.JOINING: "joining…",
    SessionState.CONNECTED: "connected",
    SessionState.LEAVING: "leaving…",
}


class MainWindow(QMainWindow):
    def __init__(
        self,
        settings: QSettings,
        *,
        fps: float = DEFAULT_FPS,
        gamepad: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("headset-emulator")
        self.tab_style = layout.compact_tabs_style()  # kept here: a widget's setStyle does not own it
        bindings, speeds, buttons, problems = load_controls(settings)
        self.session = AppSession(Controller(bindings=bindings, settings=speeds), self)
        self.collector = StatsCollector()
        self.viewport = Viewport(self.session, self, fps=fps)
        self.setCentralWidget(self.viewport)
        self.hud = QLabel(self.viewport)
        self.hud.setStyleSheet(hud_style(self.palette()))
        self.hud.move(8, 8)
        self.input = InputTick(self.session.controller, self, gamepad=False)
        self.closed = asyncio.Event()
        self._shutting_down = False
        self._close_now = False
        self._closing: asyncio.Future[None] | None = None
        self._last_config: HeadsetConfig | None = None

        self.connect_panel = ConnectPanel(settings, self.request_join, self.request_leave)
        self.controls_panel = ControlsPanel(self.session.controller, settings, self.input.set_buttons)
        self.controls_panel.show_buttons(buttons)
        self.face_panel = FacePanel(self.session)
        self.audio_panel = AudioPanel(self.session, settings)
        self.participants_panel = ParticipantsPanel(self.session, self.collector)
        self.stats_panel = StatsPanel(self.collector)
        self.network_panel = NetworkPanel(self.session, settings)
        self.docks: dict[str, QDockWidget] = {}
        panels: tuple[tuple[str, QWidget], ...] = (
            ("Connect", self.connect_panel),
            ("Participants", self.participants_panel),
            ("Controls", self.controls_panel),
            ("Face", self.face_panel),
            ("Audio", self.audio_panel),
            ("Stats", self.stats_panel),
            ("Network", self.network_panel),
        )
        for title, content in panels:
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock-{title.lower()}")
            dock.setWidget(layout.scrolling(content))
            self.docks[title] = dock
        self._make_menus()
        self.qa = QaActions(self, self.session, settings)

        for panel in (self.face_panel, self.controls_panel, self.network_panel, self.audio_panel, self.qa):
            panel.message.connect(self.show_message)
        self.session.state_changed.connect(self._on_state)
        self.session.error.connect(self.show_join_error)
        self.qa.error.connect(self.show_error)
        self.viewport.render_failed.connect(self.show_error)
        self.input.gamepad_changed.connect(self._on_gamepad)
        self.input.face_preset.connect(self.face_panel.apply_preset)
        if gamepad:
            self.input.set_buttons(buttons)
        self.statusBar().showMessage("not connected")
        # The HUD and docks redraw 4 times a second from what the events left (levels, stats): a
        # repaint per event (100 voice levels a second per speaker) would recompose a software-GL window.
        self._slow = QTimer(self)
        self._slow.timeout.connect(self._refresh)
        self._slow.start(250)
        self.session.stats_sampled.connect(self._on_stats)
        layout.default_layout(self, self.docks)
        layout.restore(self, settings)
        self.compact_tabs()
        for problem in problems:
            self.show_message(problem)
        self._refresh()

    # --- menus ------------------------------------------------------------------------------------

    def _action(self, menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _make_menus(self) -> None:
        bar = self.menuBar()
        room = bar.addMenu("&Room")
        self._action(room, "&Join", self.connect_panel.join, "Ctrl+J")
        self._action(room, "&Leave", self.request_leave, "Ctrl+L")
        room.addSeparator()
        self._action(room, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view = bar.addMenu("&View")
        stereo = self._action(view, "&Stereo (side by side)", self.set_stereo, "F2")
        stereo.setCheckable(True)
        self._action(view, "&Reset head", self.session.controller.reset, "Ctrl+R")
        lock = self._action(
            view, "&Pointer lock (mouse-look; Esc releases)", self.viewport.set_pointer_lock, "F3"
        )
        lock.setCheckable(True)
        self.viewport.pointer_lock_changed.connect(lock.setChecked)
        self._action(view, "Reset &layout", self.reset_layout)
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        face = bar.addMenu("&Face")
        for index, name in enumerate(("neutral", "smile", "surprise", "blink", "talk"), start=1):
            self._action(
                face,
                name.capitalize(),
                lambda _=False, n=name: self.face_panel.apply_preset(n),
                f"Ctrl+{index}",
            )
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&About", self.about)

    def reset_layout(self) -> None:
        """The default window size and docks (View → Reset layout), whatever was saved or dragged."""
        self.showNormal()
        layout.default_layout(self, self.docks)
        self.compact_tabs()

    def compact_tabs(self) -> None:
        """Whole titles on the dock tabs; again once Qt has laid out (it makes tab bars lazily)."""
        layout.compact_dock_tabs(self, self.tab_style)
        QTimer.singleShot(0, self, lambda: layout.compact_dock_tabs(self, self.tab_style))

    def set_stereo(self, stereo: bool) -> None:
        self.viewport.stereo = bool(stereo)

    def about(self) -> None:
        QMessageBox.about(self, "About headset-emulator", self.about_text())

    @staticmethod
    def about_text() -> str:
        return (
            f"<b>headset-emulator {__version__}</b><br>An emulated Apple Vision Pro or Meta Quest in a "
            f"WebRTC room.<br><br>Python {platform.python_version()}, PySide6 {pyside_version}<br><br>"
            + CREDITS
        )

    # --- messages ---------------------------------------------------------------------------------

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)
        log.info("%s", text)

    def show_error(self, text: str) -> None:
        self.statusBar().showMessage(f"error: {text}", 15000)
        log.warning("%s", text)

    def show_join_error(self, text: str) -> None:
        """A failed join or a lost room: the Connect dock's banner, brought to the front, until dismissed."""
        self.connect_panel.banner.show_error(text)
        self.docks["Connect"].show()
        self.docks["Connect"].raise_()
        self.show_error(text)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self.hud.setStyleSheet(hud_style(self.palette()))
        super().changeEvent(event)

    def _on_gamepad(self, name: str) -> None:
        self.controls_panel.show_gamepad(name)
        self.show_message(f"gamepad connected: {name}" if name else "gamepad disconnected")

    def _on_state(self, state: str) -> None:
        self.connect_panel.show_state(state)
        if state == SessionState.CONNECTED and self._last_config is not None:
            self.connect_panel.remember(self._last_config)
            self.statusBar().showMessage(f"connected to {self._last_config.room}")
        elif state == SessionState.DISCONNECTED:
            self.collector.clear()
            self.statusBar().showMessage("not connected")
        self._refresh()

    # --- joining ----------------------------------------------------------------------------------

    def request_join(self, config: HeadsetConfig) -> None:
        self.session.spawn(self.join(config), "join")

    def request_leave(self) -> None:
        self.session.spawn(self.session.leave(), "leave")

    async def join(self, config: HeadsetConfig) -> bool:
        """Join with the Audio dock's microphone and output choices unless `config` names its own."""
        if config.audio.is_none:
            config = replace(config, audio=self.audio_panel.audio_spec())
        if config.output is None:
            config = replace(config, output=self.audio_panel.output_spec())
        if config.hrtf is None:
            config = replace(
                config, hrtf=self.audio_panel.hrtf_spec(), hrtf_mirror=self.audio_panel.hrtf_mirror()
            )
        source: AudioSource | None = None
        if not config.audio.is_none:
            try:
                source = config.audio.open()
            except (SourceError, ModelError, OSError) as error:
                self.show_error(f"Microphone {config.audio}: {error}; sending silence")
                source = SilenceSource()
        self._last_config = config
        self.connect_panel.fill(config)
        self.session.controller.set_home(config.placement)
        self.collector.clear()
        return await self.session.join(config, source)

    # --- periodic ---------------------------------------------------------------------------------

    def round_trip_ms(self) -> float | None:
        """The HUD's round trip: the newest state-stream round trip to each other participant, averaged."""
        return self.collector.round_trip_ms() if self.session.headset is not None else None

    def _refresh(self) -> None:
        pose = self.session.controller.pose
        p = pose.position
        yaw, pitch = self.session.controller.yaw_degrees, self.session.controller.pitch_degrees
        headset = self.session.headset
        round_trip = self.round_trip_ms()
        rtt = "–" if round_trip is None else f"{round_trip:.0f} ms"
        room = f" {self._last_config.room}" if headset is not None and self._last_config else ""
        self.hud.setText(
            f"{self.session.profile.name}  {'stereo' if self.viewport.stereo else 'mono'}\n"
            f"pos {p.x:+.2f} {p.y:+.2f} {p.z:+.2f} m  yaw {yaw:+.0f}°  pitch {pitch:+.0f}°\n"
            f"{STATE_TEXT.get(self.session.state, self.session.state)}{room}  round trip {rtt}  "
            f"{len(headset.room_state) if headset else 0} others\n"
            f"{self.session.controller.hands.describe()}"
        )
        self.hud.adjustSize()
        # Hidden docks are not refreshed: on a software GL every widget repaint recomposes the window.
        if self.participants_panel.isVisible():
            self.participants_panel.refresh()
        if self.audio_panel.isVisible():
            self.audio_panel.refresh()
        if self.network_panel.isVisible():
            self.network_panel.refresh()
        self.qa.refresh()

    def _on_stats(self, stats: StatsSampled) -> None:
        """The headset's figures, once a second while joined (`StatsSampled`, which the session forwards)."""
        self.collector.add(stats)
        if self.stats_panel.isVisible():
            self.stats_panel.refresh(stats.at)

    # --- closing ----------------------------------------------------------------------------------

    def snapshot(self) -> QImage:
        """The window as the user sees it. A widget grab leaves the viewport's native GL surface
        blank, so its picture (HUD included) is drawn again and painted in where the viewport sits."""
        image = self.grab().toImage()
        view = self.viewport.grabFramebuffer()
        if not view.isNull():
            painter = QPainter(image)
            painter.drawImage(QRect(self.viewport.mapTo(self, QPoint(0, 0)), self.viewport.size()), view)
            painter.end()
        return image

    async def shutdown(self) -> None:
        """Leave the room and stop every timer, task and device the window owns."""
        if self._shutting_down:
            return
        self._shutting_down = True
        layout.save(self, self.settings)
        self.settings.sync()
        self._slow.stop()
        self.viewport.stop()
        self.input.stop()
        await self.session.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._close_now:
            event.accept()
            self.closed.set()
            return
        event.ignore()
        if not self._shutting_down and self._closing is None:
            self._closing = asyncio.ensure_future(self._shutdown_then_close())

    async def _shutdown_then_close(self) -> None:
        try:
            await self.shutdown()
        except Exception as error:  # leaving failed: still close, and say why in the log
            log.warning("closing: %s", error, exc_info=True)
        self._close_now = True
        self.close()
