"""The CPU batch's vertices in the world: each avatar's face blended, skinned and placed by numpy.

A far skinned avatar is posed at 30 Hz (anim_lod.py), and on the frames between the Scene
hands on the same skin matrices and face weights. Its skinned vertices are then last frame's moved
rigidly to where it now stands: one small matrix product instead of blending and skinning again.
No GL here: `batch.py` uploads what this fills.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from emulator.render.avatar import Avatar
from emulator.render.morph import blend
from emulator.render.scene import DrawItem
from emulator.render.skinning import placed, skin

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


class _Skinned(NamedTuple):
    """One participant's skinned vertices in the world (`_affine`), and what they were computed from."""

    mesh: Avatar
    skin: F32
    weights: F32
    model: F64
    vertices: F32

    def holds(self, item: DrawItem, mesh: Avatar) -> bool:
        """The same mesh, skin matrices and face: the very arrays, as the Scene hands them on."""
        return self.mesh is mesh and self.skin is item.skin and self.weights is item.weights


class WorldVertices:
    """Fills (V, 6) position-and-normal rows for (item, mesh to draw) pairs, frame after frame."""

    def __init__(self) -> None:
        self._skinned: dict[str, _Skinned] = {}  # by participant: the skinned vertices of its last frame
        self.moved = 0  # avatars whose held vertices were moved rather than skinned again

    def fill(self, entries: Sequence[tuple[DrawItem, Avatar]], out: F32) -> None:
        """Write each entry's vertices, in order, into consecutive rows of `out`."""
        offset, skinned = 0, {}
        for item, mesh in entries:
            block = out[offset : offset + mesh.vertex_count]
            offset += mesh.vertex_count
            if item.skin is None or mesh.skin_joints is None:
                local = blend(mesh.positions, mesh.deltas, item.weights)
                _place(block, _affine(local, mesh.normals), item.model)
                continue
            last = self._skinned.get(item.id)
            if last is not None and last.holds(item, mesh):
                _place(block, last.vertices, item.model @ np.linalg.inv(last.model))
                skinned[item.id] = last
                self.moved += 1
                continue
            # Skinned and placed in one pass (the placement folded into the skin matrices), into
            # contiguous arrays: numpy's element-wise passes into the interleaved rows are slower.
            local = blend(mesh.positions, mesh.deltas, item.weights)
            posed, normals = np.empty_like(local), np.empty_like(mesh.normals)
            skin(mesh, placed(item.model, item.skin), local, mesh.normals, posed, normals)
            vertices = _affine(posed, normals)
            skinned[item.id] = _Skinned(mesh, item.skin, item.weights, item.model, vertices)
            block[:] = vertices[:, :6]
        self._skinned = skinned  # participants gone or not drawn this frame are forgotten

    def clear(self) -> None:
        self._skinned.clear()


def _affine(positions: F32, normals: F32) -> F32:
    """(V, 7): positions, normals and a 1, so that one matrix product moves both (`_place`)."""
    out = np.empty((len(positions), 7), np.float32)
    out[:, :3], out[:, 3:6], out[:, 6] = positions, normals, 1.0
    return out


def _place(block: F32, vertices: F32, model: F64) -> None:
    """`_affine` vertices moved by the rigid `model` into the (V, 6) interleaved `block` in one product:
    adding a translation to the 3 strided position columns alone took 6x as long as the rotation."""
    move = np.zeros((7, 6), np.float32)
    move[:3, :3] = move[3:6, 3:] = model[:3, :3].T
    move[6, :3] = model[:3, 3]
    np.matmul(vertices, move, out=block)
