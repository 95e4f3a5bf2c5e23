"""Textured avatars on real OpenGL (Mesa llvmpipe under Xvfb): the picture a user would check."""

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
from emulator.render.lod import simplified
from emulator.render.offscreen import OffscreenRenderer
from emulator.render.scene import DrawItem, Scene
from tests.support.textured import (
    BLUE,
    HALF,
    QUADRANTS,
    RED,
    GlbBuilder,
    glass_over_red,
    textured_copy,
    textured_square,
)

pytestmark = pytest.mark.gui
W, H = 320, 240
VIEWER = Pose(Vec3(0.0, 1.6, 0.0))
CAMERA = Camera(VIEWER, 40.0)
POSE = Pose(Vec3(0.0, 1.6, -1.0), Quat.from_euler(math.radians(180.0)))  # facing the viewer


@pytest.fixture(scope="module")
def offscreen(xvfb_display: str) -> Iterator[OffscreenRenderer]:
    with OffscreenRenderer(W, H, labels=False) as renderer:
        yield renderer


def _items(*avatars: tuple[Avatar, Pose]) -> list[DrawItem]:
    scene = Scene(delay_us=0)
    for i, (avatar, pose) in enumerate(avatars):
        scene.add(f"p{i}", avatar, name=f"P{i}")
        scene.update(f"p{i}", pose, Face.from_mapping({}).weights, time_us=0)
    return scene.frame(0)


def _pixel(local: tuple[float, float, float], pose: Pose = POSE) -> tuple[int, int]:
    clip = CAMERA.view_projection(W / H) @ (pose_matrix(pose) @ np.array([*local, 1.0]))
    ndc = clip[:3] / clip[3]
    return round((ndc[0] + 1) / 2 * W), round((1 - ndc[1]) / 2 * H)


def _colour(image: np.ndarray, local: tuple[float, float, float]) -> np.ndarray:
    x, y = _pixel(local)
    return image[y - 3 : y + 4, x - 3 : x + 4].reshape(-1, 3).astype(np.int32).mean(axis=0)


def _dominant(rgb: tuple[int, int, int] | np.ndarray) -> tuple[bool, bool, bool]:
    """Which channels stand out: enough to tell the four checker colours apart under any lighting."""
    r, g, b = (float(c) for c in rgb)
    top = max(r, g, b)
    return (r > 0.6 * top, g > 0.6 * top, b > 0.6 * top)


@pytest.mark.parametrize("morph", ["cpu", "gpu"])
def test_checker_texture_shows_its_colours_where_the_uvs_put_them(
    xvfb_display: str, tmp_path: Path, morph: str
) -> None:
    avatar = load_avatar(textured_square(tmp_path / "checker.glb"))
    with OffscreenRenderer(W, H, labels=False, morph=morph) as renderer:
        image = renderer.render(_items((avatar, POSE)), [CAMERA])
    for colour, local in QUADRANTS:
        seen = _colour(image, local)
        assert _dominant(seen) == _dominant(colour), f"{morph}: expected {colour} at {local}, saw {seen}"


def test_unlit_texture_keeps_its_exact_colours(offscreen: OffscreenRenderer, tmp_path: Path) -> None:
    avatar = load_avatar(textured_square(tmp_path / "unlit.glb", unlit=True))
    image = offscreen.render(_items((avatar, POSE)), [CAMERA])
    for colour, local in QUADRANTS:
        assert np.abs(_colour(image, local) - np.asarray(colour)).max() <= 6


def test_coarser_levels_of_detail_keep_the_texture(offscreen: OffscreenRenderer, tmp_path: Path) -> None:
    avatar = load_avatar(textured_square(tmp_path / "lod.glb", unlit=True))
    coarse = simplified(avatar, 0.016)
    assert coarse.textures is avatar.textures
    with OffscreenRenderer(W, H, labels=False, lod=False) as renderer:
        image = renderer.render(_items((coarse, POSE)), [CAMERA])
    for colour, local in QUADRANTS:
        assert np.abs(_colour(image, local) - np.asarray(colour)).max() <= 6


def test_lossless_webp_renders_like_the_png(offscreen: OffscreenRenderer, tmp_path: Path) -> None:
    png = load_avatar(textured_square(tmp_path / "png.glb"))
    webp = load_avatar(textured_square(tmp_path / "webp.glb", fmt="WEBP"))
    a = offscreen.render(_items((png, POSE)), [CAMERA]).astype(np.int32)
    b = offscreen.render(_items((webp, POSE)), [CAMERA]).astype(np.int32)
    assert np.abs(a - b).max() <= 2


