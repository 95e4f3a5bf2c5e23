"""Loading .glb avatars: Ready Player Me-style files, static heads, and broken files (one clear error)."""

from __future__ import annotations

import contextlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.model.face import ARKIT_NAMES
from emulator.render.avatar import load_avatar, parse_avatar
from emulator.render.errors import AvatarError
from tests.support.avatars import write_rpm_style_avatar, write_static_head


@pytest.fixture(scope="module")
def rpm_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_rpm_style_avatar(tmp_path_factory.mktemp("rpm") / "rpm.glb")


@pytest.fixture(scope="module")
def static_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_static_head(tmp_path_factory.mktemp("static") / "static.glb")


def test_rpm_style_avatar_loads_every_mesh_with_arkit_and_viseme_targets(rpm_file: Path) -> None:
    avatar = load_avatar(rpm_file)
    assert avatar.missing_arkit == ()
    assert avatar.targets.has_visemes and (avatar.targets.visemes >= 0).all()
    # Head sphere (16x24) + teeth box (8) + two eyes (8x10) + body box (8): all merged.
    assert avatar.vertex_count == 16 * 24 + 8 + 2 * 80 + 8
    jaw = avatar.deltas[avatar.targets.arkit[ARKIT_NAMES.index("jawOpen")]]
    moved = np.abs(jaw).max(axis=1) > 0
    assert moved[: 16 * 24].any() and moved[16 * 24 : 16 * 24 + 8].any(), "head and teeth both open the jaw"
    assert (jaw[moved, 1] < 0).all()


def test_rpm_style_avatar_is_anchored_at_its_eyes_and_faces_minus_z(rpm_file: Path) -> None:
    avatar = load_avatar(rpm_file)
    eyes = avatar.positions[16 * 24 + 8 : 16 * 24 + 8 + 160]
    left_eye, right_eye = eyes[:80].mean(axis=0), eyes[80:].mean(axis=0)
    # glTF's +x is the model's own left; turned to face -z, its own left is -x.
    assert left_eye[0] == pytest.approx(-0.032, abs=1e-4) and right_eye[0] == pytest.approx(0.032, abs=1e-4)
    assert abs(left_eye[1]) < 1e-4 and left_eye[2] < 0  # eye height at the origin, eyes in front
    assert avatar.positions[:, 1].min() < -0.6  # the body hangs below the head


def test_glb_without_targets_loads_as_a_static_head(static_file: Path) -> None:
    avatar = load_avatar(static_file)
    assert avatar.target_names == () and len(avatar.missing_arkit) == 52
    assert avatar.deltas.shape == (0, avatar.vertex_count, 3)
    np.testing.assert_array_equal(avatar.targets.weights(np.ones(52, np.float32)), np.zeros(0))
    assert np.linalg.norm(avatar.normals, axis=1) == pytest.approx(1.0, abs=1e-5)
    # The nose (glTF +z, the last 8 vertices) now points at -z.
    assert int(np.argmin(avatar.positions[:, 2])) >= 16 * 24


def test_truncated_glb_gives_the_clear_error(rpm_file: Path, tmp_path: Path) -> None:
    data = rpm_file.read_bytes()
    cut = tmp_path / "cut.glb"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(AvatarError, match="truncated"):
        load_avatar(cut)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "too short"),
        (b"PK\x03\x04" + bytes(40), "not a binary glTF"),
        (struct.pack("<4sII", b"glTF", 1, 12), "version 1"),
        (struct.pack("<4sII", b"glTF", 2, 12), "no JSON chunk"),
    ],
)
def test_broken_files_name_the_problem(data: bytes, reason: str) -> None:
    with pytest.raises(AvatarError, match=reason):
        parse_avatar(data, "x.glb")


def test_missing_file_is_an_avatar_error(tmp_path: Path) -> None:
    with pytest.raises(AvatarError, match="cannot read"):
        load_avatar(tmp_path / "nope.glb")


def _rewrite_json(data: bytes, edit: object) -> bytes:
    length = struct.unpack_from("<I", data, 12)[0]
    document = json.loads(data[20 : 20 + length])
    edit(document)  # type: ignore[operator]
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    rest = data[20 + length :]
    body = struct.pack("<II", len(text), 0x4E4F534A) + text + rest
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda d: d["accessors"][0].update(count=10**9), "bad count"),
        (lambda d: d["bufferViews"][0].update(byteOffset=10**7), "past the"),
        (lambda d: d["meshes"][0]["primitives"][0].update(indices=999), "does not exist"),
        (lambda d: d["nodes"][0].update(children=[0]), "cycle"),
        (lambda d: d["scenes"][0].update(nodes=[42]), "does not exist"),
    ],
)
def test_inconsistent_documents_name_the_problem(static_file: Path, edit: object, reason: str) -> None:
    with pytest.raises(AvatarError, match=reason):
        parse_avatar(_rewrite_json(static_file.read_bytes(), edit), "x.glb")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_files_load_or_raise_avatar_error_only(static_file: Path, data: st.DataObject) -> None:
    original = bytearray(static_file.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(original) - 1))
        original[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(original)))
    with contextlib.suppress(AvatarError):  # anything else escaping is the failure
        parse_avatar(bytes(original[:cut]) if data.draw(st.booleans()) else bytes(original), "fuzz.glb")
