"""Many headless headsets in one process: load for a room, and one aggregate report.

Headsets share what they can: those with the same audio source share one encoder (the packets are
handed to every headset's track), so the cost of a swarm grows with its distinct voices, not its size.
Joins are staggered so a room is not hit by N handshakes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import statistics
import time
from dataclasses import dataclass, replace
from typing import Any

from emulator.headset import Headset, HeadsetConfig, HeadsetError
from emulator.headset.voice import SharedEncoders
from emulator.model.pose import Pose
from emulator.qa.host_stalls import SAMPLE_S, HostStalls, merge_host_summaries, read_cpu_steal_s

log = logging.getLogger(__name__)

MOTIONS = ("orbit", "look-around", "nod", "walk", "still")
JOIN_CONCURRENCY = 4
# After the last join, subscriptions are still being negotiated (one new audio track per round) and
# the handshakes have just stalled the loop: underruns in this window are reported apart.
SETTLE_S = 3.0


class SwarmError(Exception):
    pass


@dataclass
class SwarmPlan:
    """How to make N headsets from one template: names, placements, motions and who speaks."""

    template: HeadsetConfig
    count: int
    speakers: int | None = (
        None  # None: everyone speaks the template's audio; else only the first K send voice
    )
    radius_m: float = 3.0
    name_prefix: str = "swarm"
    # A worker process's share of a bigger swarm: headsets first .. first + count - 1 of `total`.
    first: int = 0
    total: int | None = None

    def split(self, parts: int) -> list[SwarmPlan]:
        """This plan as `parts` consecutive shares (for worker processes), as even as they go."""
        total = self.total or self.count
        parts = max(1, min(parts, self.count))
        shares, start = [], self.first
        for k in range(parts):
            size = self.count // parts + (1 if k < self.count % parts else 0)
            shares.append(replace(self, first=start, count=size, total=total))
            start += size
        return shares

    def configs(self) -> list[HeadsetConfig]:
        if self.count < 1:
            raise SwarmError("a swarm needs at least one headset")
        total = self.total or self.count
        configs = []
        for i in range(self.first, self.first + self.count):
            angle = 2 * math.pi * i / total
            x, z = self.radius_m * math.sin(angle), -self.radius_m * math.cos(angle)
            # Face the centre of the circle: yaw that turns -z towards (-x, -z).
            yaw = math.degrees(math.atan2(x, -z)) if (x or z) else 0.0
            place = Pose.at(x, self.template.placement.position.y or 1.6, z, yaw)
            speaks = self.speakers is None or i < self.speakers
            name = f"{self.name_prefix}-{i + 1:02d}"
            motion = self.template.motion if self.template.motion != "mixed" else MOTIONS[i % len(MOTIONS)]
            configs.append(
                replace(
                    self.template,
                    name=name,
                    identity=name,
                    placement=place,
                    motion=motion,
                    audio=self.template.audio if speaks else "none",
                    record_dir=None,
                    light_receive=True,
                    # One listener measuring mouth-to-ear is enough for a load test; the matched
                    # filter is the costliest thing a listener does per remote voice.
                    detect_markers=i == total - 1,
                )
            )
        return configs


class Swarm:
    """Owns its headsets; `stop()` stops all of them."""

    def __init__(self, plan: SwarmPlan) -> None:
        self.plan = plan
        self.encoders = SharedEncoders()
        self.headsets: list[Headset] = []
        self.failed: list[tuple[str, str]] = []
        # identity → remote id → underruns counted before the swarm settled (None: not settled yet)
        self.settled_underruns: dict[str, dict[str, int]] | None = None
        self.host = HostStalls()
        self._watch: asyncio.Task[None] | None = None

    def mark_settled(self) -> None:
        """From now on underruns count as steady-state ones (see SETTLE_S), and the host is watched
        for stalls (see host_stalls)."""
        if self._watch is None:
            self._watch = asyncio.get_running_loop().create_task(self._watch_host())
        self.settled_underruns = {
            headset.config.participant_identity: {
                remote: int(audio.get("underruns", 0))
                for remote, audio in headset.voice.remote_audio_reports().items()
            }
            for headset in self.headsets
            if headset.voice is not None
        }

    async def start(self) -> None:
        configs = self.plan.configs()
        gate = asyncio.Semaphore(JOIN_CONCURRENCY)

        async def join(config: HeadsetConfig) -> None:
            async with gate:
                try:
                    headset = Headset(config, encoders=self.encoders)
                except HeadsetError as error:
                    self.failed.append((config.name, str(error)))
                    return
                self.headsets.append(headset)
                try:
                    await headset.start()
                except HeadsetError as error:
                    self.failed.append((config.name, str(error)))
                    self.headsets.remove(headset)
                    await headset.stop()

        await asyncio.gather(*(join(c) for c in configs))
        if self.failed and len(self.failed) == len(configs):
            raise SwarmError(f"no headset could join: {self.failed[0][1]}")

    async def _watch_host(self) -> None:
        while True:
            self._sample_host()
            await asyncio.sleep(SAMPLE_S)

    def _sample_host(self) -> None:
        underruns = sum(h.voice.underruns_so_far() for h in self.headsets if h.voice is not None)
        self.host.sample(time.monotonic(), read_cpu_steal_s(), underruns)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        for headset in self.headsets:
            with contextlib.suppress(Exception):
                await headset.stop()
        await self.encoders.stop()

    def report(self) -> dict[str, Any]:
        reports = [h.report() for h in self.headsets]
        if self._watch is not None:
            self._sample_host()
        host = self.host.summary() if self.settled_underruns is not None else None
        report = aggregate(reports, self.failed, self.settled_underruns, host)
        report["settled_underruns"] = self.settled_underruns  # lets worker reports be merged
        return report


def merge_reports(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One report from the reports of a swarm's worker processes (each `Swarm.report()`)."""
    reports = [headset for part in parts for headset in part["per_headset"]]
    failed = [(f["name"], f["reason"]) for part in parts for f in part["failed"]]
    settled: dict[str, dict[str, int]] | None = {}
    hosts = [part["host"] for part in parts if part.get("host") is not None]
    for part in parts:
        if part.get("settled_underruns") is None:
            settled = None
        elif settled is not None:
            settled.update(part["settled_underruns"])
    return aggregate(reports, failed, settled, merge_host_summaries(hosts) if hosts else None)


