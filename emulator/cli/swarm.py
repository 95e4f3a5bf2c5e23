"""`headset-emulator swarm URL -n N`: N headless headsets, and one aggregate report.

One process runs on one core (Python's loop); `--workers K` shares the headsets among K processes
started here and merges their reports into one, so a swarm can use the cores a machine has.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import sys
import tempfile
import threading
from collections.abc import Coroutine, Sequence
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.cli.common import CommandError, freeze_what_is_loaded, stop_on_signals
from emulator.cli.join import add_headset_arguments, config_from_args, run_until_stopped
from emulator.cli.qa_options import add_metrics_argument, metrics_address
from emulator.cli.status import StatusPrinter, add_status_argument, headsets_line, printer_for, status_task
from emulator.cli.verdict_options import add_verdict_arguments, limits_from_args, say_verdict
from emulator.cli.vocab import ExitCode

if TYPE_CHECKING:  # loaded when the swarm runs, not for --help
    from emulator.qa.swarm import SwarmPlan
    from emulator.qa.verdict import Limits

WORKERS_JOIN_TIMEOUT_S = 120.0  # how long joined workers wait for the slowest one before going on
WORKERS_MEASURED_TIMEOUT_S = 30.0  # how long a worker that has its report waits for the others'


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("swarm", help="join a room with many headless headsets at once")
    add_headset_arguments(parser)
    parser.add_argument("-n", "--count", type=int, required=True, help="how many headsets")
    parser.add_argument(
        "--speakers",
        type=int,
        help="how many of them send the --audio source (default all; others send silence)",
    )
    parser.add_argument("--radius", type=float, default=3.0, help="circle they stand on, metres (default 3)")
    parser.add_argument("--prefix", default="swarm", help="names are PREFIX-01, PREFIX-02, …")
    parser.add_argument("--report", type=Path, help="write the aggregate report as JSON here")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="share the headsets among this many processes, one core each (default 1)",
    )
    add_metrics_argument(parser, 9110)
    add_verdict_arguments(parser, per="pair of members")
    add_status_argument(parser)
    # Hands are 87 bytes a side at 30 Hz, forwarded to every other member: a load test asks for them.
    parser.set_defaults(handler=run, motion="mixed", hands="none")


def run(args: argparse.Namespace) -> int:
    from emulator.drive.spec import placement
    from emulator.net.transport.event_loop import LoopUnavailable, loop_factory
    from emulator.qa.swarm import SwarmPlan, mixed_motions

    try:
        loop_factory()  # a loop asked for in the environment that cannot be had: say so once, here
    except LoopUnavailable as error:
        raise CommandError(str(error)) from None
    if args.count < 1 or args.count > 1000:
        raise CommandError("-n must be between 1 and 1000")
    if args.speakers is not None and not 0 <= args.speakers <= args.count:
        raise CommandError("--speakers must be between 0 and -n")
    if not 1 <= args.workers <= 64:
        raise CommandError("--workers must be between 1 and 64")
    mixed = args.motion == "mixed"
    if mixed:
        args.motion = "still"  # the template's; each member takes one of `mixed_motions()` instead
    template = config_from_args(args, args.prefix, placement(None, 0.0))
    motions = mixed_motions() if mixed else ()
    plan = SwarmPlan(template, args.count, args.speakers, args.radius, args.prefix, motions=motions)
    listen = metrics_address(args)
    limits = limits_from_args(args)
    if args.workers > 1:
        if listen is not None:
            raise CommandError("--metrics serves one process's swarm: use it without --workers")
        return _run_workers(plan.split(args.workers), args.duration, args.report, limits)
    return _run_loop(
        _swarm(plan, args.duration, args.report, listen, printer=printer_for(args), limits=limits)
    )


def _run_loop(main: Coroutine[Any, Any, int]) -> int:
    """The swarm's loop (its workers' too): asyncio's, or uvloop on request (net/transport/event_loop.py)."""
    from emulator.net.transport.event_loop import run

    return run(main)


