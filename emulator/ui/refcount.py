"""Gives back the references to None that this PySide6 loses, so a long session does not abort.

In the PySide6 bundled here, each call of `QObject.killTimer` and each Python override of
`timerEvent` returns None without taking a reference to it, so every call costs None one reference.
qasync runs every asyncio callback through exactly these two (one Qt timer per `call_soon` or
`call_later`), so a joined app drains None's count in tens of seconds and the interpreter aborts with
"Fatal Python error: none_dealloc: deallocating None" (during the session or at exit). A timer on the
GUI thread tops the count back up to where it was when the keeper started: None is a singleton that
is never freed, so a count that is too high costs nothing, and one that reaches zero kills the process.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 100  # at ~2 references lost per callback, a busy loop loses a few hundred per interval
CUSHION = 200_000  # references given up front: None starts with only ~10 000, a burst could eat them

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


class NoneKeeper(QObject):
    """Owned by the QApplication; runs on the GUI thread."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        for _ in range(CUSHION):
            _incref(None)
        self.floor = sys.getrefcount(None)
        self.repaid = 0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.repay)
        self._timer.start(INTERVAL_MS)

    def repay(self) -> int:
        """Take back None's lost references now; returns how many were given back."""
        missing = self.floor - sys.getrefcount(None)
        for _ in range(max(0, missing)):
            _incref(None)
        self.repaid += max(0, missing)
        return max(0, missing)
