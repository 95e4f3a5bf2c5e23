import numpy as np
import pytest

from emulator.model.errors import ModelError
from emulator.model.face import ARKIT_NAMES, Face, arkit_index
from emulator.model.meta_face import (
    DROPPED_META,
    EXACT_ARKIT,
    MAPPING,
    META_COUNT,
    META_NAMES,
    MetaFace,
    arkit_to_meta,
    is_exact,
    meta_index,
    meta_to_arkit,
)


def test_order_is_openxr_xr_fb_face_tracking2() -> None:
    assert META_COUNT == 70
    # Values of XrFaceExpression2FB in the OpenXR registry.
    spots = {
        "BROW_LOWERER_L": 0, "CHIN_RAISER_T": 9, "EYES_LOOK_UP_R": 21, "JAW_DROP": 24, "LIP_FUNNELER_LB": 34,
        "LIPS_TOWARD": 50, "UPPER_LIP_RAISER_R": 62, "TONGUE_TIP_INTERDENTAL": 63, "TONGUE_OUT": 68,
        "TONGUE_RETREAT": 69,
    }  # fmt: skip
    assert {name: META_NAMES.index(name) for name in spots} == spots
    assert meta_index("XR_FACE_EXPRESSION2_JAW_DROP_FB") == 24
    assert meta_index("jawDrop") == 24
    assert meta_index("not_a_face") is None


def test_every_arkit_shape_has_exactly_one_row() -> None:
    assert sorted(a for a, _, _ in MAPPING) == sorted(ARKIT_NAMES)
    assert len(EXACT_ARKIT) == 46
    assert {"browInnerUp", "cheekPuff", "mouthFunnel", "mouthPucker", "mouthRollLower", "mouthRollUpper"} == (
        set(ARKIT_NAMES) - EXACT_ARKIT
    )
    assert is_exact("eyeBlink_L") and not is_exact("cheekPuff")


@pytest.mark.parametrize(("arkit_name", "parts", "exact"), [row for row in MAPPING if row[2]])
def test_exact_shapes_round_trip_alone(arkit_name: str, parts: tuple[str, ...], exact: bool) -> None:
    meta = MetaFace()
    meta[parts[0]] = 0.7
    face = meta_to_arkit(meta)
    assert face[arkit_name] == pytest.approx(0.7)
    assert np.count_nonzero(face.weights) == 1
    back = arkit_to_meta(face)
    assert back == meta


def test_arkit_to_meta_to_arkit_is_lossless() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        face = Face(rng.random(52))
        np.testing.assert_allclose(meta_to_arkit(arkit_to_meta(face)).weights, face.weights, atol=1e-6)


def test_approximate_groups_come_back_at_their_mean() -> None:
    rng = np.random.default_rng(3)
    meta = MetaFace(rng.random(META_COUNT))
    back = arkit_to_meta(meta_to_arkit(meta))
    for _arkit_name, parts, exact in MAPPING:
        values = [meta[p] for p in parts]
        for part in parts:
            assert back[part] == pytest.approx(values[0] if exact else float(np.mean(values)), abs=1e-6)
            assert abs(back[part] - meta[part]) <= max(values) - min(values) + 1e-6
    for name in DROPPED_META:
        assert back[name] == 0.0
    symmetric = MetaFace()
    symmetric["LIP_PUCKER_L"] = symmetric["LIP_PUCKER_R"] = 0.4
    assert arkit_to_meta(meta_to_arkit(symmetric)) == symmetric


@pytest.mark.parametrize(
    ("meta_name", "arkit_name"),
    [
        ("EYES_CLOSED_L", "eyeBlinkLeft"),
        ("EYES_CLOSED_R", "eyeBlinkRight"),
        ("LIP_CORNER_PULLER_L", "mouthSmileLeft"),
        ("BROW_LOWERER_R", "browDownRight"),
        # The left eye looking to the user's right looks inwards, towards the nose.
        ("EYES_LOOK_RIGHT_L", "eyeLookInLeft"),
        ("EYES_LOOK_LEFT_L", "eyeLookOutLeft"),
        ("EYES_LOOK_LEFT_R", "eyeLookInRight"),
        ("JAW_SIDEWAYS_LEFT", "jawLeft"),
    ],
)
def test_sides_are_never_swapped(meta_name: str, arkit_name: str) -> None:
    meta = MetaFace()
    meta[meta_name] = 1.0
    face = meta_to_arkit(meta)
    assert np.flatnonzero(face.weights).tolist() == [arkit_index(arkit_name)]


def test_every_sided_exact_row_keeps_its_side() -> None:
    for arkit_name, parts, exact in MAPPING:
        if exact and arkit_name.endswith(("Left", "Right")) and not arkit_name.startswith("eyeLook"):
            side = "L" if arkit_name.endswith("Left") else "R"
            assert parts[0].endswith((f"_{side}", "LEFT" if side == "L" else "RIGHT")), arkit_name


def test_meta_face_clamps_and_refuses_nan() -> None:
    meta = MetaFace([2.0] * 70)
    assert meta["TONGUE_OUT"] == 1.0
    meta["jaw_drop"] = -1
    assert meta["JAW_DROP"] == 0.0
    with pytest.raises(ModelError, match="NaN"):
        meta["JAW_DROP"] = float("nan")
    with pytest.raises(ModelError, match="70"):
        MetaFace([0.0] * 52)
    with pytest.raises(KeyError):
        meta["eyeBlinkLeft"]
