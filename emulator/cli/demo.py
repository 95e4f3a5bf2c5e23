"""`headset-emulator demo`: the README's first command — a room, two talking bots and the app, joined.

The embedded room (127.0.0.1, a free port, a fresh secret, so nothing else on the machine can join)
and two bot headsets (demo_bots.py) run in a child process (demo_room.py), as other devices would:
they pace to and fro 1.6-1.7 m in front of the user, facing them, speaking their lines with
lip-synced faces (espeak-ng). The main window joins the same room. Closing the window stops the app,
then the child (bots, then room); the child also ends if the app is killed. `--in-process` (hidden)
runs room and bots on a thread of the app instead, for the `app` benchmark's comparison.

A window needs a display: without DISPLAY (or WAYLAND_DISPLAY) the command says so in one line and
suggests `xvfb-run -a headset-emulator demo` rather than starting a hidden screen nobody can see.
`--out FILE` saves the window once both faces are in view and quits (scripts/screenshot_demo.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

from emulator.cli.common import CommandError, freeze_what_is_loaded, stop_on_signals
from emulator.cli.demo_bots import MAX_BOTS, ROOM, Demo
from emulator.cli.extras import require_app
from emulator.cli.vocab import add_out_argument, seconds
from emulator.drive.spec import placement
from emulator.headset import HeadsetConfig, HeadsetError

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="open the app in a local room with two talking bots (the first thing to try)"
    )
    parser.add_argument(
        "--bots",
        type=int,
        default=2,
        choices=range(MAX_BOTS + 1),
        metavar="N",
        help="talking bots (default 2)",
    )
    parser.add_argument("--profile", default="visionpro", help="your device profile (default visionpro)")
    parser.add_argument(
        "--settings", type=Path, help="an INI file for the window's settings (default: yours)"
    )
    add_out_argument(
        parser, "save the window to this PNG once avatars show, then quit", dest="screenshot",
        old_names=("--screenshot",),
    )  # fmt: skip
    parser.add_argument("--quit-after", type=seconds, help="close the window after this long, e.g. 30s")
    parser.add_argument(
        "--measure-fps",
        type=seconds,
        metavar="SECONDS",
        help="once everyone is drawn, repaint as fast as possible for SECONDS, print the rate of frames "
        "presented and the process's CPU time per frame, quit",
    )
    parser.add_argument(
        "--fps", type=float, default=None, help="viewport repaint rate (default: the profile's; 0: unlimited)"
    )
    # The old way, room and bots on a thread of the app, kept for the benchmark's comparison.
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    # The child process's side (demo_room.py): the room and the bots, no window.
    parser.add_argument("--serve-room", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


class DemoThread:
    """The room and the bots on a loop of their own in a thread of the app (`demo --in-process`).

    The old way, kept for the benchmark's comparison with the child process: a loop of its own kept
    the bots' handshakes and heartbeats from waiting behind painting, but the thread still shares the
    app's interpreter lock. `stop()` ends the loop and joins the thread.
    """

    def __init__(self, bots: int = 2, secret: str | None = None) -> None:
        self.demo = Demo(bots=bots) if secret is None else Demo(bots=bots, secret=secret)
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="demo-room", daemon=True)

    @property
    def url(self) -> str:
        return self.demo.url

    @property
    def notes(self) -> list[str]:
        return self.demo.notes

    def failure(self) -> str | None:
        return None  # an error in the thread ends start() or shows in the log

    async def start(self) -> None:
        """Start the thread and wait (without blocking the caller's loop) until the bots are in."""
        self._thread.start()
        while not self._ready.is_set():
            await asyncio.sleep(0.02)
        if self.error is not None:
            self._thread.join()
            raise self.error

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.demo.start()
        except BaseException as error:
            self.error = error
            await self.demo.stop()
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        await self.demo.stop()

    async def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and self._thread.is_alive():
            loop.call_soon_threadsafe(stop.set)
        while self._thread.is_alive():
            await asyncio.sleep(0.02)


def run(args: argparse.Namespace) -> int:
    if args.serve_room:
        from emulator.cli.demo_room import serve

        return serve(args.bots)
    require_app("the window")
    from emulator.ui.app import display_problem

    problem = display_problem()
    if problem is not None:
        raise CommandError(problem)
    from emulator.ui import app

    started = time.monotonic()
    outcome: dict[str, Any] = {}

    async def main(_qt: Any) -> int:
        from emulator.cli.demo_room import DemoProcess, DemoProcessError
        from emulator.ui.window import MainWindow

        secret = secrets.token_urlsafe(24)
        background: DemoProcess | DemoThread = (
            DemoThread(args.bots, secret) if args.in_process else DemoProcess(args.bots, secret)
        )
        fps = args.fps
        window = MainWindow(app.settings(args.settings), fps=90.0 if fps is None else fps)
        # GL setup and avatar building stall this loop: get them done before the app connects,
        # while the room and bots start.
        starting = asyncio.ensure_future(background.start())
        try:
            window.show()
            await window.viewport.first_frame()
            window.viewport.preload()
            try:
                await starting
            except DemoProcessError as error:
                outcome["error"] = str(error)
                return 1
            except (HeadsetError, OSError) as error:
                outcome["error"] = f"the demo could not start: {error}"
                return 1
            for note in background.notes:
                window.show_message(note)
            user = getpass.getuser() or "you"
            config = HeadsetConfig(
                url=background.url,
                room=ROOM,
                name=user,
                profile=args.profile,
                placement=placement(),
                secret=secret,
                marker_period_s=0.0,
            )
            if not await window.join(config):
                outcome["error"] = "the app could not join the demo room (see the status bar)"
            freeze_what_is_loaded()  # set up and joined: keep later full GC passes out of the audio
            with stop_on_signals() as stop:
                await _watch(window, background, args, started, outcome, stop)
            return 0
        finally:
            window.close()
            await window.closed.wait()
            with contextlib.suppress(Exception):
                await starting  # the thread must have its loop before it can be stopped
            await background.stop()

    code = app.run(main)
    if "error" in outcome:
        raise CommandError(str(outcome["error"]))
    return code


def both_faces(window: Any, wanted: int) -> bool:
    """Every bot drawn, each in view and facing the user (within 45°), by the render's own projection."""
    seen = [f for f in window.viewport.framing() if f.coverage > 0 and f.faces_camera()]
    return window.viewport.frames > 0 and window.viewport.avatars_drawn >= wanted and len(seen) >= wanted


async def _watch(
    window: Any,
    background: Any,
    args: argparse.Namespace,
    started: float,
    outcome: dict[str, Any],
    stop: asyncio.Event,
) -> None:
    """Report the first frames with every bot drawn and facing us; take the screenshot; wait for the
    window to close (or Ctrl+C); say in one line if the room and bots stop on their own."""
    wanted = args.bots
    quit_at = None if args.quit_after is None else started + args.quit_after
    drawn_reported = faces_reported = failure_shown = False
    while not window.closed.is_set() and not stop.is_set():
        failure = background.failure()
        if failure is not None and not failure_shown:
            failure_shown = True
            window.show_error(failure)
            print(failure, file=sys.stderr, flush=True)
        if not drawn_reported and window.viewport.frames > 0 and window.viewport.avatars_drawn >= wanted:
            drawn_reported = True
            print(f"first frame with {wanted} avatars after {time.monotonic() - started:.2f} s", flush=True)
        if drawn_reported and not faces_reported and both_faces(window, wanted):
            faces_reported = True
            print(f"first frame with {wanted} faces after {time.monotonic() - started:.2f} s", flush=True)
            if args.screenshot is not None:
                await asyncio.sleep(2.5)  # let them walk and talk a little: the mouths open, labels settle
                image = window.snapshot()
                args.screenshot.parent.mkdir(parents=True, exist_ok=True)
                if not image.save(str(args.screenshot)):
                    outcome["error"] = f"cannot write {args.screenshot}"
                else:
                    print(f"wrote {args.screenshot}", flush=True)
                return
            if args.measure_fps is not None:
                # The HUD's round trip as a user sees it, at the usual repaint rate: sampled for 2 s.
                rtts = []
                for _ in range(8):
                    await asyncio.sleep(0.25)
                    rtt = window.round_trip_ms()
                    if rtt is not None:
                        rtts.append(rtt)
                window.viewport.set_fps(0)
                frames, t0, cpu0 = window.viewport.presented, time.monotonic(), time.process_time()
                await asyncio.sleep(args.measure_fps)
                frames = window.viewport.presented - frames
                rate = frames / (time.monotonic() - t0)
                cpu_ms = 1000 * (time.process_time() - cpu0) / max(1, frames)
                drawn = window.viewport.avatars_drawn
                print(f"fps {rate:.1f} with {drawn} avatars, {cpu_ms:.1f} CPU ms per frame", flush=True)
                median = f"{statistics.median(rtts):.1f}" if rtts else "-"
                print(f"round trip {median} ms (HUD)", flush=True)
                return
        if quit_at is not None and time.monotonic() >= quit_at:
            return
        await asyncio.sleep(0.05)
