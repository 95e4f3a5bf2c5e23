"""`headset-emulator recording info FILE`: what a `--record` file holds."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from emulator.cli.common import CommandError
from emulator.headset.recording.sessionfile import RecordingError, read_recording
from emulator.headset.recording.summary import describe


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("recording", help="look into a session recording (join --record)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="list participants, how long each was recorded, what each sent")
    info.add_argument("file", type=Path, help="a .hemurec file")
    info.set_defaults(handler=run_info)


def run_info(args: argparse.Namespace) -> int:
    try:
        recording = read_recording(args.file)
    except RecordingError as error:
        raise CommandError(str(error)) from None
    for line in describe(recording):
        print(line)
    return 0
