"""The room's binaural mix (`headset-emulator room --mix binaural`): one stereo stream per listener.

Server-side spatialization, for rooms where what everyone hears must be controlled in one place.
Each speaker's audio is tapped before aiortc's jitter buffer into our `PlayoutBuffer` and decoded
once, however many listen. Every 20 ms the mixer pulls one block per speaker and, for each listener,
renders every *other* speaker with that listener's own `BinauralRenderer` at the poses the state
stream last carried (the server hands every data-channel message to `on_state`), encodes the result
as one stereo Opus frame and publishes it to the listener's track. Clients learn the mode from
`welcome.mode` and play this stream as it is (they must not spatialize it again).

Costs grow as listeners × speakers renders plus one stereo encode per listener; `tests/benchmarks/
bench_mix.py` measures listeners per core. Everything here runs on the room's asyncio loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emulator.audio.geometry import unplaced_position
from emulator.audio.hrtf import HrtfSet, load_kemar
from emulator.audio.renderer import MAX_BLOCK, BinauralRenderer
from emulator.audio.source import FRAME_SAMPLES, SAMPLE_RATE, MonoBlock
from emulator.model.pose import Pose
from emulator.net.media.fanout import EncodedAudioTrack, EncodedFrame, PacketFanout
from emulator.net.media.opus import OpusEncoder, OpusSettings
from emulator.net.media.playout import PlayoutBuffer
from emulator.net.media.receive import attach_playout
from emulator.net.tasks import cancel_and_wait
from emulator.wire import MessageType, State, WireError, messages_in, parse_message, peek_header

log = logging.getLogger(__name__)

FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
# Stereo at a voice's 32 kbps would let libopus fold the ears together (intensity stereo) and lose
# the level and time differences the mix exists for; "audio" keeps the full band for the HRTF cues.
MIX_OPUS = OpusSettings(bitrate=64_000, channels=2, application="audio")


@dataclass
class ListenerMix:
    """What one listener hears: its renderer, its encoder and the track the room sends it on."""

    renderer: BinauralRenderer
    encoder: OpusEncoder
    fanout: PacketFanout = field(default_factory=PacketFanout)
    frames: int = 0


class BinauralMix:
    """Every listener's mix in one room. Connections are the server's ids, as in `RoomAudio`."""

    def __init__(
        self,
        room: str,
        hrtf: HrtfSet | None = None,
        settings: OpusSettings = MIX_OPUS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.room = room
        self.hrtf = hrtf or load_kemar()
        self.settings = settings
        self.clock = clock
        self.speakers: dict[str, PlayoutBuffer] = {}
        self.listeners: dict[str, ListenerMix] = {}
        self.poses: dict[str, Pose] = {}
        self.states_malformed = 0
        self.failures = 0
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    # --- who is here --------------------------------------------------------------------------------

    def add_speaker(self, conn: str, receiver: Any) -> PlayoutBuffer:
        """Decode this speaker's audio from now on (once, for every listener)."""
        if conn not in self.speakers:
            self.speakers[conn] = attach_playout(receiver, clock=self.clock)
        return self.speakers[conn]

    def add_listener(self, listener: str) -> ListenerMix:
        mix = self.listeners.get(listener)
        if mix is None:
            renderer = BinauralRenderer(self.hrtf, MAX_BLOCK)
            mix = self.listeners[listener] = ListenerMix(renderer, OpusEncoder(self.settings))
        return mix

    def subscribe(self, listener: str) -> EncodedAudioTrack:
        """The track that carries `listener`'s mix; starts the mixing on first use."""
        mix = self.add_listener(listener)
        self.start()
        return mix.fanout.subscribe()

    def on_state(self, conn: str, data: bytes) -> None:
        """A state-stream message from `conn` (before the room stamps it): keep its latest pose.

        A client's BATCH holds its STATEs oldest first, so the last pose in it is the newest.
        """
        try:
            for one in messages_in(data):
                if peek_header(one).type is not MessageType.STATE:
                    continue
                message = parse_message(one)
                pose = message.pose if isinstance(message, State) else None
                if pose is not None and pose.position.is_finite():
                    self.poses[conn] = pose
        except WireError:
            self.states_malformed += 1

    async def remove(self, conn: str) -> None:
        playout = self.speakers.pop(conn, None)
        if playout is not None:
            playout.close()
        for mix in self.listeners.values():
            mix.renderer.remove_source(conn)
        self.poses.pop(conn, None)
        gone = self.listeners.pop(conn, None)
        if gone is not None:
            await gone.fanout.stop()

    # --- mixing ------------------------------------------------------------------------------------

    def mix_once(self, now: float | None = None) -> dict[str, np.ndarray]:
        """Pull 20 ms from every speaker and publish one stereo frame to every listener.

        Returns each listener's stereo block (for tests and the benchmark).
        """
        at = self.clock() if now is None else now
        blocks = {conn: playout.pull(FRAME_SAMPLES, at) for conn, playout in self.speakers.items()}
        out = {}
        for conn, mix in self.listeners.items():
            stereo = self._render(conn, mix.renderer, blocks)
            payload = mix.encoder.encode(stereo)
            mix.fanout.publish(EncodedFrame(payload, mix.frames * FRAME_SAMPLES, at))
            mix.frames += 1
            out[conn] = stereo
        self.ticks += 1
        return out

    def _render(self, listener: str, renderer: BinauralRenderer, blocks: dict[str, MonoBlock]) -> np.ndarray:
        pose = self.poses.get(listener, Pose())
        renderer.set_listener(pose)
        others = {conn: block for conn, block in blocks.items() if conn != listener}
        for conn in others:
            where = self.poses.get(conn)
            renderer.set_source(conn, where.position if where is not None else unplaced_position(pose))
        step = renderer.block
        halves = [
            renderer.render({conn: b[start : start + step] for conn, b in others.items()})
            for start in range(0, FRAME_SAMPLES, step)
        ]
        return np.concatenate(halves)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"mix-{self.room}")

    async def _run(self) -> None:
        deadline = self.clock()
        while True:
            try:
                self.mix_once()
            except Exception:
                # One bad frame must not silence the room for good, nor flood the log 50 times a second.
                self.failures += 1
                if self.failures == 1 or self.failures % 500 == 0:
                    log.exception("room %s: mixing failed (%d times)", self.room, self.failures)
            deadline += FRAME_S
            delay = deadline - self.clock()
            if delay < -5 * FRAME_S:
                deadline, delay = self.clock(), 0.0  # a stalled loop: resynchronise, don't burst
            await asyncio.sleep(max(0.0, delay))

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait([task])
        for conn in list(self.speakers) + list(self.listeners):
            await self.remove(conn)
