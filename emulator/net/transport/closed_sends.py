"""aiortc's sends that outlive their transport: counted and logged at debug level, not printed as
tracebacks.

aiortc sends SCTP data, retransmissions and stream resets from tasks nobody awaits
(`asyncio.ensure_future(self._data_channel_flush())` after every data channel `send`, and its
timers). When the DTLS or ICE transport underneath closes first (a peer that left, ICE consent lost on
a machine too busy to answer it), such a task ends in `ConnectionError("Cannot send ... not
connected")`, and asyncio prints "Task exception was never retrieved" with a traceback at
garbage collection (an overloaded swarm and its room print dozens). Nothing was lost that the
connection's own closing does not already report; the data was for a peer that is gone.

`quiet_closed_sends(loop)` puts a filter in front of the loop's exception handler (whatever it is, the
app's error dialog included): a `ConnectionError` from a task running aiortc's own code is counted in
`closed_sends` and logged at debug level; anything else goes on to the handler as before.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

import aiortc

log = logging.getLogger(__name__)

_AIORTC_DIR = os.path.dirname(aiortc.__file__) + os.sep
_MARK = "_quiets_closed_sends"

closed_sends = 0  # in this process, since it started

Handler = Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object]


def is_closed_send(context: dict[str, Any]) -> bool:
    """Whether an exception handler's `context` is an aiortc task's send after its transport closed."""
    error = context.get("exception")
    task = context.get("future") or context.get("task")
    if not isinstance(error, ConnectionError) or not isinstance(task, asyncio.Task):
        return False
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and code.co_filename.startswith(_AIORTC_DIR)


def quiet_closed_sends(loop: asyncio.AbstractEventLoop) -> None:
    """Filter aiortc's closed sends out of `loop`'s exception handler (once per loop)."""
    previous: Handler | None = loop.get_exception_handler()
    if getattr(previous, _MARK, False):
        return

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if is_closed_send(context):
            count_closed_send(context)
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    setattr(handler, _MARK, True)
    loop.set_exception_handler(handler)


def count_closed_send(context: dict[str, Any]) -> None:
    global closed_sends
    closed_sends += 1
    task = context.get("future") or context.get("task")
    name = getattr(task.get_coro(), "__qualname__", "?") if isinstance(task, asyncio.Task) else "?"
    log.debug("aiortc's %s ended after its transport closed: %s", name, context.get("exception"))
