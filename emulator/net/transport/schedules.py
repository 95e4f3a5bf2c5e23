"""The replay of a time-varying network preset (`commute`, `cafe-wifi`) from its seed.

The programs themselves, endless runs of (seconds, conditions) segments, are in `condition_spec.py`;
a `Schedule` draws one from a seed and answers which conditions are in force at a given time.
"""

from __future__ import annotations

import random

from emulator.net.transport.condition_spec import PROGRAMS, NetConditions


class Schedule:
    """Replays one program from its origin: `at(t)` → the conditions in force t seconds in."""

    def __init__(self, base: NetConditions, seed: int) -> None:
        if base.varying not in PROGRAMS:
            raise ValueError(f"no time-varying program {base.varying!r}")
        self._segments = PROGRAMS[base.varying].segments(base, random.Random(seed))
        self._end = 0.0
        self._current = base
        self.changes = 0

    def at(self, elapsed: float) -> NetConditions:
        """Conditions at `elapsed` seconds (which must not go backwards much: segments are consumed)."""
        while elapsed >= self._end:
            duration, self._current = next(self._segments)
            self._end += duration
            self.changes += 1
        return self._current
