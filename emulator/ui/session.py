"""The app's side of one headset: the controller that moves it, joining and leaving, and what it hears.

The window and its docks talk to this object, never to the network directly. Everything here runs on
the GUI thread, which under qasync is also the asyncio loop's thread: the headset's callbacks, the
input timer and painting all take turns on one thread, so the controller pose the headset sends and
the room state the viewport draws need no locks. Network work (join, leave) is awaited in tasks this
object owns; `stop()` ends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from enum import StrEnum
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from emulator.audio.source import AudioSource, MonoBlock
from emulator.drive.controls import Controller
from emulator.drive.faces import FaceDriver, HeldFace
from emulator.drive.lipsync import LipSync
from emulator.headset import Headset, HeadsetConfig, HeadsetError
from emulator.headset.events import StatsSampled, VoiceLevel
from emulator.model.face import Face
from emulator.model.pose import Pose
from emulator.model.profiles import DeviceProfile, load_profile
from emulator.ui.session_tools import SessionTools
from emulator.wire.signaling import CloseReason

log = logging.getLogger(__name__)

LEVEL_FLOOR_DB = -60.0


def meter_level(dbfs: float) -> float:
    """0..1 on a meter: a block's RMS in dBFS (`VoiceLevel`) mapped from -60 dB (0) to 0 dB (1)."""
    return min(1.0, max(0.0, (dbfs - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB))


class AppDriver:
    """The headset's `drivers` in the app: the controller's pose and the face dock's face driver."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self._face: FaceDriver = HeldFace.preset("neutral")
        self._face_t0: float | None = None

    @property
    def face(self) -> FaceDriver:
        return self._face

    @face.setter
    def face(self, driver: FaceDriver) -> None:
        """A new face driver starts at its own time 0 (a CSV plays from its first row)."""
        self._face = driver
        self._face_t0 = None

    def sample(self, t: float) -> tuple[Pose, Face]:
        if self._face_t0 is None:
            self._face_t0 = t
        return self.controller.pose, self._face.sample(max(0.0, t - self._face_t0))


class MutableSource:
    """Wraps the microphone (or any source) so the Audio dock can mute it, and the face dock's lip-sync
    hears what is sent."""

    def __init__(self, inner: AudioSource) -> None:
        self.inner = inner
        self.sample_rate = inner.sample_rate
        self.muted = False
        self.lipsync: LipSync | None = None

    def read(self, frames: int) -> MonoBlock:
        block = self.inner.read(frames)
        if self.muted:
            block = np.zeros_like(block)
        if self.lipsync is not None:
            self.lipsync.feed(block)
        return block

    def close(self) -> None:
        self.inner.close()


class SessionState(StrEnum):
    """Where the app's session is; `state_changed` carries these (a str, as Qt signals need)."""

    DISCONNECTED = "disconnected"
    JOINING = "joining"
    CONNECTED = "connected"
    LEAVING = "leaving"


class AppSession(QObject):
    """Join, leave and the headset while joined. Signals carry text the window shows as it is."""

    state_changed = Signal(str)  # a SessionState
    error = Signal(str)
    stats_sampled = Signal(object)  # the headset's StatsSampled, once a second while joined

    def __init__(self, controller: Controller | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller or Controller()
        self.driver = AppDriver(self.controller)
        self.headset: Headset | None = None
        self.profile: DeviceProfile = load_profile("visionpro")
        self.state = SessionState.DISCONNECTED
        self.levels: dict[str, float] = {}  # participant id → 0..1 (`meter_level`), of the last block heard
        self.sent_level = 0.0  # the same of the last block this headset sent
        self.source: MutableSource | None = None
        self.muted = False
        self._lipsync: LipSync | None = None
        self._face_override: Face | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watch: asyncio.Task[None] | None = None
        self.tools = SessionTools()  # recording, network conditions, ghosts

    # --- state ------------------------------------------------------------------------------------

    def _set_state(self, state: SessionState) -> None:
        self.state = state
        self.state_changed.emit(state)

    @property
    def connected(self) -> bool:
        return self.state == SessionState.CONNECTED and self.headset is not None

    def set_face_override(self, face: Face | None) -> None:
        """Slider values win over the face driver while set (None hands the face back to the driver)."""
        self._face_override = face
        if self.headset is not None:
            self.headset.face_override = face

    @property
    def lipsync(self) -> LipSync | None:
        return self._lipsync

    @lipsync.setter
    def lipsync(self, lipsync: LipSync | None) -> None:
        """The face dock's lip-sync listens to what the microphone sends (after muting)."""
        self._lipsync = lipsync
        if self.source is not None:
            self.source.lipsync = lipsync

    def set_muted(self, muted: bool) -> None:
        """Mute the microphone (its level meter and lip-sync go quiet) and everything the headset sends
        after it, the latency chirps included, so a muted headset sends nothing and its report says so."""
        self.muted = muted
        if self.source is not None:
            self.source.muted = muted
        self._mute_voice()

    def _mute_voice(self) -> None:
        if self.headset is not None:
            with contextlib.suppress(LookupError):  # no voice is sent (listening only, --audio none)
                self.headset.set_muted(self.muted)

    # --- joining and leaving ----------------------------------------------------------------------

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        """Run a coroutine this session owns (stop() cancels it). Its expected errors go to the `error`
        signal; an unexpected exception to the loop's exception handler."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        task.set_name(f"app-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        """An exception no one caught goes to the loop's handler now (the app's error dialog), not
        when the task happens to be garbage-collected."""
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        task.get_loop().call_exception_handler(
            {"message": f"{task.get_name()} failed", "exception": task.exception(), "task": task}
        )

    async def join(self, config: HeadsetConfig, source: AudioSource | None = None) -> bool:
        """Join a room as `config` says; False (and an `error` signal) when that fails."""
        if self.headset is not None:
            await self.leave()
        try:
            profile = load_profile(config.profile)
        except Exception as error:  # ModelError: the profile name is wrong
            self.error.emit(str(error))
            return False
        self.profile = profile
        self.source = MutableSource(source) if source is not None else None
        if self.source is not None:
            self.source.muted = self.muted
            self.source.lipsync = self._lipsync
        self._set_state(SessionState.JOINING)
        try:
            headset = Headset(config, drivers=self.driver, source=self.source)
        except HeadsetError as error:
            self._set_state(SessionState.DISCONNECTED)
            self.error.emit(str(error))
            return False
        headset.face_override = self._face_override
        # The controller's hands: relaxed (or what the config says) until a key raises one.
        self.controller.hands.base = config.hands
        headset.hands_driver = self.controller.hands
        try:
            await headset.start()
        except HeadsetError as error:
            with contextlib.suppress(Exception):
                await headset.stop()  # a half-started headset still owns its encoder task
            if self.source is not None:
                self.source.close()
                self.source = None
            self._set_state(SessionState.DISCONNECTED)
            self.error.emit(str(error))
            return False
        except BaseException:
            with contextlib.suppress(Exception):
                await headset.stop()
            self._set_state(SessionState.DISCONNECTED)
            raise
        self.headset = headset
        self._mute_voice()
        self.tools.started(headset)
        headset.subscribe(VoiceLevel, self._on_level)
        headset.subscribe(StatsSampled, self.stats_sampled.emit)
        self._watch = asyncio.ensure_future(self._watch_closed(headset))
        self._set_state(SessionState.CONNECTED)
        return True

    async def _watch_closed(self, headset: Headset) -> None:
        await headset.closed.wait()
        if self.headset is headset and self.state == SessionState.CONNECTED:
            reason = headset.close_reason or "closed"
            await self._stop_headset()
            self._set_state(SessionState.DISCONNECTED)
            if reason != CloseReason.LEFT:
                self.error.emit(f"the room closed the session: {reason}")

    async def leave(self) -> None:
        if self.headset is None:
            return
        self._set_state(SessionState.LEAVING)
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        await self._stop_headset()
        self._set_state(SessionState.DISCONNECTED)

    async def _stop_headset(self) -> None:
        headset, self.headset = self.headset, None
        self.levels.clear()
        self.sent_level = 0.0
        if headset is not None:
            await self.tools.stopping(headset)
            await headset.stop()
        self.source = None  # the headset's voice closed it

    async def stop(self) -> None:
        """Leave and end every task this session started: nothing of it runs afterwards."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.leave()
        await self.tools.stop()

    # --- what the headset hears -------------------------------------------------------------------

    def _on_level(self, event: VoiceLevel) -> None:
        if event.participant_id is None:
            self.sent_level = meter_level(event.dbfs)
        else:
            self.levels[event.participant_id] = meter_level(event.dbfs)
