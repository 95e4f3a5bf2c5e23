"""Name labels and speaking indicators, drawn in screen space over the 3D view.

Each participant gets its name above its head on a dark pill, and under the name a bar in its tint
whose length follows its audio level, so who is talking is visible at a glance from any distance.
Labels stay a constant pixel size: they are for reading, not part of the world.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from OpenGL import GL

from emulator.render import font
from emulator.render.gl_util import Program
from emulator.render.scene import DrawItem
from emulator.render.shaders import OVERLAY_FRAGMENT, OVERLAY_VERTEX

F32 = npt.NDArray[np.float32]
LABEL_HEIGHT_M = 0.2  # above the eyes: clear of the hair
_FLOATS = 8  # x y u v r g b a


def _quad(
    x0: float, y0: float, x1: float, y1: float, uv: Sequence[float], color: Sequence[float]
) -> list[float]:
    u0, v0, u1, v1 = uv
    corners = [
        (x0, y0, u0, v0),
        (x1, y0, u1, v0),
        (x1, y1, u1, v1),
        (x0, y0, u0, v0),
        (x1, y1, u1, v1),
        (x0, y1, u0, v1),
    ]
    out: list[float] = []
    for x, y, u, v in corners:
        out += [x, y, u, v, *color]
    return out


def label_vertices(
    items: Sequence[DrawItem], view_projection: npt.NDArray[np.float64], width: int, height: int
) -> F32:
    """Triangles (pixel coordinates, y down) for every label in front of the camera and on screen."""
    scale = max(1, round(height / 360))
    out: list[float] = []
    solid = (-1.0, -1.0, -1.0, -1.0)
    for item in items:
        p = item.pose.position
        clip = view_projection @ np.array([p.x, p.y + LABEL_HEIGHT_M, p.z, 1.0])
        if clip[3] <= 1e-6:
            continue
        ndc = clip[:3] / clip[3]
        if abs(ndc[0]) > 1.2 or abs(ndc[1]) > 1.2 or abs(ndc[2]) > 1.0:
            continue
        text = item.name[:24]
        text_w = len(text) * font.CELL_W * scale
        text_h = font.CELL_H * scale
        cx, cy = (ndc[0] + 1) / 2 * width, (1 - ndc[1]) / 2 * height
        x0, y0 = float(round(cx - text_w / 2)), float(round(cy - text_h))  # whole pixels: crisp glyphs
        pad = 2 * scale
        bar_h = 2 * scale
        out += _quad(
            x0 - pad,
            y0 - pad,
            x0 + text_w + pad,
            y0 + text_h + pad + bar_h + pad,
            solid,
            (0.05, 0.06, 0.08, 0.6),
        )
        level = min(1.0, max(0.0, item.speaking))
        if level > 0.01:
            bar_y = y0 + text_h + pad
            out += _quad(x0, bar_y, x0 + text_w * level, bar_y + bar_h, solid, (*item.tint, 1.0))
        brightness = 0.85 + 0.15 * level
        ink = (brightness, brightness, brightness, 1.0)
        for q in font.text_quads(text, x0, y0, scale):
            out += _quad(float(q[0]), float(q[1]), float(q[2]), float(q[3]), [float(v) for v in q[4:]], ink)
    return np.asarray(out, np.float32)


class Overlay:
    """The glyph atlas texture, a dynamic vertex buffer and the overlay program. GL thread only."""

    def __init__(self) -> None:
        self.program = Program(OVERLAY_VERTEX, OVERLAY_FRAGMENT)
        image, _, _ = font.atlas()
        self.texture = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        GL.glTexImage2D(
            GL.GL_TEXTURE_2D,
            0,
            GL.GL_R8,
            image.shape[1],
            image.shape[0],
            0,
            GL.GL_RED,
            GL.GL_UNSIGNED_BYTE,
            image,
        )
        for param in (GL.GL_TEXTURE_MIN_FILTER, GL.GL_TEXTURE_MAG_FILTER):
            GL.glTexParameteri(GL.GL_TEXTURE_2D, param, GL.GL_NEAREST)
        self.vbo = int(GL.glGenBuffers(1))
        self.vao = int(GL.glGenVertexArrays(1))
        GL.glBindVertexArray(self.vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.vbo)
        stride = _FLOATS * 4
        for location, width, offset in ((0, 2, 0), (1, 2, 2), (2, 4, 4)):
            GL.glEnableVertexAttribArray(location)
            GL.glVertexAttribPointer(
                location, width, GL.GL_FLOAT, GL.GL_FALSE, stride, ctypes.c_void_p(offset * 4)
            )
        GL.glBindVertexArray(0)

    def draw(
        self, items: Sequence[DrawItem], view_projection: npt.NDArray[np.float64], width: int, height: int
    ) -> None:
        vertices = label_vertices(items, view_projection, width, height)
        if not len(vertices):
            return
        self.program.use()
        GL.glUniform2f(self.program.loc("u_viewport"), float(width), float(height))
        GL.glUniform1i(self.program.loc("u_atlas"), 0)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        GL.glBindVertexArray(self.vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, vertices.nbytes, vertices, GL.GL_STREAM_DRAW)
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glEnable(GL.GL_BLEND)
        GL.glBlendFunc(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, len(vertices) // _FLOATS)
        GL.glDisable(GL.GL_BLEND)
        GL.glBindVertexArray(0)

    def release(self) -> None:
        GL.glDeleteTextures(1, [self.texture])
        GL.glDeleteBuffers(1, [self.vbo])
        GL.glDeleteVertexArrays(1, [self.vao])
        self.program.delete()
