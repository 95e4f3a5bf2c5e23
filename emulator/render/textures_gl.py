"""Every visible avatar's textures in one GL_TEXTURE_2D_ARRAY per GL context.

All layers share one size (`images.LAYER_SIZE`), so a vertex names its texture by a layer number and a
whole crowd, whatever its materials, still draws with one call (`batch.py`). An avatar's texture set
(its `textures` array, which its LOD levels share) takes a run of free layers when it first appears
and is uploaded there once, mip levels included; its layers are freed when it is no longer drawn.
Only when the array is full does it grow (doubling), which re-uploads the sets in use. GL thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
from OpenGL import GL

from emulator.render.avatar import Avatar
from emulator.render.images import LAYER_SIZE

log = logging.getLogger(__name__)

TEXTURE_UNIT = 1  # unit 0 holds the GPU morph deltas and the label atlas
_INITIAL_LAYERS = 16


def mip_chain(layers: npt.NDArray[np.uint8]) -> list[npt.NDArray[np.uint8]]:
    """(L, S, S, 4) and its halvings down to 1×1, each a 2×2 box filter of the one before: computed
    for the new layers only, where glGenerateMipmap would redo the whole array."""
    levels = [np.ascontiguousarray(layers, np.uint8)]
    while levels[-1].shape[1] > 1:
        last = levels[-1].astype(np.uint16)
        half = (
            last[:, 0::2, 0::2] + last[:, 1::2, 0::2] + last[:, 0::2, 1::2] + last[:, 1::2, 1::2] + 2
        ) // 4
        levels.append(half.astype(np.uint8))
    return levels


class TextureLayers:
    def __init__(self, layer_size: int = LAYER_SIZE) -> None:
        if layer_size & (layer_size - 1):
            raise ValueError(f"the layer size must be a power of two, got {layer_size}")
        self.layer_size = layer_size
        self.texture = int(GL.glGenTextures(1))
        self.generation = 0  # bumped when layers already handed out move (the array grew)
        self.uploads = 0  # layers uploaded since creation (tests check the cache with it)
        self._max_layers = int(GL.glGetIntegerv(GL.GL_MAX_ARRAY_TEXTURE_LAYERS))
        self._capacity = 0
        self._free: list[bool] = []
        self._bases: dict[int, int] = {}  # id(textures) → first layer
        self._sets: dict[int, npt.NDArray[np.uint8]] = {}  # keeps every named array alive
        self._requested: frozenset[int] = frozenset()

    def base(self, avatar: Avatar) -> int:
        """The array layer of `avatar`'s texture 0 (its layer numbers are offset by this); -1 when its
        textures are not in the array (none, or past the GL's layer limit): drawn untextured."""
        return self._bases.get(id(avatar.textures), -1)

    def resident(self, avatar: Avatar) -> bool:
        return id(avatar.textures) in self._bases

    def update(self, avatars: Iterable[Avatar]) -> None:
        """Make every texture set of `avatars` resident and free the layers of sets no longer drawn."""
        wanted: dict[int, npt.NDArray[np.uint8]] = {}
        for avatar in avatars:
            if len(avatar.textures) and id(avatar.textures) not in wanted:
                wanted[id(avatar.textures)] = avatar.textures
        if frozenset(wanted) == self._requested:
            return
        for key in [k for k in self._sets if k not in wanted]:
            base = self._bases.pop(key, None)
            if base is not None:
                self._free[base : base + len(self._sets[key])] = [True] * len(self._sets[key])
            del self._sets[key]
        for key, layers in wanted.items():
            if key not in self._sets:
                self._sets[key] = layers
                self._place(key, layers)
        self._requested = frozenset(wanted)

    def _place(self, key: int, layers: npt.NDArray[np.uint8]) -> None:
        if layers.shape[1:] != (self.layer_size, self.layer_size, 4):
            log.warning("texture layers of %s pixels do not fit the array; drawn untextured", layers.shape)
            return
        base = self._find(len(layers))
        if base is None:
            needed = sum(len(s) for k, s in self._sets.items() if k in self._bases) + len(layers)
            capacity = max(_INITIAL_LAYERS, self._capacity)
            while capacity < needed:
                capacity *= 2
            capacity = min(max(capacity, 2 * self._capacity), self._max_layers)
            if needed > capacity:
                log.warning("more than %d texture layers in view; the rest are drawn untextured", capacity)
                return
            self._grow(capacity)
            base = self._find(len(layers))
            if base is None:
                return
        self._upload(base, layers)
        self._bases[key] = base

    def _find(self, count: int) -> int | None:
        run = 0
        for i, free in enumerate(self._free):
            run = run + 1 if free else 0
            if run == count:
                return i - count + 1
        return None

    def _grow(self, capacity: int) -> None:
        """A bigger array, with the sets already placed packed into its first layers again."""
        GL.glActiveTexture(GL.GL_TEXTURE0 + TEXTURE_UNIT)
        GL.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, self.texture)
        size, level = self.layer_size, 0
        while size >= 1:
            GL.glTexImage3D(
                GL.GL_TEXTURE_2D_ARRAY, level, GL.GL_RGBA8, size, size, capacity, 0,
                GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, None,
            )  # fmt: skip
            size, level = size // 2, level + 1
        GL.glTexParameteri(GL.GL_TEXTURE_2D_ARRAY, GL.GL_TEXTURE_MAX_LEVEL, level - 1)
        # Bilinear within the nearest mip level: trilinear cost llvmpipe ~30% more CPU per textured frame
        # (8 heads at 1280×720: 17.0 against 12.9 ms) for a difference nobody sees at this size.
        GL.glTexParameteri(GL.GL_TEXTURE_2D_ARRAY, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_NEAREST)
        GL.glTexParameteri(GL.GL_TEXTURE_2D_ARRAY, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        # glTF's default wrap; per-sampler wrap modes are not kept (all layers share one sampler).
        GL.glTexParameteri(GL.GL_TEXTURE_2D_ARRAY, GL.GL_TEXTURE_WRAP_S, GL.GL_REPEAT)
        GL.glTexParameteri(GL.GL_TEXTURE_2D_ARRAY, GL.GL_TEXTURE_WRAP_T, GL.GL_REPEAT)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        placed = [k for k in self._sets if k in self._bases]
        self._capacity, self._free, self._bases = capacity, [True] * capacity, {}
        for key in placed:
            base = self._find(len(self._sets[key]))
            assert base is not None  # they fitted the smaller array
            self._upload(base, self._sets[key])
            self._bases[key] = base
        self.generation += 1

    def _upload(self, base: int, layers: npt.NDArray[np.uint8]) -> None:
        GL.glActiveTexture(GL.GL_TEXTURE0 + TEXTURE_UNIT)
        GL.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, self.texture)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        for level, pixels in enumerate(mip_chain(layers)):
            size = pixels.shape[1]
            GL.glTexSubImage3D(
                GL.GL_TEXTURE_2D_ARRAY, level, 0, 0, base, size, size, len(layers),
                GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, pixels,
            )  # fmt: skip
        GL.glActiveTexture(GL.GL_TEXTURE0)
        self._free[base : base + len(layers)] = [False] * len(layers)
        self.uploads += len(layers)

    def bind(self) -> None:
        GL.glActiveTexture(GL.GL_TEXTURE0 + TEXTURE_UNIT)
        GL.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, self.texture)
        GL.glActiveTexture(GL.GL_TEXTURE0)

    def release(self) -> None:
        GL.glDeleteTextures(1, [self.texture])
        self._bases.clear()
        self._sets.clear()
        self._requested = frozenset()
