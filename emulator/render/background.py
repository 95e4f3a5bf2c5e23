"""The world around the avatars: a sky dome, a floor fading into the horizon, a 1 m grid on the floor.

All of it is plain geometry with per-vertex colours and a trivial fragment shader. A per-pixel ray cast
(one full-screen pass) looked the same but cost ~14 ms of CPU per 1280×720 frame on llvmpipe, where
every fragment instruction is paid in software; these few thousand vertices cost about a tenth of
that. Fog is computed per vertex from the distance to the eye, so the floor and grid melt into the
horizon colour and far grid lines never shimmer. GL thread only.
"""

from __future__ import annotations

import ctypes
import itertools
import math

import numpy as np
import numpy.typing as npt
from OpenGL import GL

from emulator.render.gl_util import Program

F32 = npt.NDArray[np.float32]
HORIZON = (0.78, 0.84, 0.9)
ZENITH = (0.36, 0.52, 0.78)
GROUND = (0.42, 0.44, 0.46)
LINE = (0.8, 0.82, 0.84)
AXIS = (0.95, 0.62, 0.3)
GRID_HALF_M = 20
_SEGMENTS = 48

VERTEX = """
#version 330 core
layout(location = 0) in vec3 a_position;
layout(location = 1) in vec3 a_color;
uniform mat4 u_view_projection;
uniform vec3 u_eye;
uniform vec2 u_origin;     // floor and grid follow the eye in whole metres, so lines stay put
uniform int u_sky;         // 1: the dome, centred on the eye
uniform float u_fade_from; // grid lines fade into the floor from here (m) ...
uniform float u_fade_to;   // ... to here
out vec3 v_color;
void main() {
    vec3 world = u_sky == 1 ? u_eye + a_position : a_position + vec3(u_origin.x, 0.0, u_origin.y);
    v_color = a_color;
    if (u_sky == 0) {
        float d = length(world - u_eye);
        vec3 ground = vec3(GROUND);
        v_color = mix(a_color, ground, smoothstep(u_fade_from, u_fade_to, d));
        v_color = mix(v_color, vec3(HORIZON), 1.0 - exp(-d / 18.0));
    }
    gl_Position = u_view_projection * vec4(world, 1.0);
}
""".replace("GROUND", ", ".join(map(str, GROUND))).replace("HORIZON", ", ".join(map(str, HORIZON)))

FRAGMENT = """
#version 330 core
in vec3 v_color;
out vec4 frag;
void main() { frag = vec4(v_color, 1.0); }
"""


