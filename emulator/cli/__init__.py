"""`headset-emulator` and its subcommands.

Each subcommand lives in a module of this package with `register(subparsers)` that adds its parser
and sets `handler`; a handler returns the exit code. Errors a user can fix are `CommandError`s and
print as one line, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from emulator import __version__
from emulator.cli.common import CommandError

# Modules that add subcommands, in the order `--help` lists them.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "emulator.cli.room",
    "emulator.cli.join",
    "emulator.cli.swarm",
    "emulator.cli.locustfile",
    "emulator.cli.agent",
    "emulator.cli.info",
    "emulator.cli.drive",
    "emulator.cli.devices",
    "emulator.cli.spatial_test",
    "emulator.cli.snapshot",
    "emulator.cli.demo",
    "emulator.cli.probe",
    "emulator.cli.self_test",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="headset-emulator",
        description="An emulated Apple Vision Pro or Meta Quest for WebRTC rooms: voice, head pose, "
        "face and hands, spatial audio and avatars.",
    )
    parser.add_argument("--version", action="version", version=f"headset-emulator {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args))
    except CommandError as error:
        print(f"headset-emulator {args.command}: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
