"""What every subcommand shares: the user-facing error, specs parsed at the edge, and stopping on Ctrl+C
or SIGTERM."""

from __future__ import annotations

import contextlib
import gc
import signal
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from emulator.cli.vocab import ExitCode

if TYPE_CHECKING:  # asyncio is imported by the commands that run a loop, not for --help
    import asyncio

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
T = TypeVar("T")


class CommandError(Exception):
    """A problem the user can fix; printed as one line with no traceback."""

    def __init__(self, message: str, exit_code: int = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def parse_option(parse: Callable[[str], T], text: str, option: str) -> T:
    """An option's spec parsed into its typed value; the parser's error names the value, and the
    command's puts the option in front of it ("--motion: unknown motion 'fly'; …")."""
    try:
        return parse(text)
    except ValueError as error:  # every spec's parse error is one (DriveError, SourceError, …)
        raise CommandError(f"{option}: {error}") from None


def start_error(error: Exception) -> CommandError:
    """A headset's start failure as the command's error: exit 3 if the room could not be joined."""
    from emulator.headset import JoinError

    code = ExitCode.UNREACHABLE if isinstance(error, JoinError) else ExitCode.USAGE
    return CommandError(str(error), code)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[asyncio.Event]:
    """An event set by Ctrl+C or SIGTERM while the block runs, so a command can leave cleanly.

    Call it from inside the running loop; the handlers are removed when the block ends.
    """
    import asyncio

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        for sig in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)


def freeze_what_is_loaded() -> None:
    """Keep the garbage collector's full passes short once a long-running command is set up.

    A full collection walks every tracked object: with aiortc, PyAV, numpy and aiohttp loaded that
    took 65-95 ms here, and one fell a few seconds after a swarm joined, stalling the room's loop and
    making every listener's audio late. What exists at this point (modules, classes, the setup) lives
    as long as the process, so it is moved out of the collector's sight; later garbage is still found.
    """
    gc.collect()
    gc.freeze()
