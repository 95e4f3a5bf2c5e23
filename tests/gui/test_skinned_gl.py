"""A skinned avatar on real OpenGL (llvmpipe under Xvfb): posed by its skeleton, not in bind pose.

The generated avatar (tests/support/skinned.py) has a red nose, yellow shoulder markers on the upper
spine, blue sleeves and green hands, so each check looks for the pixels of one colour.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from emulator.model.hands import HandPose, HandSide, hand_pose
from emulator.model.pose import Pose, Quat, Vec3
from emulator.render.avatar import Avatar, load_avatar
from emulator.render.avatar_gl import MorphMode
from emulator.render.camera import Camera
from emulator.render.offscreen import OffscreenRenderer
from emulator.render.scene import DrawItem, Scene
from tests.support.skinned import EYE_Y, SHOULDER_Y, write_skinned_avatar

pytestmark = pytest.mark.gui
W, H = 640, 480
CAMERA = Camera(Pose(Vec3(0.0, 1.2, 0.0)), 60.0)
HEAD = Vec3(0.0, 1.6, -2.2)  # where the headset is: the avatar faces the camera from 2.2 m
S = 1_000_000


@pytest.fixture(scope="module")
def context(xvfb_display: str) -> Iterator[OffscreenRenderer]:
    with OffscreenRenderer(W, H, labels=False) as renderer:
        yield renderer


@pytest.fixture(params=[MorphMode.CPU, MorphMode.GPU])
def offscreen(context: OffscreenRenderer, request: pytest.FixtureRequest) -> Iterator[OffscreenRenderer]:
    """Both morph modes: a GPU-morphing renderer sends skinned avatars through the CPU batch too."""
    context.renderer.morph = request.param
    yield context
    context.renderer.morph = MorphMode.CPU


@pytest.fixture(scope="module")
def body(tmp_path_factory: pytest.TempPathFactory) -> Avatar:
    return load_avatar(write_skinned_avatar(tmp_path_factory.mktemp("skinned") / "body.glb"))


def _facing(yaw_off_deg: float = 0.0) -> Pose:
    return Pose(HEAD, Quat.from_euler(math.radians(180.0 + yaw_off_deg)))


def _mask(image: np.ndarray, colour: str) -> np.ndarray:
    r, g, b = (image[..., i].astype(np.int32) for i in range(3))
    return {
        "red": (r > 110) & (r > 2 * g + 20) & (r > 2 * b + 20),
        "yellow": (r > 110) & (g > 110) & (b * 2 < g),
        "blue": (b > 100) & (b > 2 * r + 20) & (b > g + 40),
        "green": (g > 100) & (g > 2 * r + 20) & (g > 2 * b + 20),
    }[colour]


def _centre(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    assert len(xs) > 20, "the part should be visible"
    return np.array([xs.mean(), ys.mean()])


def _pixel(world: tuple[float, float, float]) -> tuple[float, float]:
    clip = CAMERA.view_projection(W / H) @ np.array([*world, 1.0])
    ndc = clip[:3] / clip[3]
    return (ndc[0] + 1) / 2 * W, (1 - ndc[1]) / 2 * H


class _Run:
    """One participant over time: states and frames at explicit times, like the app's render loop."""

    def __init__(self, avatar: Avatar) -> None:
        self.scene = Scene(delay_us=0)
        self.scene.add("p", avatar, name="Skinned", tint=(1.0, 1.0, 1.0))

    def at(
        self, t_s: float, pose: Pose, left: HandPose | None = None, right: HandPose | None = None
    ) -> list[DrawItem]:
        self.scene.update("p", pose, time_us=round(t_s * S), left_hand=left, right_hand=right)
        return self.scene.frame(round(t_s * S))


