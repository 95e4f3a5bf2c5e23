"""Live per-participant figures for the Stats and Participants docks, once a second.

Takes the headset's `StatsSampled` events (its counters, sampled on the GUI/loop thread while the
app subscribes) and turns running totals into rates: bitrate in (the participant's Opus payload),
bitrate out (ours: voice + state stream), round trip and mouth-to-ear (the newest sample), jitter,
audio loss, the state rate and the voice score (the E-model's MOS of that second's loss and the
newest delay: `docs/scores.md`). No Qt here, so the arithmetic is tested without a window.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field

from emulator.audio.quality.emodel import emodel
from emulator.headset.events import StatsSampled

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
        self.latest: StatsSampled | None = None  # the newest event, as it came

    def clear(self) -> None:
        self.series.clear()
        self._last.clear()
        self._last_t = None
        self.latest = None

    def _delta(self, key: str, name: str, value: float) -> float | None:
        previous = self._last.setdefault(key, {})
        before = previous.get(name)
        previous[name] = value
        return None if before is None else value - before

    def add(self, stats: StatsSampled) -> None:
        """Take one sample (the headset's `StatsSampled`)."""
        t = stats.at
        dt = None if self._last_t is None else t - self._last_t
        self._last_t = t
        self.samples += 1
        self.latest = stats
        out = self.series.setdefault(OUT, Series("sent"))
        d = self._delta(OUT, "bytes", float(stats.bytes_sent))
        if d is not None and dt:
            out.add("bitrate_out_kbps", t, d * 8 / dt / 1000)
        for remote in stats.remotes:
            key = remote.participant_id
            series = self.series.setdefault(key, Series(remote.name))
            series.name = remote.name
            series.add("round_trip_ms", t, remote.round_trip_ms)
            series.add("state_rate_hz", t, self._rate(key, "states", remote.states_received, dt))
            audio = remote.audio
            if audio is not None:
                payload = self._delta(key, "payload", float(audio.payload_bytes))
                if payload is not None and dt:
                    series.add("bitrate_in_kbps", t, max(0.0, payload) * 8 / dt / 1000)
                series.add("jitter_ms", t, audio.jitter_ms)
                got = self._delta(key, "received", float(audio.packets_received))
                lost = self._delta(key, "lost", float(audio.packets_lost))
                if got is not None and lost is not None and got + lost > 0:
                    series.add("loss_pct", t, 100.0 * max(0.0, lost) / (got + max(0.0, lost)))
            series.add("mouth_to_ear_ms", t, remote.mouth_to_ear_ms)
            loss = series.latest("loss_pct") if audio is not None else None
            if audio is not None and loss is not None:
                delay = series.latest("mouth_to_ear_ms")
                if delay is None:  # no chirps from this sender: the path's parts instead
                    rtt = series.latest("round_trip_ms") or 0.0
                    delay = rtt / 2 + audio.playout_delay_ms + audio.codec_floor_ms
                series.add("mos", t, emodel(delay, loss / 100).mos)

    def round_trip_ms(self) -> float | None:
        """The newest state-stream round trip to each remote that has answered, averaged (the HUD)."""
        remotes = self.latest.remotes if self.latest is not None else ()
        trips = [r.round_trip_ms for r in remotes if r.round_trip_ms is not None]
        return sum(trips) / len(trips) if trips else None

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
