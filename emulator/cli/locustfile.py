"""`headset-emulator locustfile`: where the ready Locust file is, or a copy of it to edit."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from emulator.cli.common import CommandError
from emulator.qa.locust import locustfile_path


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "locustfile", help="print the path of the ready Locust file (fake headsets as Locust users)"
    )
    parser.add_argument("--out", type=Path, help="write a copy here to edit instead")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    source = locustfile_path()
    if args.out is None:
        print(source)
        return 0
    if args.out.exists() and not args.force:
        raise CommandError(f"{args.out} exists (--force to overwrite)")
    try:
        args.out.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    except OSError as error:
        raise CommandError(f"cannot write {args.out}: {error.strerror}") from None
    print(args.out)
    return 0
