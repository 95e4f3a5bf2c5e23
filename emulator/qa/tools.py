"""What `join --record/--replay/--net/--control/--score` add around one headset, in one place.

`prepare` makes the headset (a replay gives it replay drivers and voice; remote control gives it a
switchable voice); `attach` hooks the recorder, the network conditioner and the control server onto
the started headset; `stop` undoes all of it. The join command and the tests use this the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from emulator.audio.factory import NO_AUDIO, AudioSpec
from emulator.audio.source import AudioSource
from emulator.audio.switch import SwitchableSource
from emulator.audio.wavfile import SourceError, load_wav_mono_48k
from emulator.drive.faces import NEUTRAL
from emulator.drive.motions import STILL
from emulator.headset import Headset, HeadsetConfig
from emulator.headset.events import BlocksHeard
from emulator.headset.recording.recorder import SessionRecorder
from emulator.headset.recording.replay import (
    ReplayAudioSource,
    ReplayHands,
    Timeline,
    load_replay,
    replay_drivers,
)
from emulator.headset.recording.sessionfile import RecordingError, read_recording
from emulator.model.errors import ModelError
from emulator.net.prometheus import parse_listen
from emulator.net.transport.condition_spec import NetConditions
from emulator.net.transport.conditions import NetworkConditioner
from emulator.qa.control import ControlServer
from emulator.qa.scores import SCORE_MODES, ReceivedAudio, add_cheap_scores, add_full_scores

log = logging.getLogger(__name__)


# A label, not a source to open: the replay's own source is handed to the headset.
REPLAYED = AudioSpec("replay", "replay")


class ToolError(Exception):
    """A recording, replay, network, control or scoring tool could not be set up; names the value
    (the command line puts its option in front of what it checks itself: `emulator/cli/qa_options.py`)."""


@dataclass
class JoinTools:
    record: Path | None = None
    replay: Path | None = None
    replay_as: str | None = None
    speed: float = 1.0
    loop: bool = False
    net: NetConditions | None = None
    net_seed: int = 0
    control: str | None = None
    control_token: str | None = None  # None: one is generated and printed
    control_dir: Path | None = None  # where /audio and /motion may open files; None: nowhere
    name_given: bool = True  # False: a replay takes the recorded participant's name
    score: str = "cheap"  # off | cheap | full (emulator/qa/scores.py)
    reference: Path | None = None  # what the far end plays, for `full`
    received: ReceivedAudio | None = None
    _reference_pcm: Any = field(default=None, repr=False)
    recorder: SessionRecorder | None = None
    network: NetworkConditioner | None = None
    control_server: ControlServer | None = None
    voice: SwitchableSource | None = None
    _replay_parts: Any = field(default=None, repr=False)

    def prepare(self, config: HeadsetConfig) -> Headset:
        """The headset to start, with what these options change about it."""
        if self.control_dir is not None and not self.control_dir.is_dir():
            raise ToolError(f"control files: {str(self.control_dir)!r} is not a directory")
        if self.score not in SCORE_MODES:
            raise ToolError(f"unknown score mode {self.score!r}; choose one of {', '.join(SCORE_MODES)}")
        if self.reference is not None:
            if self.score != "full":
                raise ToolError(f"reference {self.reference}: scored only in score mode full")
            try:
                self._reference_pcm = load_wav_mono_48k(self.reference)
            except (SourceError, OSError) as error:
                raise ToolError(f"reference {self.reference}: {error}") from None
        if self.net is not None:
            self.network = NetworkConditioner(self.net, self.net_seed)
        source: AudioSource | None = None
        drivers = None
        if self.replay is not None:
            if not self.replay_as:
                raise ToolError(f"replay {self.replay}: whom to repeat is not given")
            if not self.speed > 0 or self.speed > 16:
                raise ToolError(f"replay speed {self.speed:g}: must be above 0 and at most 16")
            try:
                material = load_replay(read_recording(self.replay), self.replay_as)
            except RecordingError as error:
                raise ToolError(str(error)) from None
            timeline = Timeline(material.duration, self.speed, self.loop)
            who = material.participant
            config = replace(
                config,
                name=config.name if self.name_given else who.name,
                identity=config.identity if self.name_given else None,
                profile=who.profile or config.profile,
                avatar=who.avatar or config.avatar,
                audio=REPLAYED if len(material.pcm) else NO_AUDIO,
                motion=STILL,  # the replay drivers replace these once the headset exists
                face=NEUTRAL,
                hands=ReplayHands(material, timeline),
                marker_period_s=0.0,  # the recorded voice carries the original's markers already
            )
            if len(material.pcm):
                source = ReplayAudioSource(material, timeline)
            drivers = replay_drivers(material, timeline, config.placement)
        elif self.control is not None and not config.audio.is_none:
            try:
                source = config.audio_spec.open()
            except (SourceError, ModelError, OSError) as error:
                raise ToolError(f"audio {config.audio}: {error}") from None
        if self.control is not None and source is not None:
            source = self.voice = SwitchableSource(source)
        headset = Headset(config, source=source)
        if drivers is not None:
            headset.drivers = drivers
        return headset

    async def attach(self, headset: Headset) -> list[str]:
        """Hook the tools onto the started headset; returns one line per tool for the user."""
        notes: list[str] = []
        if self.record is not None:
            try:
                self.recorder = SessionRecorder(headset, self.record)
            except RecordingError as error:
                raise ToolError(str(error)) from None
            notes.append(f"recording to {self.record}")
        if self.replay is not None and self.speed != 1.0:
            # The replayed voice is played faster or slower as it is, not time-stretched.
            notes.append(
                f"replaying at {self.speed:g}x: the voice's pitch changes with the speed "
                f"(×{self.speed:g}: 440 Hz sounds at {440 * self.speed:.0f} Hz); --speed 1 keeps it"
            )
        pc = headset.view.peer_connection() if self.network is not None else None
        if self.network is not None and pc is not None:
            self.network.attach(pc)
            notes.append(f"network {self.network.conditions.describe()}")
        if self._reference_pcm is not None:
            self.received = ReceivedAudio()
            received = self.received
            headset.subscribe(BlocksHeard, lambda event: received(event.blocks))
            notes.append(f"scoring what is heard against {self.reference}")
        if self.control is not None:
            try:
                host, port = parse_listen(self.control, 0)
            except ValueError as error:
                raise ToolError(f"control address: {error}") from None
            self.control_server = ControlServer(
                headset,
                self.voice,
                self.network,
                host,
                port,
                token=self.control_token,
                files=self.control_dir,
            )
            try:
                await self.control_server.start()
            except OSError as error:
                self.control_server = None
                raise ToolError(f"control API: cannot listen on {host}:{port}: {error.strerror}") from None
            notes.append(f"control API on {self.control_server.url} (token {self.control_server.token})")
        return notes

    def report(self) -> dict[str, Any]:
        return {"network": self.network.report()} if self.network is not None else {}

    async def add_scores(self, report: dict[str, Any]) -> None:
        """Put each remote voice's scores in `report` (after leaving: full scores take seconds)."""
        if self.score == "off":
            return
        add_cheap_scores(report)
        if self.received is not None and self._reference_pcm is not None:
            await add_full_scores(report, self.received, self._reference_pcm)

    async def stop(self) -> None:
        if self.control_server is not None:
            await self.control_server.stop()
            self.control_server = None
        if self.recorder is not None:
            self.recorder.close()
        if self.network is not None:
            await self.network.stop()
