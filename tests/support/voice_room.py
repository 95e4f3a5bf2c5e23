"""Speech through the bundled room to listeners that each lose their own seeded share of it.

A speaker (the headset's send path without its state stream: a source, latency chirps on the
sender's clock if asked, our Opus encoder at the headset's settings) joins a room; listeners join
as plain sessions, each with a drop hook on its receiver (where the network would lose packets) and
one of two receive paths:

- ours: the tap and `PlayoutBuffer` with a headset listener's settings, pulled every 10 ms as a
  headset's `Voice` pulls it; one pacer pulls every listener, so a busy loop delays them alike;
- stock: aiortc's jitter buffer and decoder, its frames played as they come (`StockListener`).

The speaker's source is recorded as it is read, before the chirps: the reference to score against.
What a listener played is kept as a sound card would play it: ours block after block (it always has
one), stock's frames from when each came, silence where it had none. The quality bench and the
degradation ladder test share this.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emulator.audio.marker import MarkerDetector
from emulator.audio.marker_schedule import ScheduledMarkerSource, scheduled_latency
from emulator.audio.source import SAMPLE_RATE, AudioSource, MonoBlock
from emulator.headset.voice import BLOCK_S, BLOCK_SAMPLES, DEFAULT_MIN_DELAY_MS
from emulator.net.media.fanout import EncodedAudioFanout
from emulator.net.media.loss import Dropper, drop_incoming_rtp
from emulator.net.media.opus import OpusSettings
from emulator.net.media.playout import PlayoutBuffer, PlayoutStats
from emulator.net.media.receive import attach_playout
from emulator.net.signaling.room_session import RoomSession, SessionCallbacks
from emulator.net.signaling.tokens import Grant, mint
from emulator.net.transport.conditions import NetworkConditioner
from emulator.wire import Ping
from emulator.wire.signaling import Join
from tests.support.media import StockListener

# Frames that came after their time: the playout concealed a frame that was late, not lost, and
# played it or threw it away when it came. On loopback only a busy host makes packets that late.
LATE_COUNTERS = ("stretched_frames", "late_drops")
GAUGES = ("jitter_ms", "target_ms", "delay_ms", "buffered_ms", "level_dbfs")  # not counters: not differenced
# The room drops a participant it has had no data-channel message from for 4 s (room/core.py); none of
# these sessions sends states, so each says PING this often.
KEEPALIVE_S = 1.0
REFERENCE_LEAD_S = 1.0  # more than any path's delay here (stock aiortc's backlog after stalls included)


class Recorded:
    """An AudioSource that keeps a copy of everything read from it, and when it was read."""

    def __init__(self, source: AudioSource) -> None:
        self.source = source
        self.sample_rate = source.sample_rate
        self._blocks: list[tuple[float, MonoBlock]] = []

    def read(self, frames: int) -> MonoBlock:
        block = self.source.read(frames)
        self._blocks.append((time.monotonic(), block.copy()))
        return block

    def audio(self, since: float = 0.0, until: float = float("inf")) -> MonoBlock:
        """What was read from `since` to `until` (monotonic clock)."""
        blocks = [block for at, block in self._blocks if since <= at <= until]
        return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)

    def close(self) -> None:
        self.source.close()


@dataclass
class Played:
    """The blocks a listener played and when each started, while `on`; chirps found on the way."""

    detector: MarkerDetector | None = None
    on: bool = False
    blocks: list[tuple[float, MonoBlock]] = field(default_factory=list)

    def feed(self, block: MonoBlock, at: float) -> None:
        if not self.on:
            return
        self.blocks.append((at, block))
        if self.detector is not None:
            self.detector.feed(block, at)


@dataclass
class Heard:
    """What one listener played over the measured window, and what it counted meanwhile."""

    name: str
    ours: bool
    audio: MonoBlock
    played: float  # share of the output time that carried sound (decoded or concealed)
    loss: float  # share of the speaker's packets the drop hook (or the conditioner) took
    mouth_to_ear_ms: list[float]
    counters: dict[str, float]  # ours: the playout's counters over the window; stock: none

    @property
    def late_frames(self) -> int:
        """Frames that came after their playout time: a starved host, on loopback."""
        return round(sum(self.counters.get(name, 0.0) for name in LATE_COUNTERS))


class Listener:
    """One listener's session, receive path and drop hook (or network conditioner)."""

    def __init__(
        self,
        name: str,
        ours: bool,
        dropper: Dropper,
        network: NetworkConditioner | None,
        min_delay_ms: float = DEFAULT_MIN_DELAY_MS,
    ) -> None:
        self.name = name
        self.ours = ours
        self.min_delay_ms = min_delay_ms
        self.dropper = dropper
        self.network = network
        self.played = Played()
        self.playout: PlayoutBuffer | None = None
        self.stock: StockListener | None = None
        self.session: RoomSession | None = None
        self._window: tuple[float, float] = (0.0, 0.0)
        self._before: tuple[PlayoutStats | None, int, int] = (None, 0, 0)
        self._after: tuple[PlayoutStats | None, int, int] = (None, 0, 0)

    def on_track(self, mid: str, track: Any, receiver: Any) -> None:
        if self.playout is not None or self.stock is not None:
            return
        drop_incoming_rtp(receiver, self.dropper)
        if self.ours:
            self.playout = attach_playout(receiver, min_delay_ms=self.min_delay_ms)
        else:
            self.stock = StockListener(track, self.played)

    def hearing(self) -> bool:
        """Whether the speaker's audio has reached this listener's output yet."""
        if self.playout is not None:
            return self.playout.stats.played_frames > 0
        return self.stock is not None and self.stock.frames > 0

    def _counts(self) -> tuple[PlayoutStats | None, int, int]:
        lost = self.network.incoming.stats.lost if self.network else self.dropper.dropped
        passed = self.network.incoming.stats.passed if self.network else self.dropper.passed
        return (self.playout.stats if self.playout else None, lost, passed)

    def begin(self, now: float) -> None:
        self._before = self._counts()
        self._window = (now, now)
        self.played.on = True
        if self.stock is not None:
            self.stock.measuring = True

    def end(self, now: float) -> None:
        self.played.on = False
        if self.stock is not None:
            self.stock.measuring = False
        self._after = self._counts()
        self._window = (self._window[0], now)

    def heard(self, marker_period_s: float) -> Heard:
        start, stop = self._window
        seconds = stop - start
        (stats_0, lost_0, passed_0), (stats_1, lost_1, passed_1) = self._before, self._after
        lost, passed = lost_1 - lost_0, passed_1 - passed_0
        counters: dict[str, float] = {}
        if self.ours:
            audio = _joined(self.played.blocks)
            if stats_0 is not None and stats_1 is not None:
                a, b = stats_0.as_dict(), stats_1.as_dict()
                counters = {k: b[k] - a[k] for k in a if k not in GAUGES}
            sounding = counters.get("played_frames", 0) + counters.get("concealed_frames", 0)
            played = sounding / max(1.0, sounding + counters.get("silent_frames", 0))
        else:
            audio = _timeline(self.played.blocks, start, seconds)
            played = min(1.0, (self.stock.played_s if self.stock else 0.0) / max(seconds, 1e-9))
        detections = self.played.detector.detections if self.played.detector else []
        latencies = [1000 * scheduled_latency(t, 0.0, marker_period_s) for t in detections]
        return Heard(self.name, self.ours, audio, played, lost / max(1, lost + passed), latencies, counters)

    async def close(self) -> None:
        if self.stock is not None:
            await self.stock.stop()
        if self.network is not None:
            await self.network.stop()
        if self.session is not None:
            await self.session.close()
        if self.playout is not None:
            self.playout.close()