def sky_color(elevation_deg: float | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    height = np.clip(np.sin(np.radians(elevation_deg)), 0.0, 1.0)[..., None] ** 0.6
    return np.asarray(np.asarray(HORIZON) * (1 - height) + np.asarray(ZENITH) * height)


SKY_TOP_DEG = 40.0  # above this the sky is the clear colour: a memset, where a gradient costs ~1.5 ms


def dome() -> tuple[F32, F32, npt.NDArray[np.uint32]]:
    """Positions (relative to the eye), colours and triangles of the sky band around the horizon."""
    elevations = np.radians([-30.0, 0.0, 8.0, 20.0, SKY_TOP_DEG])
    azimuths = np.linspace(0.0, 2 * math.pi, _SEGMENTS, endpoint=False)
    e, a = np.meshgrid(elevations, azimuths, indexing="ij")
    radius = 150.0
    positions = (
        np.stack([np.cos(e) * np.sin(a), np.sin(e), -np.cos(e) * np.cos(a)], axis=-1).reshape(-1, 3) * radius
    )
    colors = sky_color(np.degrees(e).reshape(-1))
    return positions.astype(np.float32), colors.astype(np.float32), _rings(len(elevations))


def floor() -> tuple[F32, F32, npt.NDArray[np.uint32]]:
    """Concentric rings out to 120 m: dense near the eye, where the per-vertex fog changes fastest."""
    radii = np.concatenate([[0.0], 0.5 * 1.4 ** np.arange(15)])
    azimuths = np.linspace(0.0, 2 * math.pi, _SEGMENTS, endpoint=False)
    r, a = np.meshgrid(radii, azimuths, indexing="ij")
    positions = np.stack([r * np.sin(a), np.zeros_like(r), -r * np.cos(a)], axis=-1).reshape(-1, 3)
    colors = np.broadcast_to(np.asarray(GROUND), positions.shape)
    return positions.astype(np.float32), colors.astype(np.float32), _rings(len(radii))


def grid() -> tuple[F32, F32]:
    """Line segments (pairs of points) every metre, split every 2 m so the fog can vary along them."""
    points, colors = [], []
    steps = np.arange(-GRID_HALF_M, GRID_HALF_M + 1, 2.0)
    for k in range(-GRID_HALF_M, GRID_HALF_M + 1):
        color = AXIS if k == 0 else LINE
        for s0, s1 in itertools.pairwise(steps):
            points += [(k, 0.0, s0), (k, 0.0, s1), (s0, 0.0, k), (s1, 0.0, k)]
            colors += [color] * 4
    return np.asarray(points, np.float32), np.asarray(colors, np.float32)


def _rings(rows: int) -> npt.NDArray[np.uint32]:
    tris = []
    for i in range(rows - 1):
        for j in range(_SEGMENTS):
            a, b = i * _SEGMENTS + j, i * _SEGMENTS + (j + 1) % _SEGMENTS
            tris += [(a, a + _SEGMENTS, b), (b, a + _SEGMENTS, b + _SEGMENTS)]
    return np.asarray(tris, np.uint32).ravel()


class _Shape:
    def __init__(self, positions: F32, colors: F32, indices: npt.NDArray[np.uint32] | None) -> None:
        self.vao = int(GL.glGenVertexArrays(1))
        GL.glBindVertexArray(self.vao)
        data = np.ascontiguousarray(np.concatenate([positions, colors], axis=1), np.float32)
        self.buffers = [int(GL.glGenBuffers(1))]
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.buffers[0])
        GL.glBufferData(GL.GL_ARRAY_BUFFER, data.nbytes, data, GL.GL_STATIC_DRAW)
        for location in (0, 1):
            GL.glEnableVertexAttribArray(location)
            GL.glVertexAttribPointer(
                location, 3, GL.GL_FLOAT, GL.GL_FALSE, 24, ctypes.c_void_p(12 * location)
            )
        self.count = len(positions)
        self.indexed = indices is not None
        if indices is not None:
            self.buffers.append(int(GL.glGenBuffers(1)))
            GL.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, self.buffers[1])
            GL.glBufferData(GL.GL_ELEMENT_ARRAY_BUFFER, indices.nbytes, indices, GL.GL_STATIC_DRAW)
            self.count = len(indices)
        GL.glBindVertexArray(0)

    def draw(self, mode: int) -> None:
        GL.glBindVertexArray(self.vao)
        if self.indexed:
            GL.glDrawElements(mode, self.count, GL.GL_UNSIGNED_INT, None)
        else:
            GL.glDrawArrays(mode, 0, self.count)

    def release(self) -> None:
        GL.glDeleteVertexArrays(1, [self.vao])
        GL.glDeleteBuffers(len(self.buffers), self.buffers)


class Background:
    def __init__(self) -> None:
        self.program = Program(VERTEX, FRAGMENT)
        self._dome = _Shape(*dome())
        self._floor = _Shape(*floor())
        self._grid = _Shape(*grid(), None)

    def clear(self) -> None:
        r, g, b = (float(c) for c in sky_color(SKY_TOP_DEG).ravel())
        GL.glClearColor(r, g, b, 1.0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT)  # within the renderer's scissor: this view only

    def draw(self, view_projection: npt.NDArray[np.float64], eye: tuple[float, ...]) -> None:
        """Behind whatever is in the depth buffer (it writes none): the far plane is beyond the dome."""
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthFunc(GL.GL_LESS)
        GL.glDepthMask(GL.GL_FALSE)
        p = self.program
        p.use()
        p.matrix("u_view_projection", view_projection)
        p.vec3("u_eye", eye)
        GL.glUniform2f(p.loc("u_origin"), float(round(eye[0])), float(round(eye[2])))
        GL.glUniform1i(p.loc("u_sky"), 1)
        self._dome.draw(GL.GL_TRIANGLES)
        GL.glUniform1i(p.loc("u_sky"), 0)
        if eye[1] > 0.0:  # from below, the floor would hide the sky
            GL.glUniform1f(p.loc("u_fade_from"), 1e6)
            GL.glUniform1f(p.loc("u_fade_to"), 2e6)
            self._floor.draw(GL.GL_TRIANGLES)
            GL.glUniform1f(p.loc("u_fade_from"), GRID_HALF_M * 0.4)
            GL.glUniform1f(p.loc("u_fade_to"), GRID_HALF_M * 0.95)
            self._grid.draw(GL.GL_LINES)
        GL.glDepthMask(GL.GL_TRUE)

    def release(self) -> None:
        for shape in (self._dome, self._floor, self._grid):
            shape.release()
        self.program.delete()
