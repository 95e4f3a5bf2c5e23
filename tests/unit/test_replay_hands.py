"""A recording's hands come back in a replay (`join --replay`) and in the app's ghosts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emulator.drive.hands import hands_from_spec
from emulator.headset.recording.replay import ReplayHands, Timeline, load_replay
from emulator.headset.recording.sessionfile import RecordingWriter, read_recording
from emulator.model.hands import HandJoint
from emulator.model.pose import Pose
from emulator.ui.ghost import Ghost
from emulator.wire import State

HEAD = Pose.at(0.0, 1.6, -1.0)


def recorded_wave(path: Path, seconds: float = 2.0) -> None:
    """alpha stands still waving, 90 Hz poses with hands on every third STATE, the right hand only
    on every other of those (a receiver holds the left)."""
    wave = hands_from_spec("wave")
    writer = RecordingWriter(path, {"room": "r"})
    states = writer.declare("state", "a", "alpha", local=True, profile="visionpro")
    for i in range(int(seconds * 90) + 1):
        t = i / 90
        hands = wave.sample(t, HEAD) if i % 3 == 0 else None
        left = hands.left if hands is not None and i % 6 == 0 else None
        right = hands.right if hands is not None else None
        message = State(
            seq=i + 1, sender=0, timestamp=i * 11_111, pose=HEAD, left_hand=left, right_hand=right
        )
        writer.state(states, round(t * 1e6) + 100_000, bytes(message))
    writer.close()


def right_wrist_x(hands: object) -> float:
    right = hands.right  # type: ignore[attr-defined]
    assert right is not None
    return float(right.positions[HandJoint.WRIST][0])


def test_a_replay_moves_the_recorded_hands(tmp_path: Path) -> None:
    path = tmp_path / "wave.hemurec"
    recorded_wave(path)
    material = load_replay(read_recording(path), "alpha")
    assert len(material.hand_times) == 61
    replay = ReplayHands(material, Timeline(material.duration))
    wave = hands_from_spec("wave")
    xs = []
    for t in np.linspace(0.0, 1.2, 13):
        got, want = replay.sample(float(t), Pose()), wave.sample(float(t), HEAD)
        assert got.left is not None and want.right is not None and got.right is not None
        # Held from the last STATE with hands (a third of the pose rate), quantized by the wire.
        assert np.abs(got.right.positions - want.right.positions).max() < 0.03
        xs.append(right_wrist_x(got))
    assert max(xs) - min(xs) > 0.08, "the replayed hand waves"
    assert right_wrist_x(replay.sample(99.0, Pose())) == pytest.approx(
        right_wrist_x(wave.sample(2.0, HEAD)), abs=0.001
    )  # held at the end


def test_a_ghost_moves_its_hands(tmp_path: Path) -> None:
    path = tmp_path / "wave.hemurec"
    recorded_wave(path)
    ghost = Ghost.open(read_recording(path), "alpha", loop=True)
    xs = [right_wrist_x(ghost.sample_hands(ghost.t0 + t)) for t in np.linspace(0.0, 1.2, 13)]
    assert max(xs) - min(xs) > 0.08
    assert ghost.sample_hands(ghost.t0 + 0.5).left is not None
