"""Periodic work wakes on a grid shared by the whole process: the multiples of its period.

Why: a swarm worker runs 16 headsets, each sending STATEs at 90 Hz and pulling audio at 50 Hz. Each on
its own phase, they woke the loop some 2,200 times a second, every wake-up an epoll_wait and a pass
through asyncio for a single task. On one grid, the headsets with the same period come due in the same
loop iteration, and the room receives their datagrams together and handles them in one go. Side by
side (two rooms with a swarm of 12 each, running at once, 5 rounds) the grid took ×0.94-0.97 of the
CPU. A lone headset is unaffected: where it sits on the grid is as arbitrary as any other phase.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable


def next_tick(period: float, now: float) -> int:
    """The index k of the first grid instant k × `period` after `now` (both in monotonic seconds)."""
    return math.floor(now / period) + 1


def due(now: float, next_at: float, period: float) -> tuple[bool, float]:
    """Whether a part sent every `period` (a face, hands) is due now, and when it is due next; after
    a stall it restarts from now rather than catching up in a burst."""
    if now < next_at:
        return False, next_at
    next_at += period
    return True, next_at if next_at >= now else now + period


class Wakeups:
    """Work due at the same instant on one loop wakes it with one timer, however many headsets share
    the instant: the grid's instants are the same floats for all of them, so they key a dict.

    Why: a task per headset sleeping to each instant cost each headset a timer, a future and a task
    step per wake-up, some 140 a second each (90 Hz STATEs, 50 Hz audio pulls); one timer per instant
    then calls every headset's step in turn.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._due: dict[tuple[float, Callable[[], float]], list[Callable[[], None]]] = {}
        # asyncio's own loop reads time.monotonic, the instants' usual clock: its timer takes them as
        # they are. Another loop (uvloop) or clock: the timer goes where asyncio.sleep would put it.
        self._monotonic = type(loop).time is asyncio.BaseEventLoop.time

    def at(
        self, when: float, callback: Callable[[], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Call `callback` once at `when` on `clock` (in the loop's next turn if that has passed)."""
        key = (when, clock)
        batch = self._due.get(key)
        if batch is None:
            batch = self._due[key] = []
            if not (self._monotonic and clock is time.monotonic):
                when = self.loop.time() + max(0.0, when - clock())
            self.loop.call_at(when, self._fire, key)
        batch.append(callback)

    def _fire(self, key: tuple[float, Callable[[], float]]) -> None:
        for callback in self._due.pop(key):
            try:
                callback()
            except Exception as error:  # one headset's bug must not strand the others of the instant
                self.loop.call_exception_handler({"message": "a wake-up failed", "exception": error})


_current: Wakeups | None = None


def wakeups() -> Wakeups:
    """The running loop's `Wakeups` (one per loop; made on first use)."""
    global _current
    loop = asyncio.get_running_loop()
    current = _current
    if current is None or current.loop is not loop:
        current = _current = Wakeups(loop)
    return current
