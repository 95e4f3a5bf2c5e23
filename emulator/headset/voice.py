"""The headset's voice and ears: its outgoing Opus track, and one playout buffer per remote speaker.

Outgoing: source → scheduled mouth-to-ear markers → one Opus encoder (shared between headsets of a
swarm that have the same source) → the session's audio track. Incoming: each remote audio track is
tapped before aiortc's jitter buffer into our own `PlayoutBuffer`; every 10 ms the loop pulls one
block from each, records it, looks for markers and measures its level, and hands the blocks to the
listener (the spatial renderer and the speakers). Everything here runs on the loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emulator.audio.factory import AudioSpec
from emulator.audio.level import rms_dbfs
from emulator.audio.marker import MarkerDetector, prepare_detection
from emulator.audio.marker_schedule import ScheduledMarkerSource, scheduled_latency
from emulator.audio.mute import MuteGate
from emulator.audio.source import SAMPLE_RATE, AudioSource, MonoBlock
from emulator.headset.config import HeadsetConfig
from emulator.headset.events import BlocksHeard, EventHub, VoiceLevel
from emulator.headset.mouths import RemoteMouths
from emulator.headset.report import LatencySamples, utc_stamp
from emulator.headset.ticks import next_tick, wakeups
from emulator.model.profiles import DeviceProfile
from emulator.model.room_state import RoomState
from emulator.net.media.fanout import EncodedAudioFanout, EncodedAudioTrack, PacketFanout
from emulator.net.media.opus import OpusSettings, OpusSettingsError, codec_floor_ms
from emulator.net.media.playout import PlayoutBuffer
from emulator.net.media.receive import attach_playout
from emulator.wire.signaling import RoomMode

log = logging.getLogger(__name__)

# The ears take 10 ms blocks: half a 20 ms Opus frame (or a whole 10 ms one), so a packet waits on
# average 5 ms for its pull instead of 10, and the binaural renderer's block (at most 10 ms) is the same size.
BLOCK_SAMPLES = SAMPLE_RATE // 100
BLOCK_S = BLOCK_SAMPLES / SAMPLE_RATE
DEFAULT_MIN_DELAY_MS = 5.0  # a listener's playout floor; above it the delay follows the measured jitter
# Every swarm member, the one measuring mouth-to-ear included, plays out at least one Opus frame late
# (20 ms, or 10 with 10 ms frames: the playout's floor is a frame, `min_delay_frames`):
# a swarm's underruns then mean audio that came a frame late, the same for every member, not the few
# milliseconds our own low-latency playout shaves off. (At 5 ms, the measuring member underran on any
# 5-10 ms hiccup of its worker's loop, a few times a minute even in a swarm of 4.)
SWARM_MIN_DELAY_FRAMES = 1.0
SETTLE_S = 3.0  # a speaker's first seconds: underruns then are start-up, reported apart


class VoiceError(Exception):
    pass


class SharedEncoders:
    """Encoders keyed by what they encode, so identical sources in one process are encoded once."""

    def __init__(self) -> None:
        self._fanouts: dict[tuple[AudioSpec, int, float, int], EncodedAudioFanout] = {}

    def get(self, key: tuple[AudioSpec, int, float, int], make: Any) -> EncodedAudioFanout:
        if key not in self._fanouts:
            self._fanouts[key] = make()
        return self._fanouts[key]

    def __len__(self) -> int:
        return len(self._fanouts)

    async def stop(self) -> None:
        for fanout in self._fanouts.values():
            await fanout.stop()
            fanout.source.close()
        self._fanouts.clear()


@dataclass
class RemoteVoice:
    """One incoming audio transceiver: whose voice it carries, its playout and what we measured."""

    mid: str
    playout: PlayoutBuffer
    owner: str | None = None
    detector: MarkerDetector | None = None  # only in a headset that listens for markers
    recorder: wave.Wave_write | None = None
    states_log: Any = None
    last_block: MonoBlock | None = None
    baseline: dict[str, int] = field(default_factory=dict)
    # Underruns while a speaker's stream starts (subscription, first packets, delay growing to the
    # path's jitter) are start-up, not the steady state: counted apart until `settle_due`.
    settle_due: float = 0.0
    settled_underruns_base: int | None = None


def _pcm16(block: MonoBlock) -> bytes:
    return bytes((np.clip(block, -1.0, 1.0) * 32767).astype("<i2").tobytes())


BlocksListener = Callable[[dict[str, MonoBlock]], None]


class Voice:
    def __init__(
        self,
        config: HeadsetConfig,
        profile: DeviceProfile,
        source: AudioSource | None,
        encoders: SharedEncoders | None = None,
        *,
        room_state: RoomState,
        room_mode: Callable[[], RoomMode],
        track_owners: Callable[[], dict[str, str]],
        offsets: Callable[[str], float | None],
        hub: EventHub,
        ears: BlocksListener | None = None,
        receiver_hooks: list[Callable[[Any], None]] | None = None,
    ) -> None:
        """`source` None: this headset listens but sends no voice (no audio track at all).

        `room_mode` and `track_owners` read the session (the room's mode decides how tracks are
        decoded; which participant each track carries); `offsets` gives a participant's clock offset
        (their clock − ours, µs) for mouth-to-ear; `ears` get every pull's blocks by participant id,
        and so does `hub` (`BlocksHeard`, and each block's `VoiceLevel`, as the encoder's blocks' too)
        when something subscribed to them; `receiver_hooks` see
        each remote audio receiver before our tap goes on (loss simulation, recorders)."""
        self.config = config
        self.profile = profile
        self._hub = hub
        try:
            settings = OpusSettings(bitrate=config.opus_bitrate, frame_ms=config.opus_frame_ms)
        except OpusSettingsError as error:
            raise VoiceError(str(error)) from None
        self._owns_encoder = encoders is None
        self.fanout: EncodedAudioFanout | None = None
        if source is not None:
            # The mute gate comes last: muted, nothing this headset would send gets through.
            marked: AudioSource = MuteGate(
                ScheduledMarkerSource(source, config.marker_period_s)
                if config.marker_period_s > 0
                else source,
                on_block=self._sent_block,
            )
            key = (config.audio, config.opus_bitrate, config.marker_period_s, config.opus_frame_ms)
            if encoders is None:
                self.fanout = EncodedAudioFanout(marked, settings)
            else:
                self.fanout = encoders.get(key, lambda: EncodedAudioFanout(marked, settings))
                if self.fanout.source is not marked:
                    source.close()  # another headset's identical source already feeds the shared encoder
        self.gate = self.fanout.source if self.fanout is not None else None
        self.listen_only = False
        self._track: EncodedAudioTrack | None = None
        self.remotes: dict[str, RemoteVoice] = {}  # by mid
        self.room_state = room_state
        self._room_mode = room_mode
        self._track_owners = track_owners
        self.offsets = offsets
        self.mouth_to_ear: dict[str, LatencySamples] = {}
        self.visemes: dict[str, Any] = {}
        # A swarm member that nobody hears (no output, no recording, no marker detection) keeps the
        # playout's timing, loss and underrun accounting but decodes nothing, and pulls one Opus frame
        # (20 ms) at a time: the same underruns are counted at half the wake-ups.
        self.detects = config.marker_period_s > 0 and config.detect_markers
        if self.detects:
            prepare_detection()  # now, before the headset joins: see its docstring
        unheard = config.light_receive and not config.detect_markers
        self.unheard = unheard and config.output is None and config.record_dir is None
        self.block_samples = 2 * BLOCK_SAMPLES if self.unheard else BLOCK_SAMPLES
        self.finished: dict[str, dict[str, Any]] = {}
        self.record_dir = config.record_dir
        if self.record_dir is not None:
            self.record_dir.mkdir(parents=True, exist_ok=True)
        self._ears = ears
        self.receiver_hooks: list[Callable[[Any], None]] = (
            receiver_hooks if receiver_hooks is not None else []
        )
        # Every remote's mouth (visemes, face or lip-sync); a light receiver (a swarm member) moves none.
        self.mouths: RemoteMouths | None = (
            None if config.light_receive else RemoteMouths(room_state, lipsync=config.remote_lipsync)
        )

    # --- outgoing ---------------------------------------------------------------------------------

    def outgoing_track(self) -> EncodedAudioTrack | None:
        """The track to offer; nothing is encoded until `start_sending` (the room may say that this
        headset only listens)."""
        if self._track is None and self.fanout is not None:
            self._track = PacketFanout.subscribe(self.fanout)
        return self._track

    def _sent_block(self, block: MonoBlock) -> None:
        # One dict lookup per 20 ms frame encoded when nobody subscribed (swarm members share encoders).
        if self._hub.wants(VoiceLevel):
            self._hub.emit(VoiceLevel(None, rms_dbfs(block)))

    def start_sending(self) -> None:
        if self.fanout is not None:
            self.fanout.start()

    @property
    def muted(self) -> bool:
        return isinstance(self.gate, MuteGate) and self.gate.muted

    def set_muted(self, muted: bool) -> None:
        """Silence everything this headset sends (voice and latency chirps); LookupError without a voice."""
        if not isinstance(self.gate, MuteGate):
            raise LookupError("this headset sends no voice (audio none, or listening only)")
        self.gate.set_muted(muted)

    def uplink_report(self) -> dict[str, Any]:
        periods = self.gate.periods if isinstance(self.gate, MuteGate) else []
        mute = {
            "muted": self.muted,
            "mute_periods": [
                {
                    "from": utc_stamp(p.began),
                    "to": None if p.ended is None else utc_stamp(p.ended),
                    **({"why": "still muted when the report was taken"} if p.ended is None else {}),
                }
                for p in periods
            ],
            "listen_only": self.listen_only,
        }
        if self.fanout is None or self.listen_only:
            why = "the token allows listening only" if self.listen_only else "no voice (audio none)"
            return {
                "audio_frames_encoded": 0,
                "audio_payload_bytes": 0,
                "opus_bitrate": 0,
                "audio_why": why,
                **mute,
            }
        return {
            "audio_frames_encoded": self.fanout.frames_encoded,
            "audio_payload_bytes": self.fanout.bytes_encoded,
            "opus_bitrate": self.config.opus_bitrate,
            "opus_frame_ms": self.config.opus_frame_ms,
            **mute,
        }

    # --- incoming ---------------------------------------------------------------------------------

    def on_remote_track(self, mid: str, track: Any, receiver: Any) -> None:
        if mid in self.remotes:
            return
        for hook in self.receiver_hooks:
            hook(receiver)
        # The room's binaural mix is the one stereo stream; voices are mono.
        binaural = self._room_mode() == RoomMode.BINAURAL
        playout = attach_playout(
            receiver,
            channels=2 if binaural else 1,
            decode=not self.unheard,
            min_delay_ms=DEFAULT_MIN_DELAY_MS,
            min_delay_frames=SWARM_MIN_DELAY_FRAMES if self.config.light_receive else 0.0,
        )
        remote = RemoteVoice(mid, playout)
        self.remotes[mid] = remote
        self._set_owner(remote, self._track_owners().get(mid))

    def on_track_owners(self, owners: dict[str, str]) -> None:
        for mid, remote in self.remotes.items():
            self._set_owner(remote, owners.get(mid))

    def _set_owner(self, remote: RemoteVoice, owner: str | None) -> None:
        if remote.owner == owner:
            return
        if remote.owner is not None:
            self.finished[remote.owner] = self._audio_report(remote)
        self._close_recording(remote)
        remote.owner = owner
        stats = remote.playout.stats
        remote.baseline = {
            "packets_received": stats.packets_received,
            "payload_bytes": stats.payload_bytes,
            "packets_lost": stats.packets_lost,
            "concealed_frames": stats.concealed_frames,
            "underruns": stats.underruns,
        }
        remote.settle_due = time.monotonic() + SETTLE_S
        remote.settled_underruns_base = None
        remote.detector = MarkerDetector() if self.detects else None
        if owner and self.record_dir is not None:
            # Kept open across blocks and closed when the owner changes or the voice stops.
            recorder = wave.open(str(self.record_dir / f"{owner}.wav"), "wb")  # noqa: SIM115
            recorder.setnchannels(1)
            recorder.setsampwidth(2)
            recorder.setframerate(SAMPLE_RATE)
            remote.recorder = recorder

    def remote_left(self, participant_id: str) -> None:
        for remote in self.remotes.values():
            if remote.owner == participant_id:
                self._set_owner(remote, None)

    def on_visemes(self, participant_id: str, message: Any) -> None:
        self.visemes[participant_id] = message
        if self.mouths is not None:
            self.mouths.on_visemes(participant_id, message)

    def on_state_face(self, participant: Any) -> None:
        """A STATE message just replaced `participant.face` (the mouths keep their overlay on it)."""
        if self.mouths is not None:
            self.mouths.on_state_face(participant)

    async def run(self) -> None:
        """Pull one 10 ms block from every remote in real time, for as long as the session lasts."""
        period = self.block_samples / SAMPLE_RATE
        tick = next_tick(period, time.monotonic())  # the first block at once, the rest on the grid
        # Each pull runs from the loop's one timer for its instant (ticks.Wakeups), not in this task:
        # the task only waits, for its cancellation or a pull's error.
        running: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        wake = wakeups()

        def pull() -> None:
            nonlocal tick
            if running.done():
                return  # stopped while this wake-up was due
            try:
                self.pull_all(time.monotonic())
                now = time.monotonic()
            except Exception as error:  # `run` ends with it, as it did when it pulled in its loop
                running.set_exception(error)
                return
            if tick * period - now < -10 * BLOCK_S:  # far behind: resume from now
                tick = next_tick(period, now)
            when = tick * period
            tick += 1
            wake.at(when, pull)

        try:
            pull()
            await running
        finally:
            running.cancel()

    def pull_all(self, now: float) -> dict[str, MonoBlock]:
        blocks: dict[str, MonoBlock] = {}
        for remote in self.remotes.values():
            block = remote.playout.pull(self.block_samples, now)
            if remote.settled_underruns_base is None and now >= remote.settle_due:
                remote.settled_underruns_base = remote.playout.stats.underruns
                if remote.owner in self.mouth_to_ear:
                    self.mouth_to_ear[remote.owner].mark_settled()
            remote.last_block = block
            if remote.owner is None:
                continue
            blocks[remote.owner] = block
            if remote.recorder is not None:
                remote.recorder.writeframes(_pcm16(block))
            if remote.detector is not None and block.ndim == 1:
                for played_at in remote.detector.feed(block, now):
                    offset_us = self.offsets(remote.owner)
                    if offset_us is None:
                        continue
                    latency = scheduled_latency(played_at, offset_us / 1e6, self.config.marker_period_s)
                    samples = self.mouth_to_ear.get(remote.owner)
                    if samples is None:
                        samples = self.mouth_to_ear[remote.owner] = LatencySamples()
                        if remote.settled_underruns_base is not None:
                            samples.mark_settled()
                    samples.add(latency * 1000)
        if self.mouths is not None:
            playouts = {r.owner: r.playout for r in self.remotes.values() if r.owner is not None}
            self.mouths.update(now, blocks, playouts)
        if self._ears is not None:
            self._ears(blocks)
        if self._hub.wants(BlocksHeard):
            self._hub.emit(BlocksHeard(blocks))
        if self._hub.wants(VoiceLevel):
            for participant_id, block in blocks.items():
                self._hub.emit(VoiceLevel(participant_id, rms_dbfs(block)))
        return blocks

    def _audio_report(self, remote: RemoteVoice) -> dict[str, Any]:
        # A transceiver can carry several speakers in turn: counters are reported since this owner.
        stats = remote.playout.stats
        base = remote.baseline
        return {
            "packets_received": stats.packets_received - base.get("packets_received", 0),
            "payload_bytes": stats.payload_bytes - base.get("payload_bytes", 0),
            "packets_lost": stats.packets_lost - base.get("packets_lost", 0),
            "concealed_frames": stats.concealed_frames - base.get("concealed_frames", 0),
            "underruns": stats.underruns - base.get("underruns", 0),
            "underruns_settled": 0
            if remote.settled_underruns_base is None
            else stats.underruns - remote.settled_underruns_base,
            "settled": remote.settled_underruns_base is not None,
            "jitter_ms": round(stats.jitter_ms, 2),
            "playout_delay_ms": round(stats.delay_ms, 2),
            "playout_min_delay_ms": round(1000 * remote.playout.min_delay, 2),
            "opus_frame_ms": round(1000 * remote.playout.frame_s, 1),
            # What no path with this codec can beat: mouth-to-ear is best read against it.
            "codec_floor_ms": codec_floor_ms(1000 * remote.playout.frame_s),
            "level_dbfs": round(stats.level_dbfs, 1) if remote.playout.decodes else None,
            **(
                {}
                if remote.playout.decodes
                else {"level_dbfs_why": "not decoded: this listener counts packets without decoding them"}
            ),
        }

    def remote_audio_reports(self) -> dict[str, dict[str, Any]]:
        """Per participant id; speakers who have left keep the figures they had when they left."""
        reports = dict(self.finished)
        for remote in self.remotes.values():
            if remote.owner is not None:
                reports[remote.owner] = self._audio_report(remote)
        return reports

    def settle_now(self) -> None:
        """Count underruns from now on as settled ones, for every current speaker (a swarm calls this
        once all its members have joined: their joins stall every stream, not just the new ones)."""
        for remote in self.remotes.values():
            remote.settle_due = 0.0
            remote.settled_underruns_base = remote.playout.stats.underruns
        for samples in self.mouth_to_ear.values():
            samples.mark_settled()

    def underruns_so_far(self) -> int:
        """Every current playout's underruns together, to see when they happen."""
        return sum(remote.playout.underruns for remote in self.remotes.values())

    # --- closing ----------------------------------------------------------------------------------

    def _close_recording(self, remote: RemoteVoice) -> None:
        if remote.recorder is not None:
            with contextlib.suppress(Exception):
                remote.recorder.close()
            remote.recorder = None

    async def stop(self) -> None:
        for remote in self.remotes.values():
            self._close_recording(remote)
            remote.playout.close()
        self.remotes.clear()
        if self._track is not None:
            self._track.stop()
        if self._owns_encoder and self.fanout is not None:
            await self.fanout.stop()
            self.fanout.source.close()
