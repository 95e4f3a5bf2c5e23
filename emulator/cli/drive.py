"""`headset-emulator drive`: sample a motion and a face and write them as a JSONL trace.

Useful to check a trace or a Live Link Face CSV before a session (a broken file is reported by line
and column), to see what a motion spec does, and to record a motion as a trace that `--motion
trace:FILE` replays: every line is in the trace format, with the face's non-zero weights under
`face`, which a replay applies (`--motion trace:FILE` with the default face, or `--face trace:FILE`).
With `--hands` each line also carries the hands (`left`, `right`) in the hand-trace format, so the
same file replays with `--hands trace:FILE`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from emulator.cli.common import CommandError, parse_option
from emulator.cli.vocab import add_out_argument, seconds_or_zero
from emulator.drive.drivers import Drivers, drivers_from
from emulator.drive.errors import DriveError
from emulator.drive.faces import FaceSpec
from emulator.drive.hand_trace import hand_trace_record
from emulator.drive.hands import HandsDriver, hands_from_spec
from emulator.drive.motions import MotionSpec
from emulator.drive.spec import placement
from emulator.drive.trace import trace_record


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("drive", help="sample a motion and a face as a JSONL pose trace")
    parser.add_argument("--at", help="start position X,Y,Z in metres (default 0,1.6,0)")
    parser.add_argument("--yaw", type=float, default=0.0, help="start heading in degrees, positive left")
    parser.add_argument("--motion", default="still", help="still|orbit|nod|look-around|walk|trace:FILE.jsonl")
    parser.add_argument("--face", default="neutral", help="neutral|smile|surprise|blink|talk|csv:FILE.csv")
    parser.add_argument(
        "--hands", default="none", help="none|relaxed|wave|point|pinch|thumbs-up|talk|trace:FILE.jsonl"
    )
    parser.add_argument(
        "--duration", type=seconds_or_zero, default=10.0, help="how long to sample, e.g. 30s (default 10s)"
    )
    parser.add_argument("--rate", type=float, default=30.0, help="samples per second (default 30)")
    add_out_argument(parser, "file to write (default: standard output)", old_names=("--output",), type=str)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not 0 < args.rate <= 1000 or not 0 <= args.duration <= 24 * 3600:
        raise CommandError("--rate must be within 0..1000 and --duration within 0..86400 seconds")
    motion = parse_option(MotionSpec.parse, args.motion, "--motion")
    face = parse_option(FaceSpec.parse, args.face, "--face")
    hands = parse_option(hands_from_spec, args.hands, "--hands")
    try:
        drivers = drivers_from(motion, face, placement(args.at, args.yaw))
    except DriveError as error:  # a placement, or a file the specs name
        raise CommandError(str(error)) from None
    if args.out is None:
        _write(drivers, hands, args.duration, args.rate, sys.stdout)
        return 0
    try:
        with Path(args.out).open("w", encoding="utf-8") as out:
            _write(drivers, hands, args.duration, args.rate, out)
    except OSError as error:
        raise CommandError(f"cannot write {args.out}: {error.strerror or error}") from None
    return 0


def _write(drivers: Drivers, hands: HandsDriver, duration: float, rate: float, out: TextIO) -> None:
    for i in range(int(duration * rate) + 1):
        t = i / rate
        pose, face = drivers.sample(t)
        line = trace_record(t, pose)
        line["face"] = {k: round(v, 4) for k, v in face.as_dict(nonzero_only=True).items()}
        line.update(hand_trace_record(hands.sample(t, pose), pose))
        out.write(json.dumps(line) + "\n")
