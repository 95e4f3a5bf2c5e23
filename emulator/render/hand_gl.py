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

from emulator.model.hands import HandPose
from emulator.render.hand_mesh import (
    HAND_TRIANGLES,
    HAND_VERTICES,
    hand_pose_geometry,
    hand_style,
    relaxed_hands,
)
from emulator.render.scene import DrawItem
from emulator.render.sided import draw_sided

F32 = npt.NDArray[np.float32]
Color = tuple[float, float, float]


def hands_to_draw(items: Sequence[DrawItem]) -> list[tuple[HandPose, Color, Color]]:
    """(hand, skin colour, tint) for every hand of the frame: the received ones, relaxed ones for a side
    a participant does not send, none for avatars that draw their own hands or have no body."""
    out = []
    for item in items:
        avatar = item.avatar
        if avatar.draws_own_hands:
            continue
        left, right = item.left_hand, item.right_hand
        if left is None or right is None:
            rest = relaxed_hands(avatar, item.pose)
            if rest is not None:
                left, right = left or rest[0], right or rest[1]
        skin = hand_style(avatar).skin
        out += [(hand, skin, item.tint) for hand in (left, right) if hand is not None]
    return out


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
        hands = hands_to_draw(items)
        if not hands:
            return
        layout = tuple((skin, tint) for _, skin, tint in hands)
        if layout != self._layout:
            self._relayout(layout)
            self._last = None
        stamp = (frame, tuple(id(item) for item in items))
        if stamp != self._last:  # a stereo pair's second eye reuses the first eye's vertices
            vertices = np.empty((len(hands) * HAND_VERTICES, 6), np.float32)
            for k, (hand, _, _) in enumerate(hands):
                block = vertices[k * HAND_VERTICES : (k + 1) * HAND_VERTICES]
                block[:, :3], block[:, 3:] = hand_pose_geometry(hand)
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._dynamic)
            GL.glBufferData(GL.GL_ARRAY_BUFFER, vertices.nbytes, vertices, GL.GL_STREAM_DRAW)
            self._last = stamp
        GL.glBindVertexArray(self.vao)
        draw_sided(0, self._index_count)

    def _relayout(self, layout: tuple[tuple[Color, Color], ...]) -> None:
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
        self._layout = layout

    def release(self) -> None:
        GL.glDeleteVertexArrays(1, [self.vao])
        GL.glDeleteBuffers(3, [self._dynamic, self._static, self._elements])
