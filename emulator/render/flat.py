"""Far avatars shaded per vertex: textures baked into vertex colours, lit in the vertex shader.

On llvmpipe every shaded pixel is paid in software, and the texture fetch is paid even where a
vertex names no texture (its `if` masks lanes, it does not skip them). An avatar whose head is under
`FLAT_BELOW_PX` tall is drawn at the coarsest level of detail, whose triangles are a few pixels wide,
so per-vertex lighting looks the same as per-pixel there, for a fraction of the cost (BENCHMARKS.md,
render). `flat(avatar)` is a copy of a level whose base colour (and emissive) textures are baked into
its vertex colours: each vertex samples the mip level whose texels are as large as its triangles are
in UV space (what the GPU would pick for a pixel that size), so a pattern finer than the mesh averages
out instead of aliasing. What is lost is texture detail finer than the coarse mesh (a few pixels at
this size). Its vertices then name no texture layer and the batch's shader samples none.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from emulator.render.avatar import Avatar
from emulator.render.lod import level_for, simplified

# A head under this many pixels tall is drawn flat: where the coarsest level of detail starts
# (lod.LEVELS), whose head cells are 6 px or less, so per-vertex light looks like per-pixel light.
FLAT_BELOW_PX = 100.0
_FLAT_KEY = -1.0  # the flat copy's key among `avatar.levels` (cells are never negative)


def for_size(avatar: Avatar, head_pixels: float, flat_below_px: float = FLAT_BELOW_PX) -> tuple[Avatar, bool]:
    """The mesh to draw `avatar` with when its head is `head_pixels` tall, and whether it is flat."""
    mesh = simplified(avatar, level_for(head_pixels))
    if head_pixels < flat_below_px:
        return flat(mesh), True
    return mesh, False


def flat(avatar: Avatar) -> Avatar:
    """`avatar` (a level of detail) with its textures baked into its vertex colours, made once."""
    cached = avatar.levels.get(_FLAT_KEY)
    if cached is not None:
        return cached
    colors, emissive, surface = avatar.colors, avatar.emissive, avatar.surface
    if len(avatar.textures) and ((surface[:, 0] >= 0).any() or (surface[:, 2] >= 0).any()):
        levels = _Levels(avatar.textures)
        level = _footprint_level(avatar, levels.count)
        levels.prepare(int(level.min()))
        colors = colors * _sample(levels, level, surface[:, 0], avatar.uvs)
        emissive = emissive * _sample(levels, level, surface[:, 2], avatar.uvs)[:, :3]
        surface = surface.copy()
        surface[:, 0] = surface[:, 2] = -1.0
    copy = Avatar(
        name=f"{avatar.name}@flat",
        positions=avatar.positions,
        normals=avatar.normals,
        colors=np.ascontiguousarray(colors, np.float32),
        indices=avatar.indices,
        target_names=avatar.target_names,
        deltas=avatar.deltas,
        single_sided=avatar.single_sided,
        uvs=avatar.uvs,
        surface=surface,
        emissive=np.ascontiguousarray(emissive, np.float32),
        # The same array: its layers stay resident while the avatar is far, so coming near uploads nothing.
        textures=avatar.textures,
        blend_start=avatar.blend_start,
        humanoid=avatar.humanoid,
        draws_own_hands=avatar.draws_own_hands,
        skeleton=avatar.skeleton,
        skin_joints=avatar.skin_joints,
        skin_weights=avatar.skin_weights,
    )
    avatar.levels[_FLAT_KEY] = copy
    return copy


def _footprint_level(avatar: Avatar, count: int) -> npt.NDArray[np.int64]:
    """Per vertex, the mip level whose texel spans its longest triangle edge in UV space."""
    corners = avatar.indices.reshape(-1, 3)
    uv = avatar.uvs[corners]  # (T, 3, 2)
    edges = np.linalg.norm(uv - np.roll(uv, 1, axis=1), axis=2).max(axis=1)  # (T,)
    longest = np.zeros(avatar.vertex_count)
    for k in range(3):
        np.maximum.at(longest, corners[:, k], edges)
    size = avatar.textures.shape[1]
    with np.errstate(divide="ignore"):
        level = np.floor(np.log2(np.maximum(longest * size, 1.0)))
    return np.asarray(np.clip(level, 0, count - 1), np.int64)


class _Levels:
    """Mip levels of a texture set as 0..1 floats, from the finest one a bake needs: that one a 2^k
    box mean of the layers, each coarser one the 2x2 mean of the one before (textures_gl.mip_chain's
    filter, up to rounding), so baking a far avatar reads the full-size layers once."""

    def __init__(self, textures: npt.NDArray[np.uint8]) -> None:
        self.textures = textures
        self.count = int(textures.shape[1]).bit_length()  # 512: levels 0 (512) .. 9 (1)
        self._made: dict[int, npt.NDArray[np.float32]] = {}

    def prepare(self, finest: int) -> None:
        layers, size = self.textures, self.textures.shape[1]
        side, block = size >> finest, 1 << finest
        shaped = layers.reshape(len(layers), side, block, side, block, 4)
        level = shaped.sum(axis=(2, 4), dtype=np.uint32).astype(np.float32) / np.float32(
            255.0 * block * block
        )
        self._made = {finest: level}
        for k in range(finest + 1, self.count):
            level = 0.25 * (
                level[:, 0::2, 0::2] + level[:, 1::2, 0::2] + level[:, 0::2, 1::2] + level[:, 1::2, 1::2]
            )
            self._made[k] = level

    def __getitem__(self, level: int) -> npt.NDArray[np.float32]:
        return self._made[level]


def _sample(
    levels: _Levels,
    level: npt.NDArray[np.int64],
    layer: npt.NDArray[np.float32],
    uvs: np.ndarray,
) -> np.ndarray:
    """Bilinear, wrapping (glTF's default sampler) lookups of each vertex's layer at its UV in its mip
    level; white where a vertex names no layer (or one past the set)."""
    out = np.ones((len(layer), 4), np.float32)
    index = layer.astype(np.int64)
    use = (index >= 0) & (index < len(levels.textures))
    for k in np.unique(level[use]):
        here = use & (level == k)
        out[here] = _bilinear(levels[int(k)], index[here], uvs[here])
    return out


def _bilinear(layers: npt.NDArray[np.float32], index: np.ndarray, uvs: np.ndarray) -> np.ndarray:
    size = layers.shape[1]
    u = uvs[:, 0] * size - 0.5  # texel centres sit at half-texel offsets, as in GL
    v = uvs[:, 1] * size - 0.5  # glTF's v grows down the image, as its rows do
    x0, y0 = np.floor(u), np.floor(v)
    fx, fy = (u - x0)[:, None], (v - y0)[:, None]
    x0, y0 = x0.astype(np.int64) % size, y0.astype(np.int64) % size
    x1, y1 = (x0 + 1) % size, (y0 + 1) % size
    top = layers[index, y0, x0] * (1 - fx) + layers[index, y0, x1] * fx
    bottom = layers[index, y1, x0] * (1 - fx) + layers[index, y1, x1] * fx
    return np.asarray(top * (1 - fy) + bottom * fy)
