"""`join --replay FILE --as NAME`: a headset that repeats one recorded participant.

A replay is ordinary drivers and an ordinary audio source, so the headset needs no replay mode: a
`ReplayMotion` and a `ReplayFace` answer `sample(t)` from the recorded states (poses interpolated
like a trace, faces held from one update to the next, as a receiver shows them) and a
`ReplayAudioSource` plays the recorded Opus packets back as PCM. All three share one timeline that
starts at the participant's first recorded state or audio, so voice and motion stay in step; `speed`
scales it (audio is resampled, so pitch changes with speed, as on a tape) and `loop` repeats it.
The app's ghost participant is built from `load_replay` too.
"""

from __future__ import annotations

import bisect
import logging
import math
from dataclasses import dataclass

import numpy as np

from emulator.audio.source import FRAME_SAMPLES, SAMPLE_RATE, MonoBlock
from emulator.drive.drivers import Drivers
from emulator.drive.hands import NO_HANDS, Hands
from emulator.drive.trace import TraceMotion
from emulator.headset.recording.sessionfile import Participant, Recording, RecordingError
from emulator.model.errors import ModelError
from emulator.model.face import Face
from emulator.model.pose import Pose
from emulator.net.media.opus_decoder import OpusDecodeError, OpusDecoder
from emulator.wire import FaceAccumulator, State, WireError, parse_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timeline:
    """Maps a driver's `t` (seconds since the replay started) to a time in the recording."""

    duration: float
    speed: float = 1.0
    loop: bool = False

    def at(self, t: float) -> float:
        u = max(0.0, t) * self.speed
        if self.loop and self.duration > 0:
            return u % self.duration
        return min(u, self.duration)


@dataclass(frozen=True)
class ReplayMaterial:
    """One participant's recording decoded: what the drivers and the source are made from."""

    participant: Participant
    times: tuple[float, ...]  # pose times, seconds from the participant's start
    poses: tuple[Pose, ...]
    face_times: tuple[float, ...]
    faces: tuple[Face, ...]
    pcm: MonoBlock  # the voice on the same timeline, 48 kHz mono
    duration: float
    hand_times: tuple[float, ...] = ()
    hands: tuple[Hands, ...] = ()  # both hands as a receiver held them after each STATE with hands


def load_replay(recording: Recording, who: str) -> ReplayMaterial:
    """Decode `who`'s states and audio; RecordingError when there is nothing to repeat."""
    participant = recording.find(who)
    start = participant.start
    if start is None:
        raise RecordingError(f"{participant.name} sent nothing that was recorded")
    times: list[float] = []
    poses: list[Pose] = []
    face_times: list[float] = []
    faces: list[Face] = []
    accumulator = FaceAccumulator()
    hand_times: list[float] = []
    hands: list[Hands] = []
    for t, data in participant.states:
        try:
            message = parse_message(data)
        except WireError:
            continue
        if not isinstance(message, State):
            continue
        rel = t - start
        if message.pose is not None and (not times or rel > times[-1]):
            times.append(rel)
            poses.append(message.pose.with_timestamp(0))
        if message.face is not None:
            accumulator.apply(message.face, message.seq)
            if face_times and rel <= face_times[-1]:
                faces[-1] = accumulator.arkit()
            else:
                face_times.append(rel)
                faces.append(accumulator.arkit())
        if message.left_hand is not None or message.right_hand is not None:
            held = hands[-1] if hands else NO_HANDS
            now = Hands(message.left_hand or held.left, message.right_hand or held.right)
            if hand_times and rel <= hand_times[-1]:
                hands[-1] = now
            else:
                hand_times.append(rel)
                hands.append(now)
    pcm = _decode_audio(participant.audio, start)
    ends = [times[-1] if times else 0.0, len(pcm) / SAMPLE_RATE]
    duration = max(ends)
    if not poses and not len(pcm):
        raise RecordingError(f"{participant.name} has neither poses nor audio in this recording")
    return ReplayMaterial(
        participant, tuple(times), tuple(poses), tuple(face_times), tuple(faces), pcm, duration,
        tuple(hand_times), tuple(hands),
    )  # fmt: skip


