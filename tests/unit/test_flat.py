"""Far avatars drawn flat: the right level for the size on screen, textures baked without aliasing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emulator.render.avatar import Avatar, load_avatar
from emulator.render.flat import FLAT_BELOW_PX, flat, for_size
from emulator.render.lod import LEVELS, simplified
from tests.support.skinned import RPM_HALF_BODY_DETAIL, write_skinned_avatar
from tests.support.textured import textured_square


def _grid(textures: np.ndarray, steps: int) -> Avatar:
    """A unit square of `steps` x `steps` cells, UVs spanning the texture once, layer 0 everywhere."""
    u, v = np.meshgrid(np.linspace(0, 1, steps + 1), np.linspace(0, 1, steps + 1))
    uvs = np.stack([u.ravel(), v.ravel()], axis=1).astype(np.float32)
    positions = np.concatenate([uvs, np.zeros((len(uvs), 1), np.float32)], axis=1)
    row = steps + 1
    quads = [(r * row + c, r * row + c + 1, (r + 1) * row + c) for r in range(steps) for c in range(steps)]
    quads += [
        (r * row + c + 1, (r + 1) * row + c + 1, (r + 1) * row + c)
        for r in range(steps)
        for c in range(steps)
    ]
    n = len(positions)
    surface = np.tile(np.array([0.0, 0.0, -1.0, 0.0], np.float32), (n, 1))
    return Avatar(
        name="grid",
        positions=positions,
        normals=np.tile(np.array([0, 0, 1], np.float32), (n, 1)),
        colors=np.ones((n, 4), np.float32),
        indices=np.asarray(quads, np.uint32).ravel(),
        target_names=(),
        deltas=np.zeros((0, n, 3), np.float32),
        uvs=uvs,
        surface=surface,
        textures=textures,
    )


def _halves() -> np.ndarray:
    """One 64x64 layer: red on the left half, blue on the right."""
    layer = np.zeros((1, 64, 64, 4), np.uint8)
    layer[0, :, :32] = (255, 0, 0, 255)
    layer[0, :, 32:] = (0, 0, 255, 255)
    return layer


def test_a_far_avatar_gets_the_coarse_level_drawn_flat_and_a_close_one_the_full_mesh(tmp_path: Path) -> None:
    avatar = load_avatar(
        write_skinned_avatar(tmp_path / "half.glb", detail=RPM_HALF_BODY_DETAIL, textures=True, legs=False)
    )
    close, close_flat = for_size(avatar, 400.0)
    assert close is avatar and not close_flat
    far, far_flat = for_size(avatar, FLAT_BELOW_PX / 2)
    assert far_flat and far.vertex_count == simplified(avatar, LEVELS[-1][0]).vertex_count
    assert far.vertex_count < avatar.vertex_count / 5
    assert (far.surface[:, 0] < 0).all() and (far.surface[:, 2] < 0).all()  # samples no texture
    assert far.skeleton is avatar.skeleton and far.target_names == avatar.target_names
    assert for_size(avatar, FLAT_BELOW_PX / 2)[0] is far  # baked once per avatar and level
    middle, middle_flat = for_size(avatar, FLAT_BELOW_PX / 2, flat_below_px=0.0)  # flat shading off
    assert not middle_flat and (middle.surface[:, 0] >= 0).any()


def test_a_fine_mesh_keeps_the_texture_s_colours_where_its_uvs_put_them() -> None:
    baked = flat(_grid(_halves(), 32))
    u = baked.uvs[:, 0]
    inside = (u > 0.05) & (u < 0.95)  # at the edges the sampler wraps, as GL_REPEAT does
    left, right = baked.colors[inside & (u < 0.4)], baked.colors[inside & (u > 0.6)]
    assert np.allclose(left[:, :3], (1, 0, 0), atol=0.02)
    assert np.allclose(right[:, :3], (0, 0, 1), atol=0.02)


def test_a_mesh_coarser_than_its_texture_gets_the_texture_s_mean_not_an_alias() -> None:
    """Two triangles over a red/blue texture: every corner takes the mean (purple), not the texel
    its UV lands on."""
    baked = flat(_grid(_halves(), 1))
    assert np.allclose(baked.colors[:, :3], (0.5, 0, 0.5), atol=0.03)


def test_a_textured_square_from_a_file_bakes_its_checker_and_keeps_its_texture_array(tmp_path: Path) -> None:
    avatar = load_avatar(textured_square(tmp_path / "checker.glb"))
    baked = flat(avatar)
    assert baked.textures is avatar.textures  # stays resident for when the avatar comes close
    assert flat(avatar) is baked
    mean = avatar.textures[0].reshape(-1, 4).mean(axis=0)[:3] / 255.0
    assert np.allclose(baked.colors[:, :3], avatar.colors[:, :3] * mean, atol=0.03)
