"""Check every aiortc/aioice patch (`patches.py`), then install the process-wide ones, once a process.

The CLI and every session call `install()`; the first call checks the installed aiortc and aioice
and refuses, in one line (`InternalsChanged`), a version whose internals moved.
"""

from __future__ import annotations

import threading
from typing import Any

from emulator.net.transport.ice_sockets import tune_ice_sockets
from emulator.net.transport.patches import InternalsChanged, modules, problems, refusal
from emulator.net.transport.sctp import delay_sacks

_lock = threading.Lock()
_installed = False


def install(aiortc: Any = None, aioice: Any = None) -> None:
    """Check every patch, then install the process-wide ones (SCTP SACKs, ICE sockets) once."""
    global _installed
    if _installed and aiortc is None and aioice is None:
        return  # each session calls this; the installed modules were checked the first time
    aiortc, aioice = modules(aiortc, aioice)
    broken = problems(aiortc, aioice)
    if broken:
        raise InternalsChanged(refusal(aiortc, aioice, broken))
    with _lock:
        if _installed:
            return
        tune_ice_sockets()
        delay_sacks()
        _installed = True


def installed() -> bool:
    return _installed
