"""GL resources of avatars for GPU morphing: one shared mesh per Avatar (and per level of detail).

Two ways to apply morph targets every frame, chosen per renderer (`MorphMode`):
- GPU: the deltas of all targets live in one texture buffer (RGBA32F, target-major); the vertex shader
  adds the active ones, so a frame uploads only a few uniforms per avatar, one draw call each.
- CPU: numpy blends the active targets and places every avatar in the world, and all are drawn with
  one call (`batch.py`).
`tests/benchmarks/bench_render.py` measures both; the renderer's default is the faster one there.
All methods run on the thread whose GL context is current.
"""

from __future__ import annotations

import enum
import logging

import numpy as np
from OpenGL import GL

from emulator.render.avatar import Avatar
from emulator.render.gl_util import attribute, buffer

log = logging.getLogger(__name__)


class MorphMode(enum.Enum):
    GPU = "gpu"
    CPU = "cpu"


class MeshGL:
    """Vertex, index and (for GPU morphing) delta buffers of one Avatar."""

    def __init__(self, avatar: Avatar, want_deltas: bool = True) -> None:
        self.avatar = avatar
        self.vertex_count = avatar.vertex_count
        self.index_count = len(avatar.indices)
        self.single_sided = avatar.single_sided
        self.blend_start = avatar.blend_start
        self.positions = buffer(GL.GL_ARRAY_BUFFER, np.ascontiguousarray(avatar.positions, np.float32))
        self.normals = buffer(GL.GL_ARRAY_BUFFER, np.ascontiguousarray(avatar.normals, np.float32))
        self.colors = buffer(GL.GL_ARRAY_BUFFER, np.ascontiguousarray(avatar.colors, np.float32))
        self.uvs = buffer(GL.GL_ARRAY_BUFFER, np.ascontiguousarray(avatar.uvs, np.float32))
        self.surface = buffer(GL.GL_ARRAY_BUFFER, np.ascontiguousarray(avatar.surface, np.float32))
        self.emissive = buffer(GL.GL_ARRAY_BUFFER, np.ascontiguousarray(avatar.emissive, np.float32))
        self.elements = buffer(GL.GL_ELEMENT_ARRAY_BUFFER, np.ascontiguousarray(avatar.indices, np.uint32))
        self.vao = self.make_vao(self.positions)
        self.delta_buffer = 0
        self.delta_texture = 0
        texels = len(avatar.target_names) * self.vertex_count
        if want_deltas and texels:
            limit = int(GL.glGetIntegerv(GL.GL_MAX_TEXTURE_BUFFER_SIZE))
            if texels <= limit:
                padded = np.zeros((texels, 4), np.float32)
                padded[:, :3] = avatar.deltas.reshape(-1, 3)
                self.delta_buffer = buffer(GL.GL_TEXTURE_BUFFER, padded)
                self.delta_texture = int(GL.glGenTextures(1))
                GL.glBindTexture(GL.GL_TEXTURE_BUFFER, self.delta_texture)
                GL.glTexBuffer(GL.GL_TEXTURE_BUFFER, GL.GL_RGBA32F, self.delta_buffer)
                GL.glBindTexture(GL.GL_TEXTURE_BUFFER, 0)
            else:
                log.warning(
                    "%s: %d delta texels exceed the GL limit %d; morphing on the CPU",
                    avatar.name,
                    texels,
                    limit,
                )

    @property
    def gpu_morph(self) -> bool:
        return self.delta_texture != 0

    def make_vao(self, positions: int) -> int:
        vao = int(GL.glGenVertexArrays(1))
        GL.glBindVertexArray(vao)
        attribute(0, positions, 3)
        attribute(1, self.normals, 3)
        attribute(2, self.colors, 4)
        attribute(4, self.uvs, 2)
        attribute(5, self.surface, 4)
        attribute(6, self.emissive, 3)
        GL.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, self.elements)
        GL.glBindVertexArray(0)
        return vao

    def release(self) -> None:
        GL.glDeleteVertexArrays(1, [self.vao])
        names = [
            b for b in (self.positions, self.normals, self.colors, self.uvs, self.surface, self.emissive) if b
        ] + [b for b in (self.elements, self.delta_buffer) if b]
        GL.glDeleteBuffers(len(names), names)
        if self.delta_texture:
            GL.glDeleteTextures(1, [self.delta_texture])


class AvatarCache:
    """Meshes by avatar, dropped when unused for `keep_frames` frames."""

    def __init__(self, keep_frames: int = 120) -> None:
        self.keep_frames = keep_frames
        self.frame = 0
        self._meshes: dict[int, tuple[MeshGL, int]] = {}

    def mesh(self, avatar: Avatar) -> MeshGL:
        entry = self._meshes.get(id(avatar))
        if entry is None or entry[0].avatar is not avatar:
            entry = (MeshGL(avatar), self.frame)
        self._meshes[id(avatar)] = (entry[0], self.frame)
        return entry[0]

    def end_frame(self) -> None:
        self.frame += 1
        old = self.frame - self.keep_frames
        for key, (mesh, used) in list(self._meshes.items()):
            if used < old:
                mesh.release()
                del self._meshes[key]

    def release(self) -> None:
        for mesh, _ in self._meshes.values():
            mesh.release()
        self._meshes.clear()
