"""Two trees' swarms measured at the same time: each its own room and `swarm --workers 2` of N headsets,
started together, CPU read over the same settled window.

Why: runs taken one after the other on this shared host differ by ±15% (other tenants, CPU steal), so
a change of a few percent is lost in alternating runs. Running side by side, both trees meet the same
load at the same moment and their ratio moves by about ±1% between rounds. N is half the alternating
runs' 24 so that the two swarms and two rooms fit the host's 2 cores together.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.benchmarks.bench_swarm import SECRET, SPEAKERS, WORKERS, _cpu_seconds, _free_port
from tests.support.processes import interrupt

SWARM_SECONDS = 30.0  # CPU over the middle third, once every headset has joined and settled


def measure(
    trees: dict[str, Path], count: int, env: dict[str, dict[str, str]] | None = None
) -> dict[str, Any]:
    """{label: cores per headset, room cores per participant, and the swarm's own figures} for one round."""
    env = env or {}
    with tempfile.TemporaryDirectory() as tmp:
        processes: dict[str, tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]] = {}
        rooms: dict[str, tuple[subprocess.Popen[bytes], int, dict[str, str]]] = {}
        try:
            for label, tree in trees.items():
                environment = _environment(tree, tmp, env.get(label, {}))
                port = _free_port()
                rooms[label] = (_start(tree, environment, "room", "--port", str(port)), port, environment)
            time.sleep(2.5)
            for label, tree in trees.items():
                room, port, environment = rooms[label]
                swarm = _start(
                    tree, environment, "swarm", "--no-verdict", f"ws://127.0.0.1:{port}/ws", "-n", str(count),
                    "--speakers", str(SPEAKERS), "--duration", str(SWARM_SECONDS), "--face", "talk",
                    "--workers", str(WORKERS), "--report", str(Path(tmp) / f"{label}.json"),
                )  # fmt: skip
                processes[label] = (room, swarm)
            time.sleep(SWARM_SECONDS / 2 + 2.0)
            start = {label: (_cpu_seconds(r.pid), _cpu_seconds(s.pid)) for label, (r, s) in processes.items()}
            began = time.monotonic()
            time.sleep(SWARM_SECONDS / 3)
            end = {label: (_cpu_seconds(r.pid), _cpu_seconds(s.pid)) for label, (r, s) in processes.items()}
            wall = time.monotonic() - began
            for _room, swarm in processes.values():
                swarm.wait(timeout=SWARM_SECONDS + 180)
        finally:
            _stop(processes, rooms)
        out: dict[str, Any] = {}
        for label in trees:
            path = Path(tmp) / f"{label}.json"
            if not path.exists():
                out[label] = {"ok": False}
                continue
            report = json.loads(path.read_text())
            out[label] = {
                "ok": report["headsets"] == count,
                "joined": report["headsets"],
                "per_headset": (end[label][1] - start[label][1]) / wall / count,
                "room_per_participant": (end[label][0] - start[label][0]) / wall / count,
                "min_ratio": report["state_delivery"]["min_ratio"],
                "underruns_settled": report["audio"]["underruns_settled"],
                "latency_ms": report["state_latency_median_ms"],
            }
        return out


def _environment(tree: Path, config_home: str, extra: dict[str, str]) -> dict[str, str]:
    return dict(
        os.environ, HEADSET_EMULATOR_SECRET=SECRET, PYTHONUNBUFFERED="1", XDG_CONFIG_HOME=config_home,
        PYTHONPATH=str(tree), **extra,
    )  # fmt: skip


def _start(tree: Path, environment: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    # The working folder comes first on the module path: each tree runs its own package.
    return subprocess.Popen(
        [sys.executable, "-m", "emulator", *args], cwd=tree, env=environment,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def _stop(
    processes: dict[str, tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]],
    rooms: dict[str, tuple[subprocess.Popen[bytes], int, dict[str, str]]],
) -> None:
    for _room, swarm in processes.values():
        if swarm.poll() is None:
            swarm.kill()
            swarm.wait()
    for room, _port, _environment in rooms.values():
        interrupt(room)
