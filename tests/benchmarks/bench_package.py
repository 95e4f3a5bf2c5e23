"""The wheel and what installing it costs: wheel size, base and `[app]` install sizes and times.

Each install goes into a fresh virtualenv from the local wheel cache (tests/packaging/wheel_venv.py),
so the times are pip's own work (resolving, unpacking, byte-compiling), not downloads; the cache is
filled from PyPI first if it misses.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.benchmarks.report import Section
from tests.packaging.wheel_venv import WHEEL_CACHE, build_wheel, make_venv

MB = 1_000_000


def run() -> list[Section]:
    with tempfile.TemporaryDirectory(prefix="headset-emulator-package-bench-") as tmp:
        top = Path(tmp)
        wheel = build_wheel(top)
        base = make_venv(top / "base", str(wheel))
        app = make_venv(top / "app", f"{wheel}[app]")
        empty = make_venv(top / "empty", "pip")  # what a venv weighs before anything is installed
        rows = [
            ["the wheel (`pip wheel --no-deps .`)", f"{wheel.stat().st_size / MB:.1f}", "", ""],
            ["base install", f"{base.size_bytes / MB:.0f}", f"{(base.size_bytes - empty.size_bytes) / MB:.0f}",
             f"{base.install_s:.1f}"],
            ["`[app]` install", f"{app.size_bytes / MB:.0f}", f"{(app.size_bytes - empty.size_bytes) / MB:.0f}",
             f"{app.install_s:.1f}"],
        ]  # fmt: skip
    return [
        Section(
            "Wheel and installs into a fresh virtualenv",
            ["what", "MB", "MB over an empty venv", "pip install s (from the local wheel cache)"],
            rows,
            [
                f"Third-party wheels from the local cache ({WHEEL_CACHE.name}), no network; sizes are "
                "the venv's files (du-like, symlinks not followed).",
                "The `[app]` install adds Qt (PySide6-Essentials), PyOpenGL, pyqtgraph, qasync, the glTF "
                "readers, Pillow and SDL2.",
            ],
        )
    ]
