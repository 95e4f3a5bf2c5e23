"""CPU morphing, batched: every avatar blended and placed by numpy, then all drawn with one call.

On llvmpipe each draw call costs about half a millisecond of setup whatever its size, so sixteen small
heads cost more in calls than in vertices. Once numpy has blended an avatar's targets, moving it into
the world is one more small matrix product (world_vertices.py), so all avatars can share one vertex
buffer and one draw.
Colours, tints, UVs, materials and triangles only change when the set of drawn meshes changes;
positions and normals are re-sent every frame (a few hundred kilobytes). Textures come from one array
(`textures_gl.py`), so textured avatars cost no extra call; only BLEND triangles are drawn apart, after
everything opaque, one call per avatar that has them, farthest first. This is the CPU half of the
GPU-vs-CPU comparison. GL thread only.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from OpenGL import GL

from emulator.render.avatar import Avatar
from emulator.render.scene import DrawItem
from emulator.render.sided import draw_blended, draw_sided
from emulator.render.textures_gl import TextureLayers
from emulator.render.world_vertices import WorldVertices

F32 = npt.NDArray[np.float32]
_STATIC_FLOATS = 16


class Features(NamedTuple):
    """What the batched materials use, so the fragment shader compiles only that (shaders.py)."""

    mask: bool  # a MASK material: the shader may discard
    emissive_map: bool  # an emissive texture
    textured: bool = True  # a base colour texture
    vertex_lit: bool = False  # far avatars, lit per vertex (flat.py): chosen by the renderer, not the data


NO_FEATURES = Features(mask=False, emissive_map=False, textured=False)


class Batch:
    def __init__(self) -> None:
        self.vao = int(GL.glGenVertexArrays(1))
        self._dynamic, self._static, self._elements = (int(b) for b in GL.glGenBuffers(3))
        GL.glBindVertexArray(self.vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._dynamic)
        for location, offset in ((0, 0), (1, 12)):  # position, normal: interleaved
            GL.glEnableVertexAttribArray(location)
            GL.glVertexAttribPointer(location, 3, GL.GL_FLOAT, GL.GL_FALSE, 24, ctypes.c_void_p(offset))
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._static)
        # colour, tint, uv, surface (layer, cutoff, emissive layer, unlit), emissive: interleaved
        for location, width, offset in ((2, 4, 0), (3, 3, 16), (4, 2, 28), (5, 4, 36), (6, 3, 52)):
            GL.glEnableVertexAttribArray(location)
            GL.glVertexAttribPointer(
                location, width, GL.GL_FLOAT, GL.GL_FALSE, _STATIC_FLOATS * 4, ctypes.c_void_p(offset)
            )
        GL.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, self._elements)
        GL.glBindVertexArray(0)
        self._layout: tuple[object, ...] = ()
        self._keep: list[Avatar] = []  # the meshes `_layout` names by id stay alive while named
        self._index_count = 0
        self._single_sided = 0
        self._opaque = 0
        self._blended: list[tuple[int, int, int]] = []  # (entry, first index, count) of BLEND triangles
        self._vertices = np.zeros((0, 6), np.float32)
        self._last: tuple[int, tuple[int, ...]] | None = None
        self._features = NO_FEATURES
        self._world = WorldVertices()

    def _relayout(self, entries: Sequence[tuple[DrawItem, Avatar]], textures: TextureLayers) -> None:
        statics, single, double, blend, offset = [], [], [], [], 0
        for item, avatar in entries:
            tint = np.broadcast_to(np.asarray(item.tint, np.float32), (avatar.vertex_count, 3))
            surface = avatar.surface.copy()
            base = textures.base(avatar)
            for column in (0, 2):  # layer numbers of this avatar's textures within the shared array
                layer = surface[:, column]
                surface[:, column] = np.where((layer >= 0) & (base >= 0), layer + base, -1.0)
            statics.append(
                np.concatenate([avatar.colors, tint, avatar.uvs, surface, avatar.emissive], axis=1)
            )
            shifted = avatar.indices + np.uint32(offset)
            single.append(shifted[: avatar.single_sided])
            double.append(shifted[avatar.single_sided : avatar.blend_start])
            blend.append(shifted[avatar.blend_start :])
            offset += avatar.vertex_count
        static = np.ascontiguousarray(np.concatenate(statics), np.float32)
        self._features = Features(
            mask=bool((static[:, 10] > 0).any()),
            emissive_map=bool((static[:, 11] >= 0).any()),
            textured=bool((static[:, 9] >= 0).any()),
        )
        elements = np.ascontiguousarray(np.concatenate(single + double + blend), np.uint32)
        self._single_sided = sum(len(s) for s in single)
        self._opaque = self._single_sided + sum(len(d) for d in double)
        self._blended, first = [], self._opaque
        for entry, triangles in enumerate(blend):
            if len(triangles):
                self._blended.append((entry, first, len(triangles)))
            first += len(triangles)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._static)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, static.nbytes, static, GL.GL_STATIC_DRAW)
        GL.glBindVertexArray(self.vao)
        GL.glBufferData(GL.GL_ELEMENT_ARRAY_BUFFER, elements.nbytes, elements, GL.GL_STATIC_DRAW)
        GL.glBindVertexArray(0)
        self._index_count = len(elements)
        self._vertices = np.zeros((offset, 6), np.float32)
        self._keep = [avatar for _, avatar in entries]

    def features(self, entries: Sequence[tuple[DrawItem, Avatar]], textures: TextureLayers) -> Features:
        """What `draw` of these entries needs from the fragment shader (lays them out if they changed)."""
        if not entries:
            return NO_FEATURES
        layout = (textures.generation, *((id(avatar), item.tint) for item, avatar in entries))
        if layout != self._layout:
            self._relayout(entries, textures)
            self._layout = layout
            self._last = None
        return self._features

    def draw(
        self,
        entries: Sequence[tuple[DrawItem, Avatar]],
        frame: int,
        textures: TextureLayers,
    ) -> None:
        """Draw the opaque triangles of all (item, mesh to use) pairs; an avatar program with their
        `features` must be in use with an identity model and `textures` bound and resident for them."""
        if not entries:
            return
        self.features(entries, textures)
        # The second eye of a stereo pair reuses the first eye's vertices.
        stamp = (frame, tuple(id(item) for item, _ in entries))
        if stamp != self._last:
            self._world.fill(entries, self._vertices)
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._dynamic)
            GL.glBufferData(GL.GL_ARRAY_BUFFER, self._vertices.nbytes, self._vertices, GL.GL_STREAM_DRAW)
            self._last = stamp
        GL.glBindVertexArray(self.vao)
        draw_sided(self._single_sided, self._opaque)

    def draw_blended(self, entries: Sequence[tuple[DrawItem, Avatar]], eye: tuple[float, ...]) -> None:
        """The BLEND triangles of the entries `draw` drew last, after everything opaque (same program)."""
        if self._blended and entries:
            ranges = [(entries[e][0].model[:3, 3], first, count) for e, first, count in self._blended]
            GL.glBindVertexArray(self.vao)
            draw_blended(ranges, eye)

    def release(self) -> None:
        self._world.clear()
        GL.glDeleteVertexArrays(1, [self.vao])
        GL.glDeleteBuffers(3, [self._dynamic, self._static, self._elements])
