"""Interpolating between measured directions: barycentric weights on a triangulated sphere.

The measured directions, as unit vectors, are triangulated with their convex hull (any grid works,
not just KEMAR's rings). A direction from the listener meets exactly one hull face when the hull
surrounds the head; the weights of that face's three corners are the direction's barycentric
coordinates. A set that does not surround the head (a horizontal ring, a frontal hemisphere) falls
back to the nearest measured direction, which is what a listener of such a set can expect.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt
from scipy.spatial import ConvexHull, QhullError, cKDTree

log = logging.getLogger(__name__)

_CANDIDATES = 8  # hull faces tried per query, nearest centroid first, before searching every face
_SNAP = 1e-7  # weights this small are rounding noise: a measured direction renders exactly itself

IndexArray = npt.NDArray[np.intp]
WeightArray = npt.NDArray[np.float64]


class DirectionInterpolator:
    """Maps unit vectors to (three measured directions, three weights summing to 1)."""

    def __init__(self, units: npt.NDArray[np.float64]) -> None:
        self._units = np.asarray(units, dtype=np.float64)
        self._points = cKDTree(self._units)
        self._faces: IndexArray | None = None
        try:
            hull = ConvexHull(self._units)
        except (QhullError, ValueError) as error:
            log.warning("measured directions do not span a sphere (%s): nearest-direction lookup", error)
            return
        if not np.all(hull.equations[:, 3] < -1e-6):
            log.warning("measured directions do not surround the head: nearest-direction lookup")
            return
        faces = np.asarray(hull.simplices, dtype=np.intp)
        corners = self._units[faces]  # (faces, 3 corners, 3 coordinates)
        # For direction d, weights w solve corners^T w = d; precompute each face's inverse.
        self._inverse = np.linalg.inv(np.transpose(corners, (0, 2, 1)))
        centroids = corners.mean(axis=1)
        self._centroids = cKDTree(centroids / np.linalg.norm(centroids, axis=1, keepdims=True))
        self._faces = faces

    @property
    def triangulated(self) -> bool:
        return self._faces is not None

    def weights(self, directions: npt.NDArray[np.float64]) -> tuple[IndexArray, WeightArray]:
        """For (n, 3) unit vectors: (n, 3) indices of measured directions and (n, 3) weights."""
        faces, w = self.locate(directions)
        return self.corners(faces), w

    def corners(self, faces: IndexArray) -> IndexArray:
        """The (n, 3) measured directions of faces from `locate`."""
        if self._faces is None:
            return np.repeat(faces[:, None], 3, axis=1)
        result: IndexArray = self._faces[faces]
        return result

    def locate(
        self, directions: npt.NDArray[np.float64], hint: IndexArray | None = None
    ) -> tuple[IndexArray, WeightArray]:
        """(n,) faces and (n, 3) weights; `hint` (a face per direction, -1 for none) is tried first.

        A moving source nearly always stays in its last face, so passing the last answer as the
        hint skips the centroid search for most directions.
        """
        d = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
        n = len(d)
        if self._faces is None:
            _, nearest = self._points.query(d)
            w = np.zeros((n, 3))
            w[:, 0] = 1.0
            return np.asarray(nearest, dtype=np.intp).reshape(n), w
        face = np.full(n, -1, dtype=np.intp)
        w = np.zeros((n, 3))
        if hint is not None:
            rows = np.flatnonzero(hint >= 0)
            w_hint = np.einsum("nij,nj->ni", self._inverse[hint[rows]], d[rows])
            inside = np.all(w_hint >= -1e-9, axis=1)
            face[rows[inside]] = hint[rows[inside]]
            w[rows[inside]] = w_hint[inside]
        todo = np.flatnonzero(face < 0)
        if len(todo):
            face[todo], w[todo] = self._search_near(d[todo])
        w = np.where(w < _SNAP, 0.0, w)
        w /= w.sum(axis=1, keepdims=True)
        return face, w

    def _search_near(self, d: npt.NDArray[np.float64]) -> tuple[IndexArray, WeightArray]:
        assert self._faces is not None
        k = min(_CANDIDATES, len(self._faces))
        _, candidates = self._centroids.query(d, k=k)
        candidates = np.asarray(candidates, dtype=np.intp).reshape(len(d), k)
        w_all = np.einsum("nkij,nj->nki", self._inverse[candidates], d)  # (n, k, 3)
        ok = np.all(w_all >= -1e-9, axis=2)
        first = np.argmax(ok, axis=1)
        rows = np.arange(len(d))
        face = candidates[rows, first]
        w = w_all[rows, first]
        missed = np.flatnonzero(~ok[rows, first])
        if len(missed):  # long thin faces (KEMAR's open bottom) can hide from the nearest centroids
            face[missed], w[missed] = self._search_all(d[missed])
        return face, w

    def _search_all(self, d: npt.NDArray[np.float64]) -> tuple[IndexArray, WeightArray]:
        w = np.einsum("fij,nj->nfi", self._inverse, d)  # (n, faces, 3)
        best = np.argmax(w.min(axis=2), axis=1)  # the face the ray crosses has all weights >= 0
        return best, np.maximum(w[np.arange(len(d)), best], 0.0)
