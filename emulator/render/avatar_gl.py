"""GL resources of avatars: one shared mesh per Avatar, and per participant what its morphing needs.

Two ways to apply morph targets every frame, chosen per renderer (`MorphMode`):
- GPU: the deltas of all targets live in one texture buffer (RGBA32F, target-major); the vertex shader
  adds the active ones, so a frame uploads only a few uniforms per avatar.
- CPU: numpy blends the active targets (`morph.blend`) into the participant's own position buffer,
  which is uploaded when its weights changed since the last frame.
`tests/benchmarks/bench_render.py` measures both; the renderer's default is the faster one there.
All methods run on the thread whose GL context is current.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

import numpy as np
import numpy.typing as npt
from OpenGL import GL

from emulator.render.avatar import Avatar
from emulator.render.gl_util import attribute, buffer
from emulator.render.morph import blend

log = logging.getLogger(__name__)


class MorphMode(enum.Enum):
    GPU = "gpu"
    CPU = "cpu"


class MeshGL:
    """Vertex, index and (for GPU morphing) delta buffers of one Avatar."""

    def __init__(self, avatar: Avatar, want_deltas: bool) -> None:
        self.avatar = avatar
        self.vertex_count = avatar.vertex_count
        self.index_count = len(avatar.indices)
        self.positions = buffer(GL.GL_ARRAY_BUFFER, np.ascontiguousarray(avatar.positions, np.float32))
        self.normals = buffer(GL.GL_ARRAY_BUFFER, np.ascontiguousarray(avatar.normals, np.float32))
        self.colors = buffer(GL.GL_ARRAY_BUFFER, np.ascontiguousarray(avatar.colors, np.float32))
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
        GL.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, self.elements)
        GL.glBindVertexArray(0)
        return vao

    def release(self) -> None:
        GL.glDeleteVertexArrays(1, [self.vao])
        names = [
            b for b in (self.positions, self.normals, self.colors, self.elements, self.delta_buffer) if b
        ]
        GL.glDeleteBuffers(len(names), names)
        if self.delta_texture:
            GL.glDeleteTextures(1, [self.delta_texture])


class MorphedGL:
    """A participant's CPU-morphed copy of its avatar's positions, re-blended only when weights change."""

    def __init__(self, mesh: MeshGL) -> None:
        self.mesh = mesh
        self.scratch = np.empty_like(mesh.avatar.positions)
        self.positions = buffer(GL.GL_ARRAY_BUFFER, mesh.avatar.positions, GL.GL_DYNAMIC_DRAW)
        self.vao = mesh.make_vao(self.positions)
        self.weights: npt.NDArray[np.float32] | None = None

    def update(self, weights: npt.NDArray[np.float32]) -> None:
        if self.weights is not None and np.array_equal(weights, self.weights):
            return
        avatar = self.mesh.avatar
        blend(avatar.positions, avatar.deltas, weights, out=self.scratch)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.positions)
        GL.glBufferSubData(GL.GL_ARRAY_BUFFER, 0, self.scratch.nbytes, self.scratch)
        self.weights = weights.copy()

    def release(self) -> None:
        GL.glDeleteVertexArrays(1, [self.vao])
        GL.glDeleteBuffers(1, [self.positions])


class AvatarCache:
    """GL objects by avatar and by participant, dropped when unused for `keep_frames` frames."""

    def __init__(self, mode: MorphMode, keep_frames: int = 120) -> None:
        self.mode = mode
        self.keep_frames = keep_frames
        self.frame = 0
        self._meshes: dict[int, tuple[MeshGL, int]] = {}
        self._morphed: dict[str, tuple[MorphedGL, int]] = {}

    def mesh(self, avatar: Avatar) -> MeshGL:
        entry = self._meshes.get(id(avatar))
        if entry is None or entry[0].avatar is not avatar:
            entry = (MeshGL(avatar, want_deltas=self.mode is MorphMode.GPU), self.frame)
        self._meshes[id(avatar)] = (entry[0], self.frame)
        return entry[0]

    def morphed(self, participant: str, mesh: MeshGL) -> MorphedGL:
        entry = self._morphed.get(participant)
        if entry is not None and entry[0].mesh is not mesh:
            entry[0].release()
            entry = None
        morphed = entry[0] if entry is not None else MorphedGL(mesh)
        self._morphed[participant] = (morphed, self.frame)
        return morphed

    def end_frame(self) -> None:
        self.frame += 1
        old = self.frame - self.keep_frames
        for key, (morphed, used) in list(self._morphed.items()):
            if used < old:
                morphed.release()
                del self._morphed[key]
        for mesh_key, (mesh, used) in list(self._meshes.items()):
            if used < old:
                mesh.release()
                del self._meshes[mesh_key]

    def release(self) -> None:
        for morphed, _ in self._morphed.values():
            morphed.release()
        for mesh, _ in self._meshes.values():
            mesh.release()
        self._morphed.clear()
        self._meshes.clear()

    def stats(self) -> dict[str, Any]:
        return {"meshes": len(self._meshes), "morphed": len(self._morphed)}