def _decode_audio(packets: list[tuple[float, bytes]], start: float) -> MonoBlock:
    """Packets laid end to end, with a silence where the recording has a gap of more than a frame.

    Recorded times wobble by a few ms (they are when the loop got round to each frame); placing
    frames back to back unless a real gap shows keeps the replayed voice free of clicks.
    """
    if not packets:
        return np.zeros(0, dtype=np.float32)
    last_t = packets[-1][0] - start
    out = np.zeros(math.ceil(last_t * SAMPLE_RATE) + 2 * FRAME_SAMPLES, dtype=np.float32)
    decoder = OpusDecoder()
    position = None
    try:
        for t, payload in packets:
            # A block read at time t holds the audio that ended at t.
            wanted = max(0, round((t - start) * SAMPLE_RATE) - FRAME_SAMPLES)
            if position is None or wanted - position > FRAME_SAMPLES:
                position = wanted
            if position + FRAME_SAMPLES > len(out):
                break
            try:
                out[position : position + FRAME_SAMPLES] = decoder.decode(payload)
            except OpusDecodeError:
                out[position : position + FRAME_SAMPLES] = decoder.conceal()
            position += FRAME_SAMPLES
    finally:
        decoder.close()
    end = position if position is not None else 0
    return out[:end]


class ReplayMotion:
    def __init__(self, material: ReplayMaterial, timeline: Timeline, fallback: Pose) -> None:
        self._timeline = timeline
        self._fallback = fallback
        self._trace = (
            TraceMotion(material.times, material.poses, loop=False) if len(material.times) > 1 else None
        )
        self._single = material.poses[0] if material.poses else None

    def sample(self, t: float) -> Pose:
        u = self._timeline.at(t)
        if self._trace is not None:
            return self._trace.sample(u)
        pose = self._single or self._fallback
        try:
            return pose.with_timestamp(round(u * 1e6))
        except ModelError:
            return pose


class ReplayFace:
    def __init__(self, material: ReplayMaterial, timeline: Timeline) -> None:
        self._timeline = timeline
        self._times = material.face_times
        self._faces = material.faces

    def sample(self, t: float) -> Face:
        if not self._faces:
            return Face()
        i = bisect.bisect_right(self._times, self._timeline.at(t)) - 1
        return self._faces[max(0, i)].copy()


class ReplayHands:
    """The recorded hands where they were recorded, held from one STATE with hands to the next (as a
    receiver shows them); the head pose it is given is not needed, the hands already sit in the room."""

    def __init__(self, material: ReplayMaterial, timeline: Timeline) -> None:
        self._timeline = timeline
        self._times = material.hand_times
        self._hands = material.hands

    def sample(self, t: float, head: Pose) -> Hands:
        if not self._hands:
            return NO_HANDS
        i = bisect.bisect_right(self._times, self._timeline.at(t)) - 1
        return self._hands[max(0, i)]


class ReplayAudioSource:
    """The recorded voice, read in real time by the headset's encoder (on the loop's thread)."""

    sample_rate = SAMPLE_RATE

    def __init__(self, material: ReplayMaterial, timeline: Timeline) -> None:
        # Two samples of silence past the end let interpolation read one beyond the last sample.
        self._padded = np.concatenate([material.pcm, np.zeros(2, dtype=np.float32)])
        self._length = len(material.pcm)
        self._timeline = timeline
        self._position = 0.0  # in output samples since the replay started

    def read(self, frames: int) -> MonoBlock:
        start = self._position
        self._position += frames
        if not self._length:
            return np.zeros(frames, dtype=np.float32)
        # The same mapping as `Timeline.at`, for every sample at once, in recording samples.
        index = (start + np.arange(frames, dtype=np.float64)) * self._timeline.speed
        span = self._timeline.duration * SAMPLE_RATE
        if self._timeline.loop and span > 0:
            index = np.mod(index, span)
        whole = np.floor(index).astype(np.int64)
        fraction = (index - whole).astype(np.float32)
        # Linear interpolation between neighbours; past the end is silence.
        inside = whole < self._length
        whole = np.minimum(whole, self._length)
        out = self._padded[whole] * (1 - fraction) + self._padded[whole + 1] * fraction
        out[~inside] = 0.0
        return out.astype(np.float32)

    def close(self) -> None:
        pass


def replay_drivers(material: ReplayMaterial, timeline: Timeline, fallback: Pose) -> Drivers:
    """The motion and face drivers of a replay (give the headset these instead of its spec's)."""
    motion = ReplayMotion(material, timeline, fallback)
    return Drivers(motion.sample(0.0), motion, ReplayFace(material, timeline))
