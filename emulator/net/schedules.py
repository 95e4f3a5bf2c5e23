"""Time-varying network presets: `commute` (4G with handovers) and `cafe-wifi` (bursts and spikes).

A preset here is a program: an endless run of (seconds, conditions) segments drawn from a seeded
generator, so the same `--net-seed` replays the same handovers at the same times. The figures are
typical, not measured on one network: an LTE handover interrupts the radio link for 50–300 ms and
the new cell starts worse; a busy café's Wi-Fi loses packets in runs when others transmit and its
queue fills (bufferbloat) for a second or so at a time.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.net.conditions import NetConditions

Segments = Iterator[tuple[float, "NetConditions"]]


@dataclass(frozen=True)
class Program:
    summary: str  # one line for --help, the dock and describe()
    segments: Callable[[NetConditions, random.Random], Segments]


def _commute(base: NetConditions, rng: random.Random) -> Segments:
    while True:
        yield rng.uniform(15.0, 40.0), base  # on one cell
        yield rng.uniform(0.05, 0.3), replace(base, loss=1.0)  # the handover: nothing gets through
        worse = replace(base, loss=0.03, burst=3.0, delay_s=0.08, jitter_s=0.03, rate_bps=1.5e6)
        yield rng.uniform(1.0, 3.0), worse  # the new cell, before the link adapts


def _cafe_wifi(base: NetConditions, rng: random.Random) -> Segments:
    while True:
        yield rng.uniform(5.0, 20.0), base
        if rng.random() < 0.5:
            yield rng.uniform(1.0, 4.0), replace(base, loss=0.08, burst=5.0)  # others transmitting
        else:
            spike = replace(base, delay_s=rng.uniform(0.12, 0.3), jitter_s=0.05)
            yield rng.uniform(0.3, 1.5), spike  # the access point's queue fills


PROGRAMS: dict[str, Program] = {
    "commute": Program("4G with a handover every 15–40 s (50–300 ms outage, then a worse cell)", _commute),
    "cafe-wifi": Program("Wi-Fi with bursty loss and 120–300 ms delay spikes every 5–20 s", _cafe_wifi),
}


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
