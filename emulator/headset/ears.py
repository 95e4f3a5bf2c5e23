"""The headset's ears: every remote voice placed where its speaker stands, to two ears and a speaker.

`Voice` pulls one block (10 ms) per remote voice every block and calls `Ears.hear` with them. What the
ears do depends on the room's mode (`welcome.mode`):
- forward (client-side spatialization): each voice goes through the `BinauralRenderer` at the
  speaker's latest position (`RoomState`, from the state stream) as heard from this headset's current
  pose;
- binaural (the room mixed for us): the one stereo stream the room sends (owner "") is played as it
  is, never spatialized a second time.
The stereo result goes to the output backend (`--output`; none by default) and, with `--record-dir`,
to `binaural.wav` beside the per-remote recordings. Writing to a sound card only copies into its ring
buffer (`PortAudioOutput.write`), so the loop never waits for the card; if the card falls far behind,
blocks are dropped and counted rather than queued. `--hrtf off` sums the voices to both ears.
`placed` holds voices that are not in the room but stand somewhere in it (the app's ghost
participant): each is read every tick and spatialized from its own position, in either mode.

Everything here runs on the asyncio loop's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from emulator.audio.backends import AudioOutput, WavOutput
from emulator.audio.devices import DeviceError
from emulator.audio.geometry import unplaced_position
from emulator.audio.hrtf import HrtfError, HrtfSpec, load_hrtf
from emulator.audio.portaudio import PortAudioOutput
from emulator.audio.renderer import MAX_BLOCK, BinauralRenderer
from emulator.audio.source import SAMPLE_RATE
from emulator.headset.config import HeadsetConfig
from emulator.headset.voice import BLOCK_SAMPLES
from emulator.model.pose import Pose, Vec3
from emulator.model.profiles import DeviceProfile
from emulator.wire.signaling import MIX_OWNER, RoomMode

if TYPE_CHECKING:
    from emulator.model.room_state import RoomState

log = logging.getLogger(__name__)

BINAURAL_WAV = "binaural.wav"
# A sound card starts with this much silence queued, so the loop's 20 ms ticks can jitter without
# the card running dry; more than MAX_QUEUED_S queued (the card's clock is slower than ours, or the
# loop burst after a stall) drops blocks until it is back in range.
PREFILL_S = 0.04
MAX_QUEUED_S = 0.15

Stereo = npt.NDArray[np.float32]


class PlacedVoice(Protocol):
    """A voice that is not a room participant: its sound and where it stands (loop thread)."""

    def read(self, frames: int) -> npt.NDArray[np.float32]: ...

    def position(self) -> Vec3: ...


class EarsError(Exception):
    """The HRTF file or the output device cannot be used; says which and why."""


class Ears:
    """Turns the remote voices of one tick (`block` samples) into one stereo block and sends it on."""

    def __init__(
        self,
        listener_pose: Callable[[], Pose],
        room_state: RoomState,
        mode: Callable[[], RoomMode],
        renderer: BinauralRenderer | None,
        output: AudioOutput | None = None,
        recorder: WavOutput | None = None,
        block: int = BLOCK_SAMPLES,
    ) -> None:
        """`renderer` None: no spatialization (`--hrtf off`); `output`/`recorder` None: not wanted."""
        self._listener_pose = listener_pose
        self._room_state = room_state
        self._mode = mode
        if renderer is not None and block % renderer.block:
            raise ValueError(f"ears take blocks of whole renderer blocks ({renderer.block}), not {block}")
        self.renderer = renderer
        self.block = block
        self.output = output
        self.recorder = recorder
        self._prefill = isinstance(output, PortAudioOutput)
        self.blocks_heard = 0
        self.blocks_dropped = 0  # not played: the output was already far ahead
        self.frames_refused = 0  # the output's ring was full
        self.placed: dict[str, PlacedVoice] = {}

    def hear(self, blocks: Mapping[str, npt.NDArray[np.float32]]) -> None:
        """Voice's listener: {participant id (or "" for the room's mix): one block}."""
        # Placed voices are read even when nobody listens, so they keep their own timing.
        extra = {pid: voice.read(self.block) for pid, voice in list(self.placed.items())}
        if self.output is None and self.recorder is None:
            return  # nobody listens (a swarm member): rendering would only cost CPU
        where = {pid: voice.position() for pid, voice in self.placed.items() if pid in extra}
        if self._mode() == RoomMode.BINAURAL:
            mix = blocks.get(MIX_OWNER)
            stereo = mix if mix is not None and mix.shape == (self.block, 2) else self._silence()
            if extra:
                stereo = stereo + self.render(extra, where)
        else:
            stereo = self.render({**blocks, **extra} if extra else blocks, where)
        self.blocks_heard += 1
        if self.recorder is not None:
            self.recorder.write(stereo)
        if self.output is not None:
            self._play(self.output, stereo)

    def render(
        self, blocks: Mapping[str, npt.NDArray[np.float32]], placed: Mapping[str, Vec3] | None = None
    ) -> Stereo:
        """Client-side spatialization of mono voices for the listener's pose now (`placed`: positions
        of voices that are not in the room state)."""
        voices = {pid: b for pid, b in blocks.items() if pid != MIX_OWNER and b.shape == (self.block,)}
        if self.renderer is None:
            total = np.sum(list(voices.values()), axis=0) if voices else np.zeros(self.block)
            return np.repeat(np.asarray(total, dtype=np.float32)[:, None], 2, axis=1)
        renderer = self.renderer
        listener = self._listener_pose()
        renderer.set_listener(listener)
        for pid in voices:
            at = placed.get(pid) if placed else None
            renderer.set_source(pid, at if at is not None else self._position_of(pid, listener))
        for gone in [sid for sid in renderer.sources if sid not in voices]:
            renderer.remove_source(gone)
        step = renderer.block
        parts = [
            renderer.render({pid: b[start : start + step] for pid, b in voices.items()})
            for start in range(0, self.block, step)
        ]
        return np.concatenate(parts)

    def _position_of(self, participant_id: str, listener: Pose) -> Vec3:
        participant = self._room_state.by_id(participant_id)
        pose = participant.pose if participant is not None else None
        if pose is None or not pose.position.is_finite():
            return unplaced_position(listener)  # its first STATE is still on the way
        return pose.position

    def _play(self, output: AudioOutput, stereo: Stereo) -> None:
        if self._prefill:
            self._prefill = False
            output.write(np.zeros((int(PREFILL_S * SAMPLE_RATE), 2), dtype=np.float32))
        if output.queued_frames() > MAX_QUEUED_S * SAMPLE_RATE:
            self.blocks_dropped += 1
            return
        self.frames_refused += len(stereo) - output.write(stereo)

    def _silence(self) -> Stereo:
        return np.zeros((self.block, 2), dtype=np.float32)

    def report(self) -> dict[str, Any]:
        return {
            "mode": self._mode(),
            "hrtf": self.renderer.hrtf.name if self.renderer is not None else "off",
            "output": self.output.name if self.output is not None else None,
            "blocks_heard": self.blocks_heard,
            "blocks_dropped": self.blocks_dropped,
            "frames_refused": self.frames_refused,
            **(
                {"why": "nothing asked to hear (no output, no recording folder): nothing is rendered"}
                if self.output is None and self.recorder is None
                else {"output_why": "no output asked for: heard only into the recording folder"}
                if self.output is None
                else {}
            ),
        }

    def close(self) -> None:
        """Close the output and finish `binaural.wav`; safe to call twice."""
        for sink in (self.output, self.recorder):
            if sink is not None:
                sink.close()


def renderer_for(profile: DeviceProfile, spec: HrtfSpec | None, mirror: bool) -> BinauralRenderer | None:
    """The renderer for an HRTF `spec` (None: the bundled KEMAR; `off`: no renderer, voices are
    summed to both ears); HrtfError if the file cannot be used."""
    if spec is not None and spec.off:
        return None
    return BinauralRenderer.for_profile(profile, load_hrtf(spec, mirror=mirror), MAX_BLOCK)


def open_ears(
    config: HeadsetConfig,
    profile: DeviceProfile,
    pose: Callable[[], Pose],
    room_state: RoomState,
    mode: Callable[[], RoomMode],
) -> Ears:
    """The ears `config` asks for (`hrtf`, `output`, `record_dir`), following the listener's `pose`,
    the room and the room's `mode`; EarsError if it cannot."""
    try:
        renderer = renderer_for(profile, config.hrtf, config.hrtf_mirror)
    except HrtfError as error:
        raise EarsError(f"HRTF {config.hrtf or 'kemar'}: {error}") from None
    output = None
    if config.output is not None:
        try:
            output = config.output.open()
        except DeviceError as error:
            raise EarsError(f"output {config.output}: {error}") from None
    recorder = None
    if config.record_dir is not None:
        try:
            config.record_dir.mkdir(parents=True, exist_ok=True)
            recorder = WavOutput(Path(config.record_dir) / BINAURAL_WAV)
        except OSError as error:
            if output is not None:
                output.close()
            raise EarsError(f"cannot write the recording folder {config.record_dir}: {error}") from None
    return Ears(pose, room_state, mode, renderer, output, recorder)
