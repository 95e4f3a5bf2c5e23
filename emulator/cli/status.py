"""The live status line of `join`, `agent`, `swarm` and `probe`, in the manner of ffmpeg's `-stats`.

On a terminal one line on stderr is rewritten in place (`\\r`, then erase to the end of the line);
otherwise a plain line is printed every so often, and with `-q` nothing. The figures come from the
headsets' own reports (`Headset.report()`), differenced between two looks to give rates.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TextIO

from emulator.cli.vocab import seconds, verbosity

TERMINAL_EVERY_S = 1.0
LOG_EVERY_S = 10.0
ERASE_TO_END = "\x1b[K"
MAX_LOOP_SHARE_INVERSE = 50  # a status line may take at most 1/50 of the time between lines


def add_status_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--status-every",
        type=seconds,
        metavar="DURATION",
        help=f"status line period (default {TERMINAL_EVERY_S:g}s on a terminal, {LOG_EVERY_S:g}s otherwise)",
    )


@dataclass
class Totals:
    """Counters summed over some headsets' reports at one moment."""

    at: float
    states_out: int = 0
    states_in: int = 0
    states_lost: int = 0
    voice_out_bytes: int = 0
    voice_in_bytes: int = 0
    packets_in: int = 0
    packets_lost: int = 0
    underruns: int = 0
    rtt_ms: float | None = None  # the slowest remote's median round trip

    @classmethod
    def of(cls, reports: list[dict[str, Any]], at: float) -> Totals:
        totals = cls(at=at)
        for report in reports:
            uplink = report.get("uplink", {})
            totals.states_out += int(uplink.get("states_sent", 0))
            totals.voice_out_bytes += int(uplink.get("audio_payload_bytes", 0))
            for remote in report.get("remotes", []):
                states, audio = remote.get("states", {}), remote.get("audio", {})
                totals.states_in += int(states.get("received", 0))
                totals.states_lost += int(states.get("lost", 0))
                totals.voice_in_bytes += int(audio.get("payload_bytes", 0))
                totals.packets_in += int(audio.get("packets_received", 0))
                totals.packets_lost += int(audio.get("packets_lost", 0))
                totals.underruns += int(audio.get("underruns", 0))
                rtt = remote.get("round_trip", {}).get("median_ms")
                if rtt is not None:
                    totals.rtt_ms = max(totals.rtt_ms or 0.0, float(rtt))
        return totals


def loss_percent(received: int, lost: int) -> float:
    return 100.0 * lost / (received + lost) if received + lost else 0.0


def describe(now: Totals, before: Totals | None, joined: str) -> str:
    """One status line: who is here, states per second both ways, voice kbps, loss, round trip."""
    span = max(1e-3, now.at - before.at) if before else None

    def rate(field: str) -> float:
        if before is None or span is None:
            return 0.0
        return float(getattr(now, field) - getattr(before, field)) / span

    def kbps(field: str) -> str:
        return f"{rate(field) * 8 / 1000:.0f} kbps"

    parts = [
        f"joined {joined}",
        f"states out {rate('states_out'):.0f}/s in {rate('states_in'):.0f}/s",
        f"voice out {kbps('voice_out_bytes')} in {kbps('voice_in_bytes')}",
        f"loss {loss_percent(now.packets_in, now.packets_lost):.1f}%",
        f"rtt {'-' if now.rtt_ms is None else f'{now.rtt_ms:.0f} ms'}",
        f"underruns {now.underruns}",
    ]
    return " | ".join(parts)


def worst_pair(headsets_reports: list[dict[str, Any]]) -> str | None:
    """The listener→speaker pair with the most audio loss (then the slowest round trip), as text."""
    worst: tuple[float, float, str] | None = None
    for report in headsets_reports:
        for remote in report.get("remotes", []):
            audio = remote.get("audio", {})
            loss = loss_percent(int(audio.get("packets_received", 0)), int(audio.get("packets_lost", 0)))
            rtt = remote.get("round_trip", {}).get("median_ms") or 0.0
            key = (loss, float(rtt), f"{remote.get('name')}→{report.get('name')}")
            if worst is None or key[:2] > worst[:2]:
                worst = key
    if worst is None:
        return None
    return f"worst {worst[2]} loss {worst[0]:.1f}% rtt {worst[1]:.0f} ms"


class StatusPrinter:
    """Writes status lines: rewritten in place on a terminal, one per period otherwise."""

    def __init__(self, stream: TextIO, *, every: float | None = None, terminal: bool | None = None) -> None:
        self.stream = stream
        self.terminal = stream.isatty() if terminal is None else terminal
        self.every = every or (TERMINAL_EVERY_S if self.terminal else LOG_EVERY_S)
        self._shown = False

    def show(self, line: str) -> None:
        if self.terminal:
            self.stream.write(f"\r{line}{ERASE_TO_END}")
        else:
            self.stream.write(f"{line}\n")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Take the rewritten line away before other output goes to the same terminal."""
        if self.terminal and self._shown:
            self.stream.write(f"\r{ERASE_TO_END}")
            self.stream.flush()
            self._shown = False

    def done(self) -> None:
        """End the rewritten line so what follows starts on a line of its own."""
        if self.terminal and self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False


def printer_for(args: argparse.Namespace) -> StatusPrinter | None:
    """The status printer the options ask for; None with `-q`."""
    if verbosity(args) < 0:
        return None
    return StatusPrinter(sys.stderr, every=getattr(args, "status_every", None))


def headsets_line(
    reports: list[dict[str, Any]], before: Totals | None, joined: str, *, pairs: bool = False
) -> tuple[str, Totals]:
    """The line for some headsets' reports; `pairs` adds the worst listener→speaker pair (a swarm)."""
    now = Totals.of(reports, time.monotonic())
    line = describe(now, before, joined)
    pair = worst_pair(reports) if pairs else None
    return (f"{line} | {pair}" if pair else line), now


Line = Callable[[Any], tuple[str, Any]]  # previous look → (text, this look)


@contextlib.asynccontextmanager
async def status_task(printer: StatusPrinter | None, line: Line) -> AsyncIterator[None]:
    """Show `line(previous)` every period while the block runs; the task ends with the block."""
    import asyncio  # here, not at the top: `--help` of the commands that show a status stays light

    if printer is None:
        yield
        return

    async def loop() -> None:
        _, before = line(None)  # the first line's rates are over its first period, not since start
        cost = 0.0
        while True:
            # A big swarm's reports take a while to read on the loop its headsets share: keep that
            # to a few percent of the loop's time by waiting longer between lines.
            await asyncio.sleep(max(printer.every, cost * MAX_LOOP_SHARE_INVERSE))
            began = time.perf_counter()
            text, before = line(before)
            cost = time.perf_counter() - began
            printer.show(text)

    task = asyncio.create_task(loop(), name="status-line")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        printer.done()


def headset_line(headset: Any, before: Totals | None) -> tuple[str, Totals]:
    """One headset's line; `joined` counts everyone in the room, this headset included."""
    return headsets_line([headset.report()], before, str(len(headset.session_participants()) + 1))
