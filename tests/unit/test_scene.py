"""The scene: participants come and go, states interpolate, weights map onto each avatar's targets."""

from __future__ import annotations

import numpy as np

from emulator.model.face import ARKIT_COUNT, arkit_index
from emulator.model.hands import HandSide, hand_pose
from emulator.model.meta_face import MetaFace
from emulator.model.pose import Pose, Vec3
from emulator.render.avatar import Avatar
from emulator.render.scene import TINTS, Scene


def _avatar(names: tuple[str, ...] = ("jawOpen", "viseme_aa")) -> Avatar:
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    return Avatar(
        name="tri",
        positions=positions,
        normals=np.tile(np.array([0, 0, -1], np.float32), (3, 1)),
        colors=np.ones((3, 4), np.float32),
        indices=np.array([0, 1, 2], np.uint32),
        target_names=names,
        deltas=np.zeros((len(names), 3, 3), np.float32),
    )


def test_participants_come_and_go_with_their_own_tints() -> None:
    scene = Scene(delay_us=0)
    avatar = _avatar()
    scene.add("a", avatar, "Alice")
    scene.add("b", avatar)
    assert len(scene) == 2 and "a" in scene
    assert scene.participants()[0].tint != scene.participants()[1].tint
    assert scene.participants()[1].name == "b"
    assert scene.frame(0) == []  # nobody has a state yet: nothing to draw
    scene.update("a", Pose.at(0, 1.6, -2), time_us=0)
    scene.update("ghost", Pose.at(0, 1.6, -2), time_us=0)  # unknown: ignored
    assert [item.id for item in scene.frame(0)] == ["a"]
    scene.remove("a")
    scene.remove("a")
    assert scene.frame(0) == [] and len(scene) == 1
    assert scene.participants()[0].tint in TINTS


def test_frame_is_sampled_delay_in_the_past() -> None:
    scene = Scene(delay_us=100_000)
    scene.add("a", _avatar())
    scene.update("a", Pose(Vec3(0, 0, 0)), time_us=1_000_000)
    scene.update("a", Pose(Vec3(1, 0, 0)), time_us=1_100_000)
    (item,) = scene.frame(1_150_000)
    assert item.pose.position.x == 0.5
    assert item.model[0, 3] == 0.5


def test_face_and_visemes_become_target_weights_and_speaking_is_clamped() -> None:
    scene = Scene(delay_us=0)
    scene.add("a", _avatar())
    face = np.zeros(ARKIT_COUNT, np.float32)
    face[arkit_index("jawOpen")] = 0.4
    visemes = np.zeros(15, np.float32)
    visemes[10] = 0.9  # viseme_aa
    scene.update("a", Pose(), face, visemes, time_us=0)
    scene.set_speaking("a", 7.0)
    (item,) = scene.frame(0)
    np.testing.assert_allclose(item.weights, [0.4, 0.9])
    assert item.speaking == 1.0


def test_replacing_an_avatar_keeps_the_participant() -> None:
    scene = Scene(delay_us=0)
    scene.add("a", _avatar(), "Alice")
    scene.update("a", Pose(), time_us=0)
    other = _avatar(("jawOpen",))
    scene.add("a", other)
    (item,) = scene.frame(0)
    assert item.avatar is other and item.name == "Alice"


def test_a_quest_face_drives_arkit_targets_through_the_meta_mapping() -> None:
    scene = Scene(delay_us=0)
    scene.add("quest", _avatar(("jawOpen", "eyeBlinkLeft", "eyeLookInLeft")))
    meta = MetaFace()
    meta["JAW_DROP"] = 0.6
    meta["EYES_CLOSED_L"] = 1.0
    meta["EYES_LOOK_RIGHT_L"] = 0.5  # the left eye looking to the user's right: inward, towards the nose
    scene.update("quest", Pose(), meta, time_us=0)
    (item,) = scene.frame(0)
    np.testing.assert_allclose(item.weights, [0.6, 1.0, 0.5], atol=1e-6)


def test_hands_a_participant_stops_sending_leave_the_frame_once_the_delay_has_passed() -> None:
    # What the app does once the state link has dropped a sender's stale hands: its STATEs come on
    # without them, and the drawn participant goes back to relaxed hands (None here) a delay later.
    scene = Scene(delay_us=100_000)
    scene.add("a", _avatar())
    left = hand_pose(HandSide.LEFT, Pose.at(-0.2, 1.2, -0.3))
    right = hand_pose(HandSide.RIGHT, Pose.at(0.2, 1.2, -0.3))
    for k in range(25):  # 30 Hz for 800 ms: both hands until 300 ms, the right one until 500 ms
        t = k * 33_333
        scene.update("a", Pose.at(0, 1.6, -2), time_us=t, left_hand=left if t < 300_000 else None,
                     right_hand=right if t < 500_000 else None)  # fmt: skip
    (held,) = scene.frame(200_000)
    assert held.left_hand == left and held.right_hand == right
    (left_gone,) = scene.frame(450_000)
    assert left_gone.left_hand is None and left_gone.right_hand == right
    (none,) = scene.frame(700_000)
    assert none.left_hand is None and none.right_hand is None
