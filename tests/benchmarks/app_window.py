"""The frame-rate benchmark's app: the main window joined to a room, repainting as fast as it can.

`python -m tests.benchmarks.app_window URL SECRET AVATARS SECONDS SURFACE...` opens the real window
at 1440×900, joins the room at URL and waits until AVATARS remote avatars are drawn. Then, for each
SURFACE in turn ("widget": the old QOpenGLWidget path, "window": the QOpenGLWindow one), it switches
the viewport to it, lets it settle for a second, and counts for SECONDS the frames that were both
drawn and presented (swapped), and the process's CPU time (Python, Qt and llvmpipe's threads).
Alternating the surfaces within one session puts both under the same room and the same machine load.
It prints `measuring viewport WxH` before the first slice, one line per slice (`slice SURFACE frames
N seconds S cpu C avatars A`), and `done` after the last.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from emulator.headset import HeadsetConfig
from emulator.model.pose import Pose


async def _measure(args: argparse.Namespace, settings_dir: str) -> None:
    from emulator.ui.app import settings
    from emulator.ui.window import MainWindow

    window = MainWindow(settings(Path(settings_dir) / "s.ini"), fps=90.0)  # its default size and docks
    try:
        window.show()
        await window.viewport.first_frame()
        window.viewport.preload()
        config = HeadsetConfig(
            url=args.url,
            room="demo",
            name="bench",
            placement=Pose.at(0.0, 1.6, 0.0, 0.0),
            secret=args.secret,
            marker_period_s=0.0,
        )
        if not await window.join(config):
            raise RuntimeError(f"the window could not join: {window.statusBar().currentMessage()}")
        deadline = time.monotonic() + 60.0
        while window.viewport.avatars_drawn < args.avatars:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {window.viewport.avatars_drawn} of {args.avatars} avatars drawn")
            await asyncio.sleep(0.05)
        window.viewport.set_fps(0)
        size = window.viewport.size()
        print(f"measuring viewport {size.width()}x{size.height()}", flush=True)
        for surface in args.surfaces:
            window.viewport.set_surface(surface)
            await asyncio.sleep(1.0)
            viewport = window.viewport
            frames, drawn, wall, cpu = (
                viewport.presented,
                viewport.frames,
                time.monotonic(),
                time.process_time(),
            )
            await asyncio.sleep(args.seconds)
            # A frame counts when it was both drawn (the renderer ran) and presented (swapped).
            frames = min(viewport.presented - frames, viewport.frames - drawn)
            wall, cpu = time.monotonic() - wall, time.process_time() - cpu
            avatars = viewport.avatars_drawn
            print(
                f"slice {surface} frames {frames} seconds {wall:.3f} cpu {cpu:.3f} avatars {avatars}",
                flush=True,
            )
        print("done", flush=True)
    finally:
        window.close()
        await window.closed.wait()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("secret")
    parser.add_argument("avatars", type=int)
    parser.add_argument("seconds", type=float)
    parser.add_argument("surfaces", nargs="+", choices=("widget", "window"))
    args = parser.parse_args()
    from emulator.ui import app

    async def run(_qt: Any) -> int:
        with tempfile.TemporaryDirectory() as tmp:
            await _measure(args, tmp)
        return 0

    return app.run(run)


if __name__ == "__main__":
    sys.exit(main())
