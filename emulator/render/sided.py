"""Drawing an element buffer: closed surfaces culled, open shells two-sided, translucent ones last."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from OpenGL import GL


def draw_sided(single_sided: int, total: int) -> None:
    """Draw the bound element buffer: the first `single_sided` indices with back faces culled (closed
    surfaces wound counter-clockwise, glTF's default), the rest two-sided. Culling halves what
    llvmpipe rasterizes for a head, about a quarter of a crowd's frame time."""
    if single_sided:
        GL.glEnable(GL.GL_CULL_FACE)
        GL.glCullFace(GL.GL_BACK)
        GL.glFrontFace(GL.GL_CCW)
        GL.glDrawElements(GL.GL_TRIANGLES, single_sided, GL.GL_UNSIGNED_INT, None)
        GL.glDisable(GL.GL_CULL_FACE)
    if total > single_sided:
        GL.glDrawElements(
            GL.GL_TRIANGLES, total - single_sided, GL.GL_UNSIGNED_INT, ctypes.c_void_p(4 * single_sided)
        )


def draw_blended(ranges: Sequence[tuple[npt.NDArray[np.float64], int, int]], eye: Sequence[float]) -> None:
    """Draw BLEND triangles of the bound element buffer after everything opaque: each (avatar position,
    first index, count) range two-sided, farthest avatar first, blended over what is behind it and
    without writing depth, so a nearer translucent surface never hides a farther one."""
    here = np.asarray(eye, np.float64)
    order = sorted(ranges, key=lambda r: -float(np.linalg.norm(r[0] - here)))
    GL.glEnable(GL.GL_BLEND)
    GL.glBlendFuncSeparate(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA, GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)
    GL.glDepthMask(GL.GL_FALSE)
    for _, first, count in order:
        GL.glDrawElements(GL.GL_TRIANGLES, count, GL.GL_UNSIGNED_INT, ctypes.c_void_p(4 * first))
    GL.glDepthMask(GL.GL_TRUE)
    GL.glDisable(GL.GL_BLEND)