def test_mask_alpha_cuts_out_the_transparent_half(offscreen: OffscreenRenderer, tmp_path: Path) -> None:
    avatar = load_avatar(textured_square(tmp_path / "mask.glb", alpha_mode="MASK", transparent_left=True))
    empty = offscreen.render([], [CAMERA]).astype(np.int32)
    image = offscreen.render(_items((avatar, POSE)), [CAMERA]).astype(np.int32)
    for colour, local in QUADRANTS:
        x, y = _pixel(local)
        behind = empty[y - 3 : y + 4, x - 3 : x + 4]
        drawn = image[y - 3 : y + 4, x - 3 : x + 4]
        if colour in (RED, BLUE):  # the picture's left half: alpha 0, cut out
            assert np.abs(drawn - behind).max() <= 2, "the background must show through"
        else:
            assert _dominant(drawn.reshape(-1, 3).mean(axis=0)) == _dominant(colour)


def test_mask_cuts_out_after_frames_without_mask_materials(tmp_path: Path) -> None:
    """The batch's shader is compiled for the materials it draws (no discard without MASK): switching
    between frames with and without a MASK material keeps each drawn right."""
    mask = load_avatar(textured_square(tmp_path / "mask.glb", alpha_mode="MASK", transparent_left=True))
    opaque = load_avatar(textured_square(tmp_path / "opaque.glb", transparent_left=True))
    colour, local = QUADRANTS[0]  # in the picture's transparent left half
    x, y = _pixel(local)
    with OffscreenRenderer(W, H, labels=False) as renderer:
        empty = renderer.render([], [CAMERA]).astype(np.int32)[y - 3 : y + 4, x - 3 : x + 4]
        for avatar in (opaque, mask, opaque, mask):
            image = renderer.render(_items((avatar, POSE)), [CAMERA]).astype(np.int32)
            drawn = image[y - 3 : y + 4, x - 3 : x + 4]
            if avatar is mask:
                assert np.abs(drawn - empty).max() <= 2, "MASK: the background must show through"
            else:
                assert _dominant(drawn.reshape(-1, 3).mean(axis=0)) == _dominant(colour), "OPAQUE: drawn"


def test_mask_off_draws_the_transparent_half_opaque(offscreen: OffscreenRenderer, tmp_path: Path) -> None:
    avatar = load_avatar(textured_square(tmp_path / "opaque.glb", transparent_left=True))
    image = offscreen.render(_items((avatar, POSE)), [CAMERA])
    colour, local = QUADRANTS[0]
    assert _dominant(_colour(image, local)) == _dominant(colour), "OPAQUE ignores the texture's alpha"


@pytest.mark.parametrize("morph", ["cpu", "gpu"])
def test_blend_is_drawn_after_opaque(xvfb_display: str, tmp_path: Path, morph: str) -> None:
    # The glass is first in the file and nearer the viewer: drawn in file order it would write no
    # depth and the red behind would cover it; drawn after the opaque red it tints it blue.
    avatar = load_avatar(glass_over_red(tmp_path / "glass.glb"))
    assert avatar.blend_start < len(avatar.indices)
    with OffscreenRenderer(W, H, labels=False, morph=morph) as renderer:
        image = renderer.render(_items((avatar, POSE)), [CAMERA])
    r, g, b = _colour(image, (0.0, 0.0, 0.0))
    assert 90 < r < 180 and 90 < b < 180 and g < 80, f"{morph}: half blue over red, saw {(r, g, b)}"
    r, g, b = _colour(image, (HALF * 0.75, HALF * 0.75, 0.0))
    assert r > 240 and g < 10 and b < 10, "outside the glass: the red square alone"


def test_blend_avatar_listed_first_still_tints_the_avatar_behind(
    offscreen: OffscreenRenderer, tmp_path: Path
) -> None:
    glass = load_avatar(glass_over_red(tmp_path / "glass.glb", red=False))
    checker = load_avatar(textured_square(tmp_path / "back.glb", unlit=True))
    nearer = Pose(Vec3(0.0, 1.6, -0.7), POSE.orientation)
    alone = offscreen.render(_items((checker, POSE)), [CAMERA])
    image = offscreen.render(_items((glass, nearer), (checker, POSE)), [CAMERA])
    colour, local = QUADRANTS[0]  # red, behind the glass
    assert _dominant(_colour(alone, local)) == _dominant(colour)
    r, _, b = _colour(image, local)
    assert r > 60 and b > 90, f"red seen through blue glass, saw {_colour(image, local)}"


