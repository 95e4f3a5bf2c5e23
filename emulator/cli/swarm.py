"""`headset-emulator swarm URL -n N`: N headless headsets in one process, and one aggregate report."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from emulator.cli.common import CommandError
from emulator.cli.join import add_headset_arguments, config_from_args, run_until_stopped
from emulator.cli.qa_options import add_metrics_argument, metrics_address
from emulator.drive.spec import placement
from emulator.net.prometheus import MetricsServer
from emulator.qa.swarm import SETTLE_S, Swarm, SwarmError, SwarmPlan
from emulator.qa.swarm_metrics import SwarmMetrics


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
    add_metrics_argument(parser, 9110)
    parser.set_defaults(handler=run, motion="mixed")


def run(args: argparse.Namespace) -> int:
    if args.count < 1 or args.count > 1000:
        raise CommandError("-n must be between 1 and 1000")
    if args.speakers is not None and not 0 <= args.speakers <= args.count:
        raise CommandError("--speakers must be between 0 and -n")
    template = config_from_args(args, args.prefix, placement(None, 0.0))
    plan = SwarmPlan(template, args.count, args.speakers, args.radius, args.prefix)
    listen = metrics_address(args)
    return asyncio.run(_swarm(plan, args.duration, args.report, listen))


async def _swarm(
    plan: SwarmPlan, duration: float | None, report_path: Path | None, listen: tuple[str, int] | None = None
) -> int:
    swarm = Swarm(plan)
    metrics = MetricsServer(SwarmMetrics(swarm).collect, *listen) if listen else None
    try:
        if metrics is not None:
            await metrics.start()
            print(f"swarm: metrics on {metrics.url}", file=sys.stderr, flush=True)
        await swarm.start()
    except (SwarmError, OSError) as error:
        await swarm.stop()
        if metrics is not None:
            await metrics.stop()
        raise CommandError(str(error)) from None
    joined = len(swarm.headsets)
    print(
        f"swarm: {joined} of {plan.count} headsets joined {plan.template.room}", file=sys.stderr, flush=True
    )
    for name, reason in swarm.failed:
        print(f"swarm: {name} could not join: {reason}", file=sys.stderr)
    settle = asyncio.get_running_loop().call_later(SETTLE_S, swarm.mark_settled)
    try:
        await run_until_stopped(duration)
    finally:
        settle.cancel()
        report = swarm.report()
        if metrics is not None:
            await metrics.stop()
        await swarm.stop()
    summary = {k: v for k, v in report.items() if k != "per_headset"}
    print(json.dumps(summary), flush=True)
    if report_path is not None:
        report_path.write_text(json.dumps(report, indent=2))
    return 0 if not swarm.failed else 1
