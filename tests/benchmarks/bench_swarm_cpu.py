"""Issue 25's "one machine carries more": CPU per swarm headset and per room participant at N = 24,
the code before the CPU work against this checkout, in alternating runs.

"Before" is `BEFORE` unpacked with `git archive` (bench_cli's `unpack`); "after" is this checkout,
run twice a round: on asyncio's loop (swarm's default) and with `HEADSET_EMULATOR_LOOP=uvloop`, so
what uvloop does and what the rest does read apart. Each run is
bench_swarm's: a room and `swarm --workers 2` of the tree under test (pose 90 Hz, talk face, 2
speakers, one member measuring mouth-to-ear), CPU over the settled middle of the run; the trees
alternate within every round, so they share the machine's load.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

from tests.benchmarks import bench_swarm, side_by_side
from tests.benchmarks.bench_cli import unpack
from tests.benchmarks.bench_restructure import ROOT, _in_tree
from tests.benchmarks.report import Section

BEFORE = "170b794"  # main just before the CPU work (issue 25)
COUNT = 24
ROUNDS = 3
SWARM_SECONDS = 30.0  # bench_swarm measures over its middle third after the joins: 10 s here
GOAL = 0.55  # at most this share of before's CPU per swarm headset
# label -> (tree, extra environment)
VARIANTS = ("before", "after", "after, uvloop")
SIDE_COUNT = 12  # each of the two swarms running side by side (see side_by_side.py)
SIDE_ROUNDS = 3


def _one(tree: Path, env: dict[str, str]) -> dict[str, Any]:
    with mock.patch.dict(os.environ, env), _in_tree(tree):
        return bench_swarm._swarm(COUNT)


def run() -> list[Section]:
    bench_swarm.SWARM_SECONDS = SWARM_SECONDS
    results: dict[str, list[dict[str, Any]]] = {label: [] for label in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp:
        before = unpack(BEFORE, Path(tmp), ("emulator", "tests"))
        setups = {
            "before": (before, {}),
            "after": (ROOT, {"HEADSET_EMULATOR_LOOP": "asyncio"}),
            "after, uvloop": (ROOT, {"HEADSET_EMULATOR_LOOP": "uvloop"}),
        }
        if importlib.util.find_spec("uvloop") is None:  # not a dependency: measured where installed
            del setups["after, uvloop"]
        variants = list(setups)
        for round_no in range(1, ROUNDS + 1):
            for label in setups:
                tree, env = setups[label]
                result = _one(tree, env)
                results[label].append(result)
                print(f"  round {round_no} {label}: {_brief(result)}", flush=True)
        side = []
        for round_no in range(1, SIDE_ROUNDS + 1):
            pair = {"before": before, "after": ROOT}
            if round_no % 2 == 0:  # which starts first alternates
                pair = {"after": ROOT, "before": before}
            result = side_by_side.measure(
                pair, SIDE_COUNT, env={"after": {"HEADSET_EMULATOR_LOOP": "asyncio"}}
            )
            side.append(result)
            print(f"  side by side {round_no}: {_side_brief(result)}", flush=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    rows = []
    for round_no in range(ROUNDS):
        for label in variants:
            r = results[label][round_no]
            rows.append([label, str(round_no + 1), *_cells(r)])
    means = {label: _mean_per_headset(results[label]) for label in variants}
    summary = []
    for label in variants[1:]:
        ratio = means[label][0] / means["before"][0] if means["before"][0] else float("nan")
        room = means[label][1] / means["before"][1] if means["before"][1] else float("nan")
        summary.append(
            [label, f"{means[label][0]:.4f}", f"{ratio:.2f}", f"{means[label][1]:.4f}", f"{room:.2f}"]
        )
    after_ratio = means["after"][0] / means["before"][0] if means["before"][0] else float("nan")
    return [
        Section(
            title=f"CPU per swarm headset at N = {COUNT}: after / before = {after_ratio:.2f} (goal ≤ {GOAL})",
            columns=[
                "tree",
                "round",
                "joined",
                "swarm CPU cores",
                "cores per headset",
                "room CPU cores",
                "room cores per participant",
                "min state ratio",
                "underruns settled",
                "state latency median ms",
                "mouth-to-ear median ms",
            ],
            rows=rows,
            notes=[
                f"before: {BEFORE} (main before the CPU work); after: {commit}, on asyncio's loop (the "
                "default) and on uvloop (HEADSET_EMULATOR_LOOP=uvloop)",
                f"{COUNT} headsets, `swarm --workers 2`, pose 90 Hz, talk face, 2 speakers, one member "
                f"measuring mouth-to-ear; runs of {SWARM_SECONDS:.0f} s, CPU over the settled middle "
                f"{SWARM_SECONDS / 3:.0f} s; {ROUNDS} rounds, each running the variants in turn",
                "the room is each tree's own: after's has the same transport patches as its swarm (eager "
                "sends, DTLS datagrams handled where read) and runs on asyncio's loop in both after rows",
            ],
        ),
        Section(
            title=f"Means over the rounds, against before ({means['before'][0]:.4f} cores per headset, "
            f"{means['before'][1]:.4f} per room participant)",
            columns=["tree", "cores per headset", "/ before", "room cores per participant", "/ before"],
            rows=summary,
        ),
        _side_section(side),
    ]


def _side_section(side: list[dict[str, Any]]) -> Section:
    rows, ratios = [], []
    for round_no, result in enumerate(side, 1):
        before, after = result["before"], result["after"]
        both = before.get("ok") and after.get("ok")
        ratio = after["per_headset"] / before["per_headset"] if both else None
        if ratio is not None:
            ratios.append(ratio)
        for label, r in (("before", before), ("after", after)):
            rows.append([
                label, str(round_no),
                *((str(r["joined"]), f"{r['per_headset']:.4f}", f"{r['room_per_participant']:.4f}",
                   str(r["min_ratio"]), str(r["underruns_settled"]), str(r["latency_ms"]))
                  if r.get("ok") else ["failed", "-", "-", "-", "-", "-"]),
                "" if label == "before" or ratio is None else f"{ratio:.3f}",
            ])  # fmt: skip
    median = f"{statistics.median(ratios):.3f}" if ratios else "-"
    spread = f" ({min(ratios):.3f}-{max(ratios):.3f})" if ratios else ""
    return Section(
        title=f"Side by side at N = {SIDE_COUNT} each: after / before = {median}{spread}, median of "
        f"{len(ratios)} rounds",
        columns=[
            "tree",
            "round",
            "joined",
            "cores per headset",
            "room cores per participant",
            "min state ratio",
            "underruns settled",
            "state latency median ms",
            "after / before",
        ],
        rows=rows,
        notes=[
            f"before and after run at the same time, each with its own room and `swarm --workers 2` of "
            f"{SIDE_COUNT} (pose 90 Hz, talk face, 2 speakers), CPU over the same settled 10 s: both meet "
            "the host's load at the same moment, so the ratio holds where alternating runs scatter",
            "two rooms and two swarms share the 2 cores: absolute figures differ from the rows above",
        ],
    )


def _side_brief(result: dict[str, Any]) -> str:
    parts = []
    for label in ("before", "after"):
        r = result[label]
        parts.append(f"{label} {r['per_headset']:.4f} a headset" if r.get("ok") else f"{label} failed")
    return ", ".join(parts)


def _mean_per_headset(results: list[dict[str, Any]]) -> tuple[float, float]:
    full = [r for r in results if r.get("joined") == COUNT]
    if not full:
        return float("nan"), float("nan")
    return (
        statistics.mean(r["swarm_cores"] / COUNT for r in full),
        statistics.mean(r["room_cores"] / COUNT for r in full),
    )


def _cells(r: dict[str, Any]) -> list[str]:
    if "swarm_cores" not in r:
        return ["failed", "-", "-", "-", "-", "-", "-", "-", "-"]
    return [
        str(r["joined"]),
        f"{r['swarm_cores']:.3f}",
        f"{r['swarm_cores'] / COUNT:.4f}",
        f"{r['room_cores']:.3f}",
        f"{r['room_cores'] / COUNT:.4f}",
        str(r["min_ratio"]),
        str(r["underruns_settled"]),
        str(r["latency_ms"]),
        str(r.get("mouth_to_ear_ms")),
    ]


def _brief(r: dict[str, Any]) -> str:
    if "swarm_cores" not in r:
        return "failed"
    return (
        f"{r['joined']} joined, swarm {r['swarm_cores']:.3f} cores ({r['swarm_cores'] / COUNT:.4f} a "
        f"headset), room {r['room_cores']:.3f}, min ratio {r['min_ratio']}, latency {r['latency_ms']} ms"
    )
