"""Whether a run was healthy: thresholds checked per pair (listener ← speaker) over the reports.

`join`, `agent` and `swarm` end with one line, `HEALTHY` or `UNHEALTHY: <threshold>, <pair>, <figure>`,
judged from the reports they write (`Headset.report()`, one per member for a swarm); each `probe` run
ends with the same verdict, judged from its ear's report plus the probe's own figures (`ProbeLimits`).
A pair is one listener's view of one remote: what it received of that remote's states and voice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.model.errors import ModelError
from emulator.model.profiles import load_profiles

# What a healthy local room passes on a loaded 2-core machine; the help of each command shows them.
DEFAULT_MAX_UNDERRUNS = 10
DEFAULT_MAX_STATE_LOSS = 0.02
DEFAULT_MAX_STATE_LATENCY_MS = 150.0
DEFAULT_MAX_MOUTH_TO_EAR_MS = 400.0
DEFAULT_MIN_STATE_RATE = 0.9


@dataclass(frozen=True)
class Limits:
    """None turns a check off.

    - `max_underruns`: settled underruns of one pair's voice (start-up ones are not counted).
    - `max_state_loss`: states lost / (received + lost), per pair.
    - `max_state_latency_ms`: median state latency (sender clock to receiver), per pair.
    - `max_mouth_to_ear_ms`: median scheduled-chirp latency, per pair that measured one.
      (Latencies: the settled median, start-up left out, when there is one; else the whole run's.)
    - `min_state_rate`: states received per second / the rate the sender sent at (its report's
      `uplink.state_rate_hz`, else its profile's nominal pose rate), per pair.
    """

    max_underruns: int | None = DEFAULT_MAX_UNDERRUNS
    max_state_loss: float | None = DEFAULT_MAX_STATE_LOSS
    max_state_latency_ms: float | None = DEFAULT_MAX_STATE_LATENCY_MS
    max_mouth_to_ear_ms: float | None = DEFAULT_MAX_MOUTH_TO_EAR_MS
    min_state_rate: float | None = DEFAULT_MIN_STATE_RATE


@dataclass(frozen=True)
class Breach:
    threshold: str  # the option's name, e.g. "--max-state-loss"
    pair: str  # "listener <- speaker"
    figure: str  # "12.0% > 2%"

    def __str__(self) -> str:
        return f"{self.threshold}, {self.pair}, {self.figure}"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def judge_pair(
    listener: str, remote: dict[str, Any], limits: Limits, sender_rate_hz: float | None
) -> list[Breach]:
    """The breaches of one remote entry of a headset report (`report["remotes"][i]`)."""
    pair = f"{listener} <- {remote.get('name') or remote.get('id')}"
    breaches: list[Breach] = []
    states = remote.get("states") or {}
    audio = remote.get("audio") or {}

    def worse(option: str, broken: bool, figure: str) -> None:
        if broken:
            breaches.append(Breach(option, pair, figure))

    if limits.max_underruns is not None:
        underruns = int(audio.get("underruns_settled", 0))
        worse(
            "--max-underruns",
            underruns > limits.max_underruns,
            f"{underruns} settled underruns > {limits.max_underruns}",
        )
    received, lost = int(states.get("received", 0)), int(states.get("lost", 0))
    if limits.max_state_loss is not None and received + lost > 0:
        loss = lost / (received + lost)
        worse(
            "--max-state-loss",
            loss > limits.max_state_loss,
            f"{_pct(loss)} of states lost > {_pct(limits.max_state_loss)}",
        )
    latency = settled_median(states.get("latency"))
    if limits.max_state_latency_ms is not None and latency is not None:
        worse(
            "--max-state-latency",
            latency > limits.max_state_latency_ms,
            f"median {latency:.1f}ms > {limits.max_state_latency_ms:g}ms",
        )
    chirp = settled_median(remote.get("mouth_to_ear"))
    if limits.max_mouth_to_ear_ms is not None and chirp is not None:
        worse(
            "--max-mouth-to-ear",
            chirp > limits.max_mouth_to_ear_ms,
            f"median {chirp:.1f}ms > {limits.max_mouth_to_ear_ms:g}ms",
        )
    rate = states.get("rate_hz")
    if limits.min_state_rate is not None and sender_rate_hz and rate is not None:
        rate = float(rate)
        ratio = rate / sender_rate_hz
        worse(
            "--min-state-rate",
            ratio < limits.min_state_rate,
            f"{rate:.1f} of {sender_rate_hz:.1f} states/s = {ratio:.2f} < {limits.min_state_rate:g}",
        )
    return breaches


def settled_median(summary: Any) -> float | None:
    """A latency summary's settled median, or the whole run's if it has no settled samples."""
    if not isinstance(summary, dict):
        return None
    settled = summary.get("settled") or {}
    value = settled.get("median_ms") if settled.get("count") else summary.get("median_ms")
    return float(value) if isinstance(value, int | float) else None


def judge_reports(reports: list[dict[str, Any]], limits: Limits) -> list[Breach]:
    """Every pair of every report; a sender's actual rate is taken from its own report when it is
    among them (a swarm), else from its profile's nominal pose rate."""
    sent = {r.get("identity"): (r.get("uplink") or {}).get("state_rate_hz") for r in reports}
    breaches: list[Breach] = []
    for report in reports:
        for remote in report.get("remotes", []):
            rate = sent.get(remote.get("id")) or nominal_rate(remote.get("profile"))
            breaches += judge_pair(str(report.get("name")), remote, limits, rate)
    return breaches


def nominal_rate(profile: Any) -> float | None:
    """A bundled profile's pose rate (a remote names its profile: never a path to open)."""
    try:
        known = load_profiles()
    except ModelError:
        return None
    found = known.get(str(profile))
    return float(found.pose_rate_hz) if found is not None else None


@dataclass(frozen=True)
class ProbeLimits:
    """The probe's own thresholds, beside `Limits` (None turns a check off; all off by default).

    - `max_join_s`, `max_first_audio_s`: start-up figures, one sample per run: what a user waits for
      when joining, judged as such (never mixed into the settled figures).
    - `max_round_trip_ms`: the settled median PING/PONG round trip through the room.
    - `min_mos`: the E-model score of the settled mouth-to-ear and the voice's loss.
    """

    max_join_s: float | None = None
    max_first_audio_s: float | None = None
    max_round_trip_ms: float | None = None
    min_mos: float | None = None


def judge_probe(
    pair: str,
    limits: ProbeLimits,
    *,
    join_s: float | None,
    first_audio_s: float | None,
    round_trip_ms: float | None,
    mos: float | None,
) -> list[Breach]:
    """A probe run's own figures against its thresholds; a figure not measured is not a breach."""
    checks = (
        ("--max-join", join_s, limits.max_join_s, 1000.0, "join"),
        ("--max-first-audio", first_audio_s, limits.max_first_audio_s, 1000.0, "first audio"),
        ("--max-rtt", round_trip_ms, limits.max_round_trip_ms, 1.0, "median round trip"),
    )
    breaches = [
        Breach(option, pair, f"{label} {value * scale:.1f}ms > {limit * scale:g}ms")
        for option, value, limit, scale, label in checks
        if value is not None and limit is not None and value > limit
    ]
    if limits.min_mos is not None and mos is not None and mos < limits.min_mos:
        breaches.append(Breach("--min-mos", pair, f"mos {mos:.2f} < {limits.min_mos:g}"))
    return breaches


def verdict(breaches: list[Breach]) -> str:
    """The one line a run ends with; the first breach is named, and how many more there were."""
    if not breaches:
        return "HEALTHY"
    more = f" (and {len(breaches) - 1} more)" if len(breaches) > 1 else ""
    return f"UNHEALTHY: {breaches[0]}{more}"
