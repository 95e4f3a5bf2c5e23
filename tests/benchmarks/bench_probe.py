"""The probe's example thresholds against a local room: the docs' command, run RUNS times.

The command is the one docs/qa.md gives (its `headset-emulator probe ... --once` line that sets
`--max-first-audio`), pointed at a `headset-emulator room` on 127.0.0.1 started here; each run is a
fresh process, as a cron job or CI step runs it, with `-v` so that the probe logs first audio's parts
(routed: the room subscribing the ear to the mouth's voice, a renegotiation; first packet; the rest
is the playout filling) and the settled state figures the verdict judges. The machine's load average
is noted beside the figures: they follow it.
"""

from __future__ import annotations

import os
import re
import shlex
import statistics
import subprocess
import tempfile
from pathlib import Path

from tests.benchmarks.report import Section
from tests.support.room import cli, cli_env, start_room

RUNS = 20
ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(
    r"join=(?P<join>[\d.]+)ms first_audio=(?P<first_audio>[\d.]+)ms mouth_to_ear=(?P<mouth_to_ear>[\d.]+)ms "
    r"floor=[\d.]+ms rtt=(?P<rtt>[\d.]+)ms mos=(?P<mos>[\d.]+) (?P<verdict>HEALTHY|UNHEALTHY.*)$"
)
PARTS = re.compile(
    r"routed to the mouth's voice at (?P<routed>[\d.]+) ms, its first packet at (?P<packet>[\d.]+) ms"
)
SETTLED = re.compile(
    r"state latency median (?P<latency>[\d.]+) ms, (?P<rate>[\d.]+) of (?P<sent>[\d.]+) states/s"
)


def example_command() -> list[str]:
    """The docs' example probe command, as words after `headset-emulator`, without the URL."""
    for line in (ROOT / "docs" / "qa.md").read_text().splitlines():
        words = shlex.split(line) if line.startswith("headset-emulator probe ") else []
        if "--max-first-audio" in words:
            return [w for w in words[1:] if not w.startswith("ws://")]
    raise LookupError("docs/qa.md has no `headset-emulator probe ... --max-first-audio` example")


def _spread(values: list[float], unit: str = "ms") -> list[str]:
    if not values:
        return ["-"] * 4
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return [
        f"{v:.0f} {unit}" if unit else f"{v:.2f}"
        for v in (ordered[0], statistics.median(ordered), p95, ordered[-1])
    ]


def _one_run(argv: list[str], env: dict[str, str]) -> tuple[str, dict[str, float]]:
    """A fresh probe process: its verdict and its figures (those it measured)."""
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "(no line)"
    found = LINE.search(line)
    figures: dict[str, float] = {}
    for match in (found, PARTS.search(done.stderr), SETTLED.search(done.stderr)):
        figures.update(
            {k: float(v) for k, v in (match.groupdict() if match else {}).items() if k != "verdict"}
        )
    if "routed" in figures and "first_audio" in figures:
        figures["heard"] = max(0.0, figures["first_audio"] - figures["routed"])  # the same block: 0
    if figures.get("sent"):
        figures["ratio"] = figures["rate"] / figures["sent"]
    return (found["verdict"] if found else line.split(" room=")[-1]), figures


def run() -> list[Section]:
    command = example_command()
    runs: list[dict[str, float]] = []
    verdicts: list[str] = []
    loads: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        rooms = start_room(Path(tmp))
        room = next(rooms)
        try:
            argv = cli(command[0], room.url, *command[1:], "-v")
            for _ in range(RUNS):
                loads.append(os.getloadavg()[0])
                verdict, figures = _one_run(argv, cli_env(Path(tmp)))
                verdicts.append(verdict)
                runs.append(figures)
        finally:
            rooms.close()
    healthy = sum(v == "HEALTHY" for v in verdicts)

    def spread(key: str, unit: str = "ms") -> list[str]:
        return _spread([r[key] for r in runs if key in r], unit)

    rows = [
        ["join (start-up)", *spread("join")],
        ["first audio (start-up)", *spread("first_audio")],
        ["  of which: routed (renegotiation)", *spread("routed")],
        ["  of which: routed to heard", *spread("heard")],
        ["mouth-to-ear, settled median", *spread("mouth_to_ear")],
        ["round trip, settled median", *spread("rtt")],
        ["state latency, settled median", *spread("latency")],
        ["states received / sent", *spread("ratio", unit="")],
        ["mos", *spread("mos", unit="")],
    ]
    failures = sorted({v for v in verdicts if v != "HEALTHY"})
    notes = [
        f"command: `headset-emulator {shlex.join([command[0], 'URL', *command[1:]])}`, a fresh process per run, "
        f"against `headset-emulator room` on 127.0.0.1",
        f"{healthy} of {RUNS} runs HEALTHY; load average (1 min) {min(loads):.1f}–{max(loads):.1f} "
        f"on {os.cpu_count()} cores while they ran",
        *(f"unhealthy: {v}" for v in failures),
    ]
    return [
        Section(
            f"Probe: the docs' example thresholds, {RUNS} runs against a local room ({healthy}/{RUNS} HEALTHY)",
            ["figure", "min", "median", "p95", "max"],
            rows,
            notes,
        )
    ]
