"""The headset as one assembled object (a sans-I/O state stream, typed specs and events, net/ split)
against the code just before that change: voice latency between two peers, mouth-to-ear through the
room, the uplink per participant, and CPU per headset in a swarm of 20.

"Before" is the parent of the commit that made the state stream sans-I/O, unpacked with `git archive`
into a temporary folder; "after" is this checkout. Each tree runs its own latency and room benchmark
modules (their imports follow the tree's layout) in a fresh interpreter of this virtualenv, and its own
`room` and `swarm` for the swarm row; the trees alternate, so both see the same load. Only rows both
trees measure are compared; sessions are fewer than in the latency and room benchmarks themselves.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from tests.benchmarks import bench_swarm
from tests.benchmarks.bench_cli import unpack
from tests.benchmarks.report import Section

BEFORE = "349c269^"  # the parent of "headset: the state stream as a sans-I/O StateStreamCore"
ROUNDS = 2
SWARM_ROUNDS = 4  # swarms per tree, alternating; a round's column shows the mean of its half
SWARM_N = 20
OVERRIDES = {"SESSIONS": 3}  # per latency row, in both trees' modules (6 in their own runs)
UPLINK_SECONDS = "10"
RUN_BENCH = """
import json, os
from tests.benchmarks import bench_{name} as bench
for key, value in json.loads(os.environ["BENCH_OVERRIDES"]).items():
    setattr(bench, key, value)
if hasattr(bench, "PATHS"):  # the 10 ms frames came later: compare the 20 ms paths both trees have
    bench.PATHS = tuple(path for path in bench.PATHS if path[2] == 20)
sections = [{{"title": s.title, "columns": s.columns, "rows": s.rows}} for s in bench.run()]
print("SECTIONS " + json.dumps(sections))
"""
ROOT = Path(__file__).resolve().parents[2]


def _bench(tree: Path, name: str) -> list[dict[str, Any]]:
    env = dict(
        os.environ,
        PYTHONPATH=str(tree),
        BENCH_OVERRIDES=json.dumps(OVERRIDES),
        BENCH_UPLINK_SECONDS=UPLINK_SECONDS,
    )
    done = subprocess.run(
        [sys.executable, "-c", RUN_BENCH.format(name=name)],
        cwd=tree, env=env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    for line in done.stdout.splitlines():
        if line.startswith("SECTIONS "):
            sections: list[dict[str, Any]] = json.loads(line[len("SECTIONS ") :])
            return sections
    raise RuntimeError(f"bench {name} in {tree} failed: {done.stderr.strip()[-800:]}")


@contextmanager
def _in_tree(tree: Path) -> Iterator[None]:
    """`python -m emulator` reads the package from the working folder first, then PYTHONPATH."""
    old_cwd = Path.cwd()
    os.chdir(tree)
    try:
        with mock.patch.dict(os.environ, PYTHONPATH=str(tree)):
            yield
    finally:
        os.chdir(old_cwd)


def _rows(sections: list[dict[str, Any]], title_start: str) -> list[dict[str, str]]:
    section = next(s for s in sections if s["title"].startswith(title_start))
    return [dict(zip(section["columns"], row, strict=True)) for row in section["rows"]]


def _number(text: str) -> float:
    return float(text.rstrip("%x").replace(",", ""))


def _figures(
    latency: list[dict[str, Any]], room: list[dict[str, Any]], swarms: list[dict[str, Any]]
) -> dict[str, float]:
    """The figures both trees measure; a round's swarm figures are the mean of its share of the swarms."""
    out: dict[str, float] = {}
    for row in _rows(latency, "Voice latency"):
        if row["receive path"] in ("ours", "stock aiortc"):
            key = f"two peers, {row['receive path']}, {row['loss']} loss"
            out[f"{key}: median ms"] = _number(row["mouth-to-ear median ms"])
            out[f"{key}: played %"] = _number(row["audio time played"])
    for row in _rows(room, "Mouth-to-ear through the bundled room"):
        who = "ours" if row["listener"].startswith("ours") else "stock aiortc"
        key = f"through the room, {who}, {row['RTP loss']} loss"
        out[f"{key}: median ms"] = _number(row["median ms"])
        out[f"{key}: played %"] = _number(row["audio time played"])
    for row in _rows(room, "Uplink per participant"):
        if row["STATEs per datagram"] == "1":
            out["uplink per participant, on the wire: kbps"] = _number(
                row["everything on the wire: transport bytesSent, kbps"]
            )
    joined = [swarm for swarm in swarms if swarm.get("joined") == SWARM_N]
    if joined:
        mean = statistics.mean
        out[f"swarm of {SWARM_N}: CPU per headset, cores"] = mean(s["swarm_cores"] for s in joined) / SWARM_N
        out[f"swarm of {SWARM_N}: room CPU per participant, cores"] = (
            mean(s["room_cores"] for s in joined) / SWARM_N
        )
        out[f"swarm of {SWARM_N}: state latency median ms"] = mean(float(s["latency_ms"]) for s in joined)
        out[f"swarm of {SWARM_N}: worst pair's share of states, %"] = 100 * mean(
            float(s["min_ratio"]) for s in joined
        )
    return out


def run() -> list[Section]:
    by_tree: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    swarms: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"before": unpack(BEFORE, Path(tmp), ("emulator", "tests")), "after": ROOT}
        for _ in range(SWARM_ROUNDS):  # first: a swarm's CPU moves most with other load
            for label, tree in trees.items():
                with _in_tree(tree):
                    swarms[label].append(bench_swarm._swarm(SWARM_N))
                print(f"  {label}: swarm {swarms[label][-1]}", flush=True)
        for round_ in range(ROUNDS):
            for label, tree in trees.items():
                latency = _bench(tree, "latency")
                room = _bench(tree, "room")
                by_tree[label].append(_figures(latency, room, swarms[label][round_::ROUNDS]))
                print(f"  {label}: {by_tree[label][-1]}", flush=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", BEFORE], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    rows = []
    for metric in by_tree["after"][0]:
        before = [f[metric] for f in by_tree["before"] if metric in f]
        after = [f[metric] for f in by_tree["after"] if metric in f]
        if not before or not after:
            continue
        b, a = statistics.mean(before), statistics.mean(after)
        rows.append(
            [
                metric,
                " / ".join(f"{x:.3g}" for x in before),
                " / ".join(f"{x:.3g}" for x in after),
                f"{a / b:.2f}" if b else "-",
            ]
        )
    return [
        Section(
            title=f"The headset restructure against the code before it ({commit}), alternating runs "
            f"(goal: no figure worse beyond the run-to-run noise)",
            columns=["figure", "before (each run)", "after (each run)", "after / before, means"],
            rows=rows,
            notes=[
                f"first {SWARM_ROUNDS} swarms of {SWARM_N} per tree, alternating (2 speakers, talk face, 2 "
                "workers, each against its own tree's room; CPU over the settled middle third of 20 s), "
                f"then {ROUNDS} rounds of each tree's latency and room benchmarks, alternating "
                f"({OVERRIDES['SESSIONS']} sessions per row, 20 ms frames; uplink {UPLINK_SECONDS} s); "
                "each column's value for a swarm figure is the mean of every other swarm",
                "after also carries what landed since (room edge limits, the playout after long loss "
                "runs): a difference can come from those as much as from the restructure",
                "the run-to-run noise is the spread between a tree's own runs (the columns' two values)",
            ],
        )
    ]
