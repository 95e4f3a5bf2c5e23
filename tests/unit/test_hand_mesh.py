"""Hand meshes, relaxed hands, hands carried through the scene, the labels' texture and fading (no GL)."""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np
import pytest

from emulator.model.hands import HandJoint, HandSide, hand_pose
from emulator.model.pose import Pose, Quat, Vec3
from emulator.render.avatar import Avatar
from emulator.render.avatar_gen import load_default_avatar
from emulator.render.hand_mesh import (
    HAND_TRIANGLES,
    HAND_VERTICES,
    frame_hands,
    hand_pose_geometry,
    hand_style,
    relaxed_hands,
)
from emulator.render.interp import State, StateBuffer
from emulator.render.overlay import MAX_ATLAS_ROWS, LabelAtlas, label_alpha
from emulator.render.scene import Scene


def _head_only() -> Avatar:
    """A bare ball the size of a head: no body to hang hands from."""
    theta, phi = np.meshgrid(np.linspace(0.1, 3.0, 8), np.linspace(0, 2 * math.pi, 12, endpoint=False))
    p = np.stack([np.sin(theta) * np.cos(phi), np.cos(theta), np.sin(theta) * np.sin(phi)], -1).reshape(-1, 3)
    n = len(p)
    return Avatar(
        name="ball",
        positions=(p * 0.1).astype(np.float32),
        normals=p.astype(np.float32),
        colors=np.ones((n, 4), np.float32),
        indices=np.array([0, 1, 2], np.uint32),
        target_names=(),
        deltas=np.zeros((0, n, 3), np.float32),
    )


def test_a_hand_mesh_is_wound_outward_and_follows_its_joints() -> None:
    for side in HandSide:
        hand = hand_pose(side, curl=0.4)
        mesh = hand_pose_geometry(hand)
        positions, normals = mesh[:, :3], mesh[:, 3:]
        assert mesh.shape == (HAND_VERTICES, 6)
        assert HAND_TRIANGLES.max() < HAND_VERTICES
        np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
        tri = positions[HAND_TRIANGLES]
        face = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        big = np.linalg.norm(face, axis=1) > 1e-9
        # Counter-clockwise seen from outside: each face normal agrees with its vertices' normals.
        agree = (face * normals[HAND_TRIANGLES].mean(axis=1)).sum(axis=1) > 0
        assert agree[big].mean() > 0.97, side
        # Every joint but the palm centre is inside the mesh's bounds, and the tips are reached.
        low, high = positions.min(axis=0) - 1e-3, positions.max(axis=0) + 1e-3
        assert ((hand.positions >= low) & (hand.positions <= high)).all()
        tip = hand.positions[HandJoint.MIDDLE_TIP]
        assert np.linalg.norm(positions - tip, axis=1).min() < 0.01


def test_a_curled_hand_is_smaller_than_an_open_one() -> None:
    open_p = hand_pose_geometry(hand_pose(HandSide.RIGHT, curl=0.0))[:, :3]
    fist_p = hand_pose_geometry(hand_pose(HandSide.RIGHT, curl=1.0))[:, :3]
    assert np.ptp(fist_p[:, 2]) < 0.75 * np.ptp(open_p[:, 2])


def test_relaxed_hands_hang_beside_the_bust_palms_in_and_turn_with_the_body_yaw_only() -> None:
    bust = load_default_avatar()
    style = hand_style(bust)
    assert style.rest is not None and style.skin[0] > style.skin[2], "hands take the face's skin tone"
    pose = Pose(Vec3(1.0, 1.6, -2.0))
    left, right = relaxed_hands(bust, pose) or (None, None)
    assert left is not None and right is not None
    for hand, sign in ((left, -1.0), (right, 1.0)):
        wrist = hand.positions[HandJoint.WRIST] - np.array([1.0, 1.6, -2.0])
        assert -0.6 < wrist[1] < -0.3, "below the shoulders"
        assert 0.15 < sign * wrist[0] < 0.35, "at its own side"
        tips = hand.positions[HandJoint.MIDDLE_TIP] - hand.positions[HandJoint.WRIST]
        assert tips[1] < -0.1, "fingers point down"
        assert sign * tips[0] < 0, "curled towards the body"
    nod = Pose(pose.position, Quat.from_euler(0.0, math.radians(30.0)))
    nodded = relaxed_hands(bust, nod)
    assert nodded is not None and nodded[0] == left, "a nod does not swing the hands"
    turned = relaxed_hands(bust, Pose(pose.position, Quat.from_euler(math.radians(90.0))))
    assert turned is not None
    # Turned to face -x (a quarter turn to its left), its own right hand is now on the -z side.
    assert turned[1].positions[HandJoint.WRIST][2] < -2.15
    assert relaxed_hands(_head_only(), pose) is None


