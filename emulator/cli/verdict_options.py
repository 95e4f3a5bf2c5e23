"""The verdict options of `join`, `agent`, `swarm` and `probe`, and the line a run ends with."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from emulator.cli.common import CommandError
from emulator.cli.vocab import with_unit
from emulator.qa import verdict as v


def _percent(text: str) -> float:
    """`2%` or `0.02` → 0.02."""
    value = text.strip()
    try:
        number = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction like 2%% or 0.02, got {text!r}") from None
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError(f"expected between 0%% and 100%%, got {text!r}")
    return number


def _ms(text: str) -> float:
    """`150ms`, `0.15s` or `150` (milliseconds) → milliseconds."""
    value = text.strip().lower()
    try:
        if value.endswith("ms"):
            return float(value[:-2])
        if value.endswith("s"):
            return float(value[:-1]) * 1000
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a duration like 150ms or 5s, got {text!r}") from None


def ms_with_unit(text: str) -> float:
    """`150ms` or `0.15s` → milliseconds; a bare number is refused (`probe`'s once meant milliseconds)."""
    return 1000 * with_unit(text)


def add_verdict_arguments(
    parser: argparse.ArgumentParser, per: str = "remote", *, needs_unit: bool = False
) -> argparse._ArgumentGroup:
    """The shared thresholds, in a group of their own (returned, for a command's own thresholds)."""
    milliseconds, ms = (ms_with_unit, "DURATION") if needs_unit else (_ms, "MS")
    group = parser.add_argument_group(
        "verdict",
        f"the run ends with HEALTHY or UNHEALTHY: <threshold>, <pair>, <figure> (exit 1), checked per "
        f"{per}; a pair is 'listener <- speaker'",
    )
    group.add_argument(
        "--max-underruns",
        type=int,
        default=v.DEFAULT_MAX_UNDERRUNS,
        metavar="N",
        help=f"most settled voice underruns per pair, start-up excluded (default {v.DEFAULT_MAX_UNDERRUNS})",
    )
    group.add_argument(
        "--max-state-loss",
        type=_percent,
        default=v.DEFAULT_MAX_STATE_LOSS,
        metavar="PCT",
        help=f"most states lost per pair, e.g. 2%% (default {100 * v.DEFAULT_MAX_STATE_LOSS:g}%%)",
    )
    group.add_argument(
        "--max-state-latency",
        type=milliseconds,
        default=v.DEFAULT_MAX_STATE_LATENCY_MS,
        metavar=ms,
        help=f"highest median state latency per pair (default {v.DEFAULT_MAX_STATE_LATENCY_MS:g}ms)",
    )
    group.add_argument(
        "--max-mouth-to-ear",
        type=milliseconds,
        default=v.DEFAULT_MAX_MOUTH_TO_EAR_MS,
        metavar=ms,
        help=f"highest median mouth-to-ear per pair that measured it "
        f"(default {v.DEFAULT_MAX_MOUTH_TO_EAR_MS:g}ms)",
    )
    group.add_argument(
        "--min-state-rate",
        type=float,
        default=v.DEFAULT_MIN_STATE_RATE,
        metavar="RATIO",
        help="lowest states received per second over the rate the sender sent at, per pair "
        f"(default {v.DEFAULT_MIN_STATE_RATE:g})",
    )
    group.add_argument(
        "--no-verdict",
        action="store_true",
        help="only report: no HEALTHY/UNHEALTHY line, no exit 1 for an unhealthy run",
    )
    return group


def limits_from_args(args: argparse.Namespace) -> v.Limits | None:
    """The thresholds asked for, or None for --no-verdict."""
    if args.no_verdict:
        return None
    if args.max_underruns < 0:
        raise CommandError("--max-underruns must be 0 or more")
    if not 0 < args.min_state_rate <= 1:
        raise CommandError("--min-state-rate is a ratio between 0 and 1, e.g. 0.9")
    return v.Limits(
        max_underruns=args.max_underruns,
        max_state_loss=args.max_state_loss,
        max_state_latency_ms=args.max_state_latency,
        max_mouth_to_ear_ms=args.max_mouth_to_ear,
        min_state_rate=args.min_state_rate,
    )


def say_verdict(limits: v.Limits | None, reports: list[dict[str, Any]]) -> int:
    """Print the verdict line (stdout) and every further breach (stderr); 1 when unhealthy."""
    if limits is None:
        return 0
    breaches = v.judge_reports(reports, limits)
    for breach in breaches[1:]:
        print(f"  also: {breach}", file=sys.stderr)
    print(v.verdict(breaches), flush=True)
    return 1 if breaches else 0