def aggregate(
    reports: list[dict[str, Any]],
    failed: list[tuple[str, str]],
    settled_underruns: dict[str, dict[str, int]] | None = None,
    host: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One summary over every headset's report: the worst pair is what a load test cares about.

    `settled_underruns` (from `Swarm.mark_settled`) splits the underruns into those while the swarm
    was joining and those after it settled; without it, `underruns_settled` is None. `host` (from
    `HostStalls.summary`, settled time only) counts the settled underruns that fell in host stalls."""
    sent_rates = {
        r["identity"]: r["uplink"].get("states_sent", 0) / max(r["duration_s"], 1e-9) for r in reports
    }
    ratios: list[float] = []
    underruns = 0
    underruns_before = 0
    audio_streams = 0
    latencies: list[float] = []
    for report in reports:
        for remote in report["remotes"]:
            rate = remote["states"]["rate_hz"]
            sent = sent_rates.get(remote["id"])
            if rate is not None and sent:
                ratios.append(rate / sent)
            audio = remote.get("audio") or {}
            if audio.get("packets_received"):
                audio_streams += 1
                underruns += int(audio.get("underruns", 0))
                if settled_underruns is not None:
                    underruns_before += settled_underruns.get(report["identity"], {}).get(remote["id"], 0)
            median = remote["states"]["latency"]["median_ms"]
            if median is not None:
                latencies.append(median)
    return {
        "headsets": len(reports),
        "failed": [{"name": n, "reason": r} for n, r in failed],
        "state_delivery": {
            "pairs": len(ratios),
            "min_ratio": round(min(ratios), 4) if ratios else None,
            "median_ratio": round(statistics.median(ratios), 4) if ratios else None,
        },
        "audio": {
            "streams": audio_streams,
            "underruns": underruns,
            "underruns_settled": underruns - underruns_before if settled_underruns is not None else None,
            "underruns_settled_in_host_stalls": host["underruns_in_stalls"] if host is not None else None,
        },
        "host": host,
        "state_latency_median_ms": round(statistics.median(latencies), 2) if latencies else None,
        "per_headset": reports,
    }
