"""Check every aiortc/aioice patch (`patches.py`), then install the process-wide ones, once a process.

The CLI and every session call `install()`; the first call checks the installed aiortc and aioice
and refuses, in one line (`InternalsChanged`), a version whose internals moved.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from emulator.net.transport.closed_sends import quiet_closed_sends
from emulator.net.transport.dtls_receive import receive_directly
from emulator.net.transport.ice_sockets import tune_ice_sockets
from emulator.net.transport.patches import InternalsChanged, modules, problems, refusal
from emulator.net.transport.sctp import delay_sacks, send_eagerly

_lock = threading.Lock()
_installed = False


def install(aiortc: Any = None, aioice: Any = None) -> None:
    """Check every patch, then install the process-wide ones (SCTP SACKs and sends, DTLS receives, ICE
    sockets) once; called on a running loop, also filter aiortc's sends after a transport closed out of
    its error output."""
    global _installed
    _quiet_running_loop()
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
        send_eagerly()
        receive_directly()
        _installed = True


def _quiet_running_loop() -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # the CLI checks before any loop runs; each session calls again on its loop
    quiet_closed_sends(loop)


def installed() -> bool:
    return _installed
