"""Issue 25's bridge figure: CPU per headset of `swarm --workers 2` and of Locust with 2 workers.

Same room, same N, same headsets (visionpro, pose at 90 Hz, the talk face, no hands, 2 speakers, one
measuring member that is no speaker, the mixed motions), in rounds of one run of each, alternating
which goes first (swarm, Locust; Locust, swarm; …) so that the load others put on the machine, and
its drift, fall on both alike. CPU is CPU seconds per wall second over a settled window, of every
process of the tool: the swarm's parent and workers; Locust's master, workers and their headset
engines (the engines also apart, so the bridge's own share shows). The figure is the ratio of the
means over the rounds; each round's own ratio shows the spread. One more run, after the rounds, is
Locust as it comes, with its default `--hands relaxed`: what hands add. The latencies are each
tool's own figure for the same thing (swarm's report; Locust's CSV), to show that they agree.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.qa.locust import locustfile_path
from emulator.qa.swarm import SETTLE_S
from tests.benchmarks.bench_swarm import _cpu_seconds, _free_port
from tests.benchmarks.report import Section

SECRET = "bench-secret-for-the-locust-0123456789"
COUNT = 12
SPEAKERS = 2
RUN_S = 40.0  # joins (under 10 s here), SETTLE_S and the window fit with room to spare
WINDOW_S = 15.0
ROUNDS = 6
JOIN_WAIT_S = 75.0
HANDS = "none"  # swarm's default (see emulator/cli/swarm.py); Locust's is relaxed
SWARM, LOCUST, LOCUST_HANDS = "swarm --workers 2", "Locust, 2 workers", "Locust, 2 workers, --hands relaxed"


def _env(tmp: str) -> dict[str, str]:
    return dict(os.environ, HEADSET_EMULATOR_SECRET=SECRET, PYTHONUNBUFFERED="1", XDG_CONFIG_HOME=tmp)


def _popen(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def _stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _participants(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return int(json.load(response)["participants"])
    except (OSError, ValueError, KeyError):
        return 0


def _engines(pids: list[int]) -> list[int]:
    """The headset engines these Locust processes started."""
    found = []
    for pid in pids:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        for child in children:
            try:
                if b"emulator.qa.locust.engine" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
            except OSError:
                pass
    return found


def _window(
    pids: list[int], room_port: int, part: Callable[[], list[int]] = lambda: []
) -> tuple[float, float, float, int] | None:
    """Cores used by these processes (and their children) over WINDOW_S, from SETTLE_S after the room
    holds all COUNT headsets (the tools start and join at different speeds: joins are not counted);
    the cores of `part`'s processes among them; the load average at the end; the headsets the room
    held. On a loaded host a swarm member can lose its signaling while the others join (a swarm does
    not rejoin): after JOIN_WAIT_S the window measures the members still there, if they stay as many."""
    deadline = time.monotonic() + JOIN_WAIT_S
    while (held := _participants(room_port)) < COUNT and time.monotonic() < deadline:
        time.sleep(0.25)
    if held == 0:
        return None
    time.sleep(SETTLE_S)
    some = part()
    start, began = sum(_cpu_seconds(p) for p in pids), time.monotonic()
    start_part = sum(_cpu_seconds(p) for p in some)
    time.sleep(WINDOW_S)
    wall = time.monotonic() - began
    cores = (sum(_cpu_seconds(p) for p in pids) - start) / wall
    if _participants(room_port) != held:
        return None  # someone left or joined during the window: no figure, not a wrong one
    return cores, (sum(_cpu_seconds(p) for p in some) - start_part) / wall, os.getloadavg()[0], held


def _swarm(url: str, port: int, env: dict[str, str], tmp: Path) -> dict[str, Any]:
    report = tmp / "swarm.json"
    swarm = _popen(
        [sys.executable, "-m", "emulator", "swarm", url, "-n", str(COUNT), "--speakers", str(SPEAKERS),
         "--face", "talk", "--hands", HANDS, "--duration", str(RUN_S), "--workers", "2",
         "--report", str(report)],
        env,
    )  # fmt: skip
    window = _window([swarm.pid], port)
    _stop(swarm, RUN_S + 120)
    if not report.exists():
        return {"window": window}
    data = json.loads(report.read_text())
    m2e = [
        r["mouth_to_ear"]["median_ms"]
        for h in data["per_headset"]
        for r in h["remotes"]
        if r["mouth_to_ear"]["median_ms"] is not None
    ]
    return {
        "window": window,
        "joined": data["headsets"],
        "state_ms": data["state_latency_median_ms"],
        "m2e_ms": sorted(m2e)[len(m2e) // 2] if m2e else None,
    }


def _locust(url: str, room_port: int, env: dict[str, str], tmp: Path, hands: str = HANDS) -> dict[str, Any]:
    port = _free_port()
    base = [sys.executable, "-m", "locust", "-f", str(locustfile_path())]
    master = _popen(
        [*base, "--headless", "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
         "--expect-workers", "2", "-u", str(COUNT), "-r", "4", "-t", f"{RUN_S:.0f}s", "-H", url,
         "--csv", str(tmp / "run"), "--profiles", "visionpro", "--speakers", str(SPEAKERS),
         "--measuring", "1", "--hands", hands, "--exit-code-on-error", "0"],
        env,
    )  # fmt: skip
    workers = [
        _popen([*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)], env)
        for _ in range(2)
    ]
    pids = [w.pid for w in workers]
    window = _window([master.pid, *pids], room_port, lambda: _engines(pids))
    _stop(master, RUN_S + 120)
    for worker in workers:
        _stop(worker, 30)
    try:
        with (tmp / "run_stats.csv").open() as f:
            rows = {row["Name"]: row for row in csv.DictReader(f) if row["Type"]}
    except OSError:
        return {"window": window}

    def median(name: str) -> float | None:
        return float(rows[name]["Median Response Time"]) if name in rows else None

    join = rows.get("join")
    return {
        "window": window,
        "joined": int(join["Request Count"]) - int(join["Failure Count"]) if join else 0,
        "state_ms": median("state latency"),
        "m2e_ms": median("mouth-to-ear"),
    }


def _locust_with_hands(url: str, room_port: int, env: dict[str, str], tmp: Path) -> dict[str, Any]:
    return _locust(url, room_port, env, tmp, hands="relaxed")


def _fmt(value: float | None, digits: int) -> str:
    return "None" if value is None else f"{value:.{digits}f}"


Measure = Callable[[str, int, dict[str, str], Path], dict[str, Any]]


@dataclass
class Run:
    row: list[str]  # the table's
    per_headset: float | None  # cores
    bridge: float | None  # Locust's cores apart from its engines
    loads: list[float]  # the load average before the run and at the end of its window


def _one_run(tool: str, measure: Measure, round_no: int) -> Run:
    """One run of `tool` against a room of its own."""
    before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(tmp)
        port = _free_port()
        room = _popen(
            [sys.executable, "-m", "emulator", "room", "--host", "127.0.0.1", "--port", str(port)], env
        )
        try:
            time.sleep(2.5)
            result = measure(f"ws://127.0.0.1:{port}/ws", port, env, Path(tmp))
        finally:
            room.send_signal(signal.SIGINT)
            _stop(room, 10)
    window = result["window"]
    cores, engines, load, held = window if window is not None else (None, None, None, 0)
    per_headset = cores / held if cores is not None and held else None
    bridge = cores - engines if cores is not None and engines else None
    row = [tool, str(round_no), str(held or None), _fmt(cores, 3), _fmt(per_headset, 4),
           _fmt(bridge, 3) if tool != SWARM else "-",
           _fmt(load, 1), str(result.get("state_ms")), str(result.get("m2e_ms"))]  # fmt: skip
    print(" | ".join(row), f"(load {before:.1f} before)", file=sys.stderr, flush=True)
    return Run(row, per_headset, bridge, [before] + ([load] if load is not None else []))


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def run() -> list[Section]:
    rows: list[list[str]] = []
    per_tool: dict[str, list[float]] = {SWARM: [], LOCUST: [], LOCUST_HANDS: []}
    bridges: list[float] = []
    loads: list[float] = []  # before each run and at the end of each window
    ratios: list[float | None] = []  # each round's Locust / swarm
    plain: tuple[tuple[str, Measure], ...] = ((SWARM, _swarm), (LOCUST, _locust))
    for round_no in range(1, ROUNDS + 1):
        # Swarm first in odd rounds, Locust first in even ones: a load that rises or falls through a
        # round favours neither tool over the rounds.
        order = plain if round_no % 2 else plain[::-1]
        got: dict[str, float] = {}
        for tool, measure in order:
            done = _one_run(tool, measure, round_no)
            rows.append(done.row)
            loads += done.loads
            if done.per_headset is not None:
                per_tool[tool].append(done.per_headset)
                got[tool] = done.per_headset
            if done.bridge is not None and tool == LOCUST:
                bridges.append(done.bridge)
        ratios.append(got[LOCUST] / got[SWARM] if len(got) == 2 else None)
    done = _one_run(LOCUST_HANDS, _locust_with_hands, ROUNDS + 1)
    rows.append(done.row)
    loads += done.loads
    if done.per_headset is not None:
        per_tool[LOCUST_HANDS].append(done.per_headset)

    swarm, locust, hands = _mean(per_tool[SWARM]), _mean(per_tool[LOCUST]), _mean(per_tool[LOCUST_HANDS])
    ratio = f"×{locust / swarm:.2f}" if swarm and locust else "no ratio (a tool never gave a figure)"
    title = (
        f"Locust bridge at N = {COUNT}: CPU per headset {locust:.4f} cores (Locust, 2 workers) vs "
        f"{swarm:.4f} (swarm --workers 2), {ratio} (goal ≤ ×1.15)"
    )
    columns = ["tool", "round", "in the room", "CPU cores", "cores per headset",
               "Locust's own processes (cores)", "load average", "state latency median ms",
               "mouth-to-ear median ms"]  # fmt: skip
    notes = [
        f"{COUNT} headsets (visionpro, talk face, no hands, mixed motions), {SPEAKERS} speakers, one "
        f"measuring member, one room process; {ROUNDS} rounds of one run of each tool ({RUN_S:.0f} s "
        "each), swarm first in odd rounds and Locust first in even ones; CPU over "
        f"{WINDOW_S:.0f} s from {SETTLE_S:.0f} s after the room held all {COUNT} (joins not counted), "
        f"the room's not counted. Where a swarm member lost its signaling while the others joined "
        f"(swarm does not rejoin; Locust's users do), the window began {JOIN_WAIT_S:.0f} s after the "
        'start with the members still in the room: "in the room" is how many, and the CPU per headset '
        "is per member there.",
        f"The title's ratio is the ratio of the means over the rounds ({ratio}); each round's own "
        "Locust / swarm: "
        + ", ".join("none (a run gave no figure)" if r is None else f"×{r:.2f}" for r in ratios)
        + (
            f" (median ×{statistics.median(paired):.2f}, ×{min(paired):.2f}-×{max(paired):.2f})."
            if (paired := [r for r in ratios if r is not None])
            else "."
        ),
        "Locust's CPU includes its master (on a real load test it runs on another machine), both "
        'workers and their headset engines; "Locust\'s own processes" is that minus the engines (the '
        "bridge's share: greenlets, the pipes, Locust's stats"
        + (
            f"; {_mean(bridges):.3f} cores on average, {_mean(bridges) / COUNT:.4f} per headset"
            if bridges
            else ""
        )
        + "); swarm's, its parent and its 2 workers.",
        f"Round {ROUNDS + 1} is one run of Locust with its default `--hands relaxed` (swarm's default is "
        "none): hands at 30 Hz, forwarded to every other member"
        + (f", cost ×{hands / locust:.2f} Locust's mean CPU without them." if locust and hands else "."),
        "One member measures mouth-to-ear in each, a listener that hears both speakers (swarm: its last "
        "headset; Locust: its first worker's first user after the speakers); the speakers share one "
        "encoder in both (swarm's first worker; Locust's first).",
        "State latency: swarm's is the median over pairs of each pair's median; Locust's is the median "
        "of the per-second medians each user reports. Mouth-to-ear: swarm's median over pairs; Locust's "
        "over every sample.",
        "The 1-minute load average, before each run and at the end of each window, was "
        + (f"{min(loads):.1f}-{max(loads):.1f}" if loads else "unknown")
        + " (the tool under test and its room are part of it; this 2-core machine is shared with "
        "other work). With more runnable processes than cores each busy loop gets its "
        "share of the cores rather than what its headsets ask for, and the ratio then says more about "
        "how starved each tool's processes were than about what they cost.",
    ]
    return [Section(title, columns, rows, notes)]
