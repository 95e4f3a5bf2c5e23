"""The headset engine: one process's headsets on one asyncio loop, driven over stdin and stdout.

A Locust worker starts one engine (`python -m emulator.qa.locust.engine`) and writes `join`/`leave`
commands to it; the engine answers with what its members measured (see `protocol`). It imports no
gevent and runs exactly as a swarm worker does: one loop, one grid of ticks, shared encoders, light
receivers with a few members measuring mouth-to-ear.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from emulator.audio.factory import AudioSpec
from emulator.drive.faces import FaceSpec
from emulator.drive.hands import hands_from_spec
from emulator.drive.motions import MotionSpec
from emulator.headset import Headset, HeadsetConfig, HeadsetError, SharedEncoders
from emulator.headset.report import LatencySamples
from emulator.model.pose import Pose
from emulator.net.transport.event_loop import run as run_loop
from emulator.qa.locust.protocol import Event, ProtocolError, Request, StateChange, decode, encode_event
from emulator.qa.swarm import SETTLE_S
from emulator.wire.signaling import CloseReason

log = logging.getLogger(__name__)

REPORT_S = 1.0  # how often a member's new samples become request events
FIRST_AUDIO_POLL_S = 0.05  # how closely the first voice packet is looked for …
FIRST_AUDIO_WINDOW_S = 10.0  # … for this long after the join (then once a report)
LEAVE_TIMEOUT_S = 10.0
JOINS_PAUSED_S = 1.0  # no join for this long: the members in the room are frozen (see _refreeze)
# HeadsetConfig fields a join may set (placement comes as [x, y, z, yaw]).
SETTINGS = {f.name for f in dataclasses.fields(HeadsetConfig)} - {"placement", "ice", "record_dir"}

Emit = Callable[[Event], None]


SPEC_PARSERS: dict[str, Callable[[str], Any]] = {
    "motion": MotionSpec.parse,
    "face": FaceSpec.parse,
    "hands": hands_from_spec,
    "audio": AudioSpec.parse,
}


def config_from(settings: dict[str, Any]) -> HeadsetConfig:
    """A headset's config from a join's settings; settings this build's headsets lack are dropped, so a
    newer Locust side still runs here."""
    place = settings.get("place") or [0.0, 1.6, 0.0, 0.0]
    known = {k: v for k, v in settings.items() if k in SETTINGS}
    # The wire carries spec strings (the Locust side checked them); the config wants parsed values.
    for key, parse in SPEC_PARSERS.items():
        if isinstance(known.get(key), str):
            known[key] = parse(known[key])
    x, y, z, yaw = (float(v) for v in place)
    return HeadsetConfig(placement=Pose.at(x, y, z, yaw), light_receive=True, **known)


class Member:
    """One Locust user's headset: joins, reports what it measures every REPORT_S, leaves when asked."""

    def __init__(
        self,
        key: int,
        config: HeadsetConfig,
        encoders: SharedEncoders,
        emit: Emit,
        on_joined: Callable[[], None] = lambda: None,
    ) -> None:
        self.key, self.config, self.encoders, self.emit = key, config, encoders, emit
        self.on_joined = on_joined
        self.leave = asyncio.Event()
        self._seen: dict[int, int] = {}  # id(LatencySamples) → samples already reported
        self._lost: dict[int, int] = {}  # remote number → states lost so far
        self._underruns: dict[str, int] = {}
        self.headset: Headset | None = None  # while in the room
        self.joined_at = 0.0
        self.next_report = 0.0
        self.heard = False
        self.settled = False

    def _request(self, type: str, name: str, ms: float, length: int = 0, error: str | None = None) -> None:
        self.emit(Request(self.key, type, name, round(ms, 3), length, error))

    async def run(self) -> None:
        try:
            headset = Headset(self.config, encoders=self.encoders)
        except HeadsetError as error:
            self._request("join", "join", 0.0, error=str(error))
            self.emit(StateChange(self.key, "closed", str(error)))
            return
        began = time.monotonic()
        try:
            await headset.start()
        except HeadsetError as error:
            self._request("join", "join", (time.monotonic() - began) * 1000, error=str(error))
            with contextlib.suppress(Exception):
                await headset.stop()
            self.emit(StateChange(self.key, "closed", str(error)))
            return
        self.joined_at = joined = time.monotonic()
        self.next_report = joined + REPORT_S
        self._request("join", "join", (joined - began) * 1000)
        self.emit(StateChange(self.key, "joined"))
        self.headset = headset
        self.on_joined()
        reason: str = CloseReason.LEFT
        try:
            await _first(self.leave, headset.closed)
            if not self.leave.is_set():
                reason = f"lost the room: {headset.close_reason or 'the session ended'}"
                self._request("room", "lost room", (time.monotonic() - joined) * 1000, error=reason)
        finally:
            self.headset = None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(headset.stop(), LEAVE_TIMEOUT_S)
            self.emit(StateChange(self.key, "closed", reason))

    def tick(self, now: float) -> bool:
        """Report what is due; True while this member still waits for its first audio closely."""
        headset = self.headset
        if headset is None or headset.closed.is_set():
            return False
        since = now - self.joined_at
        listening = not self.heard and since < FIRST_AUDIO_WINDOW_S
        if not self.heard and (listening or now >= self.next_report) and _any_audio(headset):
            self.heard = True
            self._request("audio", "first audio", since * 1000)
        if now >= self.next_report:
            if not self.settled and since >= SETTLE_S:
                self.settled = True
                self._count_underruns(headset, report=False)  # what joining cost is not counted
            self._report(headset, self.settled)
            self.next_report = max(self.next_report + REPORT_S, now)
        return listening and not self.heard

    def _new(self, samples: LatencySamples) -> list[float]:
        key = id(samples)
        new = list(samples.since(self._seen.get(key, 0)))
        self._seen[key] = samples.added
        return new

    def _report(self, headset: Headset, settled: bool) -> None:
        # Read every REPORT_S from the user's own loop: Locust wants one event per interval, not per sample.
        view = headset.view
        latencies: list[float] = []
        round_trips: list[float] = []
        lost = 0
        for remote, stats in view.remote_stats().items():
            latencies += self._new(stats.state_latency)
            round_trips += self._new(stats.round_trip)
            lost += max(0, stats.states_lost - self._lost.get(remote, 0))
            self._lost[remote] = stats.states_lost
        # States come at 90 Hz from every other member: one event per interval carries their median
        # (length: how many), so Locust's cost does not grow with the square of the room.
        if latencies:
            self._request("state", "state latency", statistics.median(latencies), len(latencies))
        if round_trips:
            self._request("state", "round trip", statistics.median(round_trips), len(round_trips))
        if lost:
            self._request("state", "lost states", 0.0, lost, error=f"{lost} states lost (sequence gaps)")
        for samples in view.mouth_to_ear().values():
            for value in self._new(samples):
                self._request("audio", "mouth-to-ear", value)
        if settled:
            self._count_underruns(headset, report=True)

    def _count_underruns(self, headset: Headset, report: bool) -> None:
        new = 0
        for remote, audio in headset.view.remote_audio_reports().items():
            count = int(audio.get("underruns", 0))
            new += max(0, count - self._underruns.get(remote, 0))
            self._underruns[remote] = count
        if report and new:
            self._request("audio", "underruns", 0.0, new, error=f"{new} playout underruns (audio late)")