def test_textures_are_uploaded_once_and_released_when_the_avatar_goes(
    offscreen: OffscreenRenderer, tmp_path: Path
) -> None:
    first = load_avatar(textured_square(tmp_path / "first.glb", unlit=True))
    second = load_avatar(textured_square(tmp_path / "second.glb", fmt="WEBP", unlit=True))
    beside = Pose(Vec3(0.6, 1.6, -1.0), POSE.orientation)
    layers = offscreen.renderer.textures
    before = layers.uploads
    for _ in range(3):
        offscreen.render(_items((first, POSE)), [CAMERA])
    assert layers.uploads == before + 1, "one layer, uploaded once"
    base = layers.base(first)
    image = offscreen.render(_items((first, POSE), (second, beside)), [CAMERA])
    assert layers.uploads == before + 2, "a newcomer uploads its own layers only"
    assert layers.base(first) == base and layers.base(second) != base
    for colour, local in QUADRANTS:
        assert np.abs(_colour(image, local) - np.asarray(colour)).max() <= 6
    offscreen.render(_items((second, beside)), [CAMERA])
    assert not layers.resident(first) and layers.base(first) == -1
    offscreen.render([], [CAMERA])
    assert not layers.resident(second)


def test_past_the_layer_limit_an_avatar_is_drawn_untextured(xvfb_display: str, tmp_path: Path) -> None:
    avatar = load_avatar(textured_square(tmp_path / "full.glb", unlit=True))
    with OffscreenRenderer(W, H, labels=False) as renderer:
        renderer.renderer.textures._max_layers = 0  # a GL with no room left in the array
        image = renderer.render(_items((avatar, POSE)), [CAMERA])
    for _, local in QUADRANTS:
        assert _dominant(_colour(image, local)) == (True, True, True), "the base colour alone: grey-white"


def test_the_array_grows_when_full_and_keeps_what_it_held(xvfb_display: str, tmp_path: Path) -> None:
    square = load_avatar(textured_square(tmp_path / "sq.glb", unlit=True))
    big = [textured_copy(square, layers=9, layer_size=512) for _ in range(2)]  # 18 layers: past 16
    with OffscreenRenderer(W, H, labels=False) as renderer:
        layers = renderer.renderer.textures
        renderer.render(_items((big[0], POSE)), [CAMERA])
        generation = layers.generation
        renderer.render(
            _items((big[0], POSE), (big[1], Pose(Vec3(0.6, 1.6, -1.0), POSE.orientation))), [CAMERA]
        )
        assert layers.generation > generation, "the array grew"
        assert layers.resident(big[0]) and layers.resident(big[1])
        assert {layers.base(big[0]), layers.base(big[1])} == {0, 9}
        assert layers.uploads == 9 + 9 + 9, "growing re-uploads what the array held, once"


def test_emissive_glows_on_a_black_surface(offscreen: OffscreenRenderer, tmp_path: Path) -> None:
    builder = GlbBuilder()
    dark = builder.material(
        pbrMetallicRoughness={"baseColorFactor": [0, 0, 0, 1]}, emissiveFactor=[0.1, 0.9, 0.2]
    )
    builder.square(dark)
    image = offscreen.render(_items((load_avatar(builder.save(tmp_path / "glow.glb")), POSE)), [CAMERA])
    r, g, b = _colour(image, QUADRANTS[0][1])
    assert g > 210 and r < 90 and b < 110, f"the emissive green, saw {(r, g, b)}"


def test_a_far_textured_avatar_drawn_flat_keeps_its_colour_and_a_close_one_is_unchanged(
    xvfb_display: str, tmp_path: Path
) -> None:
    """Far (head under flat.FLAT_BELOW_PX tall): the baked, vertex-lit square's mean colour is the
    per-pixel one's. Close: not drawn flat, so the picture is the per-pixel one, pixel for pixel."""
    avatar = load_avatar(textured_square(tmp_path / "far.glb"))
    far = Pose(Vec3(0.0, 1.6, -2.5), POSE.orientation)  # a 0.25 m head ~44 px tall in this view

    def both(pose: Pose) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with OffscreenRenderer(W, H, labels=False) as renderer:
            empty = renderer.render([], [CAMERA]).astype(np.int32)
            flat = renderer.render(_items((avatar, pose)), [CAMERA]).astype(np.int32)
            renderer.renderer.flat_below_px = 0.0
            per_pixel = renderer.render(_items((avatar, pose)), [CAMERA]).astype(np.int32)
        return empty, flat, per_pixel

    empty, flat, per_pixel = both(far)
    covered = np.abs(per_pixel - empty).max(axis=-1) > 8
    assert covered.sum() > 300
    assert not np.array_equal(flat, per_pixel)  # it was drawn flat: the checker is gone
    assert (np.abs(flat - empty).max(axis=-1) > 8).sum() >= 0.95 * covered.sum()  # same shape
    assert np.abs(flat[covered].mean(axis=0) - per_pixel[covered].mean(axis=0)).max() < 10
    _, near_flat, near_per_pixel = both(POSE)
    assert np.array_equal(near_flat, near_per_pixel)
