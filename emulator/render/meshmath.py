"""Small numpy mesh helpers shared by the generator, the loader and the renderer."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]


def vertex_normals(positions: F32, triangles: npt.NDArray[np.integer]) -> F32:
    """Area-weighted vertex normals; a vertex on no triangle gets +y rather than NaN."""
    tris = np.asarray(triangles).reshape(-1, 3)
    p = positions.astype(np.float64)
    face = np.cross(p[tris[:, 1]] - p[tris[:, 0]], p[tris[:, 2]] - p[tris[:, 0]])
    normals = np.zeros_like(p)
    for k in range(3):
        np.add.at(normals, tris[:, k], face)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.where(length > 1e-12, normals / np.maximum(length, 1e-12), np.array([0.0, 1.0, 0.0]))
    return normals.astype(np.float32)
