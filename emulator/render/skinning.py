"""Linear blend skinning in numpy: each vertex moved by the weighted sum of its joints' skin matrices.

The per-vertex matrices are one sparse product, (V x slots weights) @ (slots x 12 matrix entries),
instead of gathering four 3x4 matrices per vertex: the weights matrix is built once per avatar (and
level of detail) and a frame costs about 4·V·12 multiply-adds plus applying V small matrices.
"""

from __future__ import annotations

import weakref

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix

from emulator.render.avatar import Avatar

F32 = npt.NDArray[np.float32]

_WEIGHTS: dict[int, tuple[weakref.ref[Avatar], csr_matrix]] = {}  # by id: an Avatar is not hashable


def weight_matrix(avatar: Avatar) -> csr_matrix:
    """(V, slots) sparse skin weights of a skinned avatar, cached per avatar."""
    entry = _WEIGHTS.get(id(avatar))
    if entry is not None and entry[0]() is avatar:
        return entry[1]
    if avatar.skin_joints is None or avatar.skin_weights is None or avatar.skeleton is None:
        raise ValueError(f"{avatar.name} has no skin")
    n = avatar.vertex_count
    rows, columns = np.repeat(np.arange(n), 4), avatar.skin_joints.ravel().astype(np.int64)
    matrix = csr_matrix(
        (avatar.skin_weights.ravel(), (rows, columns)),
        shape=(n, len(avatar.skeleton.slot_bones)),
        dtype=np.float32,
    )
    key = id(avatar)
    _WEIGHTS[key] = (weakref.ref(avatar, lambda _: _WEIGHTS.pop(key, None)), matrix)
    return matrix


def placed(model: npt.NDArray[np.float64], matrices: F32) -> F32:
    """(slots, 3, 4) skin matrices followed by the world-from-avatar `model`: skinning by these puts the
    vertices straight in the world, one pass over them instead of two."""
    out = np.einsum("ij,sjk->sik", model[:3, :3], matrices.astype(np.float64))
    out[:, :, 3] += model[:3, 3]
    return np.asarray(out, np.float32)


def skin(
    avatar: Avatar, matrices: F32, positions: F32, normals: F32, out_positions: F32, out_normals: F32
) -> None:
    """Skin blended `positions` and rest `normals` by (slots, 3, 4) `matrices` into the outputs."""
    blended = np.asarray(weight_matrix(avatar) @ matrices.reshape(len(matrices), 12), np.float32)
    m = blended.reshape(-1, 3, 4)
    # Column by column: three broadcast multiply-adds beat einsum's per-vertex 3x3 products here.
    np.multiply(m[:, :, 0], positions[:, :1], out=out_positions)
    out_positions += m[:, :, 1] * positions[:, 1:2]
    out_positions += m[:, :, 2] * positions[:, 2:3]
    out_positions += m[:, :, 3]
    np.multiply(m[:, :, 0], normals[:, :1], out=out_normals)
    out_normals += m[:, :, 1] * normals[:, 1:2]
    out_normals += m[:, :, 2] * normals[:, 2:3]
