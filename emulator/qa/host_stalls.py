"""When the machine's hypervisor took its CPUs away, and which of a swarm's underruns fell then.

On a virtual machine the host can stop the guest's CPUs to run something else (CPU steal, in
/proc/stat). For a few tens of milliseconds nothing in the guest runs: not the room, not the sender,
not the listener. Any playout with a delay below that length then runs dry, at N = 2 as at N = 40, and
a load test that counts those underruns against the load it offered measures the host instead. So a
swarm samples the steal counter beside its own underrun count and reports the underruns that fell in,
or just after, such a stall apart from the rest.
"""

from __future__ import annotations

import math
import os
from collections import deque
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

PROC_STAT = Path("/proc/stat")
SAMPLE_S = 0.05
WINDOW_S = 0.2
# Stolen CPU time (summed over the CPUs) within WINDOW_S that makes a stall. The counter moves in
# 10 ms ticks; undisturbed runs here show at most 10-20 ms in any 200 ms, stalls that emptied
# playouts 30-70 ms.
STALL_STEAL_S = 0.03
# A stall delays everything behind it: the sender's packets, the room's forwarding and the listener's
# reading catch up over the next few hundred milliseconds.
AFTERMATH_S = 0.5


def read_cpu_steal_s(path: Path = PROC_STAT) -> float | None:
    """CPU time the host has stolen from this machine since boot, all CPUs together; None where the
    system does not say (not Linux, or no such field)."""
    try:
        with path.open() as stat:
            fields = stat.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class _Stall:
    start: float
    end: float
    stolen_s: float


class HostStalls:
    """Fed (time, stolen CPU, underruns so far) samples; `summary()` says which underruns were the
    host's. Sans-I/O: the caller passes the clock, the steal counter and its own underrun count.

    It keeps what a run of any length needs, not every sample: the last WINDOW_S of samples, the
    underruns not yet placed (a stall is dated back to when the stealing began, up to WINDOW_S before
    it is seen), and the latest MAX_LISTED stalls (`stall_count` counts them all)."""

    MAX_LISTED = 100

    def __init__(self) -> None:
        self.supported = True
        self._recent: deque[tuple[float, float]] = deque()  # (time, steal) over the last WINDOW_S
        self._undecided: deque[tuple[float, int]] = deque()  # (time, underruns added since the last)
        self._stalls: list[_Stall] = []
        self._stall_count = 0
        self._first: tuple[float, float, int] | None = None
        self._last: tuple[float, float, int] | None = None
        self._in_stalls = 0

    def sample(self, now: float, steal_s: float | None, underruns: int) -> None:
        if steal_s is None:
            self.supported = False
            return
        if self._first is None:
            self._first = (now, steal_s, underruns)
        if self._last is not None and underruns > self._last[2]:  # a speaker who left takes its count
            self._undecided.append((now, underruns - self._last[2]))
        self._last = (now, steal_s, underruns)
        self._recent.append((now, steal_s))
        while self._recent[0][0] < now - WINDOW_S - 1e-9:
            self._recent.popleft()
        stolen = steal_s - self._recent[0][1]
        if stolen >= STALL_STEAL_S - 1e-9:
            # From the sample before the stealing began to this one.
            start = next(t for (t, _), (_, later) in pairwise(self._recent) if later > self._recent[0][1])
            self._note_stall(start, now, stolen)
        self._decide(now - WINDOW_S - SAMPLE_S)

    def _note_stall(self, start: float, end: float, stolen: float) -> None:
        last = self._stalls[-1] if self._stalls else None
        if last is not None and start <= last.end:
            last.end, last.stolen_s = end, max(last.stolen_s, stolen)
            return
        self._stall_count += 1
        if len(self._stalls) >= self.MAX_LISTED:
            self._stalls.pop(0)
        self._stalls.append(_Stall(start, end, stolen))

    def _decide(self, before: float) -> None:
        """Place the underruns counted before `before`: no stall found later can reach back to them."""
        while self._undecided and self._undecided[0][0] <= before:
            at, added = self._undecided.popleft()
            if any(s.start < at <= s.end + AFTERMATH_S for s in reversed(self._stalls[-8:])):
                self._in_stalls += added

    def summary(self) -> dict[str, Any]:
        if not self.supported or self._first is None or self._last is None:
            why = "no CPU steal counter here (/proc/stat)" if not self.supported else "not sampled yet"
            return {
                "cpu_steal_ms": None,
                "cpu_steal_why": why,
                "stall_count": 0,
                "stalls": [],
                "underruns_in_stalls": 0,
            }
        self._decide(math.inf)
        begin = self._first[0]
        return {
            "cpu_steal_ms": round(1000 * (self._last[1] - self._first[1]), 1),
            "stall_count": self._stall_count,
            "stalls": [
                {
                    "at_s": round(s.start - begin, 2),
                    "length_s": round(s.end - s.start, 2),
                    "stolen_ms": round(1000 * s.stolen_s),
                }
                for s in self._stalls
            ],
            "underruns_in_stalls": self._in_stalls,
        }


def merge_host_summaries(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One host section from several processes' (a swarm's workers): the stalls are the same host's,
    the underruns each process's own."""
    steals = [p["cpu_steal_ms"] for p in parts if p.get("cpu_steal_ms") is not None]
    widest = max(parts, key=lambda p: p.get("stall_count", len(p.get("stalls", []))), default={})
    return {
        "cpu_steal_ms": max(steals) if steals else None,
        **({} if steals else {"cpu_steal_why": "no worker could read a CPU steal counter"}),
        "stall_count": widest.get("stall_count", len(widest.get("stalls", []))),
        "stalls": widest.get("stalls", []),
        "underruns_in_stalls": sum(int(p.get("underruns_in_stalls", 0)) for p in parts),
    }
