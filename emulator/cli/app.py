"""`headset-emulator app [URL]`: the desktop app on its own, joining a room someone else serves.

Unlike `demo`, no room and no bots start here. With a URL the app joins at once (the Connect dock is
filled in and remembered); without one it opens with the dock's last values. Qt is imported only
here, so a base install without the `[app]` extra answers with the one line saying what to install.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import sys
import time
from pathlib import Path
from typing import Any

from emulator.cli.common import CommandError, freeze_what_is_loaded
from emulator.cli.extras import require_app
from emulator.cli.vocab import ExitCode, seconds

APP_EXTRA_HINT = "the desktop app needs the [app] extra: pip install 'headset-emulator[app]'"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "app", help="open the desktop app and join a room you name (no room of its own)"
    )
    parser.add_argument(
        "url",
        nargs="?",
        help="the room to join at start, e.g. ws://10.0.0.5:8765/ws or janus://HOST:PORT/ROOM",
    )
    parser.add_argument("--room", default="lobby", help="room name (default lobby)")
    parser.add_argument("--name", help="display name (default: your login name)")
    parser.add_argument("--profile", default="visionpro", help="device profile (default visionpro)")
    parser.add_argument("--token", help="join token (default: minted locally for a room on this machine)")
    parser.add_argument("--secret", help="room secret for minting a local token")
    parser.add_argument(
        "--settings", type=Path, help="an INI file for the window's settings (default: yours)"
    )
    parser.add_argument("--quit-after", type=seconds, help="close the window after this long, e.g. 30s")
    parser.set_defaults(handler=run)


def load_qt() -> Any:
    """The app's Qt start-up module, or the one-line CommandError a base install gets."""
    require_app("the desktop app")
    try:
        app = importlib.import_module("emulator.ui.app")
    except ImportError as error:
        missing = f" ({error.name} is not installed)" if error.name else ""
        raise CommandError(f"{APP_EXTRA_HINT}{missing}") from None
    return app


def run(args: argparse.Namespace) -> int:
    qt = load_qt()
    problem = qt.display_problem()
    if problem is not None:
        raise CommandError(problem.replace("headset-emulator demo", "headset-emulator app"))
    outcome: dict[str, int] = {}

    async def main(_qt: Any) -> int:
        from emulator.ui.window import MainWindow

        window = MainWindow(qt.settings(args.settings))
        try:
            window.show()
            await window.viewport.first_frame()
            if args.url:
                outcome["code"] = await _join(window, args)
            # As in `demo`: keeps full GC passes out of the audio, and keeps this PySide6 from aborting
            # at exit with "bool_dealloc" after a session.
            freeze_what_is_loaded()
            await _until_closed(window, args.quit_after)
            return outcome.get("code", ExitCode.OK)
        finally:
            window.close()
            await window.closed.wait()

    return int(qt.run(main))


async def _join(window: Any, args: argparse.Namespace) -> int:
    from emulator.audio.factory import NO_AUDIO
    from emulator.drive.spec import placement
    from emulator.headset import HeadsetConfig

    config = HeadsetConfig(
        url=args.url,
        room=args.room,
        name=args.name or getpass.getuser() or "me",
        token=args.token,
        secret=args.secret,
        profile=args.profile,
        placement=placement(),
        audio=NO_AUDIO,  # the Audio dock's microphone, as when Join is pressed
    )
    window.connect_panel.fill(config)
    errors: list[str] = []
    window.session.error.connect(errors.append)
    if await window.join(config):
        print(f"joined {config.room} at {config.url} as {config.name}", file=sys.stderr, flush=True)
        return ExitCode.OK
    # The window shows why; the terminal gets it too, and the exit code says the join failed.
    reason = errors[-1] if errors else f"could not join {config.room} at {config.url}"
    print(reason, file=sys.stderr, flush=True)
    return ExitCode.UNREACHABLE


async def _until_closed(window: Any, quit_after: float | None) -> None:
    deadline = None if quit_after is None else time.monotonic() + quit_after
    while not window.closed.is_set():
        if deadline is not None and time.monotonic() >= deadline:
            return
        await asyncio.sleep(0.05)
