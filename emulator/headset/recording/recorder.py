"""`join --record FILE`: write a running headset's session to a recording as it happens.

The recorder hooks what the headset already exposes, so the headset has no recording mode of its own:
the session's callbacks (every remote state message, joins and leaves), the state stream's
`StatesSent` events (every STATE this headset sends), the encoder's `on_frame` (every Opus packet it
sends) and the voice's `listeners` (every block heard from each remote, gathered into 20 ms frames
and re-encoded to Opus so the file stays small). Everything runs on the headset's loop; `close()`
unhooks and closes the file. The app's record button uses the same object.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from emulator.audio.source import FRAME_SAMPLES, MonoBlock
from emulator.headset import Headset
from emulator.headset.recording.sessionfile import RecordingWriter
from emulator.headset.stream import StatesSent
from emulator.net.fanout import EncodedFrame
from emulator.net.opus import OpusEncoder, OpusSettings
from emulator.wire import State, Visemes, WireError, is_batch, parse_message, split_batch
from emulator.wire.signaling import ParticipantInfo

log = logging.getLogger(__name__)

ROOM_MIX_NAME = "room mix"  # the name of what a binaural room sends (owner "", `wire.signaling.MIX_OWNER`)
HEARD_BITRATE = 32_000  # what heard audio is re-encoded at: plenty for checking a voice or a tone


class SessionRecorder:
    """Records one started headset into `path` until `close()`."""

    def __init__(self, headset: Headset, path: Path) -> None:
        if headset.session is None or headset.state_link is None or headset.voice is None:
            raise ValueError("start the headset before recording it")
        self.headset = headset
        self.path = path
        self._t0 = time.monotonic()
        config = headset.config
        header = {
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "room": config.room,
            "url": config.url,
            "name": config.name,
            "identity": headset.participant_id or config.participant_identity,
            "profile": dataclasses.asdict(headset.profile),
            "avatar": config.avatar,
            "audio": {"codec": "opus", "sample_rate": 48_000, "frame_samples": 960, "channels": 1},
        }
        self.writer = RecordingWriter(path, header)
        me = headset.participant_id or config.participant_identity
        extra = {"profile": config.profile, "avatar": config.avatar}
        self._local_state = self.writer.declare("state", me, config.name, local=True, **extra)
        self._local_audio = self.writer.declare("audio", me, config.name, local=True, **extra)
        self._state_streams: dict[str, int] = {}
        self._audio_streams: dict[str, int] = {}
        self._encoders: dict[str, OpusEncoder] = {}
        self._pending: dict[str, MonoBlock] = {}
        self._names: dict[str, ParticipantInfo] = {}
        session, link, voice = headset.session, headset.state_link, headset.voice
        callbacks = session.callbacks
        self._originals = (callbacks.on_state, callbacks.on_joined, callbacks.on_left)
        original_state, original_joined, original_left = self._originals

        def on_state(data: bytes) -> None:
            original_state(data)
            self._remote_state(data)

        def on_joined(info: ParticipantInfo) -> None:
            original_joined(info)
            self._event("joined", info)

        def on_left(info: ParticipantInfo, reason: str) -> None:
            original_left(info, reason)
            self._event("left", info, reason)

        callbacks.on_state, callbacks.on_joined, callbacks.on_left = on_state, on_joined, on_left
        for info in session.participants.values():
            self._event("present", info)
        link.subscribe(StatesSent, self._sent_states)
        if voice.fanout is not None:
            voice.fanout.on_frame.append(self._sent_audio)
        voice.listeners.append(self._heard)
        self.closed = False

    def _now_us(self, at: float | None = None) -> int:
        return round(((time.monotonic() if at is None else at) - self._t0) * 1e6)

    # --- hooks (on the loop) ----------------------------------------------------------------------

    def _event(self, event: str, info: ParticipantInfo, reason: str | None = None) -> None:
        self._names[info.id] = info
        entry: dict[str, Any] = {
            "event": event,
            "id": info.id,
            "name": info.name,
            "number": info.number,
            "profile": info.profile,
            "avatar": info.avatar,
        }
        if reason is not None:
            entry["reason"] = reason
        self.writer.event(self._now_us(), entry)

    def _stream(self, table: dict[str, int], kind: str, participant_id: str) -> int:
        number = table.get(participant_id)
        if number is None:
            info = self._names.get(participant_id)
            name = info.name if info else participant_id or ROOM_MIX_NAME
            number = table[participant_id] = self.writer.declare(
                kind,
                participant_id,
                name,
                profile=info.profile if info else "",
                avatar=info.avatar if info else "",
            )
        return number

    def _sent_states(self, event: StatesSent) -> None:
        t_us = self._now_us()
        for data in event.messages:
            self.writer.state(self._local_state, t_us, data)

    def _sent_audio(self, frame: EncodedFrame) -> None:
        self.writer.audio(self._local_audio, self._now_us(frame.captured_at), frame.payload)

    def _remote_state(self, data: bytes) -> None:
        # The room packs several senders' messages into one BATCH: the file keeps each sender's own.
        if is_batch(data):
            try:
                inner = split_batch(data)
            except WireError:
                return  # the state link counts it as malformed
            for message in inner:
                self._remote_one(message)
        else:
            self._remote_one(data)

    def _remote_one(self, data: bytes) -> None:
        try:
            message = parse_message(data)
        except WireError:
            return
        if not isinstance(message, State | Visemes) or self.headset.session is None:
            return
        participants = self.headset.session.participants.values()
        info = next((p for p in participants if p.number == message.sender), None)
        if info is None:
            return
        self._names.setdefault(info.id, info)
        self.writer.state(self._stream(self._state_streams, "state", info.id), self._now_us(), data)

    def _heard(self, blocks: dict[str, MonoBlock]) -> None:
        # The ears pull blocks shorter than an Opus frame: gather each remote's into 20 ms frames.
        t_us = self._now_us()
        for participant_id, block in blocks.items():
            if block.ndim == 2:  # a binaural room's mix: kept as mono, like every recorded voice
                block = block.mean(axis=1, dtype=np.float32)
            pending = self._pending.get(participant_id)
            pending = block if pending is None else np.concatenate([pending, block])
            while len(pending) >= FRAME_SAMPLES:
                frame, pending = pending[:FRAME_SAMPLES], pending[FRAME_SAMPLES:]
                encoder = self._encoders.get(participant_id)
                if encoder is None:
                    settings = OpusSettings(bitrate=HEARD_BITRATE)
                    encoder = self._encoders[participant_id] = OpusEncoder(settings)
                stream = self._stream(self._audio_streams, "audio", participant_id)
                self.writer.audio(stream, t_us, encoder.encode(frame))
            self._pending[participant_id] = pending

    # --- closing ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Unhook from the headset and close the file; safe to call twice."""
        if self.closed:
            return
        self.closed = True
        headset = self.headset
        if headset.session is not None:
            callbacks = headset.session.callbacks
            callbacks.on_state, callbacks.on_joined, callbacks.on_left = self._originals
        if headset.state_link is not None:
            headset.state_link.unsubscribe(StatesSent, self._sent_states)
        voice = headset.voice
        if voice is not None:
            if voice.fanout is not None and self._sent_audio in voice.fanout.on_frame:
                voice.fanout.on_frame.remove(self._sent_audio)
            if self._heard in voice.listeners:
                voice.listeners.remove(self._heard)
        self._encoders.clear()
        self.writer.close()
        log.info(
            "recorded %d records (%d bytes) to %s", self.writer.records, self.writer.bytes_written, self.path
        )
