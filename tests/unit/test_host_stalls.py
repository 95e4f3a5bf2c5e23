"""Host stalls: which of a swarm's underruns fell while the hypervisor had the machine's CPUs."""

from __future__ import annotations

from pathlib import Path

from emulator.qa.host_stalls import (
    AFTERMATH_S,
    SAMPLE_S,
    WINDOW_S,
    HostStalls,
    merge_host_summaries,
    read_cpu_steal_s,
)


def _watch(steal_at: dict[float, float], underruns_at: dict[float, int], seconds: float = 5.0) -> HostStalls:
    """A sampled run: `steal_at` adds stolen seconds at a time, `underruns_at` adds underruns."""
    host = HostStalls()
    steal, underruns = 100.0, 7  # counters since boot, not zero
    for k in range(round(seconds / SAMPLE_S) + 1):
        now = 50.0 + k * SAMPLE_S
        steal += sum(v for t, v in steal_at.items() if abs(t - k * SAMPLE_S) < SAMPLE_S / 2)
        underruns += sum(v for t, v in underruns_at.items() if abs(t - k * SAMPLE_S) < SAMPLE_S / 2)
        host.sample(now, steal, underruns)
    return host


def test_underruns_right_after_a_stall_are_the_hosts_and_later_ones_are_not() -> None:
    summary = _watch({1.0: 0.06}, {1.05: 12, 1.3: 3, 3.0: 2}).summary()
    assert summary["underruns_in_stalls"] == 15
    assert summary["cpu_steal_ms"] == 60.0
    [stall] = summary["stalls"]
    assert 0.95 <= stall["at_s"] <= 1.0 and stall["stolen_ms"] == 60


def test_steal_spread_thin_is_no_stall() -> None:
    # 10 ms stolen every 300 ms: 3% of the time, never 30 ms within 200 ms.
    summary = _watch({t / 10: 0.01 for t in range(3, 50, 3)}, {2.0: 4}).summary()
    assert summary["stalls"] == [] and summary["underruns_in_stalls"] == 0
    assert summary["cpu_steal_ms"] == 160.0


def test_a_stall_covers_underruns_only_for_its_aftermath() -> None:
    late = 1.0 + AFTERMATH_S + 0.2
    summary = _watch({1.0: 0.02, 1.1: 0.02}, {late: 5}).summary()
    assert len(summary["stalls"]) == 1 and summary["underruns_in_stalls"] == 0


def test_two_stalls_apart_are_two() -> None:
    summary = _watch({1.0: 0.04, 3.0: 0.05}, {1.1: 1, 3.1: 2}).summary()
    assert [s["stolen_ms"] for s in summary["stalls"]] == [40, 50]
    assert summary["underruns_in_stalls"] == 3


def test_without_a_steal_counter_nothing_is_put_down_to_the_host() -> None:
    host = HostStalls()
    for k in range(10):
        host.sample(k * SAMPLE_S, None, k)
    assert host.summary() == {
        "cpu_steal_ms": None, "cpu_steal_why": "no CPU steal counter here (/proc/stat)",
        "stall_count": 0, "stalls": [], "underruns_in_stalls": 0,
    }  # fmt: skip


def test_the_steal_counter_is_read_from_proc_stat(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text("cpu  5480399 3422 571258 6833009 34873 0 41730 14780 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
    assert read_cpu_steal_s(stat) == 147.8
    stat.write_text("cpu  1 2 3\n")  # an old kernel without the field
    assert read_cpu_steal_s(stat) is None
    assert read_cpu_steal_s(tmp_path / "missing") is None
    live = read_cpu_steal_s()
    assert live is None or live >= 0.0


STALL_60 = {"at_s": 1.0, "length_s": 0.1, "stolen_ms": 60}


def test_workers_share_the_hosts_stalls_and_add_their_underruns() -> None:
    one = {"cpu_steal_ms": 60.0, "stalls": [STALL_60], "underruns_in_stalls": 4}
    two = {"cpu_steal_ms": 70.0, "stalls": [], "underruns_in_stalls": 0}
    merged = merge_host_summaries([one, two])
    assert merged == {
        "cpu_steal_ms": 70.0,
        "stall_count": 1,
        "stalls": one["stalls"],
        "underruns_in_stalls": 4,
    }


def test_a_long_run_keeps_a_bounded_record() -> None:
    # Three hours at 20 samples a second, a 40 ms stall every minute with 2 underruns after it and
    # 1 underrun a minute elsewhere: what is kept does not grow with the run.
    host = HostStalls()
    steal, underruns = 0.0, 0
    for k in range(3 * 3600 * 20):
        now = k * SAMPLE_S
        second = now % 60
        if abs(second - 10.0) < 1e-6:
            steal += 0.04
        if abs(second - 10.1) < 1e-6:
            underruns += 2
        if abs(second - 40.0) < 1e-6:
            underruns += 1
        host.sample(now, steal, underruns)
        assert len(host._recent) <= round(WINDOW_S / SAMPLE_S) + 2 and len(host._undecided) <= 8
    summary = host.summary()
    assert summary["stall_count"] == 180 and len(summary["stalls"]) == HostStalls.MAX_LISTED
    assert summary["underruns_in_stalls"] == 360


def test_the_swarm_says_when_host_stalls_took_underruns(capsys) -> None:  # type: ignore[no-untyped-def]
    from emulator.cli.swarm import _finish

    stalls = [STALL_60] * 2  # the listed ones (the latest 100); the count is of all
    report = {
        "headsets": 2,
        "host": {"cpu_steal_ms": 180.0, "stall_count": 3, "stalls": stalls, "underruns_in_stalls": 5},
    }
    _finish(report, None, summary=True)
    said = capsys.readouterr()
    assert "stopped this machine's CPUs 3 time(s)" in said.err and "180 ms in all" in said.err
    assert "5 of the settled underruns fell in those stalls" in said.err
    _finish(
        {"headsets": 2, "host": {"cpu_steal_ms": 10.0, "stall_count": 0, "stalls": []}}, None, summary=True
    )
    assert "stopped" not in capsys.readouterr().err
