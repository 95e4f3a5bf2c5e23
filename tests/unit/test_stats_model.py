"""The Stats dock's figures say why a plot is empty instead of leaving a blank frame."""

from __future__ import annotations

from emulator.ui.stats_model import OUT, Series, StatsCollector


def test_before_joining_every_plot_says_to_join() -> None:
    collector = StatsCollector()
    assert collector.why_empty("round_trip_ms") == "no figures yet: join a room"


def test_alone_in_a_room_only_the_uplink_has_points() -> None:
    collector = StatsCollector()
    collector.samples = 2
    collector.series[OUT] = Series("sent")
    collector.series[OUT].add("bitrate_out_kbps", 1.0, 40.0)
    assert collector.why_empty("bitrate_out_kbps") is None
    assert collector.why_empty("jitter_ms") == "nobody else is in the room"


def test_bots_without_markers_leave_mouth_to_ear_empty_and_say_so() -> None:
    collector = StatsCollector()
    collector.samples = 3
    bot = collector.series.setdefault("p1", Series("Ada"))
    bot.add("round_trip_ms", 1.0, 2.5)
    assert collector.why_empty("round_trip_ms") is None
    reason = collector.why_empty("mouth_to_ear_ms")
    assert reason is not None and "latency markers" in reason
    assert collector.why_empty("jitter_ms") == "no audio received from the others yet"
