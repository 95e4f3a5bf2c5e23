"""The verdict a run ends with: thresholds per pair over headset reports."""

from __future__ import annotations

from typing import Any

from emulator.qa.verdict import Limits, judge_reports, verdict


def _member(name: str, remotes: list[dict[str, Any]], rate: float | None = 90.0) -> dict[str, Any]:
    return {"name": name, "identity": name, "uplink": {"state_rate_hz": rate}, "remotes": remotes}


def _remote(
    name: str,
    *,
    received: int = 900,
    lost: int = 0,
    rate: float | None = 90.0,
    latency: float | None = 10.0,
    chirp: float | None = None,
    settled: int = 0,
    profile: str = "visionpro",
) -> dict[str, Any]:
    return {
        "id": name,
        "name": name,
        "profile": profile,
        "states": {"received": received, "lost": lost, "rate_hz": rate, "latency": {"median_ms": latency}},
        "mouth_to_ear": {"median_ms": chirp},
        "audio": {"underruns": settled + 7, "underruns_settled": settled},
    }


def test_a_clean_pair_is_healthy() -> None:
    reports = [_member("a", [_remote("b", chirp=90.0)]), _member("b", [_remote("a")])]
    assert verdict(judge_reports(reports, Limits())) == "HEALTHY"


def test_each_threshold_names_itself_the_pair_and_the_figure() -> None:
    cases = [
        (_remote("b", lost=100), "--max-state-loss, a <- b, 10.0% of states lost > 2.0%"),
        (_remote("b", latency=180.0), "--max-state-latency, a <- b, median 180.0ms > 150ms"),
        (_remote("b", chirp=450.0), "--max-mouth-to-ear, a <- b, median 450.0ms > 400ms"),
        (_remote("b", settled=11), "--max-underruns, a <- b, 11 settled underruns > 10"),
        (_remote("b", rate=70.0), "--min-state-rate, a <- b, 70.0 of 90.0 states/s = 0.78 < 0.9"),
    ]
    for remote, expected in cases:
        line = verdict(judge_reports([_member("a", [remote])], Limits()))
        assert line == f"UNHEALTHY: {expected}"


def test_start_up_underruns_do_not_count_and_a_check_can_be_turned_off() -> None:
    remote = _remote("b", settled=0)  # 7 underruns, all at start-up
    assert judge_reports([_member("a", [remote])], Limits(max_underruns=0)) == []
    lossy = [_member("a", [_remote("b", lost=100)])]
    assert judge_reports(lossy, Limits(max_state_loss=None)) == []


def test_a_swarm_judges_against_the_senders_actual_rate_and_counts_the_rest() -> None:
    # b sent at 60/s (a slow sender, say); a received 58/s of it: healthy against 60, not against 90.
    reports = [_member("a", [_remote("b", rate=58.0)]), _member("b", [_remote("a", lost=90)], rate=60.0)]
    breaches = judge_reports(reports, Limits())
    assert [str(b) for b in breaches] == ["--max-state-loss, b <- a, 9.1% of states lost > 2.0%"]
    two = judge_reports([_member("a", [_remote("b", lost=90, latency=200.0)])], Limits())
    assert verdict(two).endswith("(and 1 more)")


def test_a_figure_not_measured_is_not_a_breach() -> None:
    # A remote that joined just before the report: no rate, no latency yet.
    remote = _remote("b", received=0, rate=None, latency=None)
    assert judge_reports([_member("a", [remote])], Limits()) == []


def test_a_remote_naming_an_unknown_profile_or_a_path_is_not_rate_checked() -> None:
    for profile in ("nonesuch", "/etc/passwd.toml"):
        remote = _remote("b", rate=1.0, profile=profile)
        assert judge_reports([{"name": "a", "remotes": [remote]}], Limits()) == []


def test_latencies_are_judged_on_the_settled_part_when_there_is_one() -> None:
    remote = _remote("b", latency=300.0)  # start-up mixed in ...
    remote["states"]["latency"]["settled"] = {"count": 500, "median_ms": 20.0}  # ... but settled it is fine
    assert judge_reports([_member("a", [remote])], Limits()) == []
    remote["states"]["latency"]["settled"] = {"count": 0, "median_ms": None}
    assert [b.threshold for b in judge_reports([_member("a", [remote])], Limits())] == ["--max-state-latency"]
