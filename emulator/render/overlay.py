"""Name labels and speaking indicators: small text above each head, in the scene's depth.

Each participant gets its name (`font.py`: any Unicode, a proportional font) on a dark pill just above
its head, and under the name a bar in its tint whose length follows its audio level. A label keeps a
readable pixel size that shrinks a little and fades with distance. Its quad sits at the depth of the
point above the head, is depth-tested against the avatars (a nearer head hides a farther label) and
labels are drawn farthest first, so a nearer avatar's label always covers a farther one's. The label's
bottom edge is above the head's top, so it never covers the face.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from OpenGL import GL

from emulator.render.font import label_font
from emulator.render.gl_util import Program
from emulator.render.scene import DrawItem
from emulator.render.shaders import OVERLAY_FRAGMENT, OVERLAY_VERTEX

log = logging.getLogger(__name__)
F32 = npt.NDArray[np.float32]
LABEL_HEIGHT_M = 0.2  # above the eyes: clear of the hair (the head's top is about 0.14 m up)
FULL_UNTIL_M, FADED_AT_M, FADED_ALPHA = 3.0, 8.0, 0.3  # opacity: 1 up to 3 m, down to 0.3 at 8 m
_FLOATS = 9  # x y z u v r g b a
MAX_ATLAS_ROWS = 8192  # GL 3.3 promises 1024; every desktop driver, llvmpipe included, gives 8192 or more


@dataclass(frozen=True)
class Placed:
    """Where a name's image sits in the atlas texture, as uv and in pixels."""

    uv: tuple[float, float, float, float]
    width: int
    height: int


class LabelAtlas:
    """The names' images stacked in one texture, rebuilt only when the set of names changes."""

    def __init__(self) -> None:
        self.names: tuple[str, ...] = ()  # the names in the texture
        self._asked: tuple[str, ...] = ()
        self.placed: dict[str, Placed] = {}
        self.image = np.zeros((1, 1), np.uint8)

    def update(self, names: Sequence[str]) -> bool:
        """Re-pack for `names`; True when the image changed."""
        wanted = tuple(sorted(set(names)))
        if wanted == self._asked:
            return False
        self._asked = wanted
        font = label_font()
        images = [font.render(name) for name in wanted]
        # One column of names: past what any GL texture holds, the last names go unlabelled.
        fits = np.cumsum([im.shape[0] + 2 for im in images]) <= MAX_ATLAS_ROWS
        if not fits.all():
            log.warning("%d names do not fit the label texture: they are drawn unlabelled", (~fits).sum())
            wanted, images = wanted[: int(fits.sum())], images[: int(fits.sum())]
        width = max((im.shape[1] for im in images), default=1)
        height = sum(im.shape[0] + 2 for im in images) or 1
        atlas = np.zeros((height, width), np.uint8)
        self.placed, y = {}, 0
        for name, im in zip(wanted, images, strict=True):
            h, w = im.shape
            atlas[y : y + h, :w] = im
            self.placed[name] = Placed((0.0, y / height, w / width, (y + h) / height), w, h)
            y += h + 2  # a gap: mipmapped sampling does not bleed between names
        self.names, self.image = wanted, atlas
        return True


def _quad(
    x0: float, y0: float, x1: float, y1: float, z: float, uv: Sequence[float], color: Sequence[float]
) -> list[float]:
    u0, v0, u1, v1 = uv
    out: list[float] = []
    for x, y, u, v in ((x0, y0, u0, v0), (x1, y0, u1, v0), (x1, y1, u1, v1),
                       (x0, y0, u0, v0), (x1, y1, u1, v1), (x0, y1, u0, v1)):  # fmt: skip
        out += [x, y, z, u, v, *color]
    return out


def label_alpha(distance: float) -> float:
    t = min(1.0, max(0.0, (distance - FULL_UNTIL_M) / (FADED_AT_M - FULL_UNTIL_M)))
    return 1.0 - (1.0 - FADED_ALPHA) * t


