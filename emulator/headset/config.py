"""What one emulated headset is told to be and do; shared by `join`, `swarm`, the app and the demo."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from emulator.audio.devices import OutputSpec
from emulator.audio.factory import TONE_440, AudioSpec
from emulator.audio.hrtf import HrtfSpec
from emulator.drive.faces import NEUTRAL, FaceSpec
from emulator.drive.hands import HandsDriver, Relaxed
from emulator.drive.motions import STILL, MotionSpec
from emulator.model.pose import Pose
from emulator.net.transport.ice_servers import IceOptions

MAX_STATES_PER_PACKET = 8  # more would hold the first pose of a datagram back by most of 0.1 s


@dataclass
class HeadsetConfig:
    url: str
    room: str
    name: str
    token: str | None = None  # None: mint one locally (rooms on this machine only)
    identity: str | None = None  # defaults to the name
    profile: str = "visionpro"
    avatar: str = "default"
    placement: Pose = field(default_factory=Pose)
    motion: MotionSpec = STILL  # specs are parsed at the edge (`MotionSpec.parse`); files open at start
    face: FaceSpec = NEUTRAL
    hands: HandsDriver = field(default_factory=Relaxed)  # `hands_from_spec` parses a hands spec
    audio: AudioSpec = TONE_440  # `AudioSpec.parse`; NO_AUDIO sends no voice
    opus_bitrate: int = 32_000
    opus_frame_ms: int = 20  # 10 or 20 (docs/latency.md)
    states_per_packet: int = 2  # STATEs per datagram: 90 Hz pose in 45 datagrams a second (PROTOCOL.md)
    record_dir: Path | None = None
    hrtf: HrtfSpec | None = None  # None: bundled KEMAR (the app: its dock's choice); `off`: none at all
    hrtf_mirror: bool = False  # swap the HRTF's ears (a SOFA file with left and right exchanged)
    output: OutputSpec | None = None  # None: no playback; the default card, a device, or wav:FILE
    marker_period_s: float = 2.0  # mouth-to-ear markers; 0 turns them off
    detect_markers: bool = True  # listen for others' markers (a swarm has one member do it)
    secret: str | None = None  # for minting a local token
    light_receive: bool = False  # count and time others' STATEs without decoding them (swarms)
    input: str | None = None  # the microphone device audio `mic` uses (None: the default one)
    remote_lipsync: bool = True  # estimate the mouths of remote voices that send no face or visemes

    @property
    def audio_spec(self) -> AudioSpec:
        """The source to open: audio `mic` with an `input` device is that device's microphone."""
        if self.audio.kind == "mic" and not self.audio.arg and self.input:
            return AudioSpec.parse(f"mic:{self.input}")
        return self.audio

    connect_timeout_s: float = 15.0
    ice: IceOptions = field(default_factory=IceOptions)  # STUN/TURN servers and the relay-only policy

    @property
    def participant_identity(self) -> str:
        return self.identity or self.name
