"""A hostile peer with a valid token against a real room, over real WebRTC on loopback.

The attacker (tests/support/attacker.py) publishes audio on a listen-only token, floods STATEs,
PINGs and the reliable channel; the victims are a plain session and a real headset.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from emulator.audio.factory import NO_AUDIO
from emulator.headset.config import HeadsetConfig
from emulator.headset.core import Headset
from emulator.model.pose import Pose
from emulator.net.signaling.room_session import RoomSession, SessionCallbacks
from emulator.net.signaling.tokens import Grant, mint
from emulator.room.ratelimit import FLAGRANT_DROPS, FLAGRANT_PINGS
from emulator.room.server import RoomServer
from emulator.wire import BatchPacker, MessageType, Ping, State, peek_header
from emulator.wire.signaling import Join, ParticipantInfo
from tests.support.attacker import AttackerSession, attacker, flood

pytestmark = pytest.mark.slow

SECRET = b"hostile-secret"


@contextlib.asynccontextmanager
async def room_server(mode: str = "forward") -> AsyncIterator[RoomServer]:
    server = RoomServer(SECRET, "127.0.0.1", 0, mode=mode)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def pose_state(seq: int) -> bytes:
    return bytes(State(seq=seq & 0xFFFF, timestamp=seq, pose=Pose()))


async def keep_alive(*sessions: RoomSession) -> None:
    """A STATE every 100 ms from each, so the room does not take them for gone."""
    seq = 0
    while True:
        for session in sessions:
            if session.close_reason is None:
                session.send_state(pose_state(seq))
        seq += 1
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running(coroutine: Any) -> AsyncIterator[asyncio.Task[Any]]:
    task = asyncio.ensure_future(coroutine)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Victim:
    """A plain session that keeps the mix it hears and the STATEs it receives."""

    def __init__(self, url: str, room: str, name: str = "victim") -> None:
        self.samples: list[np.ndarray] = []
        self.states_from: dict[int, int] = {}
        self.left: list[tuple[str, str]] = []
        self._readers: list[asyncio.Task[None]] = []
        callbacks = SessionCallbacks(
            on_state=self._on_state, on_remote_track=self._on_track, on_left=self._on_left
        )
        token = mint(SECRET, Grant(room, name, time.time() + 600, True))
        self.session = RoomSession(url, Join(room, token, name), callbacks=callbacks)

    def _on_state(self, data: bytes) -> None:
        from emulator.wire import messages_in

        for message in messages_in(data):
            header = peek_header(message)
            if header.type is MessageType.STATE:
                self.states_from[header.sender] = self.states_from.get(header.sender, 0) + 1

    def _on_left(self, info: ParticipantInfo, reason: str) -> None:
        self.left.append((info.id, reason))

    def _on_track(self, mid: str, track: Any, receiver: Any) -> None:
        self._readers.append(asyncio.ensure_future(self._read(track)))

    async def _read(self, track: Any) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                self.samples.append(frame.to_ndarray().astype(np.float32).ravel() / 32768)

    async def close(self) -> None:
        for task in self._readers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.session.close()


async def test_a_listen_only_peers_audio_never_reaches_the_binaural_mix() -> None:
    async with room_server("binaural") as server:
        victim = Victim(server.url, "lobby")
        mallory = attacker(server.url, SECRET, "lobby", publish=False, audio=True)
        try:
            await victim.session.connect()
            await mallory.connect()
            async with running(keep_alive(victim.session, mallory)):
                await asyncio.sleep(2.0)
                victim.samples.clear()
                await asyncio.sleep(3.0)
            heard = np.concatenate(victim.samples) if victim.samples else np.zeros(1)
            assert len(heard) > 48_000  # the mix did play: at least a second of it arrived
            rms = float(np.sqrt(np.mean(heard**2)))
            assert rms < 0.003, f"the listen-only peer's tone is in the mix (rms {rms:.3f})"
            assert server.rooms["lobby"].stats.tracks_refused == 1
        finally:
            await mallory.close()
            await victim.close()


async def test_a_state_flood_is_cut_off_within_5_s_and_the_victim_stays() -> None:
    async with room_server() as server:
        victim = Victim(server.url, "lobby")
        mallory = attacker(server.url, SECRET, "lobby")
        try:
            await victim.session.connect()
            await mallory.connect()
            assert mallory.me is not None
            number = mallory.me.number
            (batch,) = BatchPacker().pack([pose_state(k) for k in range(40)], timestamp=1)
            async with running(keep_alive(victim.session)):
                start = time.monotonic()
                sent = await flood(mallory, batch, per_second=480, seconds=8.0)
                elapsed = time.monotonic() - start
                await asyncio.sleep(0.5)
            assert ("mallory", "rate-limited") in victim.left, victim.left
            assert elapsed < 6.0, f"the flood went on for {elapsed:.1f} s"
            assert sent * 40 > FLAGRANT_DROPS  # it did flood: cut off at the first tick past that
            # what reached the victim is at most a few seconds of an honest headset's states
            assert victim.states_from.get(number, 0) < 2 * 360 * 6
            stats = server.rooms["lobby"].stats
            assert stats.messages_over_budget >= FLAGRANT_DROPS and stats.removals_rate_limited == 1
            assert [p.info.id for p in server.rooms["lobby"].participants.values()] == ["victim"]
        finally:
            await mallory.close()
            await victim.close()


async def test_a_ping_flood_is_not_reflected_by_a_real_headset() -> None:
    async with room_server() as server:
        config = HeadsetConfig(
            url=server.url, room="lobby", name="victim", secret=SECRET.decode(), audio=NO_AUDIO,
            marker_period_s=0.0,
        )  # fmt: skip
        headset = Headset(config)
        pongs = 0

        def count_pongs(data: bytes) -> None:
            nonlocal pongs
            from emulator.wire import messages_in

            pongs += sum(peek_header(m).type is MessageType.PONG for m in messages_in(data))

        mallory = attacker(server.url, SECRET, "lobby", callbacks=SessionCallbacks(on_state=count_pongs))
        try:
            await headset.start()
            await mallory.connect()
            sent = await flood(mallory, bytes(Ping(seq=1)), per_second=5000, seconds=3.0)
            await asyncio.sleep(0.5)
            assert sent > FLAGRANT_PINGS  # flooded until the room cut it off, at once
            assert server.rooms["lobby"].stats.removals_rate_limited == 1
            assert pongs <= 8 + 4 * 4, f"{sent} PINGs came back as {pongs} PONGs"
        finally:
            await mallory.close()
            await headset.stop()


async def test_a_reliable_channel_flood_is_capped_and_cut_off() -> None:
    async with room_server() as server:
        victim = Victim(server.url, "lobby")
        control: list[bytes] = []
        victim.session.callbacks.on_control = control.append
        mallory: AttackerSession = attacker(server.url, SECRET, "lobby")
        try:
            await victim.session.connect()
            await mallory.connect()
            async with running(keep_alive(victim.session)):
                await flood(mallory, pose_state(1), per_second=5000, seconds=6.0, reliable=True)
                await asyncio.sleep(0.5)
            assert ("mallory", "rate-limited") in victim.left, victim.left
            assert len(control) <= 200 + 50 * 6
        finally:
            await mallory.close()
            await victim.close()


class SlowToAnswer(RoomSession):
    """A live peer in a busy process: it answers the room's renegotiations, 12 s late."""

    async def _answer(self, sdp: str) -> None:
        await asyncio.sleep(12.0)
        await super()._answer(sdp)


async def test_a_live_peer_slow_to_answer_a_renegotiation_is_not_dropped() -> None:
    async with room_server() as server:
        token = mint(SECRET, Grant("lobby", "busy", time.time() + 600, True))
        busy = SlowToAnswer(server.url, Join("lobby", token, "busy"))
        speaker = attacker(server.url, SECRET, "lobby", "speaker", audio=True)
        try:
            await busy.connect()
            await speaker.connect()  # the room offers busy a new transceiver for the speaker's voice
            async with running(keep_alive(busy, speaker)):
                await asyncio.sleep(14.0)
            assert busy.close_reason is None
            assert [p.info.id for p in server.rooms["lobby"].participants.values()] == ["busy", "speaker"]
            assert "speaker" in busy.track_owners.values()  # the late answer was taken
        finally:
            await speaker.close()
            await busy.close()