def label_vertices(
    items: Sequence[DrawItem],
    view_projection: npt.NDArray[np.float64],
    eye: Sequence[float],
    width: int,
    height: int,
    atlas: LabelAtlas,
) -> F32:
    """Triangles (pixels, y down, and NDC depth) for every label in front of the camera, farthest first."""
    # Sized by the view's smaller side: a tall, narrow viewport must not get big labels.
    scale = min(1.5, max(0.6, min(width, height) / 720))
    solid = (-1.0, -1.0, -1.0, -1.0)
    labels = []
    for item in items:
        p = item.pose.position
        clip = view_projection @ np.array([p.x, p.y + LABEL_HEIGHT_M, p.z, 1.0])
        if clip[3] <= 1e-6:
            continue
        ndc = clip[:3] / clip[3]
        if abs(ndc[0]) > 1.2 or abs(ndc[1]) > 1.2 or abs(ndc[2]) > 1.0:
            continue
        distance = float(np.linalg.norm(np.array(p.as_tuple()) - np.asarray(eye)))
        labels.append((distance, item, ndc))
    labels.sort(key=lambda entry: -entry[0])
    out: list[float] = []
    for distance, item, ndc in labels:
        placed = atlas.placed.get(item.name)
        if placed is None:
            continue
        text_h = scale * min(18.0, max(11.0, 20.0 - 2.0 * distance))
        text_w = placed.width * text_h / placed.height
        alpha = label_alpha(distance)
        cx, bottom = (ndc[0] + 1) / 2 * width, (1 - ndc[1]) / 2 * height
        pad, bar_h = 2.0 * scale, 2.0 * scale
        x0, y0 = float(round(cx - text_w / 2)), float(round(bottom - bar_h - pad - text_h))
        z = float(ndc[2])
        out += _quad(
            x0 - 2 * pad, y0 - pad, x0 + text_w + 2 * pad, bottom, z, solid, (0.05, 0.06, 0.08, 0.7 * alpha)
        )
        level = min(1.0, max(0.0, item.speaking))
        if level > 0.01:
            bar_y = y0 + text_h + pad / 2
            out += _quad(x0, bar_y, x0 + text_w * level, bar_y + bar_h, z, solid, (*item.tint, alpha))
        ink = 0.85 + 0.15 * level
        out += _quad(x0, y0, x0 + text_w, y0 + text_h, z, placed.uv, (ink, ink, ink, alpha))
    return np.asarray(out, np.float32)


class Overlay:
    """The names' texture, a dynamic vertex buffer and the overlay program. GL thread only."""

    def __init__(self) -> None:
        self.program = Program(OVERLAY_VERTEX, OVERLAY_FRAGMENT)
        self.atlas = LabelAtlas()
        self.texture = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        for wrap in (GL.GL_TEXTURE_WRAP_S, GL.GL_TEXTURE_WRAP_T):
            GL.glTexParameteri(GL.GL_TEXTURE_2D, wrap, GL.GL_CLAMP_TO_EDGE)
        self._upload()
        self.vbo = int(GL.glGenBuffers(1))
        self.vao = int(GL.glGenVertexArrays(1))
        GL.glBindVertexArray(self.vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.vbo)
        stride = _FLOATS * 4
        for location, size, offset in ((0, 3, 0), (1, 2, 3), (2, 4, 5)):
            GL.glEnableVertexAttribArray(location)
            GL.glVertexAttribPointer(
                location, size, GL.GL_FLOAT, GL.GL_FALSE, stride, ctypes.c_void_p(offset * 4)
            )
        GL.glBindVertexArray(0)

    def _upload(self) -> None:
        image = np.ascontiguousarray(self.atlas.image)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        GL.glTexImage2D(
            GL.GL_TEXTURE_2D,
            0,
            GL.GL_R8,
            image.shape[1],
            image.shape[0],
            0,
            GL.GL_RED,
            GL.GL_UNSIGNED_BYTE,
            image,
        )
        GL.glGenerateMipmap(GL.GL_TEXTURE_2D)

    def draw(
        self,
        items: Sequence[DrawItem],
        view_projection: npt.NDArray[np.float64],
        eye: Sequence[float],
        width: int,
        height: int,
    ) -> None:
        if self.atlas.update([item.name for item in items]):
            self._upload()
        vertices = label_vertices(items, view_projection, eye, width, height, self.atlas)
        if not len(vertices):
            return
        self.program.use()
        GL.glUniform2f(self.program.loc("u_viewport"), float(width), float(height))
        GL.glUniform1i(self.program.loc("u_atlas"), 0)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        GL.glBindVertexArray(self.vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, vertices.nbytes, vertices, GL.GL_STREAM_DRAW)
        # Tested against the avatars' depth but not written: the far-to-near order decides between labels.
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthFunc(GL.GL_LEQUAL)
        GL.glDepthMask(GL.GL_FALSE)
        GL.glEnable(GL.GL_BLEND)
        GL.glBlendFunc(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, len(vertices) // _FLOATS)
        GL.glDisable(GL.GL_BLEND)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glDepthFunc(GL.GL_LESS)
        GL.glBindVertexArray(0)

    def release(self) -> None:
        GL.glDeleteTextures(1, [self.texture])
        GL.glDeleteBuffers(1, [self.vbo])
        GL.glDeleteVertexArrays(1, [self.vao])
        self.program.delete()
