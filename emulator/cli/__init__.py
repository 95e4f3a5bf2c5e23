"""`headset-emulator` and its subcommands.

Each subcommand lives in a module of this package with `register(subparsers)` that adds its parser
and sets `handler`; a handler returns the exit code (`vocab.ExitCode`). Errors a user can fix are
`CommandError`s and print as one line, never as a traceback.

Only the module of the subcommand being run is imported: the others appear in `--help` through the
one-line summaries below, so `--version` and `--help` do not load numpy, aiortc or Qt.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from emulator import __version__
from emulator.cli.common import CommandError
from emulator.cli.help_text import EXAMPLES, MAIN_EPILOG, arrange_groups
from emulator.cli.vocab import ExitCode, add_verbosity_arguments, verbosity

# Subcommand → (module that registers it, its summary in `--help`), in the order `--help` lists them.
# tests/unit/test_cli_vocab.py checks each summary against the one its module registers.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "app": ("emulator.cli.app", "open the desktop app and join a room you name (no room of its own)"),
    "demo": (
        "emulator.cli.demo",
        "open the app in a local room with two talking bots (the first thing to try)",
    ),
    "room": ("emulator.cli.room", "serve the bundled spatial room (an SFU) on this machine"),
    "token": ("emulator.cli.room", "mint a join token from the room's secret"),
    "join": ("emulator.cli.join", "join a room as one headless headset"),
    "swarm": ("emulator.cli.swarm", "join a room with many headless headsets at once"),
    "locustfile": (
        "emulator.cli.locustfile",
        "print the path of the ready Locust file (fake headsets as Locust users)",
    ),
    "agent": ("emulator.cli.agent", "join a room as a talking avatar agent (speech + visemes)"),
    "probe": ("emulator.cli.probe", "join a room on a schedule and measure join, audio and latency"),
    "recording": ("emulator.cli.recording", "look into a session recording (join --record)"),
    "profiles": ("emulator.cli.info", "list the device profiles"),
    "drive": ("emulator.cli.drive", "sample a motion and a face as a JSONL pose trace"),
    "devices": ("emulator.cli.devices", "list audio input and output devices"),
    "spatial-test": (
        "emulator.cli.spatial_test",
        "play a sound circling your head (checks --hrtf and --output)",
    ),
    "snapshot": ("emulator.cli.snapshot", "render one avatar offscreen to a PNG"),
    "self-test": (
        "emulator.cli.self_test",
        "check this machine can run a demo: audio, speech, a local room, OpenGL, a window",
    ),
    "completion": ("emulator.cli.completion", "print a bash or zsh completion script"),
}


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand on the line: the first word that is not an option (top-level ones take no value)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word if word in SUBCOMMANDS else None
    return None


def build_parser(command: str | None = None, *, every: bool = False) -> argparse.ArgumentParser:
    """The parser with `command`'s options (all commands' with `every`); the rest are summaries only."""
    parser = argparse.ArgumentParser(
        prog="headset-emulator",
        description="An emulated Apple Vision Pro or Meta Quest for WebRTC rooms: voice, head pose, "
        "face and hands, spatial audio and avatars.",
        epilog=MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"headset-emulator {__version__}")
    add_verbosity_arguments(parser, after_command=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen_module = SUBCOMMANDS[command][0] if command in SUBCOMMANDS else None
    registered: set[str] = set()
    for name, (module_name, summary) in SUBCOMMANDS.items():
        if name in registered:
            continue
        if every or module_name == chosen_module:
            before = set(subparsers.choices)
            importlib.import_module(module_name).register(subparsers)
            for added in set(subparsers.choices) - before:
                _finish_subparser(added, subparsers.choices[added])
                registered.add(added)
        else:
            subparsers.add_parser(name, help=summary)
            registered.add(name)
    # A module that adds two subcommands adds them together; list them in the table's order.
    subparsers._choices_actions.sort(key=lambda a: list(SUBCOMMANDS).index(a.dest))
    return parser


def _finish_subparser(name: str, sub: argparse.ArgumentParser) -> None:
    add_verbosity_arguments(sub, after_command=True)
    arrange_groups(sub, name)
    if name in EXAMPLES:
        sub.epilog = EXAMPLES[name]
        sub.formatter_class = argparse.RawDescriptionHelpFormatter


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    command = chosen_command(words)
    parser = build_parser(command)
    args = parser.parse_args(words)
    level = verbosity(args)
    log_level = logging.WARNING - 10 * min(level, 2) if level >= 0 else logging.ERROR
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return ExitCode.USAGE
    from emulator.net.transport.patch_install import install
    from emulator.net.transport.patches import InternalsChanged

    try:
        install()  # refuse, in one line, an aiortc whose internals moved before anything starts
    except InternalsChanged as error:
        print(f"headset-emulator: {error}", file=sys.stderr)
        return 1
    try:
        return int(handler(args))
    except CommandError as error:
        print(f"headset-emulator {args.command}: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`… | head`): nothing more to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK
