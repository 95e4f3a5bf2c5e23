"""What a headset measured about each other participant, as `--report FILE.json` writes it."""

from __future__ import annotations

import datetime
import math
import statistics
from array import array
from dataclasses import asdict, dataclass, field
from typing import Any

# Rates (states per second) are measured after the first seconds of a stream: a join stalls the
# loop, and the bursts and gaps then are start-up, not the rate of the stream.
RATE_SETTLE_S = 3.0


def utc_stamp(unix_s: float) -> str:
    """Wall-clock time as ISO 8601 UTC with milliseconds, to line reports up with logs."""
    return datetime.datetime.fromtimestamp(unix_s, datetime.UTC).isoformat(timespec="milliseconds")


@dataclass
class LatencySamples:
    """Latency observations in milliseconds, summarised as median and p95.

    The latest `limit` are kept, as 8-byte doubles: a swarm member of 32 keeps 31 remotes' state
    latencies at 90 Hz, and as Python floats in a list (32 bytes each) a worker's 16 members held
    some 160 MB after two minutes. `added` counts every sample ever added, so a reader that takes the
    new ones as they come (the swarm's metrics) can tell how many are new once old ones are dropped.
    """

    values_ms: array[float] = field(default_factory=lambda: array("d"))
    limit: int = 10_000
    added: int = 0
    # `added` when the stream's start-up ended (see mark_settled): the samples after it are the
    # settled ones, a suffix of the list, so nothing is stored twice.
    settled_from: int | None = None

    def mark_settled(self) -> None:
        if self.settled_from is None:
            self.settled_from = self.added

    def add(self, value_ms: float) -> None:
        if math.isfinite(value_ms):
            if len(self.values_ms) >= self.limit:
                del self.values_ms[: self.limit // 10]
            self.values_ms.append(value_ms)
            self.added += 1

    def since(self, added: int) -> array[float]:
        """The samples added after the first `added` (those still kept, if older ones were dropped)."""
        new = self.added - added
        if new <= 0:
            return array("d")
        return self.values_ms[-new:] if new < len(self.values_ms) else self.values_ms[:]

    def summary(self, why_none: str = "no samples yet") -> dict[str, Any]:
        """The whole run's figures, and under `settled` those after start-up; `why` says why a
        figure is null (`why_none` when there are no samples at all)."""
        whole = _figures(self.values_ms, why_none)
        if self.settled_from is None:
            settled = _figures(array("d"), "the stream has not settled yet (its first 3 s are start-up)")
        else:
            settled = _figures(self.since(self.settled_from), why_none)
        return {**whole, "settled": settled}


def _figures(values: array[float], why_none: str) -> dict[str, Any]:
    if not values:
        return {"count": 0, "median_ms": None, "p95_ms": None, "why": why_none}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {"count": len(ordered), "median_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2)}


@dataclass
class RemoteStats:
    """Counters for one remote participant, kept on the loop's thread."""

    id: str
    name: str
    number: int
    profile: str
    states_received: int = 0
    states_lost: int = 0
    visemes_received: int = 0
    first_state_at: float | None = None
    last_state_at: float | None = None
    last_seq: int | None = None
    rate_since: float | None = None
    rate_since_count: int = 0
    state_latency: LatencySamples = field(default_factory=LatencySamples)
    round_trip: LatencySamples = field(default_factory=LatencySamples)
    clock_offset_us: float | None = None
    audio: dict[str, Any] = field(default_factory=dict)

    def note_sequence(self, seq: int) -> None:
        """Count gaps in the sender's 16-bit sequence as losses (the lossy channel never resends)."""
        if self.last_seq is not None:
            gap = (seq - self.last_seq) & 0xFFFF
            if 1 < gap < 0x8000:
                self.states_lost += gap - 1
            elif gap == 0:
                return  # a duplicate
            elif gap >= 0x8000:
                # A late one, overtaken on a path with jitter: it was counted lost when its successor
                # arrived, so take that back (the lossy channel never duplicates).
                if 0x10000 - gap < 64 and self.states_lost > 0:
                    self.states_lost -= 1
                return
        self.last_seq = seq

    def note_received_at(self, now: float) -> None:
        """After counting a state: when; the rate's measure restarts until RATE_SETTLE_S in."""
        if self.first_state_at is None:
            self.first_state_at = now
        self.last_state_at = now
        if now < self.first_state_at + RATE_SETTLE_S:
            self.rate_since, self.rate_since_count = now, self.states_received
        else:
            self.state_latency.mark_settled()
            self.round_trip.mark_settled()

    def count_state(self, seq: int, now: float, latency_ms: float | None) -> None:
        """One STATE received at `now`: `note_sequence(seq)`, the count, `note_received_at(now)` and its
        latency sample (None: no clock offset yet), in one call and in that order. A swarm member's
        BATCHes are counted by `stream.light.count_batch_states`, which writes this out: the two must
        agree (tests/unit/test_light_count.py)."""
        last = self.last_seq
        if last is None:
            self.last_seq = seq
        else:
            gap = (seq - last) & 0xFFFF
            if 1 < gap < 0x8000:
                self.states_lost += gap - 1
                self.last_seq = seq
            elif gap == 1:
                self.last_seq = seq
            elif gap >= 0x8000 and 0x10000 - gap < 64 and self.states_lost > 0:
                self.states_lost -= 1  # a late one, counted lost when its successor came (note_sequence)
        self.states_received += 1
        first = self.first_state_at
        if first is None:
            first = self.first_state_at = now
        self.last_state_at = now
        if now < first + RATE_SETTLE_S:
            self.rate_since, self.rate_since_count = now, self.states_received
        elif self.state_latency.settled_from is None or self.round_trip.settled_from is None:
            self.state_latency.mark_settled()
            self.round_trip.mark_settled()
        if latency_ms is not None:
            self.state_latency.add(latency_ms)

    def state_rate_hz(self) -> float | None:
        """States per second since RATE_SETTLE_S into the stream (or the whole of a shorter one)."""
        if self.rate_since is None or self.last_state_at is None:
            return None
        since, count = self.rate_since, self.rate_since_count
        if self.last_state_at - since <= 0 and self.first_state_at is not None:
            since, count = self.first_state_at, 1  # not settled yet: the whole stream so far
        span = self.last_state_at - since
        received = self.states_received - count
        return received / span if span > 0 and received > 0 else None

    def as_report(self) -> dict[str, Any]:
        rate = self.state_rate_hz()
        no_pong = "no PING/PONG round trip with this participant has completed yet"
        states: dict[str, Any] = {
            "received": self.states_received,
            "lost": self.states_lost,
            "rate_hz": None if rate is None else round(rate, 2),
            "latency": self.state_latency.summary(
                "no states received yet" if not self.states_received else f"no clock offset: {no_pong}"
            ),
        }
        if rate is None:
            states["rate_hz_why"] = "fewer than 2 states received, over no time"
        report = {
            "id": self.id,
            "name": self.name,
            "number": self.number,
            "profile": self.profile,
            "states": states,
            "visemes_received": self.visemes_received,
            "round_trip": self.round_trip.summary(no_pong),
            "clock_offset_ms": None
            if self.clock_offset_us is None
            else round(self.clock_offset_us / 1000, 3),
            "audio": self.audio,
        }
        if self.clock_offset_us is None:
            report["clock_offset_ms_why"] = no_pong
        return report


@dataclass
class HeadsetReport:
    name: str
    identity: str
    room: str
    profile: str
    duration_s: float
    uplink: dict[str, Any]
    remotes: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
