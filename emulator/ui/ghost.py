"""A ghost participant: one recorded headset played back inside the app, never sent to the room.

A ghost is made of the replay drivers (`emulator/headset/recording/replay.py`) on its own clock,
started when it is opened: the viewport asks it for a pose, a face and hands at every paint and draws it
with a distinct tint and the label "ghost: NAME"; the headset's ears read its voice every tick and
spatialize it from where the ghost stands (`Ears.placed`). It loops, or stops at the end holding its
last pose. Everything here runs on the GUI thread, which is also the loop's thread (qasync).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from emulator.audio.source import SAMPLE_RATE, MonoBlock
from emulator.drive.hands import Hands
from emulator.headset.recording.replay import (
    ReplayAudioSource,
    ReplayFace,
    ReplayHands,
    ReplayMaterial,
    ReplayMotion,
    Timeline,
    load_replay,
)
from emulator.headset.recording.sessionfile import Recording, RecordingError, read_recording
from emulator.model.face import Face
from emulator.model.pose import Pose, Vec3

GHOST_TINT = (0.92, 0.92, 1.0)  # a pale white-blue no participant gets (render.scene.TINTS)
GHOST_PREFIX = "ghost:"


def recorded_names(path: Path) -> tuple[Recording, list[str]]:
    """The recording and the names of everyone in it who can be replayed; RecordingError if unreadable."""
    recording = read_recording(path)
    names = [p.name for p in recording.participants.values() if p.start is not None]
    if not names:
        raise RecordingError(f"{path.name} holds nobody's states or audio")
    return recording, names


class Ghost:
    """One recorded participant repeating its poses, faces and voice from when it was opened."""

    def __init__(self, material: ReplayMaterial, loop: bool = True, fallback: Pose | None = None) -> None:
        who = material.participant
        self.name = who.name
        self.id = f"{GHOST_PREFIX}{who.id}"
        self.label = f"ghost: {who.name}"
        self.duration = material.duration
        self.loop = loop
        timeline = Timeline(material.duration, 1.0, loop)
        self._motion = ReplayMotion(material, timeline, fallback or Pose(Vec3(0.0, 1.6, -2.0)))
        self._face = ReplayFace(material, timeline)
        self._hands = ReplayHands(material, timeline)
        self._voice = ReplayAudioSource(material, timeline) if len(material.pcm) else None
        self._voice_started = False
        self.t0 = time.monotonic()

    @classmethod
    def open(cls, recording: Recording, who: str, loop: bool = True) -> Ghost:
        """RecordingError when `who` is not in the recording or has nothing to repeat."""
        return cls(load_replay(recording, who), loop)

    def elapsed(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.t0

    @property
    def finished(self) -> bool:
        return not self.loop and self.elapsed() >= self.duration

    def sample(self, now: float | None = None) -> tuple[Pose, Face]:
        t = self.elapsed(now)
        return self._motion.sample(t), self._face.sample(t)

    def sample_hands(self, now: float | None = None) -> Hands:
        """The recorded hands at this moment of the replay (none when the recording has none)."""
        t = self.elapsed(now)
        return self._hands.sample(t, self._motion.sample(t))

    # --- as a placed voice for the headset's ears -------------------------------------------------

    def position(self) -> Vec3:
        return self._motion.sample(self.elapsed()).position

    def read(self, frames: int) -> MonoBlock:
        if self._voice is None:
            return np.zeros(frames, dtype=np.float32)
        if not self._voice_started:
            # The ears may start listening after the ghost started moving: skip to where it is now.
            self._voice_started = True
            self._voice.read(round(self.elapsed() * SAMPLE_RATE))
        return self._voice.read(frames)
