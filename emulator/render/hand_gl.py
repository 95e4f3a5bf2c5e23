"""Every simple hand of a frame in one vertex buffer and one draw call, with the avatars' program.

The hands use the CPU batch's vertex layout (world-space position and normal; colour and tint), so the
same program draws them right after the avatars. Triangles and colours change only when the set of
hands does; positions are rebuilt from the joints each frame (`hand_mesh.py`). GL thread only.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from OpenGL import GL

from emulator.render.hand_mesh import HAND_TRIANGLES, HAND_VERTICES, Color, frame_hands
from emulator.render.scene import DrawItem
from emulator.render.sided import draw_sided

F32 = npt.NDArray[np.float32]


class HandBatch:
    def __init__(self) -> None:
        self.vao = int(GL.glGenVertexArrays(1))
        self._dynamic, self._static, self._elements = (int(b) for b in GL.glGenBuffers(3))
        GL.glBindVertexArray(self.vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._dynamic)
        for location, offset in ((0, 0), (1, 12)):
            GL.glEnableVertexAttribArray(location)
            GL.glVertexAttribPointer(location, 3, GL.GL_FLOAT, GL.GL_FALSE, 24, ctypes.c_void_p(offset))
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._static)
        for location, width, offset in ((2, 4, 0), (3, 3, 16)):
            GL.glEnableVertexAttribArray(location)
            GL.glVertexAttribPointer(location, width, GL.GL_FLOAT, GL.GL_FALSE, 28, ctypes.c_void_p(offset))
        GL.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, self._elements)
        GL.glBindVertexArray(0)
        self._layout: tuple[tuple[Color, Color], ...] = ()
        self._index_count = 0
        self._last: tuple[int, tuple[int, ...]] | None = None

    def draw(self, items: Sequence[DrawItem], frame: int) -> None:
        """Draw the items' hands; the avatar program (CPU variant) must be in use."""
        stamp = (frame, tuple(id(item) for item in items))
        if stamp != self._last:  # a stereo pair's second eye reuses the first eye's vertices
            hands = frame_hands(items)
            layout = tuple((skin, tint) for _, skin, tint in hands)
            if layout != self._layout:
                self._relayout(layout)
            if hands:
                vertices = np.concatenate([mesh for mesh, _, _ in hands])
                GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._dynamic)
                GL.glBufferData(GL.GL_ARRAY_BUFFER, vertices.nbytes, vertices, GL.GL_STREAM_DRAW)
            self._last = stamp
        if self._index_count:
            # Hands have no UVs or materials: untextured, lit, opaque (the shader's a_uv, a_surface and
            # a_emissive take these constant values, since this VAO leaves them disabled).
            GL.glVertexAttrib2f(4, 0.0, 0.0)
            GL.glVertexAttrib4f(5, -1.0, 0.0, -1.0, 0.0)
            GL.glVertexAttrib3f(6, 0.0, 0.0, 0.0)
            GL.glBindVertexArray(self.vao)
            draw_sided(self._index_count, self._index_count)  # wound outward: back faces culled

    def _relayout(self, layout: tuple[tuple[Color, Color], ...]) -> None:
        self._layout = layout
        self._index_count = 0
        if not layout:
            return
        static = np.concatenate(
            [
                np.broadcast_to(np.array([*skin, 1.0, *tint], np.float32), (HAND_VERTICES, 7))
                for skin, tint in layout
            ]
        )
        elements = np.concatenate(
            [HAND_TRIANGLES.ravel() + np.uint32(k * HAND_VERTICES) for k in range(len(layout))]
        ).astype(np.uint32)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._static)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, static.nbytes, np.ascontiguousarray(static), GL.GL_STATIC_DRAW)
        GL.glBindVertexArray(self.vao)
        GL.glBufferData(GL.GL_ELEMENT_ARRAY_BUFFER, elements.nbytes, elements, GL.GL_STATIC_DRAW)
        GL.glBindVertexArray(0)
        self._index_count = len(elements)

    def release(self) -> None:
        GL.glDeleteVertexArrays(1, [self.vao])
        GL.glDeleteBuffers(3, [self._dynamic, self._static, self._elements])