def _joined(blocks: list[tuple[float, MonoBlock]]) -> MonoBlock:
    return np.concatenate([b for _, b in blocks]) if blocks else np.zeros(0, np.float32)


def _timeline(blocks: list[tuple[float, MonoBlock]], start: float, seconds: float) -> MonoBlock:
    """Each block at the time it started to play; silence where nothing was playing."""
    out = np.zeros(round(seconds * SAMPLE_RATE), np.float32)
    for at, block in blocks:
        first = round((at - start) * SAMPLE_RATE)
        if 0 <= first < len(out):
            piece = block[: len(out) - first]
            out[first : first + len(piece)] = piece
    return out


class VoiceRoom:
    """A speaker in room `room` at `url` and the listeners added with `listen`; `async with` it."""

    def __init__(
        self,
        url: str,
        secret: bytes,
        source: AudioSource,
        *,
        room: str = "voice",
        marker_period_s: float = 0.0,
        opus: OpusSettings | None = None,
    ) -> None:
        """`opus`: the speaker's encoder settings, the headset's (32 kbps mono, FEC) by default."""
        self.url = url
        self.secret = secret
        self.room = room
        self.marker_period_s = marker_period_s
        self.spoken = Recorded(source)
        marked: AudioSource = (
            ScheduledMarkerSource(self.spoken, marker_period_s) if marker_period_s > 0 else self.spoken
        )
        self.fanout = EncodedAudioFanout(marked, opus)
        self.speaker: RoomSession | None = None
        self.listeners: list[Listener] = []
        self._pacer: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self.late_pulls = 0  # pulls a block or more behind the pacer's schedule (a busy loop)
        self.window_late_pulls = 0  # of those, in the last measured window
        self.window = (0.0, 0.0)

    def _join(self, name: str, publish: bool, **session: Any) -> RoomSession:
        token = mint(self.secret, Grant(self.room, name, time.time() + 600, publish))
        return RoomSession(self.url, Join(self.room, token, name), **session)

    async def __aenter__(self) -> VoiceRoom:
        self.speaker = self._join("speaker", True, audio_track=self.fanout.subscribe())
        await self.speaker.connect()
        self._keepalive = asyncio.get_running_loop().create_task(self._keep_alive())
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in (self._pacer, self._keepalive):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for listener in self.listeners:
            await listener.close()
        if self.speaker is not None:
            await self.speaker.close()
        await self.fanout.stop()
        self.spoken.close()

    async def listen(
        self,
        name: str,
        dropper: Dropper,
        *,
        ours: bool,
        network: NetworkConditioner | None = None,
        min_delay_ms: float = DEFAULT_MIN_DELAY_MS,
    ) -> Listener:
        """A listener joins, its drop hook (or `network`, on its whole connection) in place; ours
        plays out at least `min_delay_ms` late (a headset listener's floor unless given)."""
        listener = Listener(name, ours, dropper, network, min_delay_ms)
        if self.marker_period_s > 0:
            listener.played.detector = MarkerDetector()
        self.listeners.append(listener)
        listener.session = self._join(
            name, False, callbacks=SessionCallbacks(on_remote_track=listener.on_track)
        )
        await listener.session.connect()
        if network is not None:
            assert listener.session.pc is not None
            network.attach(listener.session.pc)
        if ours and self._pacer is None:
            self._pacer = asyncio.get_running_loop().create_task(self._pace())
        return listener

    async def _keep_alive(self) -> None:
        seq = 0
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            seq = (seq + 1) & 0xFFFF
            sessions = [self.speaker, *(listener.session for listener in self.listeners)]
            for session in sessions:
                if session is not None:
                    session.send_state(bytes(Ping(seq=seq)))

    async def _pace(self) -> None:
        """Pull every listener of ours every 10 ms, as `Voice.run` does (far behind, from now on)."""
        due = time.monotonic()
        while True:
            now = time.monotonic()
            if now - due > BLOCK_S:
                self.late_pulls += 1
                if now - due > 10 * BLOCK_S:
                    due = now
            for listener in self.listeners:
                if listener.playout is not None:
                    listener.played.feed(listener.playout.pull(BLOCK_SAMPLES, now), now)
            due += BLOCK_S
            await asyncio.sleep(max(0.0, due - time.monotonic()))

    async def hearing(self, timeout: float = 20.0) -> None:
        """Until every listener plays the speaker's audio."""
        deadline = time.monotonic() + timeout
        while not all(listener.hearing() for listener in self.listeners):
            if time.monotonic() > deadline:
                waiting = [x.name for x in self.listeners if not x.hearing()]
                raise TimeoutError(f"no audio reached {', '.join(waiting)} within {timeout:g} s")
            await asyncio.sleep(0.05)

    async def measure(self, seconds: float) -> list[Heard]:
        """What every listener played over the next `seconds`."""
        late_before = self.late_pulls
        start = time.monotonic()
        for listener in self.listeners:
            listener.begin(start)
        await asyncio.sleep(seconds)
        now = time.monotonic()
        for listener in self.listeners:
            listener.end(now)
        self.window_late_pulls = self.late_pulls - late_before
        self.window = (start, now)
        return [listener.heard(self.marker_period_s) for listener in self.listeners]

    def reference(self, lead_s: float = REFERENCE_LEAD_S) -> MonoBlock:
        """What the speaker said, without its chirps, for the last measured window and `lead_s`
        before it (what was heard in the window was said up to a path's delay earlier). Only that:
        a speaker that loops says the same again, and a longer reference could line up with a loop."""
        start, stop = self.window
        return self.spoken.audio(start - lead_s, stop)
