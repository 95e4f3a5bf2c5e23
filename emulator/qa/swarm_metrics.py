"""The swarm's Prometheus metrics (`swarm --metrics HOST:PORT`): what its headsets measure, summed.

Per-pair series would grow with the square of the swarm, so pairs are summed (packets, losses,
states) or summarised (worst and median jitter, median round trip); the latency histograms take every
new state-latency and mouth-to-ear sample since the last scrape. Runs on the swarm's loop.
"""

from __future__ import annotations

import statistics
from typing import Any

from emulator.headset.report import LatencySamples
from emulator.net.prometheus import Family, Histogram
from emulator.qa.swarm import Swarm


class SwarmMetrics:
    def __init__(self, swarm: Swarm) -> None:
        self.swarm = swarm
        self.state_latency = Histogram(
            "headset_swarm_state_latency_seconds", "sender clock to receiver, states"
        )
        self.mouth_to_ear = Histogram("headset_swarm_mouth_to_ear_seconds", "scheduled-chirp mouth-to-ear")
        self.round_trip = Histogram("headset_swarm_state_round_trip_seconds", "PING/PONG round trips")
        self._seen: dict[int, int] = {}

    def _take(self, samples: LatencySamples, histogram: Histogram) -> None:
        """Observe the samples added since the last scrape: by count ever added, since the list
        drops its oldest once full (by position, every sample was observed again after each drop)."""
        key = id(samples)
        for value in samples.since(self._seen.get(key, 0)):
            histogram.observe(value / 1000)
        self._seen[key] = samples.added

    def collect(self) -> list[Family]:
        # Read at each scrape, not from StatsSampled: Prometheus pulls, and between scrapes nothing is due.
        totals = {
            "states_received": 0,
            "states_lost": 0,
            "audio_received": 0,
            "audio_lost": 0,
            "concealed": 0,
        }
        jitters: list[float] = []
        rtts: list[float] = []
        rates: list[float] = []
        sent = 0
        for headset in self.swarm.headsets:
            view = headset.view
            sent += view.states_sent()
            for stats in view.remote_stats().values():
                totals["states_received"] += stats.states_received
                totals["states_lost"] += stats.states_lost
                rate = stats.state_rate_hz()
                if rate is not None:
                    rates.append(rate)
                self._take(stats.state_latency, self.state_latency)
                self._take(stats.round_trip, self.round_trip)
                if stats.round_trip.values_ms:
                    rtts.append(stats.round_trip.values_ms[-1] / 1000)
            for audio in view.remote_audio_reports().values():
                totals["audio_received"] += int(audio.get("packets_received", 0))
                totals["audio_lost"] += int(audio.get("packets_lost", 0))
                totals["concealed"] += int(audio.get("concealed_frames", 0))
                jitters.append(float(audio.get("jitter_ms", 0.0)) / 1000)
            for samples in view.mouth_to_ear().values():
                self._take(samples, self.mouth_to_ear)
        uplink = sum(h.view.audio_bytes_encoded() for h in self.swarm.headsets)

        def family(name: str, kind: str, help: str, value: Any) -> Family:
            return Family(f"headset_swarm_{name}", kind, help).add(value)

        return [
            family("participants", "gauge", "headsets joined", len(self.swarm.headsets)),
            family("failed", "gauge", "headsets that could not join", len(self.swarm.failed)),
            family("states_sent_total", "counter", "state messages sent", sent),
            family("states_received_total", "counter", "state messages received", totals["states_received"]),
            family(
                "states_lost_total", "counter", "state messages lost (sequence gaps)", totals["states_lost"]
            ),
            family("state_rate_hz_median", "gauge", "median per-pair state rate", _median(rates)),
            family(
                "audio_packets_received_total", "counter", "voice packets received", totals["audio_received"]
            ),
            family("audio_packets_lost_total", "counter", "voice packets lost", totals["audio_lost"]),
            family("audio_concealed_frames_total", "counter", "frames concealed", totals["concealed"]),
            family(
                "audio_payload_bytes_sent_total",
                "counter",
                "Opus bytes encoded (shared encoders once)",
                uplink,
            ),
            family(
                "audio_jitter_seconds_max",
                "gauge",
                "worst voice jitter of any pair",
                max(jitters, default=None),
            ),
            family("audio_jitter_seconds_median", "gauge", "median voice jitter", _median(jitters)),
            family("state_round_trip_seconds_median", "gauge", "median latest round trip", _median(rtts)),
            self.state_latency.family(),
            self.mouth_to_ear.family(),
            self.round_trip.family(),
        ]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None
