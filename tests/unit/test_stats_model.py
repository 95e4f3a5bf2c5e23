"""The Stats dock's figures say why a plot is empty instead of leaving a blank frame."""

from __future__ import annotations

from emulator.headset.events import AudioFigures, RemoteFigures, StatsSampled
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


def _sample(at: float, states: int, payload: int, received: int, lost: int) -> StatsSampled:
    audio = AudioFigures(received, lost, payload, jitter_ms=3.0, playout_delay_ms=20.0, codec_floor_ms=26.5)
    bob = RemoteFigures("p1", "Bob", states, 0, round_trip_ms=10.0, mouth_to_ear_ms=None, audio=audio)
    return StatsSampled(at, bytes_sent=int(at * 5000), states_sent=0, remotes=(bob,))


def test_two_stats_events_give_rates_a_score_and_the_hud_s_round_trip() -> None:
    collector = StatsCollector()
    collector.add(_sample(10.0, states=0, payload=0, received=0, lost=0))
    collector.add(_sample(11.0, states=90, payload=4000, received=45, lost=5))
    bob = collector.series["p1"]
    assert bob.latest("state_rate_hz") == 90.0 and bob.latest("bitrate_in_kbps") == 32.0
    assert bob.latest("loss_pct") == 10.0 and bob.latest("jitter_ms") == 3.0
    assert collector.series[OUT].latest("bitrate_out_kbps") == 40.0
    mos = bob.latest("mos")
    assert mos is not None and 1.0 <= mos <= 4.5
    assert collector.round_trip_ms() == 10.0
    collector.clear()
    assert collector.round_trip_ms() is None
