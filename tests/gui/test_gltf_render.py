"""Files from elsewhere on real OpenGL (Mesa under Xvfb): a compressed copy looks like the plain one,
VRM 1.0 and 0.x avatars face the viewer, and their expressions move the right parts of the face."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from emulator.model.face import Face
from emulator.model.pose import Pose, Quat, Vec3
from emulator.render.avatar import Avatar, load_avatar
from emulator.render.camera import Camera, pose_matrix
from emulator.render.offscreen import OffscreenRenderer
from emulator.render.png import write_png
from emulator.render.scene import DrawItem, Scene
from tests.support.gltf_make import EYE_X, EYE_Y, HEAD_Y, MOUTH_Y, write_gltf, write_vrm

pytestmark = pytest.mark.gui
W, H = 640, 480
VIEWER = Pose(Vec3(0.0, 1.6, 0.0))
CLOSE = Camera(VIEWER, 30.0)
FACING = Pose(Vec3(0.0, 1.6, -0.6), Quat.from_euler(math.radians(180.0)))  # looking back at the viewer


@pytest.fixture(scope="module")
def offscreen(xvfb_display: str) -> Iterator[OffscreenRenderer]:
    with OffscreenRenderer(W, H, labels=False) as renderer:
        yield renderer


def _items(avatar: Avatar, face: dict[str, float] | None = None) -> list[DrawItem]:
    scene = Scene(delay_us=0)
    scene.add("p", avatar)
    scene.update("p", FACING, Face.from_mapping(face or {}).weights, time_us=0)
    return scene.frame(0)


def _pixel(local: tuple[float, float, float]) -> tuple[int, int]:
    """Where a point of the avatar frame lands in the picture."""
    clip = CLOSE.view_projection(W / H) @ pose_matrix(FACING) @ np.array([*local, 1.0])
    ndc = clip[:3] / clip[3]
    return round((ndc[0] + 1) / 2 * W), round((1 - ndc[1]) / 2 * H)


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int32) - b.astype(np.int32)).max(axis=-1) > 24


def _count(mask: np.ndarray, centre: tuple[int, int], half: int) -> int:
    x, y = centre
    return int(mask[y - half : y + half, x - half : x + half].sum())


def _red(image: np.ndarray) -> np.ndarray:
    px = image.astype(np.int32)
    return (px[..., 0] > 60) & (px[..., 0] > 3 * px[..., 1]) & (px[..., 0] > 3 * px[..., 2])


def test_quantized_meshopt_copy_renders_as_the_plain_one(
    offscreen: OffscreenRenderer, tmp_path: Path
) -> None:
    plain = offscreen.render(_items(load_avatar(write_gltf(tmp_path / "plain.glb"))), [CLOSE])
    packed = load_avatar(write_gltf(tmp_path / "packed.glb", quantize=True, compress=True))
    compact = offscreen.render(_items(packed), [CLOSE])
    write_png(tmp_path / "compact.png", compact)
    drawn = _changed(plain, offscreen.render([], [CLOSE]))
    assert drawn.sum() > 20000, "the face fills a good part of the picture"
    difference = np.abs(plain.astype(np.int32) - compact.astype(np.int32)).max(axis=-1)
    assert np.percentile(difference[drawn], 99) <= 8 and (difference > 40).sum() < 50
    opened = offscreen.render(_items(packed, {"jawOpen": 1.0}), [CLOSE])
    mouth = _pixel((0.0, MOUTH_Y - HEAD_Y, -0.087))  # a plain file's origin: its bounding box's centre
    assert _count(_changed(compact, opened), mouth, 40) > 100, "its quantized targets still open the jaw"


@pytest.mark.parametrize("version", ["1.0", "0.x"])
def test_vrm_faces_the_viewer_and_its_expressions_move_the_mouth_and_its_own_left_eye(
    offscreen: OffscreenRenderer, tmp_path: Path, version: str
) -> None:
    avatar = load_avatar(write_vrm(tmp_path / "face.vrm", version))  # type: ignore[arg-type]
    rest = offscreen.render(_items(avatar), [CLOSE])
    write_png(tmp_path / f"vrm-{version}.png", rest)
    nose = _pixel((0.0, -0.03, -0.03))
    assert _count(_red(rest), nose, 20) > 150, "the red nose faces the viewer"
    assert abs(nose[0] - W / 2) < 4

    mouth = _pixel((0.0, MOUTH_Y - EYE_Y, 0.0))  # a VRM's origin: between its eye bones
    own_left, own_right = _pixel((-EYE_X, 0.0, 0.0)), _pixel((EYE_X, 0.0, 0.0))
    assert own_left[0] > W / 2 > own_right[0], "facing us, its left eye is on our right"

    jaw = _changed(rest, offscreen.render(_items(avatar, {"jawOpen": 1.0}), [CLOSE]))
    assert _count(jaw, mouth, 80) > 100 and jaw.sum() == _count(jaw, mouth, 80)

    blink = _changed(rest, offscreen.render(_items(avatar, {"eyeBlinkLeft": 1.0}), [CLOSE]))
    assert _count(blink, own_left, 40) > 100, "the avatar's own left eye closes"
    assert blink.sum() == _count(blink, own_left, 40) and _count(blink, own_right, 40) == 0
