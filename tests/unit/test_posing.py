"""Skeletons, posing and numpy skinning, without GL: explicit times, explicit angles."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pygltflib
import pytest

from emulator.model.hands import HandJoint, HandSide, hand_pose
from emulator.model.pose import Pose, Quat, Vec3
from emulator.render import fingers, lod
from emulator.render.avatar import Avatar, load_avatar
from emulator.render.errors import AvatarError
from emulator.render.lod import simplified
from emulator.render.posing import BodyYaw, BodyYawConfig, HeadLimits, head_rotations, pose_skeleton
from emulator.render.skeleton import HUMANOID_NAMES
from emulator.render.skinning import placed, skin
from tests.support.avatars import _Writer
from tests.support.skinned import EYE_Y, write_skinned_avatar

S = 1_000_000  # microseconds per second


@pytest.fixture(scope="module")
def body(tmp_path_factory: pytest.TempPathFactory) -> Avatar:
    return load_avatar(write_skinned_avatar(tmp_path_factory.mktemp("skin") / "body.glb", detail=0.2))


def _feed(filter_: BodyYaw, yaw_deg: float, start_s: float, end_s: float, step_s: float = 0.02) -> float:
    t = start_s
    while t <= end_s + 1e-9:
        out = filter_.update(math.radians(yaw_deg), round(t * S))
        t += step_s
    return math.degrees(out)


def test_small_head_turns_leave_the_body_where_it_is() -> None:
    f = BodyYaw()
    assert _feed(f, 0.0, 0.0, 0.0) == 0.0
    assert _feed(f, 40.0, 0.02, 5.0) == 0.0
    assert _feed(f, -44.0, 5.02, 10.0) == 0.0


def test_the_body_follows_only_after_the_head_is_held_past_the_dead_zone() -> None:
    f = BodyYaw(BodyYawConfig(dead_zone_deg=45, hold_s=0.5, lag_s=0.3))
    _feed(f, 0.0, 0.0, 0.0)
    assert _feed(f, 70.0, 0.02, 0.44) == 0.0, "not yet held for half a second"
    assert _feed(f, 70.0, 0.46, 0.62) > 0.0, "turning once held"
    lagging = _feed(f, 70.0, 0.64, 0.7)
    assert 0.0 < lagging < 60.0, "with lag, not at once"
    assert _feed(f, 70.0, 0.72, 3.0) == pytest.approx(70.0, abs=5.0)


def test_a_glance_past_the_dead_zone_shorter_than_the_hold_does_not_turn_the_body() -> None:
    f = BodyYaw()
    _feed(f, 0.0, 0.0, 0.0)
    _feed(f, 60.0, 0.02, 0.4)
    _feed(f, 10.0, 0.42, 0.6)
    assert _feed(f, 60.0, 0.62, 1.0) == 0.0, "the hold time starts again"


def test_the_body_is_dragged_along_past_the_largest_twist_and_wraps_around() -> None:
    f = BodyYaw(BodyYawConfig(max_twist_deg=100))
    _feed(f, 170.0, 0.0, 0.0)
    assert _feed(f, -170.0, 0.02, 0.1) == pytest.approx(170.0), "20 degrees across the ±180 seam"
    assert _feed(f, 170.0 - 150.0, 0.12, 0.12) == pytest.approx(120.0)


def test_a_stalled_stream_does_not_spin_the_body() -> None:
    f = BodyYaw(BodyYawConfig(hold_s=0.5, lag_s=0.3))
    _feed(f, 0.0, 0.0, 0.0)
    f.update(math.radians(90.0), 100 * S)  # 100 s later: counted as one second at most
    assert math.degrees(f.update(math.radians(90.0), 100 * S + 20_000)) < 60.0


def _yaw_pitch_roll(yaw: float, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    return np.asarray(Quat.from_euler(*map(math.radians, (yaw, pitch, roll))).as_matrix())


def test_head_and_neck_share_a_turn_and_are_clamped_to_human_limits() -> None:
    limits = HeadLimits(yaw=80, pitch_up=50, pitch_down=60, roll=35, neck_share=0.4)
    neck, head = head_rotations(_yaw_pitch_roll(30, 10, 5), limits)
    np.testing.assert_allclose(neck @ head, _yaw_pitch_roll(30, 10, 5), atol=1e-9)
    np.testing.assert_allclose(neck, _yaw_pitch_roll(12, 4, 2), atol=1e-9)
    neck, head = head_rotations(_yaw_pitch_roll(120, -80, 60), limits)
    np.testing.assert_allclose(neck @ head, _yaw_pitch_roll(80, -60, 35), atol=1e-9)


def test_a_generated_mixamo_skeleton_is_read_with_its_humanoid_bones(body: Avatar) -> None:
    skeleton = body.skeleton
    assert skeleton is not None and body.skin_weights is not None and body.skin_joints is not None
    assert set(HUMANOID_NAMES) == set(skeleton.humanoid), "every humanoid bone, fingers too"
    assert skeleton.names[skeleton.humanoid["leftIndexDistal"]] == "LeftHandIndex3"
    np.testing.assert_allclose(body.skin_weights.sum(axis=1), 1.0, atol=1e-6)
    rest = pose_skeleton(skeleton, Pose(Vec3(0, 0, 0)), 0.0)
    assert rest is not None
    head = skeleton.humanoid["head"]

    # At rest everything but the arms (which hang down from the T-pose) is where the file put it.
    def on_an_arm(bone: int) -> bool:
        while bone >= 0:
            if bone in (skeleton.humanoid["leftUpperArm"], skeleton.humanoid["rightUpperArm"]):
                return True
            bone = int(skeleton.parents[bone])
        return False

    still = np.array([not on_an_arm(int(b)) for b in skeleton.slot_bones])
    assert head in skeleton.slot_bones[still]
    np.testing.assert_allclose(rest.skin[still], np.tile(np.eye(4)[:3], (int(still.sum()), 1, 1)), atol=1e-6)


def test_a_vrm_humanoid_map_replaces_the_guess(body: Avatar) -> None:
    skeleton = body.skeleton
    assert skeleton is not None
    node = skeleton.nodes[skeleton.humanoid["neck"]]
    mapped = skeleton.with_humanoid({"head": node})
    assert mapped.bone("head") == skeleton.humanoid["neck"] and mapped.bone("neck") is None


def _skinned(avatar: Avatar, matrices: np.ndarray) -> np.ndarray:
    out, normals = np.empty_like(avatar.positions), np.empty_like(avatar.normals)
    skin(avatar, matrices, avatar.positions, avatar.normals, out, normals)
    return out


def _near(avatar: Avatar, point: tuple[float, float, float]) -> int:
    return int(np.argmin(np.linalg.norm(avatar.positions - np.asarray(point, np.float32), axis=1)))


def test_a_head_yaw_turns_the_head_about_the_neck_and_leaves_the_torso(body: Avatar) -> None:
    assert body.skeleton is not None
    pose = Pose(Vec3(1.0, 1.7, -2.0), Quat.from_euler(math.radians(40)))
    posed = pose_skeleton(body.skeleton, pose, 0.0)
    assert posed is not None
    np.testing.assert_allclose(posed.model[:3, :3], np.eye(3), atol=1e-12)  # the body keeps its yaw
    world = _skinned(body, posed.skin) @ posed.model[:3, :3].T + posed.model[:3, 3]
    nose = _near(body, (0.0, -0.01, -0.12))  # the avatar frame: -z forward, eyes at the origin
    chest = _near(body, (0.0, -0.35, -0.17))
    rest = body.positions @ posed.model[:3, :3].T + posed.model[:3, 3]
    # The nose swings toward the head's yaw (to -x for a positive yaw of a -z-facing avatar).
    assert world[nose][0] - rest[nose][0] < -0.05
    assert np.linalg.norm(world[chest] - rest[chest]) < 1e-5
    # The head turns about the neck: the eyes stay within a few centimetres of the headset.
    eye = posed.model @ np.append(posed.skin[_slot_of(body, "head")] @ np.array([0, 0, 0, 1.0]), 1.0)
    assert 0.01 < np.linalg.norm(eye[:3] - [1.0, 1.7, -2.0]) < 0.06


def _slot_of(avatar: Avatar, humanoid: str) -> int:
    assert avatar.skeleton is not None
    return int(np.flatnonzero(avatar.skeleton.slot_bones == avatar.skeleton.humanoid[humanoid])[0])


def test_a_pitched_head_does_not_tilt_the_body(body: Avatar) -> None:
    assert body.skeleton is not None
    posed = pose_skeleton(body.skeleton, Pose(Vec3(0, 1.6, 0), Quat.from_euler(0.3, 0.5, 0.2)), 0.3)
    assert posed is not None
    np.testing.assert_allclose(posed.model[:3, :3], _yaw_pitch_roll(math.degrees(0.3)), atol=1e-12)


def _bone_position(avatar: Avatar, posed_skin: np.ndarray, humanoid: str) -> np.ndarray:
    assert avatar.skeleton is not None
    bone = avatar.skeleton.humanoid[humanoid]
    rest = avatar.skeleton.rest[bone][:3, 3]
    slot = _slot_of(avatar, humanoid)
    # A skin matrix maps bind-pose points; the bone's rest point is where slot_rest takes its bind point.
    moved = posed_skin[slot] @ np.linalg.inv(avatar.skeleton.slot_rest[slot])
    return np.asarray(moved @ np.append(rest, 1.0))


def test_arms_hang_down_from_the_t_pose(body: Avatar) -> None:
    assert body.skeleton is not None
    posed = pose_skeleton(body.skeleton, Pose(Vec3(0, 0, 0)), 0.0)
    assert posed is not None
    for side, sign in (("left", -1.0), ("right", 1.0)):
        shoulder = _bone_position(body, posed.skin, f"{side}UpperArm")
        wrist = _bone_position(body, posed.skin, f"{side}Hand")
        assert wrist[1] < shoulder[1] - 0.45, "hanging, not held out"
        assert 0.0 < (wrist[0] - shoulder[0]) * sign < 0.15, "at the avatar's own side"


def test_a_received_wrist_within_reach_is_reached_and_the_fingers_point_along_the_received_ones(
    body: Avatar,
) -> None:
    assert body.skeleton is not None
    head = Pose(Vec3(0.0, EYE_Y, 0.0))
    wrist = Pose(Vec3(-0.35, EYE_Y + 0.1, -0.2), Quat.from_euler(0.0, math.radians(90)))
    hand = hand_pose(HandSide.LEFT, wrist, curl=0.5)
    posed = pose_skeleton(body.skeleton, head, 0.0, left_hand=hand)
    assert posed is not None
    reached = posed.model @ np.append(_bone_position(body, posed.skin, "leftHand"), 1.0)
    np.testing.assert_allclose(reached[:3], hand.positions[HandJoint.WRIST], atol=0.01)
    base = _bone_position(body, posed.skin, "leftIndexIntermediate")
    tip = _bone_position(body, posed.skin, "leftIndexDistal")
    received = hand.positions[HandJoint.INDEX_DISTAL] - hand.positions[HandJoint.INDEX_INTERMEDIATE]
    along = posed.model[:3, :3] @ (tip - base)
    assert np.dot(along, received) / (np.linalg.norm(along) * np.linalg.norm(received)) > 0.99
    relaxed = pose_skeleton(body.skeleton, head, 0.0)
    assert relaxed is not None
    np.testing.assert_allclose(  # the right arm, sent nothing, hangs as it did
        _bone_position(body, posed.skin, "rightHand"), _bone_position(body, relaxed.skin, "rightHand")
    )


def _skinned_both(avatar: Avatar, matrices: np.ndarray) -> np.ndarray:
    out, normals = np.empty_like(avatar.positions), np.empty_like(avatar.normals)
    skin(avatar, matrices, avatar.positions, avatar.normals, out, normals)
    return np.concatenate([out, normals], axis=1)


@pytest.mark.parametrize("curl", [0.0, 0.5, 1.0])
def test_fingers_posed_five_at_a_time_skin_as_aiming_each_bone_alone(
    body: Avatar, curl: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert body.skeleton is not None
    head = Pose(Vec3(0.0, EYE_Y, 0.0), Quat.from_euler(0.4, 0.1))
    left = hand_pose(HandSide.LEFT, Pose(Vec3(-0.3, EYE_Y, -0.3), Quat.from_euler(0.3, 1.2, 0.2)), curl=curl)
    right = hand_pose(HandSide.RIGHT, Pose(Vec3(0.25, EYE_Y - 0.4, -0.2), Quat.from_euler(-0.5)), curl=curl)
    fast = pose_skeleton(body.skeleton, head, 0.2, left, right)
    monkeypatch.setattr(fingers, "pose_fingers", fingers.pose_each)
    each = pose_skeleton(body.skeleton, head, 0.2, left, right)
    relaxed = pose_skeleton(body.skeleton, head, 0.2)
    assert fast is not None and each is not None and relaxed is not None
    vertices = _skinned_both(body, fast.skin)
    np.testing.assert_allclose(vertices, _skinned_both(body, each.skin), atol=1e-5, rtol=0)
    assert np.abs(vertices - _skinned_both(body, relaxed.skin)).max() > 0.05, "the hands were posed"


def test_skinning_with_the_placement_folded_in_places_the_skinned_vertices(body: Avatar) -> None:
    assert body.skeleton is not None
    hand = hand_pose(HandSide.LEFT, Pose(Vec3(1.0, EYE_Y, -2.3), Quat.from_euler(0.3, 1.2)), curl=0.4)
    posed = pose_skeleton(body.skeleton, Pose(Vec3(1.2, EYE_Y, -2.0), Quat.from_euler(2.0, 0.2)), 1.8, hand)
    assert posed is not None
    local = _skinned_both(body, posed.skin)
    rotation, translation = posed.model[:3, :3], posed.model[:3, 3]
    expected = np.concatenate([local[:, :3] @ rotation.T + translation, local[:, 3:] @ rotation.T], axis=1)
    np.testing.assert_allclose(
        _skinned_both(body, placed(posed.model, posed.skin)), expected, atol=1e-5, rtol=0
    )


def test_skinning_moves_only_the_vertices_of_a_turned_slot(body: Avatar) -> None:
    assert body.skeleton is not None
    slots = len(body.skeleton.slot_bones)
    matrices = np.tile(np.eye(4, dtype=np.float32)[:3], (slots, 1, 1))
    np.testing.assert_allclose(_skinned(body, matrices), body.positions, atol=1e-6)
    head = _slot_of(body, "head")
    matrices[head, :3, 3] = (0.0, 0.1, 0.0)
    moved = np.abs(_skinned(body, matrices) - body.positions).max(axis=1) > 1e-6
    assert body.skin_joints is not None and body.skin_weights is not None
    on_head = ((body.skin_joints == head) & (body.skin_weights > 0)).any(axis=1)
    np.testing.assert_array_equal(moved, on_head)


def test_coarser_levels_keep_the_skin_and_never_merge_across_main_joints(body: Avatar) -> None:
    coarse = simplified(body, 0.016)
    assert coarse.vertex_count < body.vertex_count * 0.8
    assert (
        coarse.skeleton is body.skeleton
        and coarse.skin_joints is not None
        and coarse.skin_weights is not None
    )
    assert coarse.skin_joints.shape == (coarse.vertex_count, 4)
    np.testing.assert_allclose(coarse.skin_weights.sum(axis=1), 1.0, atol=1e-6)
    fingers = {_slot_of(body, "leftIndexDistal"), _slot_of(body, "leftIndexIntermediate")}
    assert fingers <= set(coarse.skin_joints[:, 0].tolist()), "each finger bone keeps vertices of its own"


def test_the_coarsest_level_thins_the_hands_but_keeps_every_finger(body: Avatar) -> None:
    def hand_triangles(avatar: Avatar) -> int:
        assert avatar.skin_joints is not None and avatar.skin_weights is not None
        main = np.take_along_axis(avatar.skin_joints, avatar.skin_weights.argmax(axis=1)[:, None], axis=1)
        in_hand = lod._parts(avatar)[main[:, 0]] == lod._HAND
        return int(in_hand[avatar.indices.reshape(-1, 3)].all(axis=1).sum())

    finer, coarsest = simplified(body, 0.012), simplified(body, 0.016)
    assert hand_triangles(coarsest) < 0.5 * hand_triangles(finer)
    assert coarsest.skin_joints is not None
    kept = set(coarsest.skin_joints[:, 0].tolist())
    for side in ("left", "right"):
        for finger in ("Thumb", "Index", "Middle", "Ring", "Little"):
            assert _slot_of(body, f"{side}{finger}Distal") in kept, f"{side} {finger} keeps its tip"


def _tiny_skin(path: Path, weights: np.ndarray, joints: np.ndarray, *, skin: int = 0) -> Path:
    w = _Writer()
    g = w.gltf
    points = np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0]], np.float32)
    g.nodes += [
        pygltflib.Node(name="Root", children=[1]),
        pygltflib.Node(name="Head", translation=[0, 0.05, 0]),
    ]
    ibm = np.tile(np.eye(4, dtype=np.float32), (2, 1, 1))
    ibm[1, 3, 1] = -0.05  # column-major: translation in the last row
    g.skins.append(pygltflib.Skin(joints=[0, 1], inverseBindMatrices=w.accessor(ibm.reshape(2, 16), "MAT4")))
    weights_at = w.accessor(weights, pygltflib.VEC4)
    if weights.dtype == np.uint8:
        g.accessors[weights_at].normalized = True
    prim = pygltflib.Primitive(
        attributes=pygltflib.Attributes(
            POSITION=w.accessor(points, pygltflib.VEC3, bounds=True),
            JOINTS_0=w.accessor(joints, pygltflib.VEC4),
            WEIGHTS_0=weights_at,
        ),
        indices=w.accessor(np.array([0, 1, 2], np.uint16), pygltflib.SCALAR),
    )
    g.meshes.append(pygltflib.Mesh(name="m", primitives=[prim]))
    g.nodes.append(pygltflib.Node(name="m", mesh=0, skin=skin))
    g.scenes.append(pygltflib.Scene(nodes=[0, 2]))
    w.save(path)
    return path


def test_normalized_integer_weights_are_read_and_rows_that_do_not_sum_to_one_are_normalized(
    tmp_path: Path,
) -> None:
    weights = np.array([[128, 127, 0, 0], [255, 0, 0, 0], [10, 10, 0, 0]], np.uint8)
    joints = np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]], np.uint8)
    avatar = load_avatar(_tiny_skin(tmp_path / "tiny.glb", weights, joints))
    assert avatar.skin_weights is not None
    np.testing.assert_allclose(
        avatar.skin_weights[:, :2], [[128 / 255, 127 / 255], [1, 0], [0.5, 0.5]], atol=1e-6
    )


@pytest.mark.parametrize(
    ("joints", "skin", "message"),
    [(np.array([[0, 5, 0, 0]] * 3, np.uint8), 0, "names a joint its skin lacks"),
     (np.array([[0, 1, 0, 0]] * 3, np.uint8), 3, "uses skin 3, which does not exist")],
)  # fmt: skip
def test_broken_skins_are_refused_with_one_line(
    tmp_path: Path, joints: np.ndarray, skin: int, message: str
) -> None:
    weights = np.array([[1, 0, 0, 0]] * 3, np.float32)
    with pytest.raises(AvatarError, match=message):
        load_avatar(_tiny_skin(tmp_path / "bad.glb", weights, joints, skin=skin))


def test_the_scene_keeps_each_participants_body_yaw_and_hands(body: Avatar) -> None:
    from emulator.render.scene import Scene

    scene = Scene(delay_us=0)
    scene.add("a", body)
    scene.add("b", body)
    hand = hand_pose(HandSide.RIGHT, Pose(Vec3(0.3, 1.7, -0.3)))

    def yaw_of(item_model: np.ndarray) -> float:
        return math.degrees(math.atan2(item_model[0, 2], item_model[2, 2]))

    items = {}
    for step in range(0, 101):  # a turns its head 90 degrees at 0.5 s and holds it; b looks ahead
        t = step * 20_000
        head_a = Quat.from_euler(math.radians(90.0 if t >= 500_000 else 0.0))
        scene.update("a", Pose(Vec3(0, 1.6, 0), head_a), time_us=t, right_hand=hand)
        scene.update("b", Pose(Vec3(1, 1.6, 0)), time_us=t)
        items = {item.id: item for item in scene.frame(t)}
        if t == 900_000:  # held 0.4 s: not yet
            assert yaw_of(items["a"].model) == pytest.approx(0.0)
    assert yaw_of(items["a"].model) == pytest.approx(90.0, abs=5.0), "after 1.5 s the body has followed"
    assert yaw_of(items["b"].model) == pytest.approx(0.0)
    assert items["a"].skin is not None and items["a"].right_hand == hand and items["a"].left_hand is None
    assert items["b"].right_hand is None


def test_a_vrm_files_own_bone_map_finds_bones_whatever_their_names(tmp_path: Path) -> None:
    source = write_skinned_avatar(tmp_path / "named.glb", detail=0.2)
    gltf = pygltflib.GLTF2().load(str(source))
    wanted = {"Neck": "neck", "Head": "head", "LeftArm": "leftUpperArm", "LeftForeArm": "leftLowerArm",
              "LeftHand": "leftHand", "Hips": "hips"}  # fmt: skip
    bones = {}
    for index, node in enumerate(gltf.nodes):
        if node.name in wanted and wanted[node.name] not in bones:  # the bone, not the mesh named after it
            bones[wanted[node.name]] = {"node": index}
        node.name = f"bone{index}"  # no name left to guess from
    gltf.extensions = {"VRMC_vrm": {"specVersion": "1.0", "humanoid": {"humanBones": bones}}}
    gltf.extensionsUsed = ["VRMC_vrm"]
    gltf.save_binary(str(tmp_path / "anonymous.vrm"))
    avatar = load_avatar(tmp_path / "anonymous.vrm")
    assert avatar.skeleton is not None
    assert set(avatar.skeleton.humanoid) == set(wanted.values())
    assert avatar.skeleton.nodes[avatar.skeleton.humanoid["head"]] == bones["head"]["node"]
    posed = pose_skeleton(avatar.skeleton, Pose(Vec3(0, 0, 0)), 0.0)
    assert posed is not None
    shoulder = _bone_position(avatar, posed.skin, "leftUpperArm")
    wrist = _bone_position(avatar, posed.skin, "leftHand")
    assert wrist[1] < shoulder[1] - 0.45, "the left arm hangs: found through the file's map"


def test_arms_hang_down_from_an_a_pose_too(tmp_path: Path) -> None:
    gltf = pygltflib.GLTF2().load(str(write_skinned_avatar(tmp_path / "t.glb", detail=0.2)))
    for node in gltf.nodes:
        if node.name in ("LeftArm", "RightArm") and node.mesh is None:
            side = 1.0 if node.name == "LeftArm" else -1.0  # glTF frame: the avatar's left at +x
            half = math.radians(-45.0 * side) / 2  # about +z: the arm 45 degrees down
            node.rotation = [0.0, 0.0, math.sin(half), math.cos(half)]
    gltf.save_binary(str(tmp_path / "a.glb"))
    avatar = load_avatar(tmp_path / "a.glb")
    assert avatar.skeleton is not None
    rest = avatar.skeleton.rest
    left = [avatar.skeleton.humanoid[n] for n in ("leftUpperArm", "leftHand")]
    drop = rest[left[0]][1, 3] - rest[left[1]][1, 3]
    assert 0.3 < drop < 0.45, "the file's rest pose is an A-pose"
    posed = pose_skeleton(avatar.skeleton, Pose(Vec3(0, 0, 0)), 0.0)
    assert posed is not None
    for side, sign in (("left", -1.0), ("right", 1.0)):
        shoulder = _bone_position(avatar, posed.skin, f"{side}UpperArm")
        wrist = _bone_position(avatar, posed.skin, f"{side}Hand")
        assert wrist[1] < shoulder[1] - 0.45 and 0.0 < (wrist[0] - shoulder[0]) * sign < 0.15