def test_frame_hands_prefers_received_hands_and_skips_avatars_with_their_own() -> None:
    bust = load_default_avatar()
    scene = Scene(delay_us=0)
    scene.add("a", bust)
    scene.add("b", _head_only())
    scene.add("c", replace(bust, draws_own_hands=True))
    sent = hand_pose(HandSide.RIGHT, Pose(Vec3(0.3, 1.4, -1.0)))
    for pid in ("a", "b", "c"):
        scene.update(pid, Pose(Vec3(0.0, 1.6, -1.5)), time_us=0, right_hand=sent)
    items = scene.frame(0)
    meshes = [mesh for mesh, _, _ in frame_hands(items)]
    # a: a relaxed left and its received right hand; b: only the received hand; c: none (draws its own).
    assert len(meshes) == 3
    sent_mesh = hand_pose_geometry(sent)
    np.testing.assert_array_equal(meshes[1], sent_mesh)
    np.testing.assert_array_equal(meshes[2], sent_mesh)
    # The relaxed hand is the cached rest mesh moved by the body: the same as meshing the placed joints.
    relaxed = relaxed_hands(bust, items[0].pose)
    assert relaxed is not None
    np.testing.assert_allclose(meshes[0], hand_pose_geometry(relaxed[0]), atol=1e-5)


def test_hands_are_interpolated_between_states_like_the_pose() -> None:
    buffer = StateBuffer()
    a = hand_pose(HandSide.LEFT, Pose(Vec3(0.0, 1.0, 0.0)), curl=0.0)
    b = hand_pose(HandSide.LEFT, Pose(Vec3(0.1, 1.0, 0.0)), curl=0.0)
    buffer.push(State(0, Pose(Vec3(0.0, 1.6, 0.0)), left_hand=a))
    buffer.push(State(100, Pose(Vec3(0.0, 1.6, 0.0)), left_hand=b))
    middle = buffer.sample(50)
    assert middle is not None and middle.left_hand is not None and middle.right_hand is None
    np.testing.assert_allclose(middle.left_hand.positions[HandJoint.WRIST], [0.05, 1.0, 0.0], atol=1e-9)
    # A hand that appears between two states shows from halfway, as visemes and faces do.
    buffer.push(State(200, Pose(Vec3(0.0, 1.6, 0.0))))
    assert buffer.sample(140).left_hand == b and buffer.sample(160).left_hand is None  # type: ignore[union-attr]


def test_labels_fade_with_distance() -> None:
    assert label_alpha(1.0) == label_alpha(3.0) == 1.0
    assert 1.0 > label_alpha(5.0) > label_alpha(7.0) > label_alpha(8.0) == label_alpha(30.0) > 0.2


def test_the_label_texture_holds_every_name_once_and_stays_within_gl_limits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    atlas = LabelAtlas()
    assert atlas.update(["Bob", "José 李", "Bob"]) and not atlas.update(["José 李", "Bob"])
    assert set(atlas.placed) == {"Bob", "José 李"}
    bob, jose = atlas.placed["Bob"], atlas.placed["José 李"]
    assert bob.uv[3] <= jose.uv[1] or jose.uv[3] <= bob.uv[1], "names do not overlap in the texture"
    crowd = [f"participant {i}" for i in range(400)]
    with caplog.at_level(logging.WARNING, logger="emulator.render.overlay"):
        atlas.update(crowd)
        atlas.update(crowd)
    assert atlas.image.shape[0] <= MAX_ATLAS_ROWS and 100 < len(atlas.placed) < 400
    assert len(caplog.records) == 1, "one warning, not one per frame"
