"""The emulated device: a profile, its drivers, its room session, its voice and what it hears.

The GUI and headless runs use this same object. It runs entirely on one asyncio loop; the renderer
and the sound card read snapshots (`room_state.snapshot()`, the voice engine's ring buffers).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from emulator.audio.geometry import head_direction
from emulator.audio.hrtf import HrtfSpec
from emulator.audio.source import AudioSource
from emulator.audio.wavfile import SourceError
from emulator.drive.drivers import Drivers, drivers_from
from emulator.drive.errors import DriveError
from emulator.drive.hands import NO_HANDS, Hands, HandsDriver
from emulator.headset.config import HeadsetConfig
from emulator.headset.credentials import join_token
from emulator.headset.ears import Ears, EarsError, PlacedVoice, open_ears, renderer_for
from emulator.headset.events import DatagramReceived, EventHub, StatsSampled
from emulator.headset.recording.states_log import StatesLog
from emulator.headset.report import LatencySamples, utc_stamp
from emulator.headset.state_link import StateLink
from emulator.headset.stream import (
    FaceUpdated,
    StateReceived,
    StateStreamCore,
    StreamSettings,
    VisemesReceived,
)
from emulator.headset.ticks import next_tick
from emulator.headset.view import HeadsetView
from emulator.headset.voice import SharedEncoders, Voice, VoiceError
from emulator.model.errors import ModelError
from emulator.model.face import Face
from emulator.model.pose import Pose
from emulator.model.profiles import load_profile
from emulator.model.room_state import RoomState
from emulator.net.signaling.adapters import AdapterError, adapter_for
from emulator.net.signaling.connect import Session
from emulator.net.signaling.room_session import SessionCallbacks, SessionError
from emulator.net.signaling.tokens import TokenError
from emulator.net.tasks import cancel_and_wait
from emulator.net.transport.ice_servers import selected_pair
from emulator.wire.signaling import CloseReason, Join, ParticipantInfo, RoomMode

log = logging.getLogger(__name__)

E = TypeVar("E")
STATS_PERIOD_S = 1.0  # `StatsSampled` events: a rate over a second reads steadily on a plot


class PoseFaceDriver(Protocol):
    """What moves a headset: its pose and face `t` seconds after the start (scripted drivers, the app)."""

    def sample(self, t: float) -> tuple[Pose, Face]: ...


class HeadsetError(Exception):
    """The headset could not start: a bad option, a refused join, a missing file. Says which."""


class JoinError(HeadsetError):
    """The room could not be reached, or it refused the join (the command line exits with 3)."""


class Headset:
    """One emulated Vision Pro or Quest in a room, assembled complete: its session (not yet
    connected), voice, ears and state stream exist from construction, so none is ever missing.
    `start()` joins and starts sending; `stop()` ends every task and closes every part."""

    def __init__(
        self,
        config: HeadsetConfig,
        *,
        encoders: SharedEncoders | None = None,
        drivers: PoseFaceDriver | None = None,
        source: AudioSource | None = None,
    ) -> None:
        """`drivers` replaces the `motion`/`face` options (the app's controller, a demo bot); `source`
        replaces `audio` with a ready voice (a replay, a switchable mic, a bot whose face follows its
        own speech and so needs the very source it reads). Raises HeadsetError (a bad option, a
        missing file or device) having closed whatever it had opened, `source` included."""
        self.config = config
        self.drivers: PoseFaceDriver
        try:
            self.profile = load_profile(config.profile)
            self.drivers = drivers or drivers_from(config.motion, config.face, config.placement)
            adapter = adapter_for(config.url)
            token = join_token(config, adapter.credentials)
        except (ModelError, DriveError, AdapterError, TokenError) as error:
            if source is not None:
                source.close()
            raise HeadsetError(str(error)) from None
        self.room_state = RoomState()
        self.pose: Pose = config.placement
        self.face = Face()
        self.face_override: Face | None = None  # set by the app's sliders; wins over the driver
        self.hands_driver: HandsDriver = config.hands  # the app swaps in its raise-hand controller
        self.hands: Hands = NO_HANDS  # what was last sent
        self.closed = asyncio.Event()
        self.close_reason: str | None = None
        # The voice calls each with every remote audio receiver first (loss simulation, recorders).
        self.receiver_hooks: list[Callable[[Any], None]] = []
        self.events: list[dict[str, Any]] = []  # joins and leaves, `at` on the system's monotonic clock
        self.hub = EventHub()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stats_task: asyncio.Task[None] | None = None  # only while StatsSampled has subscribers
        self._started_at = time.monotonic()
        self._started_wall = time.time()
        self._stopped = False
        self._in_room = False
        settings = StreamSettings.for_device(self.profile, config.states_per_packet, config.light_receive)
        core = StateStreamCore(settings, self.room_state)
        self.ears, self.voice = self._open_voice_and_ears(core, encoders, source)
        join = Join(config.room, token, config.name, config.profile, config.avatar, self.profile.face_set)
        self.session: Session = adapter.open(
            config.url,
            join,
            audio_track=self.voice.outgoing_track(),
            callbacks=SessionCallbacks(
                on_state=self._on_state_datagram,
                on_control=self._on_control_datagram,
                on_joined=self._on_joined,
                on_left=self._on_left,
                on_remote_track=self.voice.on_remote_track,
                on_tracks=self.voice.on_track_owners,
                on_closed=self._on_session_closed,
            ),
            ice=config.ice,
            identity=config.participant_identity,
        )
        self.state_link = StateLink(core, self, self.session, self.hub)
        self.view = HeadsetView(self.state_link, self.voice, self.session)
        self.hub.subscribe(FaceUpdated, lambda event: self.voice.on_state_face(event.participant))
        self.hub.subscribe(
            VisemesReceived, lambda event: self.voice.on_visemes(event.participant_id, event.message)
        )
        self._states_log: StatesLog | None = None
        if config.record_dir is not None:
            self._states_log = StatesLog(config.record_dir)
            self.hub.subscribe(StateReceived, self._states_log.on_state)
            self.hub.subscribe(VisemesReceived, self._states_log.on_visemes)
        self.hub.watch(lambda kind, wanted: self._sample_stats_if_wanted() if kind is StatsSampled else None)

    def _open_voice_and_ears(
        self, core: StateStreamCore, encoders: SharedEncoders | None, source: AudioSource | None
    ) -> tuple[Ears, Voice]:
        """The ears, and the voice that feeds them; closes what it opened (and `source`) if it fails."""
        config = self.config
        try:
            ears = open_ears(config, self.profile, lambda: self.pose, self.room_state, self._room_mode)
        except EarsError as error:
            if source is not None:
                source.close()
            raise HeadsetError(str(error)) from None
        try:
            if source is None and not config.audio.is_none:
                try:
                    source = config.audio_spec.open()
                except (SourceError, ModelError, OSError) as error:
                    raise HeadsetError(f"audio {config.audio}: {error}") from None
            try:
                voice = Voice(
                    config,
                    self.profile,
                    source,
                    encoders,
                    room_state=self.room_state,
                    room_mode=self._room_mode,
                    track_owners=lambda: self.session.track_owners,
                    offsets=core.offset_for,
                    hub=self.hub,
                    ears=ears.hear,
                    receiver_hooks=self.receiver_hooks,
                )
            except VoiceError as error:
                raise HeadsetError(str(error)) from None
        except HeadsetError:
            if source is not None:
                source.close()
            ears.close()
            raise
        return ears, voice

    def _room_mode(self) -> RoomMode:
        # Read only once the session exists: by the ears when they render, by the voice on a track.
        return self.session.mode

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Join the room and start sending; raises JoinError with the reason if it cannot."""
        config = self.config
        self._started_at = time.monotonic()
        self._started_wall = time.time()
        try:
            welcome = await self.session.connect(config.connect_timeout_s)
        except (SessionError, OSError) as error:  # OSError: an adapter of another package let one out
            raise JoinError(f"could not join {config.room} at {config.url}: {error}") from None
        for info in welcome.participants:
            self._on_joined(info)
        self._in_room = True
        self.voice.on_track_owners(self.session.track_owners)
        if welcome.you.may_publish:
            self.voice.start_sending()
        else:
            # The room would drop whatever we sent: encode and send nothing, and say so once.
            self.voice.listen_only = True
            log.warning(
                "%s: the token allows listening only: this headset sends no voice and no pose",
                self.config.name,
            )
        self._spawn(self.state_link.run(sending=welcome.you.may_publish), "state")
        self._spawn(self.voice.run(), "voice")
        self._sample_stats_if_wanted()

    async def stop(self) -> None:
        """Leave the room and close every part; safe to call twice, and on a headset never started."""
        if self._stopped:
            return
        self._stopped = True
        await cancel_and_wait(self._tasks)
        self._tasks.clear()
        self._stats_task = None
        await self.session.close(CloseReason.LEFT)
        await self.voice.stop()
        if self._states_log is not None:
            self._states_log.close()
        self.ears.close()
        self.closed.set()

    def _on_state_datagram(self, data: bytes) -> None:
        self.state_link.on_message(data)
        if self.hub.wants(DatagramReceived):
            self.hub.emit(DatagramReceived(data))

    def _on_control_datagram(self, data: bytes) -> None:
        self.state_link.on_message(data)

    def subscribe(self, kind: type[E], handler: Callable[[E], None]) -> None:
        """Call `handler` with every event of `kind` (`emulator.headset.events`) from now on; a kind
        nobody subscribed to is never built."""
        self.hub.subscribe(kind, handler)

    def unsubscribe(self, kind: type[E], handler: Callable[[E], None]) -> None:
        self.hub.unsubscribe(kind, handler)

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=f"{self.config.name}-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _sample_stats_if_wanted(self) -> None:
        """Run the stats sampler while `StatsSampled` has subscribers, on a headset started and not
        stopped (a subscriber before `start()` gets its first sample once the headset has joined)."""
        wanted = self.hub.wants(StatsSampled) and self._in_room and not self._stopped
        if wanted and self._stats_task is None:
            self._stats_task = self._spawn(self._sample_stats(), "stats")
        elif not wanted and self._stats_task is not None:
            self._stats_task.cancel()
            self._tasks.discard(self._stats_task)
            self._stats_task = None

    async def _sample_stats(self) -> None:
        while True:  # the first sample at once, the rest on the grid (never a burst after a stall)
            now = time.monotonic()
            self.hub.emit(self.view.stats(now))
            await asyncio.sleep(next_tick(STATS_PERIOD_S, now) * STATS_PERIOD_S - now)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: %s stopped", self.config.name, task.get_name(), exc_info=task.exception())

    # --- roster -----------------------------------------------------------------------------------

    def _note(self, event: str, info: ParticipantInfo, reason: str | None = None) -> None:
        entry: dict[str, Any] = {
            "event": event,
            "at": time.monotonic(),
            "at_utc": utc_stamp(time.time()),
            "id": info.id,
            "name": info.name,
        }
        if reason is not None:
            entry["reason"] = reason
        self.events.append(entry)

    def _on_joined(self, info: ParticipantInfo) -> None:
        self._note("joined", info)
        self.state_link.remote_joined(info)  # it adds them to the room state

    def _on_left(self, info: ParticipantInfo, reason: str) -> None:
        self._note("left", info, reason)
        self.state_link.remote_left(info, reason)
        self.voice.remote_left(info.id)

    def _on_session_closed(self, reason: str) -> None:
        if self.close_reason is None:
            self.close_reason = reason
        if reason != CloseReason.LEFT and self.session.connected.is_set():
            # A refused join is reported once, by whoever called start(); this is for later endings.
            log.warning("%s: the session ended: %s", self.config.name, reason)
        self.closed.set()

    # --- what ui/ and qa/ change (they read through `view`) ----------------------------------------

    def set_muted(self, muted: bool) -> None:
        """Silence everything this headset sends, latency chirps included; LookupError without a voice."""
        self.voice.set_muted(muted)

    def settle_now(self) -> None:
        """Count underruns from now on as steady-state ones (a swarm, once all its members joined)."""
        self.voice.settle_now()

    def use_hrtf(self, spec: HrtfSpec | None, mirror: bool = False) -> None:
        """Spatialize with another HRTF from now on (None: the bundled KEMAR; `off`: none);
        HrtfError if the file cannot be used."""
        self.ears.renderer = renderer_for(self.profile, spec, mirror)

    def place_voice(self, voice_id: str, voice: PlacedVoice) -> None:
        """Hear `voice` from where it says it stands, as if it were in the room (the app's ghosts)."""
        self.ears.placed[voice_id] = voice

    def unplace_voice(self, voice_id: str) -> None:
        self.ears.placed.pop(voice_id, None)

    # --- what the headset does now ----------------------------------------------------------------

    def elapsed(self, now: float | None = None) -> float:
        """Seconds since the start, now or at `now` (a `time.monotonic()` reading)."""
        return (time.monotonic() if now is None else now) - self._started_at

    def sample_drivers(self, with_face: bool = True) -> tuple[Pose, Face]:
        """The pose now, and the face now (or, `with_face=False`, the last one: it is sent less often)."""
        t = self.elapsed()
        if not with_face and isinstance(self.drivers, Drivers):
            self.pose = self.drivers.motion.sample(t)  # a scripted face costs more than the pose
            return self.pose, self.face
        pose, face = self.drivers.sample(t)
        self.pose = pose
        self.face = self.face_override.copy() if self.face_override else face
        return self.pose, self.face

    def sample_hands(self, now: float | None = None) -> Hands:
        """The hands now (or at `now`, a `time.monotonic()` reading), placed relative to the pose last
        sampled, as a tracker reports them."""
        self.hands = self.hands_driver.sample(self.elapsed(now), self.pose)
        return self.hands

    @property
    def participant_id(self) -> str | None:
        return self.session.me.id if self.session.me else None

    def session_participants(self) -> list[ParticipantInfo]:
        return list(self.session.participants.values())

    def report(self) -> dict[str, Any]:
        remotes = self.state_link.remote_reports()
        audio = self.voice.remote_audio_reports()
        for remote in remotes:
            remote["audio"] = audio.get(remote["id"], {})
            if not remote["audio"]:
                remote["audio_why"] = "no voice received from this participant"
            latencies = self.voice.mouth_to_ear.get(remote["id"]) or LatencySamples()
            remote["mouth_to_ear"] = latencies.summary(self._why_no_chirps(bool(remote["audio"])))
            remote["heard_from"] = self._heard_from(remote["id"])
            if remote["heard_from"] is None:
                remote["heard_from_why"] = "no pose received from this participant"
        ice = selected_pair(self.session.pc) if self.session.pc else None
        return {
            "name": self.config.name,
            "identity": self.config.participant_identity,
            "room": self.config.room,
            "profile": self.config.profile,
            "started_at": utc_stamp(self._started_wall),
            "ended_at": utc_stamp(time.time()),
            "duration_s": round(self.elapsed(), 3),
            "uplink": {
                **self.state_link.uplink_report(),
                **self.voice.uplink_report(),
            },
            "remotes": remotes,
            "events": list(self.events),
            "ears": self.ears.report(),
            "ice": ice,
            **({} if ice else {"ice_why": "no ICE pair was selected (not connected, or a Janus session)"}),
        }

    def _heard_from(self, participant_id: str) -> dict[str, float] | None:
        """Where a remote is, as this headset's ears place it at the moment of the report."""
        remote = self.room_state.by_id(participant_id)
        if remote is None or remote.pose is None:
            return None
        azimuth, elevation, distance = head_direction(self.pose, remote.pose.position)
        return {
            "azimuth_deg": round(azimuth, 1),
            "elevation_deg": round(elevation, 1),
            "distance_m": round(distance, 2),
        }

    def _why_no_chirps(self, hears_voice: bool) -> str:
        if not hears_voice:
            return "no voice received from this participant"
        if not self.config.detect_markers:
            return "this headset does not measure mouth-to-ear (in a swarm one member measures)"
        if self.config.marker_period_s <= 0:
            return "latency chirps are off (marker period 0)"
        return "no latency chirp heard yet (the speaker's may be off, or it spoke less than a period)"
