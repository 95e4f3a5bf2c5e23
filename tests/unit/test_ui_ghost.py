"""The app's ghost participant and the ears' placed voices, without a window or a room."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from emulator.audio.hrtf import HrtfSpec, load_hrtf
from emulator.audio.renderer import MAX_BLOCK, BinauralRenderer
from emulator.headset.ears import Ears
from emulator.headset.recording.sessionfile import RecordingError, RecordingWriter
from emulator.model.pose import Pose, Vec3
from emulator.model.profiles import load_profile
from emulator.model.room_state import RoomState
from emulator.net.transport.condition_spec import PRESETS
from emulator.ui.ghost import Ghost, recorded_names
from emulator.ui.session_tools import SessionTools
from emulator.wire.signaling import MIX_OWNER
from tests.unit.test_qa_units import dominant_hz, recorded_walk


def opened(path: Path, loop: bool) -> Ghost:
    recorded_walk(path)
    recording, names = recorded_names(path)
    assert names == ["alpha"]
    return Ghost.open(recording, "alpha", loop=loop)


def test_a_ghost_repeats_the_recorded_walk_on_its_own_clock(tmp_path: Path) -> None:
    ghost = opened(tmp_path / "walk.hemurec", loop=False)
    assert ghost.label == "ghost: alpha" and ghost.id.startswith("ghost:")
    pose, face = ghost.sample(ghost.t0 + 1.0)
    assert pose.position.z == pytest.approx(-1.0, abs=0.01)
    assert face["jawOpen"] == pytest.approx(0.5, abs=0.01)
    assert ghost.sample(ghost.t0 + 60.0)[0].position.z == pytest.approx(-2.0, abs=0.01)  # stops at the end
    assert not ghost.finished
    ghost.t0 -= 5.0
    assert ghost.finished


def test_a_looping_ghost_starts_over(tmp_path: Path) -> None:
    ghost = opened(tmp_path / "walk.hemurec", loop=True)
    at = ghost.sample(ghost.t0 + ghost.duration + 0.5)[0].position.z
    assert at == pytest.approx(-0.5, abs=0.03)
    ghost.t0 -= 60.0
    assert not ghost.finished


def test_a_ghosts_voice_joins_where_its_motion_is(tmp_path: Path) -> None:
    """Ears that start listening late hear the voice from the ghost's present, not its beginning."""
    ghost = opened(tmp_path / "walk.hemurec", loop=False)
    ghost.t0 = time.monotonic() - 1.5
    heard = ghost.read(48_000)  # the last 0.5 s of the 2 s recording, then silence
    assert abs(dominant_hz(heard[:19_200]) - 440) < 5
    assert np.abs(heard[30_000:]).max() == 0
    assert ghost.position().z == pytest.approx(-1.5, abs=0.05)


def test_an_empty_recording_offers_no_ghost(tmp_path: Path) -> None:
    path = tmp_path / "empty.hemurec"
    writer = RecordingWriter(path, {})
    writer.declare("state", "q", "quiet")
    writer.close()
    with pytest.raises(RecordingError, match="nobody"):
        recorded_names(path)
    with pytest.raises(RecordingError):
        recorded_names(tmp_path / "missing.hemurec")


class Tone:
    def __init__(self, at: Vec3) -> None:
        self.at = at
        self.n = 0

    def read(self, frames: int) -> np.ndarray:
        t = (self.n + np.arange(frames)) / 48_000
        self.n += frames
        return (0.3 * np.sin(2 * np.pi * 500 * t)).astype(np.float32)

    def position(self) -> Vec3:
        return self.at


class Collect:
    name = "collect"

    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []

    def write(self, block: np.ndarray) -> int:
        self.blocks.append(block.copy())
        return len(block)

    def queued_frames(self) -> int:
        return 0

    def close(self) -> None:
        pass


def ears_hearing(mode: str, hrtf: bool, room_mix: np.ndarray | None = None) -> np.ndarray:
    renderer = (
        BinauralRenderer.for_profile(load_profile("visionpro"), load_hrtf(None), MAX_BLOCK) if hrtf else None
    )
    out = Collect()
    ears = Ears(lambda: Pose(Vec3(0.0, 1.6, 0.0)), RoomState(), lambda: mode, renderer, out)
    ears.placed["ghost:a"] = Tone(Vec3(-1.5, 1.6, -0.5))  # on the listener's left
    for _ in range(60):
        ears.hear({} if room_mix is None else {MIX_OWNER: room_mix})
    return np.concatenate(out.blocks)[4800:]


def test_a_placed_voice_is_spatialized_from_where_it_stands() -> None:
    stereo = ears_hearing("forward", hrtf=True)
    left, right = np.sqrt(np.mean(stereo**2, axis=0))
    assert left > 1.5 * right > 0
    flat = ears_hearing("forward", hrtf=False)
    assert np.array_equal(flat[:, 0], flat[:, 1]) and np.abs(flat).max() > 0.25


def test_a_placed_voice_is_added_to_a_binaural_rooms_mix() -> None:
    mix = np.full((480, 2), 0.1, dtype=np.float32)
    stereo = ears_hearing("binaural", hrtf=True, room_mix=mix)
    alone = ears_hearing("binaural", hrtf=True, room_mix=np.zeros((480, 2), dtype=np.float32))
    np.testing.assert_allclose(stereo, alone + 0.1, atol=1e-6)
    left, right = np.sqrt(np.mean(alone**2, axis=0))
    assert left > 1.5 * right > 0


def test_session_tools_before_joining() -> None:
    tools = SessionTools()
    with pytest.raises(ValueError, match="join"):
        tools.start_recording(Path("never.hemurec"))
    assert tools.stop_recording() is None and not tools.recording
    tools.set_conditions(PRESETS["lossy"])  # remembered for the next join; nothing to impair yet
    assert tools.conditions.loss == pytest.approx(0.10) and tools.network is None
    tools.set_hrtf(HrtfSpec.parse("off"))  # no ears yet: nothing to change
