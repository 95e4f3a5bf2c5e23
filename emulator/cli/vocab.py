"""The words every subcommand spells the same way: durations, `--out`, `-v/-q`, exit codes.

Kept free of heavy imports: `--help` of any subcommand loads this module and argparse only.
"""

from __future__ import annotations

import argparse
import enum

from emulator.model.durations import parse_duration


class ExitCode(enum.IntEnum):
    """What `headset-emulator` returns; docs/cli.md lists the same four."""

    OK = 0
    FAILED = 1  # the run happened and failed: a probe threshold, the room ended the session
    USAGE = 2  # a bad option or value, a missing file: nothing was attempted
    UNREACHABLE = 3  # could not connect to the room, or the room refused the join


def seconds(text: str) -> float:
    """argparse type: a positive duration; a bare number is seconds."""
    return _as_argument(text, bare_unit="s", allow_zero=False)


def seconds_or_zero(text: str) -> float:
    """argparse type: a duration where 0 means "off"; a bare number is seconds."""
    return _as_argument(text, bare_unit="s", allow_zero=True)


def with_unit(text: str) -> float:
    """argparse type for options that once took milliseconds: a unit is required; → seconds."""
    return _as_argument(text, bare_unit=None, allow_zero=False)


def _as_argument(text: str, *, bare_unit: str | None, allow_zero: bool) -> float:
    try:
        return parse_duration(text, bare_unit=bare_unit, allow_zero=allow_zero)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_out_argument(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    help: str,
    *,
    dest: str = "out",
    old_names: tuple[str, ...] = (),
    required: bool = False,
    type: object = None,
) -> None:
    """The one file a command writes is `--out`/`-o`; `old_names` still work but are not listed."""
    from pathlib import Path

    kind = type or Path
    parser.add_argument("--out", "-o", dest=dest, type=kind, required=required, metavar="FILE", help=help)  # type: ignore[arg-type]
    for old in old_names:
        parser.add_argument(old, dest=dest, type=kind, help=argparse.SUPPRESS)  # type: ignore[arg-type]


def add_verbosity_arguments(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """`-v/-q` at the top and again on every subcommand, so both `-v join` and `join -v` work.

    The subcommand's copies count into their own fields (argparse would otherwise overwrite the
    top-level count with the subcommand's default); `verbosity()` adds them up.
    """
    suffix = "_after" if after_command else ""
    parser.add_argument(
        "-v", "--verbose", dest=f"verbose{suffix}", action="count", default=0,
        help="more log output (-vv: debug)",
    )  # fmt: skip
    parser.add_argument(
        "-q", "--quiet", dest=f"quiet{suffix}", action="count", default=0,
        help="only errors: no status line, no progress",
    )  # fmt: skip


def verbosity(args: argparse.Namespace) -> int:
    """Net `-v` count minus `-q` count, wherever on the line they were given."""
    loud = getattr(args, "verbose", 0) + getattr(args, "verbose_after", 0)
    quiet = getattr(args, "quiet", 0) + getattr(args, "quiet_after", 0)
    return int(loud - quiet)
