"""The error banner at the top of the Connect dock: a failed join stays in view until dismissed.

A status-bar message disappears after a few seconds, often before anyone looks down; the banner shows
the error's one line and what to try next, and stays until its × is pressed or a join succeeds.
Colours come from the palette (a dark desktop theme keeps a readable banner).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QStyle, QToolButton, QVBoxLayout, QWidget

# (words in the error, what to do): the first match wins; the last line is the fallback.
HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("token", "secret", "401", "403", "unauthor", "forbidden"), "check the Token field or the room secret"),
    (
        ("refused", "connect call failed", "cannot connect", "unreachable", "timed out", "timeout"),
        "check the Server address and that the room is running",
    ),
    (("profile",), "pick another device profile"),
    (("microphone", "audio", "sofa", "hrtf"), "pick another device in the Audio dock"),
    (("full", "capacity", "too many"), "the room is full: try again later or another room"),
    ((), "check the Server and Room fields, then press Join again"),
)


def what_to_do(error: str) -> str:
    """A short suggestion for `error`'s text."""
    lowered = error.lower()
    for words, hint in HINTS:
        if not words or any(word in lowered for word in words):
            return hint
    return HINTS[-1][1]


class ErrorBanner(QFrame):
    """A dismissible error line with a hint; hidden while there is nothing to say."""

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("error-banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        icon = QLabel()
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(size))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.error.font()
        font.setBold(True)
        self.error.setFont(font)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.close_button = QToolButton()
        self.close_button.setText("×")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss this message")
        self.close_button.clicked.connect(self.dismiss)
        text = QVBoxLayout()
        text.setContentsMargins(0, 0, 0, 0)
        text.addWidget(self.error)
        text.addWidget(self.hint)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 4, 2, 4)
        row.addWidget(icon)
        row.addLayout(text, 1)
        row.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_error(self, error: str, hint: str | None = None) -> None:
        """Show `error` (first line only) with `hint` or a suggestion made from it; replaces any shown."""
        line = error.strip().splitlines()[0] if error.strip() else "unknown error"
        self.error.setText(line)
        self.hint.setText(hint if hint is not None else what_to_do(line))
        self.show()

    def dismiss(self) -> None:
        if not self.isHidden():
            self.hide()
            self.dismissed.emit()
