"""The app: time from `headset-emulator demo` to the first frame with avatars, and the frame rate while
connected to 8 remote headsets.

Each figure comes from a real `headset-emulator demo` process on an Xvfb screen (Mesa llvmpipe). The
baselines are measured in the same run: the interpreter starting the CLI (`--help`) for the start-up
time, and the same window in an empty room for the frame rate. The remote headsets are the demo's
talking bots, which run in the app's process on a thread of their own: their Opus encoding and
speech share the CPU with the app, as they would not on separate devices.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.bench_render import _with_display
from tests.benchmarks.report import Section

ROUNDS = 2
FPS_SECONDS = 8.0


def _demo(display: str, *extra: str, timeout: float = 150.0) -> tuple[float | None, str]:
    """Seconds from spawn to the first-frame line, and the output."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
        argv = [sys.executable, "-m", "emulator", "demo", "--settings", str(Path(tmp) / "s.ini"), *extra]
        start = time.monotonic()
        process = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        first: float | None = None
        lines = []
        assert process.stdout is not None
        try:
            for line in process.stdout:
                lines.append(line)
                if first is None and line.startswith("first frame"):
                    first = time.monotonic() - start
            process.wait(timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        return first, "".join(lines)


def _fps(output: str) -> float:
    match = re.search(r"^fps ([0-9.]+)", output, re.M)
    if match is None:
        raise RuntimeError(f"no frame rate in the demo's output: {output[-500:]}")
    return float(match.group(1))


def run() -> list[Section]:
    xvfb, display = _with_display()
    try:
        baseline = []
        for _ in range(ROUNDS):
            start = time.monotonic()
            subprocess.run([sys.executable, "-m", "emulator", "--help"], capture_output=True, check=True)
            baseline.append(time.monotonic() - start)
        firsts = []
        for _ in range(ROUNDS):
            first, output = _demo(display, "--measure-fps", "1")
            if first is None:
                raise RuntimeError(f"the demo drew no avatars: {output[-500:]}")
            firsts.append(first)
        empty = _fps(_demo(display, "--bots", "0", "--measure-fps", str(FPS_SECONDS))[1])
        crowd_first, crowd_output = _demo(display, "--bots", "8", "--measure-fps", str(FPS_SECONDS))
        crowd = _fps(crowd_output)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait()
    start_rows = [
        ["`headset-emulator --help` (baseline)", f"{statistics.median(baseline):.2f}", "1.00"],
        [
            "`headset-emulator demo` → first frame with 2 avatars",
            f"{statistics.median(firsts):.2f}",
            f"{statistics.median(firsts) / statistics.median(baseline):.1f}",
        ],
    ]
    fps_rows = [
        ["empty room (baseline)", "0", f"{empty:.1f}", "1.00", "yes" if empty >= 90 else "no"],
        ["8 remote headsets", "8", f"{crowd:.1f}", f"{crowd / empty:.2f}", "yes" if crowd >= 90 else "no"],
    ]
    return [
        Section(
            "App start-up (seconds, median of 2)",
            ["what", "seconds", "× baseline"],
            start_rows,
            ["The demo starts an embedded room, two talking bots and the window, and joins them."],
        ),
        Section(
            "App frame rate (1440×900 window, repainting as fast as it can)",
            ["room", "remote headsets", "fps", "× empty room", "≥ 90 fps"],
            fps_rows,
            [
                "Mesa llvmpipe (software GL) under Xvfb on a shared 2-core machine: every frame is also "
                "composed into the window by Qt in software. A GPU desktop is the place for the 90 fps goal.",
                f"With 8 bots the first frame showing all of them came after {crowd_first or 0:.1f} s.",
            ],
        ),
    ]
