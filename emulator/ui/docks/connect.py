"""Connect dock: where to join (server URL, room, name, token, device profile), join/leave, recent rooms.

The fields are remembered in QSettings; a successful join puts the room at the top of the recent list.
The dock never awaits: Join asks the window, which runs the join as a session task.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from emulator.audio.factory import NO_AUDIO
from emulator.headset import HeadsetConfig
from emulator.model.profiles import load_profiles
from emulator.ui.banner import ErrorBanner
from emulator.ui.session import SessionState

RECENT_LIMIT = 8


class ConnectPanel(QWidget):
    def __init__(
        self,
        settings: QSettings,
        on_join: Callable[[HeadsetConfig], None],
        on_leave: Callable[[], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self._on_join = on_join
        self.banner = ErrorBanner()  # a failed join, until dismissed or a join succeeds
        self.url = QLineEdit(str(settings.value("connect/url", "ws://127.0.0.1:8765/ws")))
        self.room = QLineEdit(str(settings.value("connect/room", "lobby")))
        self.name = QLineEdit(str(settings.value("connect/name", "me")))
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("empty: mint one for a room on this machine")
        self.profile = QComboBox()
        self.profile.addItems(sorted(load_profiles()))
        self.profile.setCurrentText(str(settings.value("connect/profile", "visionpro")))
        self.recent = QComboBox()
        self.recent.setPlaceholderText("recent rooms")
        self._reload_recent()
        self.recent.activated.connect(self._pick_recent)
        self.join_button = QPushButton("Join")
        self.leave_button = QPushButton("Leave")
        self.join_button.clicked.connect(self.join)
        self.leave_button.clicked.connect(on_leave)
        for widget, tip in (
            (self.url, "The room's signaling address: ws://host:port/ws for the bundled room, or janus://…"),
            (self.room, "The room to join (made by the room on first join)"),
            (self.name, "The name the others see above your avatar"),
            (self.token, "A join token from the room's owner (headset-emulator token …)"),
            (self.profile, "The device emulated: its frame rates, audio and hand tracking"),
            (self.recent, "Rooms joined before: pick one to fill Server and Room"),
            (self.join_button, "Join the room with these settings (Ctrl+J)"),
            (self.leave_button, "Leave the room (Ctrl+L)"),
        ):
            widget.setToolTip(tip)
        form = QFormLayout()
        for label, field in (
            ("Server", self.url),
            ("Room", self.room),
            ("Name", self.name),
            ("Token", self.token),
            ("Profile", self.profile),
            ("Recent", self.recent),
        ):
            form.addRow(label, field)
        buttons = QHBoxLayout()
        buttons.addWidget(self.join_button)
        buttons.addWidget(self.leave_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.show_state(SessionState.DISCONNECTED)

    def config(self) -> HeadsetConfig:
        return HeadsetConfig(
            url=self.url.text().strip(),
            room=self.room.text().strip(),
            name=self.name.text().strip() or "me",
            token=self.token.text().strip() or None,
            profile=self.profile.currentText(),
            audio=NO_AUDIO,  # the Audio dock's microphone (MainWindow.join)
        )

    def join(self) -> None:
        config = self.config()
        for key, value in (("url", config.url), ("room", config.room), ("name", config.name)):
            self.settings.setValue(f"connect/{key}", value)
        self.settings.setValue("connect/profile", config.profile)
        self._on_join(config)

    def fill(self, config: HeadsetConfig) -> None:
        self.url.setText(config.url)
        self.room.setText(config.room)
        self.name.setText(config.name)
        self.profile.setCurrentText(config.profile)

    def remember(self, config: HeadsetConfig) -> None:
        entry = f"{config.room} @ {config.url}"
        recent = [e for e in self._recent() if e != entry]
        self.settings.setValue("connect/recent", [entry, *recent][:RECENT_LIMIT])
        self._reload_recent()

    def _recent(self) -> list[str]:
        value = self.settings.value("connect/recent", [])
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value] if isinstance(value, list) else []

    def _reload_recent(self) -> None:
        self.recent.clear()
        self.recent.addItems(self._recent())

    def _pick_recent(self, index: int) -> None:
        room, _, url = self.recent.itemText(index).partition(" @ ")
        self.room.setText(room)
        self.url.setText(url)

    def show_state(self, state: str) -> None:
        if state == SessionState.CONNECTED:
            self.banner.dismiss()
        self.join_button.setEnabled(state == SessionState.DISCONNECTED)
        self.leave_button.setEnabled(state == SessionState.CONNECTED)
