"""A probe run is judged like `join`: the same thresholds and line, on settled figures; its own
start-up figures (join, first audio) judged apart, as start-up."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.cli import build_parser
from emulator.qa.probe import ProbeResult
from emulator.qa.verdict import Limits, ProbeLimits, judge_probe

PAIR = "probe-ear <- probe-mouth"


def _summary(whole: float, settled: float | None, count: int = 3) -> dict[str, Any]:
    return {
        "count": 10,
        "median_ms": whole,
        "settled": {"count": count if settled is not None else 0, "median_ms": settled},
    }


def _result(**remote_changes: Any) -> ProbeResult:
    """A run as the ear saw the mouth: start-up slow (long whole-run latencies), settled fine."""
    remote: dict[str, Any] = {
        "id": "probe-mouth-1a2b3c",
        "name": "probe-mouth",
        "profile": "visionpro",
        "states": {"received": 400, "lost": 0, "rate_hz": 89.0, "latency": _summary(400.0, 12.0)},
        "mouth_to_ear": _summary(900.0, 60.0),
        "round_trip": _summary(300.0, 8.0),
        "audio": {"underruns": 6, "underruns_settled": 0, "packets_received": 300, "packets_lost": 0},
    }
    remote.update(remote_changes)
    return ProbeResult(
        "probe-x", join_s=0.2, first_audio_s=0.15, mouth_to_ear_ms=60.0, rtt_ms=8.0, mos=4.4,
        remote=remote, sender_rate_hz=90.0,
    )  # fmt: skip


def test_a_clean_run_ends_healthy_on_its_settled_figures() -> None:
    result = _result()
    result.judge(Limits(), ProbeLimits(max_join_s=5.0, max_first_audio_s=2.0, max_round_trip_ms=50.0))
    assert result.ok and result.breaches == []
    assert result.line().endswith(" mos=4.40 HEALTHY")


def test_a_run_breaks_the_shared_thresholds_with_the_shared_line() -> None:
    lossy = _result(states={"received": 360, "lost": 40, "rate_hz": 80.0, "latency": _summary(20.0, 12.0)})
    lossy.judge(Limits(), ProbeLimits())
    assert not lossy.ok
    assert lossy.verdict() == (
        f"UNHEALTHY: --max-state-loss, {PAIR}, 10.0% of states lost > 2.0% (and 1 more)"
    )
    assert str(lossy.breaches[1]) == f"--min-state-rate, {PAIR}, 80.0 of 90.0 states/s = 0.89 < 0.9"
    late = _result(mouth_to_ear=_summary(900.0, 450.0))
    late.judge(Limits(), ProbeLimits())
    assert late.verdict() == f"UNHEALTHY: --max-mouth-to-ear, {PAIR}, median 450.0ms > 400ms"
    assert late.line().endswith(late.verdict())


def test_start_up_figures_are_judged_apart_from_the_settled_ones() -> None:
    limits = ProbeLimits(max_join_s=5.0, max_first_audio_s=1.0, max_round_trip_ms=50.0, min_mos=4.0)
    figures = {"join_s": 6.0, "first_audio_s": 1.5, "round_trip_ms": 60.0, "mos": 3.5}
    assert [str(b) for b in judge_probe(PAIR, limits, **figures)] == [
        f"--max-join, {PAIR}, join 6000.0ms > 5000ms",
        f"--max-first-audio, {PAIR}, first audio 1500.0ms > 1000ms",
        f"--max-rtt, {PAIR}, median round trip 60.0ms > 50ms",
        f"--min-mos, {PAIR}, mos 3.50 < 4",
    ]
    # Off by default, and a figure not measured is not a breach.
    assert judge_probe(PAIR, ProbeLimits(), **figures) == []
    assert judge_probe(PAIR, limits, join_s=None, first_audio_s=None, round_trip_ms=None, mos=None) == []


def test_a_run_that_could_not_measure_is_unhealthy_and_no_verdict_leaves_the_figures() -> None:
    failed = ProbeResult("probe-x", error=f"--timeout, {PAIR}, no 3 settled round trips after 20s")
    assert not failed.ok
    assert failed.line().endswith(f"UNHEALTHY: --timeout, {PAIR}, no 3 settled round trips after 20s")
    unjudged = _result(mouth_to_ear=_summary(900.0, 450.0))  # --no-verdict: judge() is never called
    assert unjudged.ok and unjudged.line().endswith(" mos=4.40")


def test_the_probes_thresholds_take_the_shared_options_with_units() -> None:
    parse = build_parser("probe").parse_args
    args = parse(
        ["probe", "ws://h/ws", "--max-mouth-to-ear", "150ms", "--max-rtt", "0.5s", "--max-state-loss", "5%"]
    )
    assert (args.max_mouth_to_ear, args.max_rtt, args.max_state_loss) == (150.0, 500.0, 0.05)
    defaults = parse(["probe", "ws://h/ws"])
    assert defaults.max_mouth_to_ear == Limits().max_mouth_to_ear_ms and defaults.max_join is None
    with pytest.raises(SystemExit):
        parse(["probe", "ws://h/ws", "--max-state-latency", "150"])  # once milliseconds: a unit is needed
