"""The emulated device: a profile, its drivers, its room session, its voice and what it hears.

The GUI and headless runs use this same object. It runs entirely on one asyncio loop; the renderer
and the sound card read snapshots (`room_state.snapshot()`, the voice engine's ring buffers).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from emulator.audio.factory import open_source
from emulator.audio.geometry import head_direction
from emulator.audio.source import AudioSource
from emulator.audio.wavfile import SourceError
from emulator.drive.drivers import Drivers, drivers_from
from emulator.drive.errors import DriveError
from emulator.drive.hands import NO_HANDS, Hands, HandsDriver
from emulator.headset.config import HeadsetConfig
from emulator.headset.ears import Ears, EarsError, open_ears
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
from emulator.headset.voice import SharedEncoders, Voice, VoiceError
from emulator.model.errors import ModelError
from emulator.model.face import Face
from emulator.model.pose import Pose
from emulator.model.profiles import load_profile
from emulator.model.room_state import RoomState
from emulator.net.adapters import AdapterError, Credentials, adapter_for
from emulator.net.ice_servers import selected_pair
from emulator.net.session import SessionCallbacks, SessionError, is_local_url
from emulator.net.sessions import Session
from emulator.net.tasks import cancel_and_wait
from emulator.net.tokens import Grant, TokenError, load_secret, mint
from emulator.wire.signaling import Join, ParticipantInfo

log = logging.getLogger(__name__)

LOCAL_TOKEN_TTL_S = 24 * 3600


class PoseFaceDriver(Protocol):
    """What moves a headset: its pose and face `t` seconds after the start (scripted drivers, the app)."""

    def sample(self, t: float) -> tuple[Pose, Face]: ...


class HeadsetError(Exception):
    """The headset could not start: a bad option, a refused join, a missing file. Says which."""


class JoinError(HeadsetError):
    """The room could not be reached, or it refused the join (the command line exits with 3)."""


class Headset:
    """One emulated Vision Pro or Quest in a room. Owns its tasks: `stop()` ends all of them."""

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
        own speech and so needs the very source it reads)."""
        self.config = config
        self._encoders = encoders
        self._source = source
        self.drivers: PoseFaceDriver
        try:
            self.profile = load_profile(config.profile)
            self.drivers = drivers or drivers_from(config.motion, config.face, config.placement)
        except (ModelError, DriveError) as error:
            raise HeadsetError(str(error)) from None
        self.room_state = RoomState()
        self.pose: Pose = config.placement
        self.face = Face()
        self.face_override: Face | None = None  # set by the app's sliders; wins over the driver
        self.hands_driver: HandsDriver = config.hands  # the app swaps in its raise-hand controller
        self.hands: Hands = NO_HANDS  # what was last sent
        self.closed = asyncio.Event()
        self.close_reason: str | None = None
        self.session: Session | None = None
        self.voice: Voice | None = None
        self.ears: Ears | None = None
        self.state_link: StateLink | None = None
        self._states_log: StatesLog | None = None
        # Given to the voice when it is made: each is called with every remote audio receiver first.
        self.receiver_hooks: list[Any] = []
        self.events: list[dict[str, Any]] = []  # joins and leaves, `at` on the system's monotonic clock
        self._tasks: set[asyncio.Task[Any]] = set()
        self._started_at = time.monotonic()
        self._started_wall = time.time()
        self._stopped = False

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Join the room and start sending; raises HeadsetError with the reason if it cannot."""
        config = self.config
        try:
            adapter = adapter_for(config.url)
        except AdapterError as error:
            raise HeadsetError(str(error)) from None
        token = config.token or self._credential(adapter.credentials)
        try:
            self.ears = open_ears(self)
        except EarsError as error:
            raise HeadsetError(str(error)) from None
        source: AudioSource | None = self._source
        if source is None and config.audio != "none":
            try:
                source = open_source(config.audio_spec)
            except (SourceError, ModelError, OSError) as error:
                raise HeadsetError(f"--audio {config.audio}: {error}") from None
        try:
            self.voice = Voice(config, self.profile, source, self._encoders)
            self.voice.receiver_hooks.extend(self.receiver_hooks)
        except VoiceError as error:
            if source is not None:
                source.close()
            raise HeadsetError(str(error)) from None
        self.voice.listeners.append(self.ears.hear)
        self.state_link = self._open_state_link(self.voice)
        callbacks = SessionCallbacks(
            on_state=self.state_link.on_message,
            on_control=self.state_link.on_message,
            on_joined=self._on_joined,
            on_left=self._on_left,
            on_remote_track=self.voice.on_remote_track,
            on_tracks=self.voice.on_track_owners,
            on_closed=self._on_session_closed,
        )
        join = Join(config.room, token, config.name, config.profile, config.avatar, self.profile.face_set)
        self.session = adapter.open(
            config.url,
            join,
            audio_track=self.voice.outgoing_track(),
            callbacks=callbacks,
            ice=config.ice,
            identity=config.participant_identity,
        )
        self.voice.session = self.session  # the room's mode decides how its tracks are decoded
        self._started_at = time.monotonic()
        self._started_wall = time.time()
        try:
            welcome = await self.session.connect(config.connect_timeout_s)
        except (SessionError, OSError) as error:  # OSError: an adapter of another package let one out
            raise JoinError(f"could not join {config.room} at {config.url}: {error}") from None
        for info in welcome.participants:
            self._on_joined(info)
        self.voice.attach(self.session, self.room_state)
        self.state_link.attach(self.session)
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

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        await cancel_and_wait(self._tasks)
        self._tasks.clear()
        if self.session is not None:
            await self.session.close("left")
        if self.voice is not None:
            await self.voice.stop()
        if self._states_log is not None:
            self._states_log.close()
        if self.ears is not None:
            self.ears.close()
        self.closed.set()

    def _open_state_link(self, voice: Voice) -> StateLink:
        """The state stream, its events going to the voice (mouths, visemes) and `--record-dir`."""
        config = self.config
        settings = StreamSettings.for_device(self.profile, config.states_per_packet, config.light_receive)
        link = StateLink(StateStreamCore(settings, self.room_state), self)
        link.subscribe(FaceUpdated, lambda event: voice.on_state_face(event.participant))
        link.subscribe(VisemesReceived, lambda event: voice.on_visemes(event.participant_id, event.message))
        voice.offsets = link.offset_for
        if config.record_dir is not None:
            self._states_log = StatesLog(config.record_dir)
            link.subscribe(StateReceived, self._states_log.on_state)
            link.subscribe(VisemesReceived, self._states_log.on_visemes)
        return link

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=f"{self.config.name}-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: %s stopped", self.config.name, task.get_name(), exc_info=task.exception())

    def _credential(self, kind: Credentials) -> str:
        """What the adapter asked for in `Join.token` when no `--token` was given."""
        if kind == "none":
            return ""
        if kind == "secret":
            try:
                return load_secret(self.config.secret).decode()
            except TokenError as error:
                raise HeadsetError(str(error)) from None
        return self._local_token()

    def _local_token(self) -> str:
        if not is_local_url(self.config.url) and self.config.secret is None:
            raise HeadsetError("a join token is needed for a room on another machine: pass --token")
        try:
            secret = load_secret(self.config.secret)
        except TokenError as error:
            raise HeadsetError(str(error)) from None
        grant = Grant(self.config.room, self.config.participant_identity, time.time() + LOCAL_TOKEN_TTL_S)
        return mint(secret, grant)

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
        if self.state_link is not None:
            self.state_link.remote_joined(info)  # it adds them to the room state

    def _on_left(self, info: ParticipantInfo, reason: str) -> None:
        self._note("left", info, reason)
        if self.state_link is not None:
            self.state_link.remote_left(info, reason)
        if self.voice is not None:
            self.voice.remote_left(info.id)

    def _on_session_closed(self, reason: str) -> None:
        if self.close_reason is None:
            self.close_reason = reason
        joined = self.session is not None and self.session.connected.is_set()
        if reason != "left" and joined:
            # A refused join is reported once, by whoever called start(); this is for later endings.
            log.warning("%s: the session ended: %s", self.config.name, reason)
        self.closed.set()

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
        return self.session.me.id if self.session and self.session.me else None

    def session_participants(self) -> list[ParticipantInfo]:
        return list(self.session.participants.values()) if self.session else []

    def report(self) -> dict[str, Any]:
        remotes = self.state_link.remote_reports() if self.state_link else []
        if self.voice is not None:
            audio = self.voice.remote_audio_reports()
            for remote in remotes:
                remote["audio"] = audio.get(remote["id"], {})
                if not remote["audio"]:
                    remote["audio_why"] = "no voice received from this participant"
                latencies = self.voice.mouth_to_ear.get(remote["id"]) or LatencySamples()
                remote["mouth_to_ear"] = latencies.summary(self._why_no_chirps(bool(remote["audio"])))
        for remote in remotes:
            remote["heard_from"] = self._heard_from(remote["id"])
            if remote["heard_from"] is None:
                remote["heard_from_why"] = "no pose received from this participant"
        ice = selected_pair(self.session.pc) if self.session and self.session.pc else None
        return {
            "name": self.config.name,
            "identity": self.config.participant_identity,
            "room": self.config.room,
            "profile": self.config.profile,
            "started_at": utc_stamp(self._started_wall),
            "ended_at": utc_stamp(time.time()),
            "duration_s": round(self.elapsed(), 3),
            "uplink": {
                **(self.state_link.uplink_report() if self.state_link else {}),
                **(self.voice.uplink_report() if self.voice else {}),
            },
            "remotes": remotes,
            "events": list(self.events),
            "ears": self.ears.report() if self.ears else {},
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
