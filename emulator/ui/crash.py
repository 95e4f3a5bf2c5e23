"""Unexpected exceptions: logged, then shown in one dialog with a "Copy details" button.

Two ways an exception escapes the app's code: a Qt slot (PySide6 hands it to `sys.excepthook`) and an
asyncio task or callback (the loop's exception handler, qasync's loop included). Both end here, so an
error is never lost on a terminal nobody watches, and never ends the program. The dialog is not
modal: the app keeps running, and later errors are added to the same dialog rather than piling up.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from emulator.net.transport.closed_sends import count_closed_send, is_closed_send

log = logging.getLogger(__name__)


class ErrorDialog(QDialog):
    """The unexpected errors so far: a one-line summary and the tracebacks, with Copy details."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("error-dialog")
        self.setWindowTitle("headset-emulator: unexpected error")
        self.count = 0
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        advice = QLabel(
            "The app goes on running, but what you just did may not have worked. "
            "Copy the details into a bug report."
        )
        advice.setWordWrap(True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.details.setToolTip("What went wrong, with the traceback (also in the log)")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView))
        self.copy_button.setToolTip("Put the details on the clipboard")
        self.copy_button.clicked.connect(self.copy_details)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setToolTip("Close this dialog (the app goes on)")
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(advice)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)
        self.resize(640, 360)

    def add(self, summary: str, details: str) -> None:
        self.count += 1
        more = f" ({self.count} errors so far)" if self.count > 1 else ""
        self.summary.setText(f"<b>{summary}</b>{more}")
        separator = "\n" + "-" * 60 + "\n" if self.details.toPlainText() else ""
        self.details.setPlainText(self.details.toPlainText() + separator + details)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details.toPlainText())


class ErrorReporter(QObject):
    """Installs the hooks; `report` logs an error and shows it (the one dialog, made on first use)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window = parent
        self.dialog: ErrorDialog | None = None
        self._previous_hook: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reporting = False

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._previous_hook = sys.excepthook
        sys.excepthook = self.excepthook
        if loop is not None:
            self._loop = loop
            loop.set_exception_handler(self.loop_handler)

    def uninstall(self) -> None:
        if sys.excepthook == self.excepthook:
            sys.excepthook = self._previous_hook or sys.__excepthook__
        if self._loop is not None:
            self._loop.set_exception_handler(None)
            self._loop = None

    def excepthook(self, kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        if not issubclass(kind, Exception):  # KeyboardInterrupt, SystemExit: not ours to keep
            (self._previous_hook or sys.__excepthook__)(kind, error, tb)
            return
        self.report(f"{kind.__name__}: {error}", "".join(traceback.format_exception(kind, error, tb)))

    def loop_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if is_closed_send(context):  # a send to a peer that is gone: no error to show (closed_sends.py)
            count_closed_send(context)
            return
        # asyncio's own handler logs it (to the "asyncio" logger, where the test suite looks for leaks).
        loop.default_exception_handler(context)
        error = context.get("exception")
        message = str(context.get("message") or "error in an asyncio task")
        where = context.get("task") or context.get("future") or context.get("handle")
        head = f"{message}\n{where!r}\n" if where is not None else f"{message}\n"
        if isinstance(error, BaseException):
            details = head + "".join(traceback.format_exception(type(error), error, error.__traceback__))
            self.report(f"{type(error).__name__}: {error}", details, logged=True)
        else:
            self.report(message, head, logged=True)

    def report(self, summary: str, details: str, *, logged: bool = False) -> None:
        if not logged:
            log.error("unexpected error: %s\n%s", summary, details)
        if self._reporting:  # showing the dialog failed: the log has it
            return
        self._reporting = True
        try:
            if self.dialog is None:
                self.dialog = ErrorDialog(self.window)
            self.dialog.add(summary.splitlines()[0] if summary else "unexpected error", details)
            self.dialog.show()
            self.dialog.raise_()
        finally:
            self._reporting = False
