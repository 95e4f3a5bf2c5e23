"""The app's QA tools around its one headset: the session recorder, network conditions and ghosts.

They outlive a join: the chosen network conditions and the open ghosts carry over to the next
session, while a recording belongs to one session and is finalised when it ends (leave, the room
closing it, or the window closing), so the file is always whole. `AppSession` calls `started` right
after a headset joins and awaits `stopping` before it stops one. Everything runs on the GUI thread,
which is the loop's thread (qasync).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from emulator.audio.hrtf import HrtfSpec
from emulator.headset import Headset
from emulator.headset.recording.recorder import SessionRecorder
from emulator.net.transport.condition_spec import PRESETS, NetConditions
from emulator.net.transport.conditions import NetworkConditioner
from emulator.ui.ghost import Ghost

log = logging.getLogger(__name__)


class SessionTools:
    def __init__(self) -> None:
        self.headset: Headset | None = None
        self.recorder: SessionRecorder | None = None
        self.recording_started: float | None = None
        self.conditions: NetConditions = PRESETS["good"]
        self.network: NetworkConditioner | None = None
        self.ghosts: dict[str, Ghost] = {}
        self.last_recording: Path | None = None

    # --- the session's lifetime -------------------------------------------------------------------

    def started(self, headset: Headset) -> None:
        self.headset = headset
        if not self.conditions.clean:
            self._attach_network(headset)
        for ghost in self.ghosts.values():
            headset.place_voice(ghost.id, ghost)

    async def stopping(self, headset: Headset) -> None:
        """Finalise the recording and give the transports back before the headset stops."""
        if headset is not self.headset:
            return
        self.stop_recording()
        if self.network is not None:
            await self.network.stop()
            self.network = None
        for ghost_id in self.ghosts:
            headset.unplace_voice(ghost_id)
        self.headset = None

    # --- recording --------------------------------------------------------------------------------

    @property
    def recording(self) -> bool:
        return self.recorder is not None

    def recording_seconds(self) -> float:
        return 0.0 if self.recording_started is None else time.monotonic() - self.recording_started

    def start_recording(self, path: Path) -> None:
        """Record the joined session to `path`; ValueError when not joined, OSError when unwritable."""
        if self.headset is None:
            raise ValueError("join a room before recording")
        self.stop_recording()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.recorder = SessionRecorder(self.headset, path)
        self.recording_started = time.monotonic()
        log.info("recording to %s", path)

    def stop_recording(self) -> Path | None:
        """Close the file (safe when not recording); returns its path."""
        recorder, self.recorder = self.recorder, None
        self.recording_started = None
        if recorder is None:
            return None
        recorder.close()
        self.last_recording = recorder.path
        return recorder.path

    # --- what the ears use ------------------------------------------------------------------------

    def set_hrtf(self, spec: HrtfSpec | None, *, mirror: bool = False) -> None:
        """Spatialize with another HRTF from now on (None: the bundled KEMAR; "off": none, voices are
        summed to both ears; `mirror` swaps its ears). Takes effect at once when joined; HrtfError if
        the file cannot be used."""
        headset = self.headset
        if headset is None:
            return
        headset.use_hrtf(spec, mirror)

    # --- network conditions -----------------------------------------------------------------------

    def set_conditions(self, conditions: NetConditions) -> None:
        """Apply from now on, to this session (live) and to later ones."""
        self.conditions = conditions
        if self.network is not None:
            self.network.set(conditions)
        elif self.headset is not None and not conditions.clean:
            self._attach_network(self.headset)

    def _attach_network(self, headset: Headset) -> None:
        pc = headset.view.peer_connection()
        if pc is None:
            log.warning("network conditions: this session has no peer connection to impair")
            return
        self.network = NetworkConditioner(self.conditions)
        self.network.attach(pc)

    # --- ghosts -----------------------------------------------------------------------------------

    def add_ghost(self, ghost: Ghost) -> None:
        self.remove_ghost(ghost.id)
        self.ghosts[ghost.id] = ghost
        if self.headset is not None:
            self.headset.place_voice(ghost.id, ghost)

    def remove_ghost(self, ghost_id: str) -> None:
        self.ghosts.pop(ghost_id, None)
        if self.headset is not None:
            self.headset.unplace_voice(ghost_id)

    def remove_ghosts(self) -> None:
        for ghost_id in list(self.ghosts):
            self.remove_ghost(ghost_id)

    async def stop(self) -> None:
        if self.headset is not None:
            await self.stopping(self.headset)
        self.ghosts.clear()
