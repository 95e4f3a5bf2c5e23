"""The bundled bust: all 52 ARKit targets, each moving the right region the right way, on the right side.

The avatar frame faces -z, so the avatar's own left is -x. Checked on the committed .glb as loaded,
which covers the generator, the writer (sparse accessors) and the loader (turn to -z, eye anchor).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygltflib
import pytest

from emulator.model.face import ARKIT_NAMES
from emulator.render.avatar import Avatar, load_avatar
from emulator.render.avatar_gen import VARIANTS, default_avatar_path, generate, load_default_avatar
from emulator.render.bust_geometry import BONES, NECK, TORSO, build_bust
from emulator.render.lod import LEVELS, components, simplified


@pytest.fixture(scope="module")
def head() -> Avatar:
    return load_default_avatar()


def _delta(avatar: Avatar, name: str) -> np.ndarray:
    return avatar.deltas[avatar.target_names.index(name)]


# name: (side, lowest y, highest y of the moved region's centre, axis, sign of the mean motion)
# side L = the avatar's own left (x < 0), R = its right, C = the middle line.
EXPECTED = {
    "eyeBlink": ("-", -0.02, 0.02, 1, -1),
    "eyeSquint": ("-", -0.04, 0.01, 1, +1),
    "eyeWide": ("-", -0.02, 0.03, 1, +1),
    "mouthSmile": ("-", -0.08, -0.03, 1, +1),
    "mouthFrown": ("-", -0.08, -0.04, 1, -1),
    "mouthDimple": ("-", -0.08, -0.04, 2, +1),
    "mouthStretch": ("-", -0.08, -0.04, 0, 0),  # 0: outward, toward its own side
    "mouthPress": ("-", -0.07, -0.05, 2, +1),
    "mouthLowerDown": ("-", -0.08, -0.055, 1, -1),
    "mouthUpperUp": ("-", -0.06, -0.04, 1, +1),
    "browDown": ("-", 0.0, 0.05, 1, -1),
    "browOuterUp": ("-", 0.0, 0.05, 1, +1),
    "cheekSquint": ("-", -0.04, 0.0, 1, +1),
    "noseSneer": ("-", -0.04, 0.03, 1, +1),
    "jawOpen": ("C", -0.15, -0.04, 1, -1),
    "jawForward": ("C", -0.15, -0.04, 2, -1),
    "mouthClose": ("C", -0.08, -0.04, 1, +1),
    "mouthFunnel": ("C", -0.08, -0.04, 2, -1),
    "mouthPucker": ("C", -0.08, -0.04, 2, -1),
    "mouthRollLower": ("C", -0.08, -0.055, 2, +1),
    "mouthRollUpper": ("C", -0.06, -0.04, 2, +1),
    "mouthShrugLower": ("C", -0.1, -0.055, 1, +1),
    "mouthShrugUpper": ("C", -0.06, -0.04, 1, +1),
    "browInnerUp": ("C", 0.0, 0.05, 1, +1),
    "cheekPuff": ("C", -0.07, -0.02, 2, -1),
    "tongueOut": ("C", -0.09, -0.04, 2, -1),
    "jawLeft": ("C", -0.15, -0.04, 0, -1),
    "jawRight": ("C", -0.15, -0.04, 0, +1),
    "mouthLeft": ("C", -0.08, -0.04, 0, -1),
    "mouthRight": ("C", -0.08, -0.04, 0, +1),
}


def _cases() -> list[tuple[str, str, float, float, int, int]]:
    out = []
    for key, (side, low, high, axis, sign) in EXPECTED.items():
        if side == "-":
            for suffix, own in (("Left", "L"), ("Right", "R")):
                out.append((key + suffix, own, low, high, axis, sign))
        else:
            out.append((key, side, low, high, axis, sign))
    return out


def test_all_52_targets_are_there_in_apples_names(head: Avatar) -> None:
    assert head.missing_arkit == ()
    assert set(ARKIT_NAMES) <= set(head.target_names)
    assert head.targets.arkit.min() >= 0


@pytest.mark.parametrize(("name", "side", "low", "high", "axis", "sign"), _cases())
def test_target_moves_its_region_its_way(
    head: Avatar, name: str, side: str, low: float, high: float, axis: int, sign: int
) -> None:
    d = _delta(head, name)
    magnitude = np.linalg.norm(d, axis=1)
    moved = magnitude > 2e-4
    assert moved.sum() >= 10, f"{name} moves almost nothing"
    centre = (head.positions[moved] * magnitude[moved, None]).sum(axis=0) / magnitude[moved].sum()
    if side == "L":
        assert centre[0] < -0.005, f"{name} should act on the avatar's own left (-x), centre {centre}"
    elif side == "R":
        assert centre[0] > 0.005, f"{name} should act on the avatar's own right (+x), centre {centre}"
    else:
        assert abs(centre[0]) < 0.005, f"{name} should act on the middle line, centre {centre}"
    assert low <= centre[1] <= high, f"{name} moves the wrong height: centre y {centre[1]:.3f}"
    mean = d[moved].mean(axis=0)
    if sign == 0:
        sign = -1 if side == "L" else 1
    assert np.sign(mean[axis]) == sign, f"{name}: mean motion {mean} has the wrong direction on axis {axis}"
    assert abs(mean[axis]) >= 0.3 * np.linalg.norm(mean), (
        f"{name}: mean motion {mean} is mostly off axis {axis}"
    )


def _pupil(avatar: Avatar, sign: float) -> int:
    """Index of the frontmost vertex of one eye (the pupil's centre): the eye on the side of `sign`."""
    p = avatar.positions
    near_eye = (np.abs(p[:, 0] - sign * 0.032) < 0.004) & (np.abs(p[:, 1]) < 0.004)
    candidates = np.where(near_eye)[0]
    return int(candidates[np.argmin(p[candidates, 2])])


@pytest.mark.parametrize(
    ("name", "sign", "axis", "direction"),
    [
        ("eyeLookOutLeft", -1, 0, -1), ("eyeLookInLeft", -1, 0, +1), ("eyeLookUpLeft", -1, 1, +1),
        ("eyeLookDownLeft", -1, 1, -1), ("eyeLookOutRight", +1, 0, +1), ("eyeLookInRight", +1, 0, -1),
        ("eyeLookUpRight", +1, 1, +1), ("eyeLookDownRight", +1, 1, -1),
    ],
)  # fmt: skip
def test_eyes_turn_with_eye_look(head: Avatar, name: str, sign: int, axis: int, direction: int) -> None:
    d = _delta(head, name)
    pupil = _pupil(head, sign)
    assert np.sign(d[pupil, axis]) == direction and abs(d[pupil, axis]) > 0.003
    other = _pupil(head, -sign)
    assert np.abs(d[other]).max() == 0.0, "the other eye must not turn"


def test_jaw_open_leaves_the_forehead_alone(head: Avatar) -> None:
    d = _delta(head, "jawOpen")
    forehead = head.positions[:, 1] > 0.02
    assert np.abs(d[forehead]).max() == 0.0
    chin = (head.positions[:, 1] < -0.07) & (head.positions[:, 1] > -0.15) & (head.positions[:, 2] < 0.0)
    assert d[chin, 1].mean() < -0.01


def test_left_and_right_targets_mirror_each_other(head: Avatar) -> None:
    mirror = np.array([-1.0, 1.0, 1.0], np.float32)
    key = np.round(head.positions * mirror * 1e4).astype(np.int64)
    rounded = [tuple(k) for k in np.round(head.positions * 1e4).astype(np.int64)]
    counts: dict[tuple[int, ...], int] = {}
    for k in rounded:
        counts[k] = counts.get(k, 0) + 1
    # Positions shared by several vertices (sphere poles, seams) have no single mirror partner.
    lookup = {k: i for i, k in enumerate(rounded) if counts[k] == 1}
    pairs = np.array([(i, lookup[tuple(k)]) for i, k in enumerate(key) if tuple(k) in lookup])
    assert len(pairs) > 0.9 * head.vertex_count
    for name in ARKIT_NAMES:
        if name.endswith("Left"):
            left, right = _delta(head, name), _delta(head, name[:-4] + "Right")
            np.testing.assert_allclose(
                left[pairs[:, 0]] * mirror, right[pairs[:, 1]], atol=2e-4, err_msg=name
            )


def test_the_committed_file_is_what_the_generator_makes(tmp_path: Path) -> None:
    fresh = tmp_path / "default.glb"
    generate("default", fresh)
    assert fresh.read_bytes() == default_avatar_path("default").read_bytes(), (
        "emulator/assets/avatars/default.glb is stale: run python scripts/make_default_avatar.py"
    )


def test_colour_variants_share_the_mesh_and_differ_in_colour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    default = load_default_avatar()
    other = load_avatar(default_avatar_path("amber"))
    assert default_avatar_path("amber").is_relative_to(tmp_path)
    np.testing.assert_array_equal(default.positions, other.positions)
    assert np.abs(default.colors - other.colors).max() > 0.2
    assert len(VARIANTS) >= 4


def test_closed_surfaces_wind_outward_so_back_faces_can_be_culled(head: Avatar) -> None:
    """The renderer culls the leading `single_sided` triangles: they must face out of the head."""
    p = head.positions.astype(np.float64)
    tris = head.indices[: head.single_sided].reshape(-1, 3)
    normal = np.cross(p[tris[:, 1]] - p[tris[:, 0]], p[tris[:, 2]] - p[tris[:, 0]])
    area = np.linalg.norm(normal, axis=1)
    # Each closed piece (skull, eyeballs, tongue) is convex enough to judge from its own centre.
    piece = components(head)
    centres = {k: p[piece == k].mean(axis=0) for k in np.unique(piece[tris[:, 0]])}
    centre = np.array([centres[k] for k in piece[tris[:, 0]]])
    outward = ((p[tris].mean(axis=1) - centre) * normal).sum(axis=1) > 0
    real = area > 1e-10  # sphere poles have degenerate triangles
    assert head.single_sided > 0.8 * len(head.indices)
    assert outward[real].mean() > 0.97


def test_it_is_a_bust_head_neck_shoulders_and_upper_torso(head: Avatar) -> None:
    p = head.positions
    head_width = np.ptp(p[p[:, 1] > -0.05, 0])
    shoulders = p[(p[:, 1] < -0.25) & (p[:, 1] > -0.35)]
    assert np.ptp(shoulders[:, 0]) > 2.2 * head_width, "shoulders are much wider than the head"
    assert -0.6 < p[:, 1].min() < -0.45, "cut off at the upper chest"
    # Symmetric about the middle line and centred under the head, not in front of the face.
    assert abs(shoulders[:, 0].mean()) < 1e-3 and shoulders[:, 2].mean() > 0.0
    body = p[:, 1] < -0.17
    for name in ARKIT_NAMES:
        assert np.abs(_delta(head, name)[body]).max() == 0.0, f"{name} moves the body"


def test_the_file_carries_a_skin_with_mixamo_bone_names_and_full_weights() -> None:
    gltf = pygltflib.GLTF2().load(str(default_avatar_path("default")))
    assert len(gltf.skins) == 1
    names = {gltf.nodes[j].name for j in gltf.skins[0].joints}
    for bone in ("Hips", "Spine", "Spine1", "Spine2", "Neck", "Head"):
        assert bone in names
    for side in ("Left", "Right"):
        for bone in ("Shoulder", "Arm", "ForeArm", "Hand"):
            assert side + bone in names
    build = build_bust(VARIANTS["default"])
    np.testing.assert_allclose(build.weights.sum(axis=1), 1.0, atol=1e-5)
    head_bone = [name for name, _, _ in BONES].index("Head")
    on_head = build.head.part < NECK
    assert (build.joints[on_head, 0] == head_bone).all() and (build.weights[on_head, 0] == 1.0).all()
    # The shoulders follow the arm and shoulder bones, the collar the neck: something a pose can move.
    torso = build.head.part == TORSO
    used = {BONES[j][0] for j in np.unique(build.joints[torso][build.weights[torso] > 0.2])}
    assert {"Neck", "Spine2", "LeftShoulder", "RightArm"} <= used


def test_the_bust_costs_little_more_to_draw_than_the_head_alone(head: Avatar) -> None:
    """The head alone had 7189 vertices; the body adds under 5 %, and the coarsest level stays small."""
    assert head.vertex_count < 7189 * 1.05
    assert simplified(head, LEVELS[-1][0]).vertex_count < 1900


def test_the_skeleton_binds_in_its_rest_pose_with_the_head_bone_under_the_eyes() -> None:
    """Each joint's inverse bind matrix undoes its world matrix, so a skinning renderer draws the file
    as stored (upright, arms down) until a pose moves a bone."""
    gltf = pygltflib.GLTF2().load(str(default_avatar_path("default")))
    skin = gltf.skins[0]
    accessor = gltf.accessors[skin.inverseBindMatrices]
    view = gltf.bufferViews[accessor.bufferView]
    blob = gltf.binary_blob()
    raw = blob[view.byteOffset : view.byteOffset + view.byteLength]
    inverse_bind = np.frombuffer(raw, np.float32).reshape(-1, 4, 4).transpose(0, 2, 1)  # column-major
    parent = {c: i for i, n in enumerate(gltf.nodes) for c in n.children or []}

    def world(index: int) -> np.ndarray:
        m = np.eye(4)
        m[:3, 3] = gltf.nodes[index].translation or [0.0, 0.0, 0.0]
        return world(parent[index]) @ m if index in parent else m

    for joint, ibm in zip(skin.joints, inverse_bind, strict=True):
        np.testing.assert_allclose(world(joint) @ ibm, np.eye(4), atol=1e-5)
    by_name = {gltf.nodes[j].name: world(j)[:3, 3] for j in skin.joints}
    # glTF faces +z here; the eyes are the origin: the head bone sits below and behind them.
    assert -0.12 < by_name["Head"][1] < -0.05 and by_name["Head"][2] < 0.0
    assert by_name["LeftArm"][0] > 0.1 > -0.1 > by_name["RightArm"][0], "glTF's +x is the avatar's left"
