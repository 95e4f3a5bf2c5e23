"""Load, faults and churn against the real room process: nobody else is dropped while others come and
go, a stopped peer is removed within 5 s, and the room's file descriptors come back after cycles.

Short here (N = 16); the `hostile` bench runs the long version (N = 32, 2 minutes, 200 cycles).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from emulator.audio.factory import AudioSpec
from emulator.headset import Headset, HeadsetConfig
from emulator.net.prometheus import MetricsServer
from emulator.net.signaling.room_session import RoomSession, SessionCallbacks
from emulator.net.signaling.tokens import Grant, mint
from emulator.room.metrics import RoomMetrics
from emulator.room.server import RoomServer
from emulator.wire.signaling import Join, ParticipantInfo
from tests.support.processes import stop_group
from tests.support.room import SECRET, RoomProcess, cli, cli_env

pytestmark = pytest.mark.slow

ROOM = "churn"


class Observer:
    """A listen-only session that notes who joins and who leaves, and why."""

    def __init__(self, url: str, room: str = ROOM) -> None:
        self.joined: dict[str, float] = {}
        self.left: list[tuple[str, str, float]] = []
        callbacks = SessionCallbacks(on_joined=self._on_joined, on_left=self._on_left)
        token = mint(SECRET.encode(), Grant(room, "observer", time.time() + 600, False))
        self.session = RoomSession(url, Join(room, token, "observer"), callbacks=callbacks)
        self._alive: asyncio.Task[None] | None = None

    def _on_joined(self, info: ParticipantInfo) -> None:
        self.joined[info.id] = time.monotonic()

    def _on_left(self, info: ParticipantInfo, reason: str) -> None:
        self.left.append((info.id, reason, time.monotonic()))

    def present(self) -> set[str]:
        return set(self.session.participants)

    async def start(self) -> None:
        welcome = await self.session.connect()
        for p in welcome.participants:
            self.joined[p.id] = time.monotonic()
        self._alive = asyncio.ensure_future(self._keep_alive())

    async def _keep_alive(self) -> None:
        from emulator.model.pose import Pose
        from emulator.wire import State

        seq = 0
        while True:  # the room removes a participant whose data stops; a listener still sends its pose
            seq = (seq + 1) & 0xFFFF
            self.session.send_state(bytes(State(seq=seq, timestamp=seq, pose=Pose())))
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        if self._alive is not None:
            self._alive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._alive
        await self.session.close()


async def wait_until(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting until {what}")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def process(argv: list[str], tmp_path: Path, name: str) -> AsyncIterator[subprocess.Popen[bytes]]:
    with (tmp_path / f"{name}.log").open("wb") as log:
        proc = subprocess.Popen(argv, env=cli_env(tmp_path), stdout=subprocess.DEVNULL, stderr=log,
                                start_new_session=True)  # fmt: skip
        try:
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGCONT)
            await asyncio.to_thread(stop_group, proc)


def room_fds(room: RoomProcess) -> int:
    return len(os.listdir(f"/proc/{room.process.pid}/fd"))


def churner(room: RoomProcess, number: int) -> Headset:
    config = HeadsetConfig(
        room.url,
        ROOM,
        f"churn-{number:03d}",
        secret=SECRET,
        audio=AudioSpec.parse("tone:700"),
        marker_period_s=0.0,
    )
    return Headset(config)


async def churn(room: RoomProcess, cycles: int, alive_s: float = 1.5) -> tuple[int, int]:
    """`cycles` headsets (with a voice), one joining every second at most and each leaving `alive_s`
    later; (joins, leaves). Counted, not timed: on a loaded machine a join takes longer."""
    living: list[tuple[float, Headset]] = []
    joins = leaves = 0
    try:
        for number in range(1, cycles + 1):
            tick = time.monotonic()
            headset = churner(room, number)
            await headset.start()
            joins += 1
            living.append((time.monotonic(), headset))
            while living and time.monotonic() - living[0][0] >= alive_s:
                await living.pop(0)[1].stop()
                leaves += 1
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    finally:
        for _, headset in living:
            await headset.stop()
            leaves += 1
    return joins, leaves


async def test_churn_in_a_room_of_16_with_2_speakers_drops_nobody_else(
    room_process: RoomProcess, tmp_path: Path
) -> None:
    observer = Observer(room_process.url)
    argv = cli("swarm", room_process.url, "--room", ROOM, "-n", "16", "--speakers", "2", "--audio",
               "tone:440", "--duration", "120", "--prefix", "steady")  # fmt: skip
    async with process(argv, tmp_path, "swarm"):
        await observer.start()
        try:
            steady = {f"steady-{i:02d}" for i in range(1, 17)}
            await wait_until(lambda: steady <= observer.present(), "the 16 have joined", 90)
            await asyncio.sleep(2.0)
            joins, leaves = await churn(room_process, cycles=15)
            await asyncio.sleep(1.0)
            reason = observer.session.close_reason
            assert reason is None, f"the observer itself was dropped ({reason}): nothing else can be judged"
            collateral = [(who, why) for who, why, _ in observer.left if not who.startswith("churn-")]
            assert collateral == [], f"{len(collateral)} dropped while others came and went: {collateral[:5]}"
            assert steady <= observer.present()
            churned = [(who, why) for who, why, _ in observer.left if who.startswith("churn-")]
            assert len(churned) == leaves == joins == 15
            assert {why for _, why in churned} <= {"left", "disconnected"}  # its own leaving, either way
        finally:
            await observer.stop()


async def test_a_peer_stopped_with_sigstop_is_removed_within_5_s(
    room_process: RoomProcess, tmp_path: Path
) -> None:
    observer = Observer(room_process.url)
    argv = cli("join", room_process.url, "--room", ROOM, "--name", "sleeper", "--audio", "tone:440",
               "--duration", "120")  # fmt: skip
    await observer.start()
    try:
        async with process(argv, tmp_path, "sleeper") as sleeper:
            await wait_until(lambda: "sleeper" in observer.present(), "the sleeper has joined", 60)
            await asyncio.sleep(1.0)
            stopped = time.monotonic()
            os.killpg(sleeper.pid, signal.SIGSTOP)
            await wait_until(lambda: "sleeper" not in observer.present(), "the sleeper is removed", 15)
            (gone,) = [(why, at) for who, why, at in observer.left if who == "sleeper"]
            assert gone[0] == "transport-lost"
            assert gone[1] - stopped <= 5.0, f"removed {gone[1] - stopped:.1f} s after SIGSTOP"
    finally:
        await observer.stop()


async def test_the_rooms_file_descriptors_return_to_baseline_after_join_leave_cycles(
    room_process: RoomProcess,
) -> None:
    observer = Observer(room_process.url)
    await observer.start()
    try:
        warm = churner(room_process, 0)  # the first join opens what the room keeps (loggers, codecs)
        await warm.start()
        await warm.stop()
        await asyncio.sleep(1.0)
        baseline = room_fds(room_process)
        for number in range(1, 21):
            headset = churner(room_process, number)
            await headset.start()
            await asyncio.sleep(0.3)
            await headset.stop()
        await wait_until(lambda: observer.present() == set(), "every cycle has left", 10)
        await wait_until(
            lambda: room_fds(room_process) <= baseline + 2, f"the room's fds back to {baseline}", 10
        )
    finally:
        await observer.stop()


async def test_the_rooms_metrics_tell_how_long_its_loop_was_too_busy_to_tick() -> None:
    server = RoomServer(SECRET.encode(), "127.0.0.1", 0)
    await server.start()
    metrics = MetricsServer(RoomMetrics(server).collect, "127.0.0.1", 0)
    await metrics.start()
    try:
        await asyncio.sleep(0.6)  # a tick on time first
        time.sleep(1.5)  # the point: the room's loop busy with something else for 1.5 s
        await asyncio.sleep(0.6)  # the tick that was due meanwhile runs, late
        async with aiohttp.ClientSession() as http, http.get(metrics.url) as response:
            text = await response.text()
        values = {
            line.split()[0]: float(line.split()[1])
            for line in text.splitlines()
            if line.startswith("headset_room_loop_")
        }
        # The tick due during the sleep ran at least its remainder late; nothing else stalls this long.
        assert values["headset_room_loop_longest_late_seconds"] >= 1.0
        assert (
            values["headset_room_loop_late_seconds_total"] >= values["headset_room_loop_longest_late_seconds"]
        )
    finally:
        await metrics.stop()
        await server.stop()
