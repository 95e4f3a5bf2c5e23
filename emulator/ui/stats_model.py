"""Live per-participant figures for the Stats and Participants docks, sampled once a second.

Reads the headset's own counters (state link and voice) on the GUI/loop thread and turns running
totals into rates: bitrate in (the participant's Opus payload), bitrate out (ours: voice + state
stream), round trip and mouth-to-ear (the newest sample), jitter, audio loss, the state rate and the
voice score (the E-model's MOS of that second's loss and the newest delay: `docs/scores.md`).
No Qt here, so the arithmetic is tested without a window.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field
from typing import Any

from emulator.audio.quality.emodel import emodel
from emulator.headset import Headset

METRICS: tuple[tuple[str, str], ...] = (
    ("bitrate_in_kbps", "bitrate in (kbit/s)"),
    ("bitrate_out_kbps", "bitrate out (kbit/s)"),
    ("round_trip_ms", "round trip (ms)"),
    ("jitter_ms", "jitter (ms)"),
    ("loss_pct", "audio loss (%)"),
    ("state_rate_hz", "state rate (Hz)"),
    ("mouth_to_ear_ms", "mouth to ear (ms)"),
    ("mos", "voice score (E-model MOS)"),
)
AUDIO_METRICS = frozenset({"bitrate_in_kbps", "jitter_ms", "loss_pct"})
OUT = "sent"  # the series name of our own uplink
HISTORY = 300  # samples kept per series (five minutes at 1 Hz)


@dataclass
class Series:
    name: str
    points: dict[str, collections.deque[tuple[float, float]]] = field(default_factory=dict)

    def add(self, metric: str, t: float, value: float | None) -> None:
        if value is None or not math.isfinite(value):
            return
        self.points.setdefault(metric, collections.deque(maxlen=HISTORY)).append((t, value))

    def latest(self, metric: str) -> float | None:
        points = self.points.get(metric)
        return points[-1][1] if points else None


class StatsCollector:
    def __init__(self) -> None:
        self.series: dict[str, Series] = {}  # participant id (or OUT) → its figures
        self._last: dict[str, dict[str, float]] = {}
        self._last_t: float | None = None
        self.samples = 0

    def clear(self) -> None:
        self.series.clear()
        self._last.clear()
        self._last_t = None

    def _delta(self, key: str, name: str, value: float) -> float | None:
        previous = self._last.setdefault(key, {})
        before = previous.get(name)
        previous[name] = value
        return None if before is None else value - before

    def sample(self, headset: Headset, t: float) -> None:
        """Take one sample at `t` (monotonic seconds)."""
        dt = None if self._last_t is None else t - self._last_t
        self._last_t = t
        self.samples += 1
        view = headset.view
        sent = float(view.bytes_sent())
        out = self.series.setdefault(OUT, Series("sent"))
        d = self._delta(OUT, "bytes", sent)
        if d is not None and dt:
            out.add("bitrate_out_kbps", t, d * 8 / dt / 1000)
        audio = view.remote_audio_reports()
        mouth_to_ear = view.mouth_to_ear()
        for stats in list(view.remote_stats().values()):
            series = self.series.setdefault(stats.id, Series(stats.name))
            series.name = stats.name
            report: dict[str, Any] = audio.get(stats.id, {})
            if stats.round_trip.values_ms:
                series.add("round_trip_ms", t, stats.round_trip.values_ms[-1])
            series.add("state_rate_hz", t, self._rate(stats.id, "states", stats.states_received, dt))
            if report:
                payload = self._delta(stats.id, "payload", float(report.get("payload_bytes", 0)))
                if payload is not None and dt:
                    series.add("bitrate_in_kbps", t, max(0.0, payload) * 8 / dt / 1000)
                series.add("jitter_ms", t, float(report.get("jitter_ms", 0.0)))
                got = self._delta(stats.id, "received", float(report.get("packets_received", 0)))
                lost = self._delta(stats.id, "lost", float(report.get("packets_lost", 0)))
                if got is not None and lost is not None and got + lost > 0:
                    series.add("loss_pct", t, 100.0 * max(0.0, lost) / (got + max(0.0, lost)))
            latencies = mouth_to_ear.get(stats.id)
            if latencies is not None and latencies.values_ms:
                series.add("mouth_to_ear_ms", t, latencies.values_ms[-1])
            loss = series.latest("loss_pct") if report else None
            if loss is not None:
                delay = series.latest("mouth_to_ear_ms")
                if delay is None:  # no chirps from this sender: the path's parts instead
                    rtt = series.latest("round_trip_ms") or 0.0
                    delay = rtt / 2 + report.get("playout_delay_ms", 0.0) + report.get("codec_floor_ms", 0.0)
                series.add("mos", t, emodel(delay, loss / 100).mos)

    def why_empty(self, metric: str) -> str | None:
        """Why `metric`'s plot has no points (None when it has some), in words for the plot itself."""
        if any(series.points.get(metric) for series in self.series.values()):
            return None
        if self.samples == 0 or not self.series:
            return "no figures yet: join a room"
        others = [key for key in self.series if key != OUT]
        if metric != "bitrate_out_kbps" and not others:
            return "nobody else is in the room"
        if metric == "mouth_to_ear_ms":
            return (
                "nobody sends latency markers (headless join does by default; "
                "the demo's bots do not, a chirp would spoil their speech)"
            )
        if metric in AUDIO_METRICS:
            return "no audio received from the others yet"
        return "waiting for the first samples"

    def _rate(self, key: str, name: str, total: float, dt: float | None) -> float | None:
        d = self._delta(key, name, float(total))
        return None if d is None or not dt else d / dt
