"""A synthetic probe: join a room, measure what a user would feel, leave.

A probe needs someone to hear, so it brings its own partner: two headsets in this process, a
*mouth* (a 440 Hz tone with a chirp at every whole second of its clock) and an *ear* (listens only;
`net` impairs its packets).
Each run, in a room of its own unless one is named:

- **join**: the ear's `Headset.start()`, from opening the WebSocket to both data channels open.
- **first audio out**: from the ear's join completing (the mouth already being in the room) to the
  first 20 ms block of the mouth's voice the ear plays out above −40 dBFS.
- **mouth-to-ear**: the median of the ear's scheduled-chirp latencies (`Voice.mouth_to_ear`), from
  the moment a chirp was "spoken" on the mouth's clock to the moment the ear played it; shown beside
  the floor the codec sets (`floor=`: the Opus frame plus the encoder's lookahead).
- **state round trip**: the median of the ear's PING→PONG round trips through the room to the mouth.
- **mos**: the E-model score of what the ear measured (loss and mouth-to-ear: `emulator/qa/scores.py`).

A measure not obtained within the timeout fails the run. Runs on the caller's loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from emulator.audio.source import MonoBlock
from emulator.headset import Headset, HeadsetConfig, HeadsetError
from emulator.net.prometheus import Family, Histogram
from emulator.net.transport.condition_spec import NetConditions
from emulator.net.transport.conditions import NetworkConditioner
from emulator.qa.scores import cheap_score

log = logging.getLogger(__name__)

HEARD_DBFS = -40.0
MARKER_PERIOD_S = 1.0
SAMPLES_WANTED = 3
MOS_BUCKETS = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5)


@dataclass
class ProbeResult:
    room: str
    join_s: float | None = None
    first_audio_s: float | None = None
    mouth_to_ear_ms: float | None = None
    rtt_ms: float | None = None
    codec_floor_ms: float | None = None
    mos: float | None = None
    error: str | None = None
    over: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.over

    def line(self) -> str:
        def show(value: float | None, unit: str, scale: float = 1.0) -> str:
            return "-" if value is None else f"{value * scale:.1f}{unit}"

        status = "ok" if self.ok else f"FAIL ({self.error or '; '.join(self.over)})"
        return (
            f"room={self.room} join={show(self.join_s, 'ms', 1000)} "
            f"first_audio={show(self.first_audio_s, 'ms', 1000)} "
            f"mouth_to_ear={show(self.mouth_to_ear_ms, 'ms')} floor={show(self.codec_floor_ms, 'ms')} "
            f"rtt={show(self.rtt_ms, 'ms')} mos={'-' if self.mos is None else f'{self.mos:.2f}'} {status}"
        )


@dataclass(frozen=True)
class Thresholds:
    join_s: float | None = None
    first_audio_s: float | None = None
    mouth_to_ear_ms: float | None = None
    rtt_ms: float | None = None
    min_mos: float | None = None

    def check(self, result: ProbeResult) -> None:
        if self.min_mos is not None and result.mos is not None and result.mos < self.min_mos:
            result.over.append(f"mos {result.mos:.2f} < {self.min_mos:g}")
        for key, label, unit, scale in (
            ("join_s", "join", "ms", 1000.0),
            ("first_audio_s", "first audio", "ms", 1000.0),
            ("mouth_to_ear_ms", "mouth-to-ear", "ms", 1.0),
            ("rtt_ms", "rtt", "ms", 1.0),
        ):
            limit, value = getattr(self, key), getattr(result, key)
            if limit is not None and value is not None and value > limit:
                result.over.append(f"{label} {value * scale:.1f}{unit} > {limit * scale:g}{unit}")


def _level_dbfs(block: MonoBlock) -> float:
    rms = float(np.sqrt(np.mean(np.square(block, dtype=np.float64)))) if len(block) else 0.0
    return 20 * math.log10(rms) if rms > 0 else -120.0


async def probe_once(
    template: HeadsetConfig, room: str | None = None, timeout: float = 20.0, net: NetConditions | None = None
) -> ProbeResult:
    """One run; never raises for a room that misbehaves (the result says what failed)."""
    room_name = room or f"probe-{secrets.token_hex(4)}"
    result = ProbeResult(room_name)
    base = replace(template, room=room_name, marker_period_s=MARKER_PERIOD_S, output=None, record_dir=None)
    mouth = Headset(replace(base, name="probe-mouth", identity=f"probe-mouth-{secrets.token_hex(3)}"))
    ear = Headset(replace(base, name="probe-ear", identity=f"probe-ear-{secrets.token_hex(3)}", audio="none"))
    network = NetworkConditioner(net) if net is not None else None
    try:
        await asyncio.wait_for(_measure(mouth, ear, result, network), timeout)
    except TimeoutError:
        missing = [
            k for k in ("join_s", "first_audio_s", "mouth_to_ear_ms", "rtt_ms") if getattr(result, k) is None
        ]
        result.error = f"timed out after {timeout:g}s waiting for {', '.join(missing)}"
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

    def listen(blocks: dict[str, MonoBlock]) -> None:
        if heard.is_set() or not joined_at:
            return
        mouth_id = mouth.participant_id
        block = blocks.get(mouth_id) if mouth_id else None
        if block is not None and _level_dbfs(block) > HEARD_DBFS:
            result.first_audio_s = time.monotonic() - joined_at
            heard.set()

    started = time.monotonic()
    await ear.start()
    joined_at = time.monotonic()
    result.join_s = joined_at - started
    if network is not None and ear.session is not None and ear.session.pc is not None:
        network.attach(ear.session.pc)
    assert ear.voice is not None
    ear.voice.listeners.append(listen)
    await heard.wait()
    while True:
        remote = _remote(ear.report(), mouth.participant_id)
        if remote is not None:
            latency, rtt = remote["mouth_to_ear"], remote["round_trip"]
            if remote.get("audio"):
                result.codec_floor_ms = remote["audio"]["codec_floor_ms"]
            if latency["count"] >= SAMPLES_WANTED:
                result.mouth_to_ear_ms = latency["median_ms"]
            if rtt["count"] >= SAMPLES_WANTED:
                result.rtt_ms = rtt["median_ms"]
            if result.mouth_to_ear_ms is not None and result.rtt_ms is not None:
                score = cheap_score(remote)
                result.mos = None if score is None else score["mos"]
                return
        await asyncio.sleep(0.1)


def _remote(report: dict[str, Any], participant_id: str | None) -> dict[str, Any] | None:
    return next((r for r in report["remotes"] if r["id"] == participant_id), None)


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
