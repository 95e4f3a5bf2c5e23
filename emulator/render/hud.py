"""Screen-space images over the 3D view (the app's HUD): uploaded when they change, drawn every frame.

The app paints its HUD text with Qt into an RGBA image only when the text changes; here that image
becomes a texture and, each frame, one blended quad at a pixel position. Painting widgets over a GL
surface instead would make Qt compose the whole window on every frame, which on a software GL costs
more than drawing the avatars. GL thread only.
"""

from __future__ import annotations

import ctypes

import numpy as np
import numpy.typing as npt
from OpenGL import GL

from emulator.render.gl_util import Program

_VERTEX = """
#version 330 core
layout(location = 0) in vec2 a_corner;     // 0..1
uniform vec4 u_rect;                        // x, y, width, height in pixels, y down
uniform vec2 u_viewport;
out vec2 v_uv;
void main() {
    vec2 pixel = u_rect.xy + a_corner * u_rect.zw;
    v_uv = a_corner;
    gl_Position = vec4(pixel.x / u_viewport.x * 2.0 - 1.0, 1.0 - pixel.y / u_viewport.y * 2.0, 0.0, 1.0);
}
"""

_FRAGMENT = """
#version 330 core
in vec2 v_uv;
uniform sampler2D u_image;
out vec4 frag;
void main() { frag = texture(u_image, v_uv); }
"""


class HudLayer:
    """One RGBA image (straight alpha, top row first) drawn at a pixel position over the bound framebuffer."""

    def __init__(self) -> None:
        self.program = Program(_VERTEX, _FRAGMENT)
        self.texture = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        for param in (GL.GL_TEXTURE_MIN_FILTER, GL.GL_TEXTURE_MAG_FILTER):
            GL.glTexParameteri(GL.GL_TEXTURE_2D, param, GL.GL_NEAREST)
        for param in (GL.GL_TEXTURE_WRAP_S, GL.GL_TEXTURE_WRAP_T):
            GL.glTexParameteri(GL.GL_TEXTURE_2D, param, GL.GL_CLAMP_TO_EDGE)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        corners = np.asarray([0, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1], np.float32)
        self.vbo = int(GL.glGenBuffers(1))
        self.vao = int(GL.glGenVertexArrays(1))
        GL.glBindVertexArray(self.vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, corners.nbytes, corners, GL.GL_STATIC_DRAW)
        GL.glEnableVertexAttribArray(0)
        GL.glVertexAttribPointer(0, 2, GL.GL_FLOAT, GL.GL_FALSE, 8, ctypes.c_void_p(0))
        GL.glBindVertexArray(0)
        self.size = (0, 0)
        self.uploads = 0

    def set_image(self, rgba: npt.NDArray[np.uint8] | None) -> None:
        """A new (height, width, 4) image, or None for nothing to draw. Call only when it changed."""
        if rgba is None or rgba.size == 0:
            self.size = (0, 0)
            return
        height, width = rgba.shape[:2]
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        data = np.ascontiguousarray(rgba, np.uint8)
        GL.glTexImage2D(
            GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, width, height, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, data
        )
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        self.size = (width, height)
        self.uploads += 1

    def draw(self, x: int, y: int, viewport_width: int, viewport_height: int) -> None:
        """The image with its top-left corner at pixel (x, y) of a viewport already set with glViewport."""
        width, height = self.size
        if not width or viewport_width <= 0 or viewport_height <= 0:
            return
        p = self.program
        p.use()
        GL.glUniform4f(p.loc("u_rect"), float(x), float(y), float(width), float(height))
        GL.glUniform2f(p.loc("u_viewport"), float(viewport_width), float(viewport_height))
        GL.glUniform1i(p.loc("u_image"), 0)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glEnable(GL.GL_BLEND)
        GL.glBlendFuncSeparate(
            GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA, GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA
        )
        GL.glBindVertexArray(self.vao)
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, 6)
        GL.glDisable(GL.GL_BLEND)
        GL.glBindVertexArray(0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        GL.glUseProgram(0)

    def release(self) -> None:
        GL.glDeleteTextures(1, [self.texture])
        GL.glDeleteBuffers(1, [self.vbo])
        GL.glDeleteVertexArrays(1, [self.vao])
        self.program.delete()
