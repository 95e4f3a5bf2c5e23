"""The renderer on real OpenGL (Mesa llvmpipe under Xvfb): what a user would check in the pictures."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from emulator.model.face import ARKIT_COUNT, Face
from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.profiles import load_profile
from emulator.render.avatar import Avatar, load_avatar
from emulator.render.avatar_gen import load_default_avatar
from emulator.render.camera import Camera, headset_eyes, pose_matrix
from emulator.render.head_geometry import EYE_X, MOUTH_Y
from emulator.render.offscreen import OffscreenRenderer
from emulator.render.scene import DrawItem, Scene
from tests.support.avatars import write_rpm_style_avatar, write_static_head

pytestmark = pytest.mark.gui
W, H = 640, 480
VIEWER = Pose(Vec3(0.0, 1.6, 0.0))
CLOSE = Camera(VIEWER, 30.0)  # a narrow lens: the face fills the frame at 0.6 m


@pytest.fixture(scope="module")
def offscreen(xvfb_display: str) -> Iterator[OffscreenRenderer]:
    with OffscreenRenderer(W, H, labels=False) as renderer:
        yield renderer


@pytest.fixture(scope="module")
def head() -> Avatar:
    return load_default_avatar()


def _facing_viewer(x: float, z: float, yaw_deg: float = 180.0) -> Pose:
    return Pose(Vec3(x, 1.6, z), Quat.from_euler(math.radians(yaw_deg)))


def _items(
    avatar: Avatar, pose: Pose, face: dict[str, float] | None = None, **extra: float
) -> list[DrawItem]:
    scene = Scene(delay_us=0)
    scene.add("p", avatar, name="Alice")
    scene.update("p", pose, Face.from_mapping(face or {}).weights, time_us=0)
    scene.set_speaking("p", extra.get("speaking", 0.0))
    return scene.frame(0)


def _pixel(camera: Camera, pose: Pose, local: tuple[float, float, float]) -> tuple[int, int]:
    world = pose_matrix(pose) @ np.array([*local, 1.0])
    clip = camera.view_projection(W / H) @ world
    ndc = clip[:3] / clip[3]
    return round((ndc[0] + 1) / 2 * W), round((1 - ndc[1]) / 2 * H)


def _box(image: np.ndarray, centre: tuple[int, int], half_w: int, half_h: int) -> np.ndarray:
    x, y = centre
    return image[y - half_h : y + half_h, x - half_w : x + half_w].astype(np.int32)


def _changed(a: np.ndarray, b: np.ndarray, threshold: int = 24) -> np.ndarray:
    return np.abs(a.astype(np.int32) - b.astype(np.int32)).max(axis=-1) > threshold


def test_avatar_ahead_is_centred_to_the_right_is_right_behind_is_not_drawn(
    offscreen: OffscreenRenderer, head: Avatar
) -> None:
    cameras = headset_eyes(VIEWER, load_profile("visionpro"))
    empty = offscreen.render([], cameras)
    ahead = _changed(offscreen.render(_items(head, _facing_viewer(0.0, -2.0)), cameras), empty)
    ys, xs = np.nonzero(ahead)
    assert len(xs) > 300, "the bust should cover a visible patch"
    assert abs(xs.mean() - W / 2) < 4
    # The eyes are the avatar's origin: the crown is drawn above the middle row, the bust below it.
    assert H / 2 - 30 < ys.min() < H / 2 - 10 and ys.max() > H / 2 + 50
    right = _changed(offscreen.render(_items(head, _facing_viewer(1.0, -2.0)), cameras), empty)
    assert np.nonzero(right)[1].mean() > W / 2 + 60
    behind = _changed(offscreen.render(_items(head, _facing_viewer(0.0, 2.0, 0.0)), cameras), empty)
    assert not behind.any()


def test_jaw_open_changes_the_mouth_and_not_the_forehead(offscreen: OffscreenRenderer, head: Avatar) -> None:
    pose = _facing_viewer(0.0, -0.6)
    closed = offscreen.render(_items(head, pose), [CLOSE])
    opened = offscreen.render(_items(head, pose, {"jawOpen": 1.0}), [CLOSE])
    mouth = _pixel(CLOSE, pose, (0.0, MOUTH_Y - 0.01, -0.05))
    forehead = _pixel(CLOSE, pose, (0.0, 0.05, -0.06))
    assert forehead[1] < mouth[1] - 100
    changed = _changed(closed, opened)
    assert _box(changed, mouth, 40, 30).sum() > 500
    assert _box(changed, forehead, 60, 25).sum() == 0


def _iris_pixels(image: np.ndarray, centre: tuple[int, int]) -> int:
    box = _box(image, centre, 22, 16)
    return int(((box[..., 2] > box[..., 0] + 50) & (box[..., 2] > 90)).sum())


def test_eye_blink_left_closes_the_avatars_own_left_eye_only(
    offscreen: OffscreenRenderer, head: Avatar
) -> None:
    pose = _facing_viewer(0.0, -0.6)
    open_eyes = offscreen.render(_items(head, pose), [CLOSE])
    blink = offscreen.render(_items(head, pose, {"eyeBlinkLeft": 1.0}), [CLOSE])
    own_left = _pixel(CLOSE, pose, (-EYE_X, 0.0, -0.045))
    own_right = _pixel(CLOSE, pose, (EYE_X, 0.0, -0.045))
    assert own_left[0] > W / 2 > own_right[0], "facing us, its left eye is on our right"
    assert _iris_pixels(open_eyes, own_left) > 150 and _iris_pixels(open_eyes, own_right) > 150
    assert _iris_pixels(blink, own_left) == 0, "the left lid covers the iris"
    assert _iris_pixels(blink, own_right) == _iris_pixels(open_eyes, own_right)


def test_rpm_style_avatar_loads_and_its_jaw_opens(offscreen: OffscreenRenderer, tmp_path: Path) -> None:
    avatar = load_avatar(write_rpm_style_avatar(tmp_path / "rpm.glb"))
    pose = _facing_viewer(0.0, -0.8)
    camera = Camera(VIEWER, 40.0)
    rest = offscreen.render(_items(avatar, pose), [camera])
    jaw = offscreen.render(_items(avatar, pose, {"jawOpen": 1.0}), [camera])
    mouth = _pixel(camera, pose, (0.0, -0.05, -0.08))
    assert _box(_changed(rest, jaw), mouth, 50, 40).sum() > 200
    scene = Scene(delay_us=0)
    scene.add("p", avatar)
    visemes = np.zeros(15, np.float32)
    visemes[10] = 1.0  # viseme_aa
    scene.update("p", pose, np.zeros(ARKIT_COUNT, np.float32), visemes, time_us=0)
    aa = offscreen.render(scene.frame(0), [camera])
    assert _box(_changed(rest, aa), mouth, 50, 40).sum() > 200


def test_glb_without_targets_is_drawn_as_a_static_head(offscreen: OffscreenRenderer, tmp_path: Path) -> None:
    avatar = load_avatar(write_static_head(tmp_path / "static.glb"))
    pose = _facing_viewer(0.0, -1.0)
    empty = offscreen.render([], [CLOSE])
    drawn = _changed(offscreen.render(_items(avatar, pose, {"jawOpen": 1.0}), [CLOSE]), empty)
    _, xs = np.nonzero(drawn)
    assert len(xs) > 5000 and abs(xs.mean() - W / 2) < 6


def test_gpu_and_cpu_morphing_draw_the_same_picture(xvfb_display: str, head: Avatar) -> None:
    items = _items(
        head, _facing_viewer(0.0, -0.6), {"jawOpen": 0.8, "mouthSmileLeft": 1.0, "eyeBlinkRight": 0.6}
    )
    pictures = []
    for morph in ("gpu", "cpu"):
        with OffscreenRenderer(W, H, labels=False, morph=morph) as renderer:
            pictures.append(renderer.render(items, [CLOSE]))
            rest = renderer.render(_items(head, _facing_viewer(0.0, -0.6)), [CLOSE])
            assert _changed(rest, pictures[-1]).sum() > 1000, f"{morph} morphing must change the face"
    assert _changed(*pictures, threshold=40).mean() < 0.002


def test_name_label_and_speaking_indicator(offscreen: OffscreenRenderer, head: Avatar) -> None:
    pose = _facing_viewer(0.0, -2.0)
    camera = Camera(VIEWER, 40.0)
    bare = offscreen.render(_items(head, pose), [camera])
    offscreen.renderer.labels = True
    try:
        quiet = offscreen.render(_items(head, pose, speaking=0.0), [camera])
        loud = offscreen.render(_items(head, pose, speaking=1.0), [camera])
    finally:
        offscreen.renderer.labels = False
    label = _pixel(camera, pose.compose(Pose(Vec3(0, 0, 0))), (0.0, 0.2, 0.0))
    above = _box(_changed(bare, quiet), (label[0], label[1] - 8), 40, 14)
    assert above.sum() > 150, "a name label is drawn above the head"
    indicator = _changed(quiet, loud)
    ys, xs = np.nonzero(indicator)
    assert len(xs) > 20 and abs(xs.mean() - label[0]) < 20 and abs(ys.mean() - label[1]) < 25
    tint = loud[ys, xs].astype(int).mean(axis=0)
    assert tint[2] > tint[0] + 40, "the bar is drawn in the participant's (blue) tint"


def test_stereo_side_by_side_shows_each_eye_with_the_ipd(offscreen: OffscreenRenderer, head: Avatar) -> None:
    profile = load_profile("quest3")
    cameras = headset_eyes(VIEWER, profile, stereo=True)
    empty = offscreen.render([], cameras)
    drawn = _changed(offscreen.render(_items(head, _facing_viewer(0.0, -0.5)), cameras), empty)
    left_x = np.nonzero(drawn[:, : W // 2])[1].mean() - W / 4
    right_x = np.nonzero(drawn[:, W // 2 :])[1].mean() - W / 4
    # Crossed disparity: the left eye sees the near head right of its centre, the right eye left of it.
    assert left_x > 3.0 and right_x < -3.0 and left_x == pytest.approx(-right_x, abs=2.0)


def test_participants_come_and_go(offscreen: OffscreenRenderer, head: Avatar) -> None:
    camera = Camera(VIEWER, 60.0)
    scene = Scene(delay_us=0)
    for i, x in enumerate((-0.6, 0.6)):
        scene.add(str(i), head)
        scene.update(str(i), _facing_viewer(x, -2.0), time_us=0)
    both = offscreen.render(scene.frame(0), [camera])
    scene.remove("1")
    one = offscreen.render(scene.frame(0), [camera])
    gone = _changed(both, one)
    assert gone[:, W // 2 :].sum() > 300 and gone[:, : W // 2].sum() == 0


def test_draws_into_whatever_framebuffer_is_bound_and_leaves_it_bound(
    offscreen: OffscreenRenderer, head: Avatar
) -> None:
    """The app's QOpenGLWidget binds its own framebuffer before calling the renderer."""
    from OpenGL import GL

    from emulator.render.offscreen import Framebuffer

    offscreen.context.make_current()
    other = Framebuffer(160, 120)
    try:
        other.bind()
        offscreen.renderer.draw_views(_items(head, _facing_viewer(0.0, -0.6)), [CLOSE], 160, 120)
        assert GL.glGetIntegerv(GL.GL_FRAMEBUFFER_BINDING) == other.fbo
        image = other.read_rgb()
        assert image.shape == (120, 160, 3)
        centre = image[50:70, 70:90].astype(int)
        assert centre[..., 0].mean() > centre[..., 2].mean() + 30, "skin, not sky, in the middle"
    finally:
        other.release()
