"""A talking avatar agent: a headset whose voice is a talking source, with a viseme stream timed to it.

The pieces, each small:

- `VisemeTap` wraps any `TalkingSource` (an AudioSource with `visemes_between`). Every time the encoder
  reads a 20 ms frame it asks the source for the viseme keys of exactly that frame and hands them, with
  the sender clock time of the frame's first sample, to its listeners.
- `VisemeSender` turns each frame's keys into one VISEMES message sent with that frame (PROTOCOL.md,
  VISEMES): offsets in ms from the frame's first sample, the viseme in force repeated at offset 0 so a
  lost message costs 20 ms of mouth and never leaves a mouth hanging open, a bare refresh every
  100 ms while nothing changes.
- `SpokenFace` drives the agent's own avatar face from the same keys (`VisemeFaceDriver`), so its STATE
  faces talk too, for receivers that do not read VISEMES.

`talking_source(spec)` is the plug: any `--audio` spec becomes a talking source; one that already knows
its visemes (`speech:`, `script:`, `bot:`, or a future realtime-voice bridge registered with
`register_source`) is used as is, and any other (a WAV, a microphone) is lip-synced from its own audio.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from emulator.audio.factory import open_source
from emulator.audio.source import FRAME_SAMPLES, SAMPLE_RATE, MonoBlock
from emulator.audio.speech import TalkingSource
from emulator.drive.drivers import drivers_from
from emulator.drive.errors import DriveError
from emulator.drive.faces import Combined
from emulator.drive.lipsync import LipSyncedSource
from emulator.drive.visemes import VisemeFaceDriver
from emulator.headset.config import HeadsetConfig
from emulator.headset.core import Headset, HeadsetError
from emulator.model.errors import ModelError
from emulator.model.face import Face
from emulator.model.viseme_timeline import SIL, VisemeKey
from emulator.model.visemes import Viseme
from emulator.wire import VisemeEntry

log = logging.getLogger(__name__)

FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
LEAD_IN_S = 0.5
"""Silence between joining and the first word: the room subscribes listeners once audio flows."""
LAST_OFFSET_MS = FRAME_SAMPLES * 1000 // SAMPLE_RATE - 1  # keys stay inside their own frame
REFRESH_FRAMES = 5
"""Frames without a new key after which the viseme in force is sent again (100 ms)."""


@dataclass(frozen=True)
class FrameVisemes:
    """The keys of one 20 ms frame: `start`..`stop` in the source's seconds, spoken from `spoken_at`."""

    start: float
    stop: float
    spoken_at: float  # sender's monotonic clock, seconds, on the audio's schedule: the frame's first sample
    keys: tuple[VisemeKey, ...]


def talking_source(spec: str) -> TalkingSource:
    """An open talking source for an `--audio` spec; SourceError (from the factory) when it cannot."""
    source = open_source(spec)
    if isinstance(source, TalkingSource):
        return source
    return LipSyncedSource(source)