def refreeze() -> None:
    """Keep the collector's full passes short, as swarm does once all its members joined (see
    `emulator.cli.common.freeze_what_is_loaded`): what the members now in the room hold is moved out
    of its sight. Unfrozen first, so that what members who left held in cycles is still collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _any_audio(headset: Headset) -> bool:
    return any(a.get("packets_received") for a in headset.view.remote_audio_reports().values())


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


class Engine:
    """The members of one process, keyed as the Locust side keys its users."""

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.encoders = SharedEncoders()
        self.members: dict[int, Member] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.malformed = 0
        self._ticker: asyncio.Task[None] | None = None
        self.wake = asyncio.Event()  # a member joined: look for its first audio from now on
        self._freeze: asyncio.TimerHandle | None = None

    async def _tick_forever(self) -> None:
        """Every member's reports from one task: a wake-up a second for all (20 a second while one
        waits for its first audio), not one loop per member."""
        while True:
            now = time.monotonic()
            close = [member.tick(now) for member in list(self.members.values())]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), FIRST_AUDIO_POLL_S if any(close) else REPORT_S)
            self.wake.clear()

    def command(self, line: bytes) -> None:
        try:
            message = decode(line)
            kind, key = message["kind"], int(message.get("key", 0))
            if kind == "join":
                self.join(key, config_from(dict(message.get("settings") or {})))
            elif kind == "leave":
                if key in self.members:
                    self.members[key].leave.set()
            else:
                raise ProtocolError(f"a command of unknown kind {kind!r}")
        except (ProtocolError, TypeError, ValueError) as error:
            self.malformed += 1
            log.warning("locust engine: dropped a command: %s", error)

    def join(self, key: int, config: HeadsetConfig) -> None:
        if key in self.tasks:
            self.emit(StateChange(key, "closed", f"user {key} is already in a room"))
            return
        member = Member(key, config, self.encoders, self.emit, self.member_joined)
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick_forever(), name="locust-ticks")
        self.members[key] = member
        task = asyncio.get_running_loop().create_task(member.run(), name=f"locust-member-{key}")
        self.tasks[key] = task
        task.add_done_callback(lambda _: self._forget(key))

    def member_joined(self) -> None:
        self.wake.set()
        # Once the joins pause (a swarm freezes once all its members are in), before the room settles.
        if self._freeze is not None:
            self._freeze.cancel()
        self._freeze = asyncio.get_running_loop().call_later(JOINS_PAUSED_S, refreeze)

    def _forget(self, key: int) -> None:
        self.members.pop(key, None)
        self.tasks.pop(key, None)

    async def stop(self) -> None:
        if self._freeze is not None:
            self._freeze.cancel()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for member in list(self.members.values()):
            member.leave.set()
        if self.tasks:
            await asyncio.wait(list(self.tasks.values()), timeout=LEAVE_TIMEOUT_S)
        for task in list(self.tasks.values()):
            task.cancel()
        await self.encoders.stop()


async def serve() -> None:
    """Commands from stdin until it closes (the Locust worker ended or asked), events to stdout."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout.buffer
    flushing = False

    def flush() -> None:
        nonlocal flushing
        flushing = False
        with contextlib.suppress(OSError):  # the worker is gone: its closed stdin ends the engine
            out.flush()

    def emit(event: Event) -> None:
        # One write to the pipe per turn of the loop, not per event: the members' reports come from
        # one tick, so the worker's reader wakes once for all of them.
        nonlocal flushing
        out.write(encode_event(event))
        if not flushing:
            flushing = True
            loop.call_soon(flush)

    engine = Engine(emit)
    try:
        while line := await reader.readline():
            engine.command(line)
    finally:
        await engine.stop()
        flush()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        run_loop(serve())  # the loop a swarm worker runs on (net/transport/event_loop.py)


if __name__ == "__main__":
    main()
