"""Ending the tasks an object owns: every `stop()` cancels its tasks and waits for them to finish.

In the manner of aiortc's RTCRtpSender: an object that starts tasks stops them, and nothing it
started is still running when `stop()` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any] | None]) -> None:
    """Cancel every task, then wait for each to end; a task that failed is logged, not raised."""
    pending = [t for t in tasks if t is not None]
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            try:
                await task
            except Exception:
                log.exception("task %s failed while stopping", task.get_name())