class VisemeTap:
    """An AudioSource that passes a talking source's audio through and reports each read's visemes.

    Runs on the thread that reads it (the encoder's, the asyncio loop). Reads must be the frames that are
    sent: the time stamped on them is the moment of the read.
    """

    def __init__(self, source: TalkingSource, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.sample_rate: int = source.sample_rate
        self.listeners: list[Callable[[FrameVisemes], None]] = []
        self._clock = clock
        self._samples = 0
        self._origin: float | None = None
        self._released: int | None = None  # tap samples read before the source started

    def release(self) -> None:
        """Start reading the source: until then the tap sends silence (the agent is still joining)."""
        if self._released is None:
            self._released = self._samples

    def read(self, frames: int) -> MonoBlock:
        start = self._samples / self.sample_rate
        self._samples += frames
        stop = self._samples / self.sample_rate
        if self._origin is None:
            # A block read at time t stands for the audio that ended at t (emulator/audio/marker.py).
            self._origin = self._clock() - stop
        if self._released is None:
            block: MonoBlock = np.zeros(frames, dtype=np.float32)
            keys: tuple[VisemeKey, ...] = ()
        else:
            block = self.source.read(frames)
            shift = self._released / self.sample_rate  # source time → tap time
            keys = tuple(
                VisemeKey(k.time + shift, k.viseme, k.weight)
                for k in self.source.visemes_between(start - shift, stop - shift)
            )
        # Frames are stamped on the audio's own schedule, 20 ms a frame like its RTP timestamps, not
        # with the time of each read: reads come in bursts when the loop is late, the media never does.
        frame = FrameVisemes(start, stop, self._origin + start, keys)
        for listener in self.listeners:
            listener(frame)
        return block

    @property
    def finished(self) -> bool:
        """True once a source that ends (a non-looping script, a WAV played once) has said everything."""
        if self._released is None:
            return False
        return bool(getattr(self.source, "finished", False)) or bool(
            getattr(getattr(self.source, "source", None), "finished", False)
        )

    def close(self) -> None:
        self.source.close()


class VisemeSender:
    """One VISEMES message per frame that has keys, a refresh every `REFRESH_FRAMES` otherwise."""

    def __init__(self, send: Callable[[int, tuple[VisemeEntry, ...]], int]) -> None:
        """`send(timestamp_us, entries)` puts a message on the state stream and returns its size (0: not)."""
        self._send = send
        self._in_force = VisemeEntry(Viseme(SIL), 1.0)
        self._quiet_frames = REFRESH_FRAMES  # the first frame always sends
        self.messages_sent = 0
        self.entries_sent = 0
        self.bytes_sent = 0

    def on_frame(self, frame: FrameVisemes) -> None:
        entries = [
            VisemeEntry(
                Viseme(key.viseme),
                key.weight,
                min(LAST_OFFSET_MS, max(0, round((key.time - frame.start) * 1000))),
            )
            for key in frame.keys
        ]
        self._quiet_frames += 1
        if not entries and self._quiet_frames < REFRESH_FRAMES:
            return
        if not entries or entries[0].offset_ms > 0:
            entries.insert(0, replace(self._in_force, offset_ms=0))
        entries = entries[-255:]
        size = self._send(round(frame.spoken_at * 1e6), tuple(entries))
        self._in_force = replace(entries[-1], offset_ms=0)
        self._quiet_frames = 0
        if size:
            self.messages_sent += 1
            self.entries_sent += len(entries)
            self.bytes_sent += size


class SpokenFace:
    """A FaceDriver for the agent's own face: the visemes of the audio it is sending right now."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.driver = VisemeFaceDriver()
        self._clock = clock
        self._stop = 0.0
        self._read_at: float | None = None
        self._frames = 0

    def on_frame(self, frame: FrameVisemes) -> None:
        self.driver.add(frame.keys)
        self._stop = frame.stop
        self._read_at = self._clock()
        self._frames += 1
        if self._frames % 50 == 0:
            self.driver.forget_before(frame.start)

    def source_time(self) -> float:
        """Seconds of the source being spoken now: the end of the last frame read, plus the time since."""
        if self._read_at is None:
            return 0.0
        return self._stop + min(max(0.0, self._clock() - self._read_at), 2 * FRAME_S)

    def sample(self, t: float) -> Face:
        if self._read_at is None:
            return Face()
        return self.driver.face_at(self.source_time())


class TalkingAgent:
    """A `Headset` that speaks `source`, sends its visemes and shows them on its own face.

    Built on the headset unchanged but for two seams: the source it is handed instead of opening
    `config.audio`, and its face driver, which becomes `SpokenFace` combined with the configured face
    (so a `blink` agent blinks while it talks).
    """

    def __init__(self, config: HeadsetConfig, source: TalkingSource) -> None:
        """Raises HeadsetError for a motion or face file that cannot be played, or a bad profile, like a
        headset."""
        self.tap = VisemeTap(source)
        self.face = SpokenFace()
        try:
            drivers = drivers_from(config.motion, config.face, config.placement)
        except (ModelError, DriveError) as error:
            raise HeadsetError(str(error)) from None
        drivers = replace(drivers, face=Combined([self.face, drivers.face]))
        self.headset = Headset(config, source=self.tap, drivers=drivers)
        self.sender = VisemeSender(self._send)
        self.tap.listeners += [self.face.on_frame, self.sender.on_frame]

    def _send(self, timestamp_us: int, entries: tuple[VisemeEntry, ...]) -> int:
        return self.headset.state_link.send_visemes(timestamp_us, entries)

    @property
    def finished(self) -> bool:
        return self.tap.finished

    async def start(self, lead_in: float = LEAD_IN_S) -> None:
        """Join, then start talking `lead_in` seconds later (so that the first words reach everyone)."""
        await self.headset.start()
        await asyncio.sleep(lead_in)
        self.tap.release()

    async def stop(self) -> None:
        await self.headset.stop()

    def report(self) -> dict[str, Any]:
        report = self.headset.report()
        report["uplink"].update(
            {
                "visemes_messages_sent": self.sender.messages_sent,
                "visemes_entries_sent": self.sender.entries_sent,
                "visemes_bytes_sent": self.sender.bytes_sent,
            }
        )
        return report
