"""The headset's ears and the room's mix, each on its own: where a voice ends up between two ears."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.audio.backends import SilentOutput, WavOutput
from emulator.audio.renderer import BinauralRenderer
from emulator.audio.source import FRAME_SAMPLES, SAMPLE_RATE
from emulator.headset.ears import Ears
from emulator.headset.voice import BLOCK_SAMPLES as BLOCK
from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.room_state import RemoteParticipant, RoomState
from emulator.net.media.opus import OpusEncoder, OpusSettings, OpusSettingsError
from emulator.net.media.opus_decoder import OpusDecoder
from emulator.net.media.playout import PlayoutBuffer
from emulator.room.mix import MIX_OPUS, BinauralMix
from emulator.wire import State
from emulator.wire.signaling import MIX_OWNER

TONE_HZ = 3000.0


def tone_blocks(count: int, size: int = FRAME_SAMPLES) -> list[np.ndarray]:
    t = np.arange(count * size) / SAMPLE_RATE
    signal = (0.3 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)
    return [signal[i * size : (i + 1) * size] for i in range(count)]


def balance_db(stereo: np.ndarray) -> float:
    power = np.mean(stereo.astype(np.float64) ** 2, axis=0)
    return float(10 * np.log10(power[0] / power[1]))


def room_with(speaker_at: Vec3 | None) -> RoomState:
    state = RoomState()
    state.add(
        RemoteParticipant("alice", 1, "Alice", "visionpro", pose=Pose(speaker_at) if speaker_at else None)
    )
    return state


def make_ears(state: RoomState, listener: Pose, mode: str = "forward", **kw: object) -> Ears:
    kw.setdefault("output", SilentOutput())
    return Ears(lambda: listener, state, lambda: mode, kw.pop("renderer", BinauralRenderer()), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("yaw", "louder"), [(0.0, "left"), (180.0, "right")])
def test_ears_place_a_voice_by_both_poses(yaw: float, louder: str, tmp_path: Path) -> None:
    recorder = WavOutput(tmp_path / "binaural.wav")
    ears = make_ears(room_with(Vec3(-2, 0, 0)), Pose(Vec3(), Quat.from_yaw_degrees(yaw)), recorder=recorder)
    heard = [ears.render({"alice": block}) for block in tone_blocks(50, BLOCK)]
    for block in tone_blocks(50, BLOCK):
        ears.hear({"alice": block})
    ears.close()
    balance = balance_db(np.concatenate(heard[10:]))
    assert (balance if louder == "left" else -balance) >= 6
    assert recorder.frames_written == 50 * BLOCK and ears.blocks_heard == 50


def test_without_a_pose_a_voice_is_straight_ahead_and_a_gone_voice_leaves_the_renderer() -> None:
    ears = make_ears(room_with(None), Pose())
    heard = np.concatenate([ears.render({"alice": b}) for b in tone_blocks(20, BLOCK)][6:])
    assert abs(balance_db(heard)) < 1.5
    assert ears.renderer is not None and ears.renderer.sources == ("alice",)
    ears.render({})
    assert ears.renderer.sources == ()


class Recorded(SilentOutput):
    def __init__(self) -> None:
        super().__init__("recorded")
        self.frames: list[np.ndarray] = []

    def write(self, frames: np.ndarray) -> int:
        self.frames.append(frames)
        return super().write(frames)


def test_hrtf_off_sums_voices_to_both_ears_and_the_binaural_mode_plays_the_mix_as_is() -> None:
    off = make_ears(room_with(Vec3(-2, 0, 0)), Pose(), renderer=None)
    block = tone_blocks(1, BLOCK)[0]
    assert np.allclose(off.render({"alice": block, "bob": block}), np.stack([2 * block] * 2, axis=1))
    mixed = make_ears(room_with(Vec3(-2, 0, 0)), Pose(), mode="binaural")
    stereo = np.random.default_rng(1).normal(0, 0.1, (BLOCK, 2)).astype(np.float32)
    played = Recorded()
    mixed.output = played
    mixed.hear({MIX_OWNER: stereo})
    mixed.hear({})  # the mix has not arrived yet: silence keeps the timeline
    assert played.frames[0] is stereo and not played.frames[1].any()


def test_a_late_sound_card_drops_blocks_instead_of_queueing_them() -> None:
    class Slow(SilentOutput):
        def queued_frames(self) -> int:
            return SAMPLE_RATE  # a second behind

    ears = make_ears(room_with(Vec3(-2, 0, 0)), Pose(), output=Slow())
    ears.hear({"alice": tone_blocks(1, BLOCK)[0]})
    assert ears.blocks_dropped == 1


def test_stereo_opus_keeps_the_balance_and_the_playout_returns_stereo_blocks() -> None:
    with pytest.raises(OpusSettingsError):
        OpusSettings(channels=3)
    encoder = OpusEncoder(MIX_OPUS)
    decoder = OpusDecoder(channels=2)
    buffer = PlayoutBuffer(channels=2)
    left_heavy = [np.stack([b, b * 0.25], axis=1) for b in tone_blocks(30)]
    decoded = []
    for i, frame in enumerate(left_heavy):
        payload = encoder.encode(frame)
        decoded.append(decoder.decode(payload))
        buffer.push(i, i * FRAME_SAMPLES, payload, i * 0.02)
    pulled = [buffer.pull(480, 0.6 + i * 0.01) for i in range(20)]
    assert all(p.shape == (480, 2) for p in pulled)
    assert abs(balance_db(np.concatenate(decoded[5:])) - 20 * math.log10(4)) < 1.0
    assert balance_db(np.concatenate(pulled[4:])) > 10
    assert buffer.pull(FRAME_SAMPLES, 5.0).shape == (FRAME_SAMPLES, 2)  # concealment and silence too


def test_the_room_mixes_each_listener_at_its_own_pose() -> None:
    mix = BinauralMix("test", clock=lambda: 0.0)
    speaker = PlayoutBuffer()
    mix.speakers["speaker"] = speaker
    mix.add_listener("facing-north")
    mix.add_listener("facing-south")
    encoder = OpusEncoder(OpusSettings())
    poses = {
        "speaker": Pose(Vec3(-2, 1.6, 0)),
        "facing-north": Pose(Vec3(0, 1.6, 0)),
        "facing-south": Pose(Vec3(0, 1.6, 0), Quat.from_yaw_degrees(180)),
    }
    for conn, pose in poses.items():
        mix.on_state(conn, bytes(State(seq=1, sender=0, timestamp=0, pose=pose)))
    heard: dict[str, list[np.ndarray]] = {"facing-north": [], "facing-south": []}
    for i, block in enumerate(tone_blocks(30)):
        speaker.push(i, i * FRAME_SAMPLES, encoder.encode(block), i * 0.02)
        for conn, stereo in mix.mix_once(i * 0.02 + 0.01).items():
            heard[conn].append(stereo)
    assert balance_db(np.concatenate(heard["facing-north"][5:])) >= 6
    assert balance_db(np.concatenate(heard["facing-south"][5:])) <= -6
    assert [m.frames for m in mix.listeners.values()] == [30, 30]  # one frame per tick each


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_the_mix_counts_hostile_state_bytes_and_never_raises(data: bytes) -> None:
    mix = BinauralMix("fuzz")
    mix.on_state("someone", data)
    pose = mix.poses.get("someone")
    assert pose is None or pose.position.is_finite()


def test_input_selects_the_microphone_device_for_audio_mic() -> None:
    from emulator.audio.factory import AudioSpec
    from emulator.headset.config import HeadsetConfig

    def config(audio: str, device: str | None) -> HeadsetConfig:
        return HeadsetConfig("ws://127.0.0.1:1/ws", "lobby", "n", audio=AudioSpec.parse(audio), input=device)

    assert config("mic", "usb").audio_spec.text == "mic:usb"
    assert config("mic", None).audio_spec.text == "mic"
    assert config("tone:440", "usb").audio_spec.text == "tone:440"


def test_join_refuses_input_without_the_microphone(capsys: pytest.CaptureFixture[str]) -> None:
    from emulator.cli import main

    assert main(["join", "ws://127.0.0.1:1/ws", "--input", "usb"]) != 0
    assert "--input picks the microphone for --audio mic" in capsys.readouterr().err
