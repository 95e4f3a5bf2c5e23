"""Hands and name labels on real OpenGL (Mesa llvmpipe under Xvfb), judged from the pixels."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from emulator.model.hands import HandJoint, HandPose, HandSide, hand_pose
from emulator.model.pose import Pose, Quat, Vec3
from emulator.render.avatar import Avatar, load_avatar
from emulator.render.avatar_gen import load_default_avatar
from emulator.render.camera import Camera
from emulator.render.hand_mesh import relaxed_hands
from emulator.render.offscreen import OffscreenRenderer
from emulator.render.scene import DrawItem, Scene
from tests.support.avatars import write_static_head

pytestmark = pytest.mark.gui
W, H = 640, 480
VIEWER = Pose(Vec3(0.0, 1.6, 0.0))
WIDE = Camera(VIEWER, 60.0)


@pytest.fixture(scope="module")
def offscreen(xvfb_display: str) -> Iterator[OffscreenRenderer]:
    with OffscreenRenderer(W, H, labels=False) as renderer:
        yield renderer


@pytest.fixture(scope="module")
def bust() -> Avatar:
    return load_default_avatar()


def _facing_viewer(x: float, y: float, z: float) -> Pose:
    return Pose(Vec3(x, y, z), Quat.from_euler(math.radians(180.0)))


def _items(
    people: list[tuple[str, Avatar, Pose, HandPose | None]], names: dict[str, str] | None = None
) -> list[DrawItem]:
    scene = Scene(delay_us=0)
    for pid, avatar, pose, right in people:
        scene.add(pid, avatar, name=(names or {}).get(pid, pid))
        scene.update(pid, pose, time_us=0, right_hand=right)
    return scene.frame(0)


def _pixels(camera: Camera, points: np.ndarray) -> np.ndarray:
    """(N, 2) integer pixel columns and rows of world points."""
    clip = np.c_[points, np.ones(len(points))] @ camera.view_projection(W / H).T
    ndc = clip[:, :3] / clip[:, 3:]
    return np.stack([(ndc[:, 0] + 1) / 2 * W, (1 - ndc[:, 1]) / 2 * H], axis=1).round().astype(int)


def _changed(a: np.ndarray, b: np.ndarray, threshold: int = 24) -> np.ndarray:
    return np.abs(a.astype(np.int32) - b.astype(np.int32)).max(axis=-1) > threshold


def _skin_like(image: np.ndarray, xy: np.ndarray) -> float:
    """Share of the points whose pixel is warm (red over blue): skin is; sky, floor and shirt are not."""
    rgb = image[xy[:, 1], xy[:, 0]].astype(int)
    return float(((rgb[:, 0] > rgb[:, 2] + 25) & (rgb[:, 0] > 90)).mean())


def _box_of(camera: Camera, hand: HandPose, margin: int = 6) -> tuple[int, int, int, int]:
    joints = _pixels(camera, hand.positions)
    (x0, y0), (x1, y1) = joints.min(axis=0) - margin, joints.max(axis=0) + margin
    return int(x0), int(y0), int(x1), int(y1)


def test_a_participant_sending_no_hands_shows_relaxed_hands_and_a_head_only_avatar_none(
    offscreen: OffscreenRenderer, bust: Avatar, tmp_path: Path
) -> None:
    pose = _facing_viewer(0.0, 1.6, -2.0)
    picture = offscreen.render(_items([("p", bust, pose, None)]), [WIDE])
    handless = offscreen.render(_items([("p", replace(bust, draws_own_hands=True), pose, None)]), [WIDE])
    hands = _changed(picture, handless)
    left, right = relaxed_hands(bust, pose) or pytest.fail("the bust should have relaxed hands")
    eyes = _pixels(WIDE, np.array([[0.0, 1.6, -2.0]]))[0]
    inside = 0
    for hand in (left, right):
        x0, y0, x1, y1 = _box_of(WIDE, hand)
        assert y0 > eyes[1] + 80, "relaxed hands hang well below the head"
        drawn = hands[y0:y1, x0:x1]
        assert drawn.sum() > 40, f"the relaxed {hand.side.name} hand is drawn where it rests"
        # Mostly skin: shading and the tinted rim light darken or cool the edges.
        assert _skin_like(picture, np.argwhere(drawn)[:, ::-1] + (x0, y0)) > 0.5, (
            "in the avatar's skin colour"
        )
        inside += int(drawn.sum())
    assert hands.sum() == inside, "nothing but the hands differs"
    assert _box_of(WIDE, left)[0] > eyes[0] > _box_of(WIDE, right)[2], "its left hand on our right, facing us"

    head_only = load_avatar(write_static_head(tmp_path / "static.glb"))
    empty = offscreen.render([], [WIDE])
    alone = _changed(offscreen.render(_items([("p", head_only, pose, None)]), [WIDE]), empty)
    ys, _ = np.nonzero(alone)
    assert len(ys) > 300 and ys.max() < eyes[1] + 40, "a head-only avatar gets no hands"


def test_received_hand_joints_that_change_change_the_hand_region(
    offscreen: OffscreenRenderer, bust: Avatar
) -> None:
    pose = _facing_viewer(0.0, 1.6, -2.0)
    # The avatar's right hand raised beside its face, palm towards us, fingers up.
    wrist = Pose(Vec3(-0.3, 1.5, -1.9), Quat.from_euler(math.radians(180.0), math.radians(90.0)))
    open_hand = hand_pose(HandSide.RIGHT, wrist, curl=0.0)
    fist = hand_pose(HandSide.RIGHT, wrist, curl=1.0)
    moved = hand_pose(HandSide.RIGHT, Pose(Vec3(-0.2, 1.55, -1.9), wrist.orientation), curl=0.0)
    a = offscreen.render(_items([("p", bust, pose, open_hand)]), [WIDE])
    b = offscreen.render(_items([("p", bust, pose, fist)]), [WIDE])
    c = offscreen.render(_items([("p", bust, pose, moved)]), [WIDE])
    joints = _pixels(WIDE, open_hand.positions)
    x0, y0, x1, y1 = _box_of(WIDE, open_hand, 10)
    curl = _changed(a, b)
    inside = curl[y0:y1, x0:x1].sum()
    assert inside > 150, "curling the fingers changes the hand's pixels"
    assert curl.sum() - inside < 0.1 * inside, "and little else"
    assert _skin_like(a, joints[[HandJoint.MIDDLE_PROXIMAL, HandJoint.MIDDLE_INTERMEDIATE]]) == 1.0
    assert _changed(a, c)[y0:y1, x0:x1].sum() > 150, "moving the hand moves its pixels"
    # The received right hand replaced the relaxed one: its resting place shows no hand.
    rest = relaxed_hands(bust, pose)
    assert rest is not None
    rx0, ry0, rx1, ry1 = _box_of(WIDE, rest[1], 0)
    assert _skin_like(a, np.argwhere(np.ones((ry1 - ry0, rx1 - rx0)))[:, ::-1] + (rx0, ry0)) < 0.05


def _label_box(camera: Camera, pose: Pose) -> tuple[int, int, int, int]:
    """x0, y0, x1, y1 around where a label over `pose` is drawn: above the head, centred on it."""
    top = _pixels(camera, np.array([[pose.position.x, pose.position.y + 0.2, pose.position.z]]))[0]
    return top[0] - 90, top[1] - 40, top[0] + 90, top[1] + 2


def test_a_name_in_another_script_renders_as_glyphs_not_boxes(xvfb_display: str, bust: Avatar) -> None:
    pose = _facing_viewer(0.0, 1.6, -1.5)
    camera = Camera(VIEWER, 40.0)
    pictures = {}
    with OffscreenRenderer(W, H, labels=True) as renderer:
        for name in ("José 李", "José 木", "José 口", "Marie 李", "José 李李"):
            pictures[name] = renderer.render(_items([("p", bust, pose, None)], {"p": name}), [camera])
        bare = renderer.render(_items([("p", bust, pose, None)], {"p": ""}), [camera])
    x0, y0, x1, y1 = _label_box(camera, pose)
    ink = _changed(pictures["José 李"], bare)[y0:y1, x0:x1]
    assert ink.sum() > 100, "the label is drawn above the head"
    # Each character has its own glyph: change one character and that part of the label changes. With
    # a font lacking them, 李, 木 and 口 would all be the same box.
    for other in ("José 木", "José 口", "Marie 李"):
        assert _changed(pictures["José 李"], pictures[other])[y0:y1, x0:x1].sum() > 10, other
    face_top = _pixels(camera, np.array([[0.0, 1.6 + 0.135, -1.5]]))[0][1]
    ys, _ = np.nonzero(_changed(pictures["José 李李"], bare))
    assert ys.max() < face_top, "the label never covers the face"


def test_a_nearer_avatars_label_is_drawn_over_a_farther_ones(xvfb_display: str, bust: Avatar) -> None:
    camera = Camera(VIEWER, 40.0)
    near = _facing_viewer(0.0, 1.6, -2.0)
    # Farther and higher, so its label lands where the nearer one's is (the nearer head hides its face).
    far = _facing_viewer(0.02, 1.6 + 0.2, -4.0)
    names = {"near": "Near Nora", "far": "Far Farid"}
    with OffscreenRenderer(W, H, labels=True) as renderer:
        both = renderer.render(
            _items([("far", bust, far, None), ("near", bust, near, None)], names), [camera]
        )
        swapped = renderer.render(
            _items([("near", bust, near, None), ("far", bust, far, None)], names), [camera]
        )
        near_only = renderer.render(_items([("near", bust, near, None)], names), [camera])
        renderer.renderer.labels = False
        unlabelled = renderer.render(_items([("near", bust, near, None)], names), [camera])
    x0, y0, x1, y1 = _label_box(camera, near)
    assert abs(_label_box(camera, far)[3] - y1) < 4, "the two labels overlap on screen"
    ink = _changed(near_only, unlabelled)[y0:y1, x0:x1] & (near_only[y0:y1, x0:x1].min(axis=-1) > 140)
    assert ink.sum() > 30, "the nearer name's letters are found"
    for picture in (both, swapped):  # whatever order the scene lists them in
        region = picture[y0:y1, x0:x1][ink].astype(int)
        expected = near_only[y0:y1, x0:x1][ink].astype(int)
        assert np.abs(region - expected).max() < 40, (
            "the nearer name is drawn on top, not under the farther one"
        )
