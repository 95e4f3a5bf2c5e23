"""Blending morph targets with numpy: the CPU half of the GPU-vs-CPU comparison (BENCHMARKS.md).

Only targets with a non-zero weight are touched, so a face at rest costs a copy, and a face with a
handful of active shapes costs a handful of multiply-adds per vertex.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]


def active_targets(weights: F32, threshold: float = 1e-4) -> tuple[npt.NDArray[np.int32], F32]:
    """Indices and weights of the targets that move anything visible, largest weights first."""
    idx = np.nonzero(weights > threshold)[0].astype(np.int32)
    order = np.argsort(-weights[idx], kind="stable")
    return idx[order], weights[idx[order]].astype(np.float32)


def blend(base: F32, deltas: F32, weights: F32, out: F32 | None = None) -> F32:
    """base + Σ weights[t] · deltas[t]: (V, 3) from (V, 3), (T, V, 3) and (T,)."""
    idx, w = active_targets(weights)
    if out is None:
        out = np.empty_like(base)
    if len(idx) == 0:
        out[...] = base
        return out
    flat = deltas.reshape(deltas.shape[0], -1)
    np.add(base.reshape(-1), w @ flat[idx], out=out.reshape(-1))
    return out