def test_a_40_degree_head_yaw_turns_the_head_while_the_shoulders_stay(
    offscreen: OffscreenRenderer, body: Avatar
) -> None:
    run = _Run(body)
    rest = offscreen.render(run.at(0.0, _facing()), [CAMERA])
    frames = [run.at(t / 20, _facing(40.0)) for t in range(1, 21)]  # held for a second: inside the dead zone
    turned = offscreen.render(frames[-1], [CAMERA])
    nose = abs(_centre(_mask(turned, "red"))[0] - _centre(_mask(rest, "red"))[0])
    shoulders = np.abs(_centre(_mask(turned, "yellow")) - _centre(_mask(rest, "yellow"))).max()
    assert nose > 10, f"the nose moved {nose:.1f} px"
    assert shoulders < nose / 4, f"shoulders moved {shoulders:.1f} px against the nose's {nose:.1f}"
    # Held past the dead zone, the body follows: the shoulder markers then turn too.
    for t in range(21, 60):
        last = run.at(t / 20, _facing(70.0))
    followed = offscreen.render(last, [CAMERA])
    left_marker = _mask(followed, "yellow")[:, W // 2 :].sum()
    right_marker = _mask(followed, "yellow")[:, : W // 2].sum()
    assert abs(int(left_marker) - int(right_marker)) > 0.3 * (left_marker + right_marker)


def test_arms_hang_at_the_sides_not_in_the_t_pose(offscreen: OffscreenRenderer, body: Avatar) -> None:
    image = offscreen.render(_Run(body).at(0.0, _facing()), [CAMERA])
    sleeves = _mask(image, "blue") | _mask(image, "green")
    ys, xs = np.nonzero(sleeves)
    centre_x, shoulder_y = _pixel((0.0, HEAD.y - EYE_Y + SHOULDER_Y, HEAD.z))
    side_x, _ = _pixel((0.35, HEAD.y - EYE_Y + SHOULDER_Y, HEAD.z))
    _, waist_y = _pixel((0.0, HEAD.y - EYE_Y + 1.05, HEAD.z))
    assert len(xs) > 500
    assert np.abs(xs - centre_x).max() < side_x - centre_x, "no arm reaches out sideways"
    assert ys.max() > waist_y, "the hands hang below the waist"
    assert (ys < shoulder_y - 5).sum() == 0, "nothing of the arms above the shoulders"


def _wave(t_s: float) -> HandPose:
    """The avatar's own left hand raised beside its head, swinging side to side once a second."""
    swing = math.sin(2 * math.pi * t_s)
    wrist = Pose(
        Vec3(HEAD.x + 0.35 + 0.08 * swing, HEAD.y + 0.12, HEAD.z + 0.05),
        Quat.from_euler(math.pi, math.radians(80), math.radians(25 * swing)),
    )
    return hand_pose(HandSide.LEFT, wrist, curl=0.1)


def test_a_received_hand_wave_moves_the_hand_pixels(offscreen: OffscreenRenderer, body: Avatar) -> None:
    run = _Run(body)
    relaxed = offscreen.render(run.at(0.0, _facing()), [CAMERA])
    one = offscreen.render(run.at(0.25, _facing(), left=_wave(0.25)), [CAMERA])
    other = offscreen.render(run.at(0.75, _facing(), left=_wave(0.75)), [CAMERA])
    _, head_y = _pixel((0.0, HEAD.y, HEAD.z))
    for waving in (one, other):
        hands = _mask(waving, "green")
        assert hands[: round(head_y)].sum() > 100, "a hand is up by the head"
        assert _centre(hands[: round(head_y)])[0] > W / 2, "on the avatar's own left: our right"
    assert _mask(relaxed, "green")[: round(head_y)].sum() == 0
    a, b = _centre(_mask(one, "green")[: round(head_y)]), _centre(_mask(other, "green")[: round(head_y)])
    assert abs(a[0] - b[0]) > 15, "the raised hand swings between the two frames"


@pytest.mark.parametrize(("distance", "posed_every_frame"), [(1.0, True), (4.0, False)])
def test_the_renderer_tells_the_scene_how_small_each_avatar_is(
    context: OffscreenRenderer, body: Avatar, distance: float, posed_every_frame: bool
) -> None:
    """Drawn through `draw_scene` as the app draws: a far avatar is re-posed at 30 Hz, a close one every
    frame (anim_lod.py), from the head sizes the renderer measured."""
    from emulator.render.anim_lod import FAR_RATE_BELOW_PX
    from emulator.render.lod import HEAD_HEIGHT_M

    scene = Scene(delay_us=0)
    participant = scene.add("p", body)
    context.context.make_current()
    context.framebuffer.bind()
    frames = 8
    for k in range(frames):
        turn = Quat.from_euler(math.radians(180.0 + 20.0 * math.sin(0.3 * k)))
        scene.update("p", Pose(Vec3(0.0, 1.6, -distance), turn), time_us=k * 11_111)
        context.renderer.draw_scene(scene, k * 11_111, [CAMERA], W, H)
    expected = HEAD_HEIGHT_M * CAMERA.pixels_per_metre(W / H, H) / math.dist((0, 1.2, 0), (0, 1.6, -distance))
    assert context.renderer.head_pixels["p"] == pytest.approx(expected, rel=1e-6)
    assert (expected >= FAR_RATE_BELOW_PX) is posed_every_frame
    if posed_every_frame:
        assert participant.cadence.posed_frames == frames
    else:  # frame 1 has no size yet, frame 2 has (a new detail): both posed; then 30 Hz at 90 fps: 4 and 7
        assert participant.cadence.posed_frames == 4
