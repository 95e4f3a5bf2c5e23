"""Every visible avatar's textures in one GL_TEXTURE_2D_ARRAY per GL context.

All layers share one size (`images.LAYER_SIZE`), so a vertex names its texture by a layer number and a
whole crowd, whatever its materials, still draws with one call (`batch.py`). An avatar's layers are
uploaded when it first appears and stay while it is drawn; when the set of drawn texture sets changes
the array is rebuilt from the sets still in use, which releases the others. LOD levels share their
avatar's `textures` array, so switching level uploads nothing. GL thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
from OpenGL import GL

from emulator.render.avatar import Avatar
from emulator.render.images import LAYER_SIZE

log = logging.getLogger(__name__)

TEXTURE_UNIT = 1  # unit 0 holds the GPU morph deltas and the label atlas


class TextureLayers:
    def __init__(self, layer_size: int = LAYER_SIZE) -> None:
        self.layer_size = layer_size
        self.texture = int(GL.glGenTextures(1))
        self.generation = 0  # bumped on every rebuild: layer numbers may have moved
        self.uploads = 0  # layers uploaded since creation (tests check the cache with it)
        self._bases: dict[int, int] = {}
        self._requested: frozenset[int] = frozenset()
        self._keep: list[np.ndarray] = []  # the arrays `_requested` names by id stay alive while named
        self._max_layers = int(GL.glGetIntegerv(GL.GL_MAX_ARRAY_TEXTURE_LAYERS))
        self._allocate([])

    def base(self, avatar: Avatar) -> int:
        """The array layer of `avatar`'s texture 0 (its layer numbers are offset by this); -1 when its
        textures are not in the array (none, or past the GL's layer limit): drawn untextured."""
        return self._bases.get(id(avatar.textures), -1)

    def resident(self, avatar: Avatar) -> bool:
        return id(avatar.textures) in self._bases

    def update(self, avatars: Iterable[Avatar]) -> None:
        """Make every texture set of `avatars` resident; rebuild only when the set of sets changes."""
        sets: dict[int, np.ndarray] = {}
        for avatar in avatars:
            if len(avatar.textures) and id(avatar.textures) not in sets:
                sets[id(avatar.textures)] = avatar.textures
        if frozenset(sets) == self._requested:
            return
        self._allocate(list(sets.values()))
        self._requested = frozenset(sets)
        self._keep = list(sets.values())

    def _allocate(self, sets: list[np.ndarray]) -> None:
        bases: dict[int, int] = {}
        fitting: list[np.ndarray] = []
        total = 0
        for layers in sets:
            if layers.shape[1:] != (self.layer_size, self.layer_size, 4):
                log.warning(
                    "texture layers of %s pixels do not fit the array; drawn untextured", layers.shape
                )
                continue
            if total + len(layers) > self._max_layers:
                log.warning(
                    "more than %d texture layers visible; the rest are drawn untextured", self._max_layers
                )
                break
            bases[id(layers)] = total
            fitting.append(layers)
            total += len(layers)
        size = self.layer_size if total else 1
        GL.glActiveTexture(GL.GL_TEXTURE0 + TEXTURE_UNIT)
        GL.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, self.texture)
        GL.glTexImage3D(
            GL.GL_TEXTURE_2D_ARRAY, 0, GL.GL_RGBA8, size, size, max(total, 1), 0,
            GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, None,
        )  # fmt: skip
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        for layers in fitting:
            data = np.ascontiguousarray(layers, np.uint8)
            GL.glTexSubImage3D(
                GL.GL_TEXTURE_2D_ARRAY, 0, 0, 0, bases[id(layers)], size, size, len(layers),
                GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, data,
            )  # fmt: skip
            self.uploads += len(layers)
        GL.glGenerateMipmap(GL.GL_TEXTURE_2D_ARRAY)
        # Bilinear within the nearest mip level: trilinear cost llvmpipe ~30% more CPU per textured frame
        # (8 heads at 1280×720: 17.0 against 12.9 ms) for a difference nobody sees at this size.
        GL.glTexParameteri(GL.GL_TEXTURE_2D_ARRAY, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_NEAREST)
        GL.glTexParameteri(GL.GL_TEXTURE_2D_ARRAY, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        # glTF's default wrap; per-sampler wrap modes are not kept (all layers share one sampler).
        GL.glTexParameteri(GL.GL_TEXTURE_2D_ARRAY, GL.GL_TEXTURE_WRAP_S, GL.GL_REPEAT)
        GL.glTexParameteri(GL.GL_TEXTURE_2D_ARRAY, GL.GL_TEXTURE_WRAP_T, GL.GL_REPEAT)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        self._bases = bases
        self.generation += 1

    def bind(self) -> None:
        GL.glActiveTexture(GL.GL_TEXTURE0 + TEXTURE_UNIT)
        GL.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, self.texture)
        GL.glActiveTexture(GL.GL_TEXTURE0)

    def release(self) -> None:
        GL.glDeleteTextures(1, [self.texture])
        self._bases.clear()
        self._keep.clear()
        self._requested = frozenset()
