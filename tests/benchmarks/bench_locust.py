"""Issue 25's bridge figure: CPU per headset of `swarm --workers 2` and of Locust with 2 workers.

Same room, same N, same headsets (visionpro, pose at 90 Hz, the talk face, 2 speakers, the mixed
motions), alternating runs so that the load others put on the machine falls on both alike. CPU is
CPU seconds per wall second over a settled window, of every process of the tool: the swarm's parent
and workers; Locust's master, workers and their headset engines. The latencies are each tool's own
figure for the same thing (swarm's report; Locust's CSV), to show that they agree.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from emulator.qa.locust import locustfile_path
from emulator.qa.swarm import SETTLE_S
from tests.benchmarks.bench_swarm import _cpu_seconds, _free_port
from tests.benchmarks.report import Section

SECRET = "bench-secret-for-the-locust-0123456789"
COUNT = 12
SPEAKERS = 2
RUN_S = 45.0
WINDOW_S = 10.0
ROUNDS = 2


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


def _window(pids: list[int], room_port: int) -> float | None:
    """Cores used by these processes (and their children) over WINDOW_S, from SETTLE_S after the room
    holds all COUNT headsets (the tools start and join at different speeds: joins are not counted)."""
    deadline = time.monotonic() + 90
    while _participants(room_port) < COUNT:
        if time.monotonic() > deadline:
            return None  # not everyone joined (a slow start on a busy host): no figure, not a zero
        time.sleep(0.25)
    time.sleep(SETTLE_S)
    start, began = sum(_cpu_seconds(p) for p in pids), time.monotonic()
    time.sleep(WINDOW_S)
    return (sum(_cpu_seconds(p) for p in pids) - start) / (time.monotonic() - began)


def _swarm(url: str, port: int, env: dict[str, str], tmp: Path) -> dict[str, Any]:
    report = tmp / "swarm.json"
    swarm = _popen(
        [sys.executable, "-m", "emulator", "swarm", url, "-n", str(COUNT), "--speakers", str(SPEAKERS),
         "--face", "talk", "--duration", str(RUN_S), "--workers", "2", "--report", str(report)],
        env,
    )  # fmt: skip
    cores = _window([swarm.pid], port)
    _stop(swarm, RUN_S + 120)
    if not report.exists():
        return {"cores": cores}
    data = json.loads(report.read_text())
    m2e = [
        r["mouth_to_ear"]["median_ms"]
        for h in data["per_headset"]
        for r in h["remotes"]
        if r["mouth_to_ear"]["median_ms"] is not None
    ]
    return {
        "cores": cores,
        "joined": data["headsets"],
        "state_ms": data["state_latency_median_ms"],
        "m2e_ms": sorted(m2e)[len(m2e) // 2] if m2e else None,
    }


def _locust(url: str, room_port: int, env: dict[str, str], tmp: Path) -> dict[str, Any]:
    port = _free_port()
    base = [sys.executable, "-m", "locust", "-f", str(locustfile_path())]
    master = _popen(
        [*base, "--headless", "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
         "--expect-workers", "2", "-u", str(COUNT), "-r", "4", "-t", f"{RUN_S:.0f}s", "-H", url,
         "--csv", str(tmp / "run"), "--profiles", "visionpro", "--speakers", str(SPEAKERS),
         "--measuring", "1", "--exit-code-on-error", "0"],
        env,
    )  # fmt: skip
    workers = [
        _popen([*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)], env)
        for _ in range(2)
    ]
    cores = _window([master.pid, *(w.pid for w in workers)], room_port)
    _stop(master, RUN_S + 120)
    for worker in workers:
        _stop(worker, 30)
    try:
        with (tmp / "run_stats.csv").open() as f:
            rows = {row["Name"]: row for row in csv.DictReader(f) if row["Type"]}
    except OSError:
        return {"cores": cores}

    def median(name: str) -> float | None:
        return float(rows[name]["Median Response Time"]) if name in rows else None

    join = rows.get("join")
    return {
        "cores": cores,
        "joined": int(join["Request Count"]) - int(join["Failure Count"]) if join else 0,
        "state_ms": median("state latency"),
        "m2e_ms": median("mouth-to-ear"),
    }


def run() -> list[Section]:
    rows: list[list[str]] = []
    per_tool: dict[str, list[float]] = {"swarm --workers 2": [], "Locust, 2 workers": []}
    for round_no in range(1, ROUNDS + 1):
        for tool, measure in (("swarm --workers 2", _swarm), ("Locust, 2 workers", _locust)):
            with tempfile.TemporaryDirectory() as tmp:
                env = _env(tmp)
                port = _free_port()
                room = _popen(
                    [sys.executable, "-m", "emulator", "room", "--host", "127.0.0.1", "--port", str(port)],
                    env,
                )
                try:
                    time.sleep(2.5)
                    result = measure(f"ws://127.0.0.1:{port}/ws", port, env, Path(tmp))
                finally:
                    room.send_signal(signal.SIGINT)
                    _stop(room, 10)
            cores = result["cores"]
            if cores is not None:
                per_tool[tool].append(cores)
            rows.append(
                [tool, str(round_no), str(result.get("joined")),
                 f"{cores:.3f}" if cores is not None else "None",
                 f"{cores / COUNT:.4f}" if cores is not None else "None",
                 str(result.get("state_ms")), str(result.get("m2e_ms"))]
            )  # fmt: skip
    swarm = sum(per_tool["swarm --workers 2"]) / max(1, len(per_tool["swarm --workers 2"]))
    locust = sum(per_tool["Locust, 2 workers"]) / max(1, len(per_tool["Locust, 2 workers"]))
    ratio = f"×{locust / swarm:.2f}" if swarm and locust else "no ratio (a tool never had everyone in)"
    title = (
        f"Locust bridge at N = {COUNT}: CPU per headset {locust / COUNT:.4f} cores (Locust, 2 workers) vs "
        f"{swarm / COUNT:.4f} (swarm --workers 2), {ratio} (goal ≤ ×1.15)"
    )
    columns = ["tool", "round", "joined", "CPU cores", "cores per headset", "state latency median ms",
               "mouth-to-ear median ms"]  # fmt: skip
    notes = [
        f"{COUNT} headsets (visionpro, talk face, mixed motions), {SPEAKERS} speakers, one room process; "
        f"runs of {RUN_S:.0f} s alternating between the tools, {ROUNDS} rounds; CPU over {WINDOW_S:.0f} s "
        f"from {SETTLE_S:.0f} s after the room held all {COUNT} (joins not counted), the room's not counted.",
        "Locust's CPU includes its master (on a real load test it runs on another machine) and both "
        "workers' headset engines; swarm's, its parent and its 2 workers.",
        "One member measures mouth-to-ear in each (swarm: its last headset; Locust: the first user of its "
        "first worker); the speakers share one encoder in both (swarm's first worker; Locust's first).",
        "State latency: swarm's is the median over pairs of each pair's median; Locust's is the median "
        "of the per-second medians each user reports. Mouth-to-ear: swarm's median over pairs; Locust's "
        "over every sample.",
        "This 2-core machine is shared with other work (load average 8-16 while this ran): the absolute "
        "figures are noisy; the alternation makes the ratio the figure to read.",
    ]
    return [Section(title, columns, rows, notes)]
