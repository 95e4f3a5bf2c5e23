"""VRM 1.0 and 0.x avatars: bone map, expressions driven by ARKit and visemes, facing, MToon colour."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emulator.model.face import ARKIT_NAMES, Face
from emulator.render.avatar import Avatar, load_avatar
from emulator.render.faces import VISEME_NAMES
from emulator.render.gltf_read import load_document
from emulator.render.vrm import ARKIT_TO_VRM, EXPRESSIONS, HUMAN_BONES, VRM_TO_ARKIT, read_vrm
from tests.support.gltf_make import EYE_X, LEFT_EYE, MOUTH, NOSE, RIGHT_EYE, SKIN, write_vrm

VERSIONS = ["1.0", "0.x"]


@pytest.fixture(scope="module", params=VERSIONS)
def vrm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Avatar:
    return load_avatar(write_vrm(tmp_path_factory.mktemp("vrm") / "face.vrm", request.param))


def _moved(avatar: Avatar, arkit: dict[str, float], visemes: dict[str, float] | None = None) -> np.ndarray:
    """Which vertices move when these weights are received."""
    v = np.zeros(len(VISEME_NAMES), np.float32)
    for name, value in (visemes or {}).items():
        v[VISEME_NAMES.index(name)] = value
    weights = avatar.targets.weights(Face.from_mapping(arkit).weights, v)
    offset = np.tensordot(weights, avatar.deltas, axes=1)
    return np.abs(offset).max(axis=1) > 1e-4


def _only(part: slice, count: int = 800) -> np.ndarray:
    mask = np.zeros(count, bool)
    mask[part] = True
    return mask


def test_each_version_faces_the_avatar_frames_front_with_its_own_left_at_minus_x(vrm: Avatar) -> None:
    nose = vrm.positions[NOSE]
    assert nose[:, 2].mean() < -0.01 and nose[:, 2].min() == vrm.positions[:, 2].min(), (
        "the nose points to -z"
    )
    np.testing.assert_allclose(vrm.positions[LEFT_EYE].mean(axis=0), [-EYE_X, 0.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(vrm.positions[RIGHT_EYE].mean(axis=0), [EYE_X, 0.0, 0.0], atol=1e-5)


def test_jaw_open_and_viseme_aa_drive_aa_which_moves_the_mouth_only(vrm: Avatar) -> None:
    for moved in (_moved(vrm, {"jawOpen": 1.0}), _moved(vrm, {}, {"viseme_aa": 1.0})):
        assert moved.sum() == 4 and (moved == moved & _only(MOUTH)).all(), "the mouth's four lower corners"


def test_eye_blink_left_moves_the_avatars_own_left_eye_only(vrm: Avatar) -> None:
    np.testing.assert_array_equal(_moved(vrm, {"eyeBlinkLeft": 1.0}), _only(LEFT_EYE))
    np.testing.assert_array_equal(_moved(vrm, {"eyeBlinkRight": 1.0}), _only(RIGHT_EYE))


@pytest.mark.parametrize("version", VERSIONS)
def test_blink_alone_is_split_by_the_avatars_own_sides(tmp_path: Path, version: str) -> None:
    avatar = load_avatar(write_vrm(tmp_path / "f.vrm", version, with_blink_sides=False))  # type: ignore[arg-type]
    np.testing.assert_array_equal(_moved(avatar, {"eyeBlinkLeft": 1.0}), _only(LEFT_EYE))
    np.testing.assert_array_equal(_moved(avatar, {"eyeBlinkRight": 1.0}), _only(RIGHT_EYE))


@pytest.mark.parametrize("version", VERSIONS)
def test_humanoid_bones_and_expressions_are_read_in_vrm_1_terms(tmp_path: Path, version: str) -> None:
    path = write_vrm(tmp_path / "f.vrm", version)  # type: ignore[arg-type]
    gltf, _ = load_document(path.read_bytes(), str(path))
    info = read_vrm(gltf)
    assert info is not None and info.version == version
    assert info.faces_plus_z == (version == "1.0")
    names = [gltf.nodes[n].name for n in info.humanoid.values()]
    assert dict(zip(info.humanoid, names, strict=True)) == {b: f"J_{b}" for b in info.humanoid}
    assert {"head", "neck", "leftHand", "rightHand", "leftEye", "rightEye"} <= set(info.humanoid)
    assert set(info.expressions) == {"aa", "blink", "blinkLeft", "blinkRight"}
    assert info.expressions["aa"] == ((0, 0, 1.0),), "0.x weights (0-100) are scaled to 0-1"
    assert load_avatar(path).humanoid == info.humanoid


def test_vrm_0x_thumbs_and_presets_are_renamed(tmp_path: Path) -> None:
    path = write_vrm(tmp_path / "f.vrm", "0.x")
    doc = json.loads(path.read_bytes()[20 : 20 + int.from_bytes(path.read_bytes()[12:16], "little")])
    vrm = doc["extensions"]["VRM"]
    vrm["humanoid"]["humanBones"] += [
        {"bone": "leftThumbProximal", "node": 1},
        {"bone": "leftThumbIntermediate", "node": 2},
        {"bone": "notABone", "node": 3},
        {"bone": "rightHand", "node": 999},
    ]
    vrm["blendShapeMaster"]["blendShapeGroups"] += [
        {"name": "Joy", "presetName": "joy", "binds": [{"mesh": 0, "index": 0, "weight": 50}]},
        {"name": "Surprised", "presetName": "unknown", "binds": [{"mesh": 0, "index": 1, "weight": 100}]},
        {"name": "Broken", "presetName": "sorrow", "binds": [{"mesh": 7, "index": 0}]},
    ]

    class Doc:
        extensions = doc["extensions"]
        nodes = [type("N", (), {"mesh": None})()] * len(doc["nodes"])
        meshes = doc["meshes"]

    info = read_vrm(Doc())
    assert info is not None
    assert info.humanoid["leftThumbMetacarpal"] == 1 and info.humanoid["leftThumbProximal"] == 2
    assert info.humanoid["rightHand"] != 999 and "notABone" not in info.humanoid
    assert info.expressions["happy"] == ((0, 0, 0.5),)
    assert info.expressions["surprised"] == ((0, 1, 1.0),)
    assert "sad" not in info.expressions, "a bind to a mesh that does not exist is dropped"


def test_vrm_0x_mtoon_colour_reaches_a_bare_material(tmp_path: Path) -> None:
    avatar = load_avatar(write_vrm(tmp_path / "f.vrm", "0.x"))
    skin = np.asarray(SKIN, np.float32) * np.array([0.5, 0.8, 0.5, 1.0], np.float32)
    np.testing.assert_allclose(avatar.colors[0], skin, atol=1 / 255)


def test_expression_tables_cover_every_preset_both_ways() -> None:
    # blink reaches the avatar as blinkLeft + blinkRight (split by side when it has only blink).
    assert set(EXPRESSIONS) - {"neutral", "blink"} <= {
        e for sources in ARKIT_TO_VRM.values() for e, _ in sources
    }
    assert VRM_TO_ARKIT["aa"] == ("jawOpen", "viseme_aa", "viseme_DD", "viseme_kk", "viseme_nn", "viseme_TH")
    assert VRM_TO_ARKIT["blinkLeft"] == ("eyeBlinkLeft",)
    known = set(ARKIT_NAMES) | set(VISEME_NAMES)
    assert set(ARKIT_TO_VRM) <= known
    assert {"head", "neck", "leftHand", "rightIndexDistal", "leftThumbMetacarpal"} <= HUMAN_BONES


def test_a_plain_gltf_is_not_a_vrm(tmp_path: Path) -> None:
    from tests.support.gltf_make import write_gltf

    path = write_gltf(tmp_path / "f.glb")
    gltf, _ = load_document(path.read_bytes(), str(path))
    assert read_vrm(gltf) is None and load_avatar(path).humanoid == {}


def test_perfect_sync_avatars_keep_their_own_arkit_targets(tmp_path: Path) -> None:
    avatar = load_avatar(write_vrm(tmp_path / "f.vrm", "1.0", perfect_sync=True))
    assert avatar.target_names[:3] == ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight")
    assert avatar.targets.arkit[ARKIT_NAMES.index("jawOpen")] == 0
    assert avatar.targets.arkit[ARKIT_NAMES.index("eyeBlinkLeft")] == 1
    np.testing.assert_array_equal(_moved(avatar, {"eyeBlinkLeft": 1.0}), _only(LEFT_EYE))


def test_custom_expressions_and_binds_to_missing_targets_add_nothing(tmp_path: Path) -> None:
    path = write_vrm(tmp_path / "f.vrm", "1.0")
    data = path.read_bytes()
    length = int.from_bytes(data[12:16], "little")
    doc = json.loads(data[20 : 20 + length])
    expressions = doc["extensions"]["VRMC_vrm"]["expressions"]
    expressions["custom"] = {
        f"custom{i}": {"morphTargetBinds": [{"node": 0, "index": 0}]} for i in range(500)
    }
    expressions["preset"]["happy"] = {"morphTargetBinds": [{"node": 0, "index": 99}]}
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    rest = data[20 + length :]
    body = len(text).to_bytes(4, "little") + data[16:20] + text + rest
    path.write_bytes(data[:4] + data[4:8] + (12 + len(body)).to_bytes(4, "little") + body)
    avatar = load_avatar(path)
    assert not any("mouthSmile" in n for n in avatar.target_names)
    assert len(avatar.target_names) == 11
