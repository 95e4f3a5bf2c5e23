"""`headset-emulator probe URL`: join, measure, leave, on a schedule; one line per run; metrics."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import sys
from typing import TYPE_CHECKING, Any

from emulator.cli.common import CommandError, stop_on_signals
from emulator.cli.qa_options import add_metrics_argument, add_net_argument, metrics_address
from emulator.cli.status import StatusPrinter, add_status_argument, printer_for, status_task
from emulator.cli.verdict_options import add_verdict_arguments, limits_from_args, ms_with_unit
from emulator.cli.vocab import ExitCode, seconds, seconds_or_zero, with_unit

if TYPE_CHECKING:  # loaded when the probe runs, not for --help
    from emulator.headset import HeadsetConfig
    from emulator.net.transport.condition_spec import NetConditions
    from emulator.qa.verdict import Limits, ProbeLimits


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "probe", help="join a room on a schedule and measure join, audio and latency"
    )
    parser.add_argument("url", help="the room, e.g. ws://127.0.0.1:8765/ws")
    parser.add_argument("--room", help="room to probe (default: a fresh probe-XXXX room each run)")
    parser.add_argument("--secret", help="room secret for minting the probe's two tokens")
    parser.add_argument(
        "--every",
        type=seconds,
        metavar="DURATION",
        help="run again after this long, e.g. 60s or 5m (default: run once)",
    )
    parser.add_argument("--once", action="store_true", help="one run, then exit")
    parser.add_argument("--count", type=int, help="stop after this many runs")
    parser.add_argument(
        "--timeout",
        type=with_unit,
        metavar="DURATION",
        default=20.0,
        help="give up on a run after this, e.g. 20s (default 20s)",
    )
    verdict = add_verdict_arguments(parser, per="run (the probe's ear <- its mouth)", needs_unit=True)
    verdict.add_argument(
        "--max-join",
        type=with_unit,
        metavar="DURATION",
        help="start-up: longest join (WebSocket open to data channels open), e.g. 5s (default: off)",
    )
    verdict.add_argument(
        "--max-first-audio",
        type=with_unit,
        metavar="DURATION",
        help="start-up: longest time from joining to hearing the mouth, e.g. 2s (default: off)",
    )
    verdict.add_argument(
        "--max-rtt",
        type=ms_with_unit,
        metavar="DURATION",
        help="highest settled median state round trip through the room, e.g. 500ms (default: off)",
    )
    verdict.add_argument(
        "--min-mos", type=float, metavar="MOS", help="lowest voice score (E-model), e.g. 3.5 (default: off)"
    )
    add_net_argument(parser)
    add_metrics_argument(parser, 9108)
    parser.add_argument(
        "--linger",
        type=seconds_or_zero,
        default=30.0,
        metavar="DURATION",
        help="with --metrics, keep serving the results this long after the last run, so that a scraper "
        "gets them (default 30s; 0 exits at once; Ctrl+C stops sooner)",
    )
    add_status_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from emulator.drive.spec import placement
    from emulator.headset import HeadsetConfig
    from emulator.qa.verdict import ProbeLimits

    every = None if args.once else args.every
    count = 1 if args.once or every is None else args.count
    if count is not None and count < 1:
        raise CommandError("--count must be at least 1")
    limits = limits_from_args(args)
    probe_limits = ProbeLimits(args.max_join, args.max_first_audio, args.max_rtt, args.min_mos)
    net = None
    if args.net is not None:
        from emulator.net.transport.condition_spec import ConditionsError, parse_conditions

        try:
            net = parse_conditions(args.net)
        except ConditionsError as error:
            raise CommandError(f"--net: {error}") from None
    linger = float(args.linger)
    template = HeadsetConfig(url=args.url, room="", name="probe", secret=args.secret, placement=placement())
    metrics = metrics_address(args)
    printer = printer_for(args)
    return asyncio.run(
        _probe(
            template,
            args.room,
            every,
            count,
            limits,
            probe_limits,
            args.timeout,
            metrics,
            printer,
            linger,
            net,
        )
    )


async def _probe(
    template: HeadsetConfig,
    room: str | None,
    every: float | None,
    count: int | None,
    limits: Limits | None,
    probe_limits: ProbeLimits,
    timeout: float,
    listen: tuple[str, int] | None,
    printer: StatusPrinter | None = None,
    linger: float = 0.0,
    net: NetConditions | None = None,
) -> int:
    from emulator.net.prometheus import MetricsServer
    from emulator.qa.probe import ProbeMetrics, probe_once

    metrics = ProbeMetrics()
    server = MetricsServer(metrics.collect, *listen) if listen else None
    if server is not None:
        try:
            await server.start()
        except OSError as error:
            raise CommandError(
                f"--metrics: cannot listen on {server.host}:{server.port}: {error.strerror}"
            ) from None
        print(f"probe: metrics on {server.url}", file=sys.stderr, flush=True)
    loop = asyncio.get_running_loop()
    failed = 0
    phase, since = "run 1: measuring", loop.time()

    def line(_before: Any) -> tuple[str, None]:
        return f"runs {metrics.runs} failed {failed} | {phase} ({loop.time() - since:.0f} s)", None

    try:
        with stop_on_signals() as stop:
            async with status_task(printer, line):
                while not stop.is_set():
                    began = loop.time()
                    phase, since = f"run {metrics.runs + 1}: measuring", began
                    result = await probe_once(template, room, timeout, net)
                    if limits is not None:  # else --no-verdict: figures only
                        result.judge(limits, probe_limits)
                    metrics.observe(result)
                    failed += 0 if result.ok else 1
                    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
                    if printer is not None:
                        printer.clear()
                    for breach in result.breaches[1:]:
                        print(f"  also: {breach}", file=sys.stderr)
                    print(f"{stamp} probe {template.url} {result.line()}", flush=True)
                    if count is not None and metrics.runs >= count:
                        if server is not None and linger > 0:
                            phase, since = "done: serving the results", loop.time()
                            print(
                                f"probe: done; serving the results on {server.url} for {linger:g} s more "
                                "(Ctrl+C stops)",
                                file=sys.stderr,
                                flush=True,
                            )
                            with contextlib.suppress(TimeoutError):
                                await asyncio.wait_for(stop.wait(), linger)
                        break
                    wait = max(0.0, (every or 0.0) - (loop.time() - began))
                    phase, since = "waiting for the next run", loop.time()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), wait)
    finally:
        if server is not None:
            await server.stop()
    if metrics.runs > 1:
        print(f"probe: {failed} of {metrics.runs} runs unhealthy", file=sys.stderr, flush=True)
    return ExitCode.FAILED if failed else ExitCode.OK
