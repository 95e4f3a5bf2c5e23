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

from emulator.audio.factory import NO_AUDIO
from emulator.audio.marker import prepare_detection
from emulator.drive.motions import MotionSpec
from emulator.headset import Headset, HeadsetConfig, HeadsetError, SharedEncoders
from emulator.model.pose import Pose
from emulator.qa.host_stalls import SAMPLE_S, HostStalls, merge_host_summaries, read_cpu_steal_s
from emulator.qa.verdict import nominal_rate

log = logging.getLogger(__name__)

MOTIONS = ("orbit", "look-around", "nod", "walk", "still")  # what `--motion mixed` hands out in turn


def mixed_motions() -> tuple[MotionSpec, ...]:
    return tuple(MotionSpec.parse(name) for name in MOTIONS)


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
    motions: tuple[MotionSpec, ...] = ()  # taken in turn by member number (`mixed`); none: the template's

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
            motion = self.motions[i % len(self.motions)] if self.motions else self.template.motion
            configs.append(
                replace(
                    self.template,
                    name=name,
                    identity=name,
                    placement=place,
                    motion=motion,
                    audio=self.template.audio if speaks else NO_AUDIO,
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
        self.settled = False  # see mark_settled
        self.host = HostStalls()
        self._watch: asyncio.Task[None] | None = None

    def mark_settled(self) -> None:
        """From now on underruns count as steady-state ones (see SETTLE_S), and the host is watched
        for stalls (see host_stalls)."""
        if self._watch is None:
            self._watch = asyncio.get_running_loop().create_task(self._watch_host())
        for headset in self.headsets:
            headset.settle_now()
        self.settled = True

    async def start(self) -> None:
        configs = self.plan.configs()
        if any(c.detect_markers and c.marker_period_s > 0 for c in configs):
            prepare_detection()  # while nobody has joined: later it would silence the joined ones
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
        # A periodic read by design: host stalls are found by comparing underruns between fixed samples.
        underruns = sum(h.view.underruns_so_far() for h in self.headsets)
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
        host = self.host.summary() if self.settled else None
        return aggregate(reports, self.failed, self.settled, host)


def merge_reports(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One report from the reports of a swarm's worker processes (each `Swarm.report()`)."""
    reports = [headset for part in parts for headset in part["per_headset"]]
    failed = [(f["name"], f["reason"]) for part in parts for f in part["failed"]]
    hosts = [part["host"] for part in parts if part.get("host") is not None]
    settled = all(part["audio"]["underruns_settled"] is not None for part in parts)
    return aggregate(reports, failed, settled, merge_host_summaries(hosts) if hosts else None)


def _measuring(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The member that measured mouth-to-ear (the last one; see SwarmPlan.configs), its figures over
    every speaker it heard, and its state round trips."""
    best: dict[str, Any] | None = None
    for report in reports:
        chirps = [r["mouth_to_ear"] for r in report["remotes"] if (r.get("mouth_to_ear") or {}).get("count")]
        if chirps and (best is None or len(chirps) > len(best["chirps"])):
            best = {"report": report, "chirps": chirps}
    if best is None:
        why = "no member heard a latency chirp (no speakers, or markers off)"
        return {"member": None, "mouth_to_ear_median_ms": None, "round_trip_median_ms": None, "why": why}
    remotes = best["report"]["remotes"]
    trips = [r["round_trip"]["median_ms"] for r in remotes if r["round_trip"]["median_ms"] is not None]
    return {
        "member": best["report"]["name"],
        "mouth_to_ear_median_ms": round(statistics.median(c["median_ms"] for c in best["chirps"]), 2),
        "mouth_to_ear_worst_ms": max(c["median_ms"] for c in best["chirps"]),
        "round_trip_median_ms": round(statistics.median(trips), 2) if trips else None,
        **({} if trips else {"why": "no PING/PONG round trip completed"}),
    }


def aggregate(
    reports: list[dict[str, Any]],
    failed: list[tuple[str, str]],
    settled: bool = False,
    host: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One summary over every headset's report: the worst pair is what a load test cares about.

    A pair's state delivery ratio is the states per second it received over the rate its sender
    actually sent at (`uplink.state_rate_hz`), so a healthy pair reads 1.0. Underruns are split into
    those while the swarm was joining and those after it settled (`settled`: see `Swarm.mark_settled`);
    `host` (from `HostStalls.summary`, settled time only) counts the settled underruns in host stalls."""
    sent_rates = {r["identity"]: r["uplink"].get("state_rate_hz") for r in reports}
    ratios: list[float] = []
    underruns = 0
    underruns_settled = 0
    audio_streams = 0
    latencies: list[float] = []
    for report in reports:
        for remote in report["remotes"]:
            rate = remote["states"]["rate_hz"]
            # A sender that has not sent for long enough to measure: its profile's rate.
            sent = sent_rates.get(remote["id"]) or nominal_rate(remote.get("profile"))
            if rate is not None and sent:
                ratios.append(rate / sent)
            audio = remote.get("audio") or {}
            if audio.get("packets_received"):
                audio_streams += 1
                underruns += int(audio.get("underruns", 0))
                underruns_settled += int(audio.get("underruns_settled", 0))
            median = remote["states"]["latency"]["median_ms"]
            if median is not None:
                latencies.append(median)
    unsettled = "the swarm ended before it settled (3 s after the last join)"
    return {
        "headsets": len(reports),
        "failed": [{"name": n, "reason": r} for n, r in failed],
        "state_delivery": {
            "pairs": len(ratios),
            "min_ratio": round(min(ratios), 3) if ratios else None,
            "median_ratio": round(statistics.median(ratios), 3) if ratios else None,
            **({} if ratios else {"why": "no pair received states at a measurable rate from a member"}),
        },
        "audio": {
            "streams": audio_streams,
            "underruns": underruns,
            "underruns_startup": underruns - underruns_settled if settled else None,
            "underruns_settled": underruns_settled if settled else None,
            "underruns_settled_in_host_stalls": host["underruns_in_stalls"] if host is not None else None,
            **({} if settled else {"why": unsettled}),
        },
        "host": host,
        **({} if host is not None else {"host_why": unsettled}),
        "state_latency_median_ms": round(statistics.median(latencies), 2) if latencies else None,
        **({} if latencies else {"state_latency_median_ms_why": "no pair measured a state latency"}),
        "measuring": _measuring(reports),
        "per_headset": reports,
    }
