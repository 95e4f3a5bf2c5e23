"""`headset-emulator completion bash|zsh`: a shell completion script for every command and option.

Generated from the same argparse parsers `--help` shows (with shtab), so it cannot drift from them.
Building every subcommand's parser loads each module once; that is fine for a script one generates
once and keeps.
"""

from __future__ import annotations

import argparse
from typing import Any

from emulator.cli.common import CommandError

SHELLS = ("bash", "zsh")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("completion", help="print a bash or zsh completion script")
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        import shtab
    except ImportError:
        raise CommandError("completion needs shtab: pip install shtab") from None
    from emulator.cli import build_parser

    print(shtab.complete(build_parser(every=True), shell=args.shell))
    return 0
