"""When the machine's hypervisor took its CPUs away, and which of a swarm's underruns fell then.

On a virtual machine the host can stop the guest's CPUs to run something else (CPU steal, in
/proc/stat). For a few tens of milliseconds nothing in the guest runs: not the room, not the sender,
not the listener. Any playout with a delay below that length then runs dry, at N = 2 as at N = 40, and
a load test that counts those underruns against the load it offered measures the host instead. So a
swarm samples the steal counter beside its own underrun count and reports the underruns that fell in,
or just after, such a stall apart from the rest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
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
class HostStalls:
    """Samples (time, stolen CPU, underruns so far); `summary()` says which underruns were the host's.

    Sans-I/O: the caller passes the clock, the steal counter and its own underrun count."""

    samples: list[tuple[float, float, int]] = field(default_factory=list)
    supported: bool = True

    def sample(self, now: float, steal_s: float | None, underruns: int) -> None:
        if steal_s is None:
            self.supported = False
            return
        self.samples.append((now, steal_s, underruns))

    def stalls(self) -> list[tuple[float, float, float]]:
        """(start, end, stolen seconds) of every stretch where ≥ STALL_STEAL_S was stolen within
        WINDOW_S, merged where they overlap: from the sample before the stealing began to the last
        sample of the stretch."""
        found: list[tuple[float, float, float]] = []
        oldest = 0
        for now, steal, _ in self.samples:
            while self.samples[oldest][0] < now - WINDOW_S - 1e-9:
                oldest += 1
            stolen = steal - self.samples[oldest][1]
            if stolen < STALL_STEAL_S - 1e-9:
                continue
            began = oldest
            while self.samples[began + 1][1] == self.samples[oldest][1]:
                began += 1
            start = self.samples[began][0]
            if found and start <= found[-1][1]:
                first, _, worst = found[-1]
                found[-1] = (first, now, max(worst, stolen))
            else:
                found.append((start, now, stolen))
        return found

    def summary(self) -> dict[str, Any]:
        if not self.supported or len(self.samples) < 2:
            return {"cpu_steal_ms": None, "stalls": [], "underruns_in_stalls": 0}
        begin = self.samples[0][0]
        stalls = self.stalls()
        in_stalls = 0
        for (_, _, before), (now, _, after) in pairwise(self.samples):
            if any(start < now <= end + AFTERMATH_S for start, end, _ in stalls):
                in_stalls += max(0, after - before)  # a speaker who left takes its count along
        return {
            "cpu_steal_ms": round(1000 * (self.samples[-1][1] - self.samples[0][1]), 1),
            "stalls": [
                {
                    "at_s": round(start - begin, 2),
                    "length_s": round(end - start, 2),
                    "stolen_ms": round(1000 * stolen),
                }
                for start, end, stolen in stalls
            ],
            "underruns_in_stalls": in_stalls,
        }


def merge_host_summaries(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One host section from several processes' (a swarm's workers): the stalls are the same host's,
    the underruns each process's own."""
    steals = [p["cpu_steal_ms"] for p in parts if p.get("cpu_steal_ms") is not None]
    widest = max(parts, key=lambda p: len(p.get("stalls", [])), default={})
    return {
        "cpu_steal_ms": max(steals) if steals else None,
        "stalls": widest.get("stalls", []),
        "underruns_in_stalls": sum(int(p.get("underruns_in_stalls", 0)) for p in parts),
    }
