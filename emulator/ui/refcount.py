"""Gives back the references to None, True and False that this PySide6 loses, so a session does not abort.

In the PySide6 bundled here, each call of `QObject.killTimer` and each Python override of
`timerEvent` returns None without taking a reference to it, so every call costs None one reference.
qasync runs every asyncio callback through exactly these two (one Qt timer per `call_soon` or
`call_later`), so a joined app drains None's count in tens of seconds and the interpreter aborts with
"Fatal Python error: none_dealloc: deallocating None" (during the session or at exit). A timer on the
GUI thread tops the count back up to where it was when the keeper started: None is a singleton that
is never freed, so a count that is too high costs nothing, and one that reaches zero kills the process.
True and False are singletons too, and some calls lose references to them the same way (the app and
the GUI tests aborted at exit with "bool_dealloc" once a session had filled the Stats plots), so they
are kept the same way.
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


KEPT: tuple[object, ...] = (None, True, False)


class NoneKeeper(QObject):
    """Owned by the QApplication; runs on the GUI thread. Keeps None's, True's and False's counts."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        for kept in KEPT:
            for _ in range(CUSHION):
                _incref(kept)
        self.floors = [sys.getrefcount(kept) for kept in KEPT]
        self.floor = self.floors[0]  # None's, which the tests watch
        self.repaid = 0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.repay)
        self._timer.start(INTERVAL_MS)

    def repay(self) -> int:
        """Take back the lost references now; returns how many were given back."""
        given = 0
        for kept, floor in zip(KEPT, self.floors, strict=True):
            missing = floor - sys.getrefcount(kept)
            for _ in range(max(0, missing)):
                _incref(kept)
            given += max(0, missing)
        self.repaid += given
        return given