async def _swarm(
    plan: SwarmPlan,
    duration: float | None,
    report_path: Path | None,
    listen: tuple[str, int] | None = None,
    summary: bool = True,
    together: Any = None,
    printer: StatusPrinter | None = None,
    limits: Limits | None = None,
) -> int:
    """`together`: a multiprocessing Barrier shared by the workers, so that they settle, measure and
    leave together. Each waits there once all its headsets have joined, and again once it has its
    report: a worker whose headsets left while another was still measuring would load the room and
    the other's listeners with leaves and renegotiations, and its speakers' last packets come late."""
    from emulator.net.prometheus import MetricsServer
    from emulator.qa.swarm import SETTLE_S, Swarm, SwarmError
    from emulator.qa.swarm_metrics import SwarmMetrics

    swarm = Swarm(plan)
    metrics = MetricsServer(SwarmMetrics(swarm).collect, *listen) if listen else None
    try:
        if metrics is not None:
            await metrics.start()
            print(f"swarm: metrics on {metrics.url}", file=sys.stderr, flush=True)
        await swarm.start()
    except (SwarmError, OSError) as error:
        if together is not None:
            together.abort()  # the other workers go on without waiting for this one
        await swarm.stop()
        if metrics is not None:
            await metrics.stop()
        unreachable = isinstance(error, SwarmError) and swarm.failed and not swarm.headsets
        raise CommandError(str(error), ExitCode.UNREACHABLE if unreachable else ExitCode.USAGE) from None
    joined = len(swarm.headsets)
    print(
        f"swarm: {joined} of {plan.count} headsets joined {plan.template.room}", file=sys.stderr, flush=True
    )
    for name, reason in swarm.failed:
        print(f"swarm: {name} could not join: {reason}", file=sys.stderr)
    await _wait_for_the_others(together, WORKERS_JOIN_TIMEOUT_S)
    freeze_what_is_loaded()
    settle = asyncio.get_running_loop().call_later(SETTLE_S, swarm.mark_settled)

    def line(before: Any) -> tuple[str, Any]:
        reports = [headset.report() for headset in swarm.headsets]
        return headsets_line(reports, before, f"{len(swarm.headsets)}/{plan.count}", pairs=True)

    try:
        async with status_task(printer, line):
            await run_until_stopped(duration)
    finally:
        settle.cancel()
        report = swarm.report()
        await _wait_for_the_others(together, WORKERS_MEASURED_TIMEOUT_S)
        if metrics is not None:
            await metrics.stop()
        await swarm.stop()
    _finish(report, report_path, summary)
    unhealthy = say_verdict(limits, report["per_headset"]) if summary else 0
    return 0 if not swarm.failed and not unhealthy else 1


async def _wait_for_the_others(together: Any, timeout_s: float) -> None:
    """Until every worker has reached this point too (the loop, and the headsets, run meanwhile)."""
    if together is None:
        return
    with contextlib.suppress(threading.BrokenBarrierError):
        await asyncio.to_thread(together.wait, timeout_s)


def _finish(report: dict[str, Any], report_path: Path | None, summary: bool) -> None:
    host = report.get("host") or {}
    if summary and host.get("stalls"):
        print(
            f"swarm: the host stopped this machine's CPUs {host.get('stall_count', len(host['stalls']))}"
            " time(s) after the swarm"
            f" settled (CPU steal, {host['cpu_steal_ms']:.0f} ms in all); {host['underruns_in_stalls']}"
            " of the settled underruns fell in those stalls",
            file=sys.stderr,
        )
    if summary:
        print(json.dumps({k: v for k, v in report.items() if k != "per_headset"}))
    if report_path is not None:
        report_path.write_text(json.dumps(report, indent=2))


def _worker(plan: SwarmPlan, duration: float | None, report_path: Path, together: Any) -> None:
    """One worker process's share; its report goes to `report_path` for the parent to merge."""
    try:
        code = _run_loop(_swarm(plan, duration, report_path, summary=False, together=together))
    except CommandError as error:
        print(
            f"headset-emulator swarm (worker {plan.first + 1}-{plan.first + plan.count}): {error}",
            file=sys.stderr,
        )
        code = 2
    sys.exit(code)


def _run_workers(
    plans: list[SwarmPlan], duration: float | None, report_path: Path | None, limits: Limits | None = None
) -> int:
    spawn = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited loop or threads
    with tempfile.TemporaryDirectory(prefix="swarm-workers-") as tmp:
        paths = [Path(tmp) / f"worker-{k}.json" for k in range(len(plans))]
        together = spawn.Barrier(len(plans))
        workers = [
            spawn.Process(target=_worker, args=(plan, duration, path, together), name=f"swarm-worker-{k + 1}")
            for k, (plan, path) in enumerate(zip(plans, paths, strict=True))
        ]
        for worker in workers:
            worker.start()
        print(f"swarm: {len(workers)} worker processes started", file=sys.stderr, flush=True)
        asyncio.run(_wait_for(workers))
        parts = [json.loads(path.read_text()) for path in paths if path.exists()]
    if not parts:
        raise CommandError("no swarm worker finished with a report (see the errors above)")
    from emulator.qa.swarm import merge_reports

    report = merge_reports(parts)
    _finish(report, report_path, True)
    unhealthy = say_verdict(limits, report["per_headset"])
    complete = len(parts) == len(workers) and all(w.exitcode == 0 for w in workers)
    return 0 if complete and not report["failed"] and not unhealthy else 1


async def _wait_for(workers: Sequence[BaseProcess]) -> None:
    """Until every worker has ended; Ctrl+C or SIGTERM here asks them all to leave (they report)."""
    with stop_on_signals() as stop:
        asked = False
        while any(w.is_alive() for w in workers):
            if stop.is_set() and not asked:
                asked = True
                for worker in workers:
                    if worker.is_alive():
                        worker.terminate()  # SIGTERM: the worker leaves its room and writes its report
            await asyncio.sleep(0.1)
    for worker in workers:
        worker.join()
