"""A synthetic probe: join a room, measure what a user would feel, leave.

A probe needs someone to hear, so it brings its own partner: two headsets in this process, a
*mouth* (espeak-ng speech, `MOUTH_AUDIO`, with a chirp at every whole second of its clock) and an
*ear* (listens only; `net` impairs its packets). Speech rather than a tone, so that what the ear
plays is what a listener would judge; the passage runs on without long pauses for longer than a
run's default timeout, so first audio is not delayed by a gap between sentences.
Each run, in a room of its own unless one is named, measures two start-up figures (one sample each):

- **join**: the ear's `Headset.start()`, from opening the WebSocket to both data channels open.
- **first audio out**: from the ear's join completing (the mouth already being in the room) to the
  first 20 ms block of the mouth's voice the ear plays out above −40 dBFS. Its parts, logged at
  info level (`-v`): `routed` (the room has subscribed the ear to the mouth's voice: a renegotiation
  over signaling, then the track's owner named), `first packet` (the first RTP packet of it counted),
  and the rest, the playout filling to its delay.

and then waits until the ear's streams have settled (their first 3 s are start-up, as in every
report) for `SAMPLES_WANTED` settled samples of each of these:

- **mouth-to-ear**: the settled median of the ear's scheduled-chirp latencies (`Voice.mouth_to_ear`),
  from the moment a chirp was "spoken" on the mouth's clock to the moment the ear played it; shown
  beside the floor the codec sets (`floor=`: the Opus frame plus the encoder's lookahead).
- **state round trip**: the settled median of the ear's PING→PONG round trips through the room.
- **mos**: the E-model score of the settled mouth-to-ear and the voice's loss (`emodel`).

The run is judged like `join`'s: the ear's pair (`probe-ear <- probe-mouth`) against `Limits`, its
own figures against `ProbeLimits` (`emulator/qa/verdict.py`). A measure not obtained within the
timeout fails the run. Runs on the caller's loop.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Any

from emulator.audio.factory import NO_AUDIO, AudioSpec
from emulator.audio.marker import MarkerDetector
from emulator.audio.quality.emodel import emodel
from emulator.headset import Headset, HeadsetConfig, HeadsetError
from emulator.headset.events import VoiceLevel
from emulator.net.prometheus import Family, Histogram
from emulator.net.transport.condition_spec import NetConditions
from emulator.net.transport.conditions import NetworkConditioner
from emulator.qa.verdict import (
    Breach,
    Limits,
    ProbeLimits,
    judge_pair,
    judge_probe,
    nominal_rate,
    settled_median,
)
from emulator.qa.verdict import verdict as verdict_line

log = logging.getLogger(__name__)

HEARD_DBFS = -40.0
MARKER_PERIOD_S = 1.0
SAMPLES_WANTED = 3
MOS_BUCKETS = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5)
EAR, MOUTH = "probe-ear", "probe-mouth"
MOUTH_AUDIO = AudioSpec.parse(
    "speech:Hello from the probe. I am checking that this room carries a voice from one headset to "
    "another, clearly and on time. Every second you may hear a short chirp: that is how the listener "
    "measures the delay from my mouth to its ear. The room forwards my voice, my head pose and my face, "
    "and the listener counts what was lost, what was late, and what it had to fill in. If these words "
    "come through without gaps or crackles, the path is healthy. If they stutter, something between "
    "us is dropping packets, and the report will say where. Thank you for listening, and goodbye for now."
)
PAIR = f"{EAR} <- {MOUTH}"


@dataclass
class ProbeResult:
    room: str
    join_s: float | None = None
    first_audio_s: float | None = None
    # The parts of first_audio, from the ear's join: routed to the mouth's voice, its first packet.
    routed_s: float | None = None
    first_packet_s: float | None = None
    mouth_to_ear_ms: float | None = None
    rtt_ms: float | None = None
    codec_floor_ms: float | None = None
    mos: float | None = None
    error: str | None = None
    # The ear's report entry for the mouth when the run ended, and the rate the mouth sent at.
    remote: dict[str, Any] | None = None
    sender_rate_hz: float | None = None
    breaches: list[Breach] = field(default_factory=list)
    judged: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.breaches

    def judge(self, limits: Limits, probe_limits: ProbeLimits) -> None:
        """Check the run against the thresholds: the ear's pair, then the probe's own figures."""
        self.judged = True
        if self.remote is not None:
            rate = self.sender_rate_hz or nominal_rate(self.remote.get("profile"))
            self.breaches = judge_pair(EAR, self.remote, limits, rate)
        self.breaches += judge_probe(
            PAIR,
            probe_limits,
            join_s=self.join_s,
            first_audio_s=self.first_audio_s,
            round_trip_ms=self.rtt_ms,
            mos=self.mos,
        )

    def verdict(self) -> str:
        """`HEALTHY` or `UNHEALTHY: ...`, as `join` ends; a run that could not measure is unhealthy."""
        if self.error is not None:
            return f"UNHEALTHY: {self.error}"
        return verdict_line(self.breaches)

    def line(self) -> str:
        def show(value: float | None, unit: str, scale: float = 1.0) -> str:
            return "-" if value is None else f"{value * scale:.1f}{unit}"

        figures = (
            f"room={self.room} join={show(self.join_s, 'ms', 1000)} "
            f"first_audio={show(self.first_audio_s, 'ms', 1000)} "
            f"mouth_to_ear={show(self.mouth_to_ear_ms, 'ms')} floor={show(self.codec_floor_ms, 'ms')} "
            f"rtt={show(self.rtt_ms, 'ms')} mos={'-' if self.mos is None else f'{self.mos:.2f}'}"
        )
        if self.judged or self.error is not None:
            return f"{figures} {self.verdict()}"
        return figures


async def probe_once(
    template: HeadsetConfig, room: str | None = None, timeout: float = 20.0, net: NetConditions | None = None
) -> ProbeResult:
    """One run; never raises for a room that misbehaves (the result says what failed)."""
    room_name = room or f"probe-{secrets.token_hex(4)}"
    result = ProbeResult(room_name)
    base = replace(template, room=room_name, marker_period_s=MARKER_PERIOD_S, output=None, record_dir=None)
    try:
        mouth_identity = f"{MOUTH}-{secrets.token_hex(3)}"
        mouth = Headset(replace(base, name=MOUTH, identity=mouth_identity, audio=MOUTH_AUDIO))
    except HeadsetError as error:
        result.error = str(error)
        return result
    try:
        ear = Headset(replace(base, name=EAR, identity=f"{EAR}-{secrets.token_hex(3)}", audio=NO_AUDIO))
    except HeadsetError as error:
        await mouth.stop()
        result.error = str(error)
        return result
    network = NetworkConditioner(net) if net is not None else None
    # The ear builds a chirp detector when the mouth's voice arrives, and its first one imports
    # scipy.signal (1 s, several under load): built here first, so first audio measures the room.
    MarkerDetector()
    try:
        await asyncio.wait_for(_measure(mouth, ear, result, network), timeout)
    except TimeoutError:
        missing = [
            label
            for key, label in (
                ("join_s", "join"),
                ("first_audio_s", "first audio"),
                ("mouth_to_ear_ms", f"{SAMPLES_WANTED} settled mouth-to-ear samples"),
                ("rtt_ms", f"{SAMPLES_WANTED} settled round trips"),
            )
            if getattr(result, key) is None
        ]
        result.error = f"--timeout, {PAIR}, no {' or '.join(missing)} after {timeout:g}s"
    except HeadsetError as error:
        result.error = str(error)
    finally:
        if network is not None:
            await network.stop()
        await ear.stop()
        await mouth.stop()
    return result


async def _measure(
    mouth: Headset, ear: Headset, result: ProbeResult, network: NetworkConditioner | None
) -> None:
    await mouth.start()
    heard = asyncio.Event()
    joined_at = 0.0

    def listen(event: VoiceLevel) -> None:
        if heard.is_set() or not joined_at:
            return
        mouth_id = mouth.participant_id
        if not mouth_id or event.participant_id != mouth_id:
            return
        now = time.monotonic()
        if result.routed_s is None:
            result.routed_s = now - joined_at
        if result.first_packet_s is None:
            audio = ear.view.remote_audio_reports().get(str(mouth_id)) or {}
            if audio.get("packets_received"):
                result.first_packet_s = now - joined_at
        if event.dbfs > HEARD_DBFS:
            result.first_audio_s = now - joined_at
            heard.set()

    started = time.monotonic()
    await ear.start()
    joined_at = time.monotonic()
    result.join_s = joined_at - started
    pc = ear.view.peer_connection()
    if network is not None and pc is not None:
        network.attach(pc)
    ear.subscribe(VoiceLevel, listen)
    await heard.wait()
    log.info(
        "first audio %.0f ms after joining: routed to the mouth's voice at %s, its first packet at %s",
        1000 * (result.first_audio_s or 0.0),
        _ms(result.routed_s),
        _ms(result.first_packet_s),
    )
    while not _settled(result, ear.report(), mouth):
        await asyncio.sleep(0.1)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{1000 * seconds:.0f} ms"


def _settled(result: ProbeResult, report: dict[str, Any], mouth: Headset) -> bool:
    """Take the settled figures once there are enough of them (start-up left out)."""
    remote = next((r for r in report["remotes"] if r["id"] == mouth.participant_id), None)
    if remote is None:
        return False
    result.remote = remote
    audio = remote.get("audio") or {}
    result.codec_floor_ms = audio.get("codec_floor_ms", result.codec_floor_ms)
    chirps, trips = remote["mouth_to_ear"]["settled"], remote["round_trip"]["settled"]
    if chirps["count"] >= SAMPLES_WANTED:
        result.mouth_to_ear_ms = settled_median(remote["mouth_to_ear"])
    if trips["count"] >= SAMPLES_WANTED:
        result.rtt_ms = settled_median(remote["round_trip"])
    if result.mouth_to_ear_ms is None or result.rtt_ms is None:
        return False
    received, lost = audio.get("packets_received", 0), audio.get("packets_lost", 0)
    if received:
        result.mos = emodel(result.mouth_to_ear_ms, lost / (lost + received)).mos
    result.sender_rate_hz = (mouth.report().get("uplink") or {}).get("state_rate_hz")
    states = remote["states"]
    log.info(
        "settled: state latency median %s ms, %s of %s states/s, %d lost, %d settled underruns",
        settled_median(states["latency"]),
        states.get("rate_hz"),
        result.sender_rate_hz,
        states.get("lost", 0),
        audio.get("underruns_settled", 0),
    )
    return True


class ProbeMetrics:
    """What `probe --metrics` serves: the last run's figures, counts and histograms of every run."""

    def __init__(self) -> None:
        self.runs = 0
        self.failures = 0
        self.last: ProbeResult | None = None
        self.histograms = {
            "join_s": Histogram("headset_probe_join_seconds", "time to join"),
            "first_audio_s": Histogram("headset_probe_first_audio_seconds", "join to first audio heard"),
            "mouth_to_ear_ms": Histogram("headset_probe_mouth_to_ear_seconds", "mouth-to-ear latency"),
            "rtt_ms": Histogram("headset_probe_state_round_trip_seconds", "state PING/PONG round trip"),
            "mos": Histogram("headset_probe_mos", "voice score (E-model MOS)", MOS_BUCKETS),
        }

    def observe(self, result: ProbeResult) -> None:
        self.runs += 1
        self.failures += 0 if result.ok else 1
        self.last = result
        for key, histogram in self.histograms.items():
            value = getattr(result, key)
            if value is not None:
                histogram.observe(value / 1000 if key.endswith("_ms") else value)

    def collect(self) -> list[Family]:
        families = [
            Family("headset_probe_runs_total", "counter", "probe runs").add(self.runs),
            Family("headset_probe_failures_total", "counter", "runs that failed or broke a threshold").add(
                self.failures
            ),
        ]
        last = self.last
        for key, histogram in self.histograms.items():
            value = getattr(last, key) if last else None
            seconds = None if value is None else (value / 1000 if key.endswith("_ms") else value)
            families.append(
                Family(histogram.name + "_last", "gauge", histogram.help + " (last run)").add(seconds)
            )
            families.append(histogram.family())
        families.append(
            Family("headset_probe_up", "gauge", "1 when the last run passed").add(
                None if last is None else float(last.ok)
            )
        )
        return families
