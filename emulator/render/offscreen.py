"""Offscreen drawing: a framebuffer object to render into and read back, and a one-call snapshot.

Snapshots, tests and benchmarks render into a `Framebuffer` (RGBA8 colour + 24-bit depth, optionally
multisampled and resolved on read) inside a `HeadlessContext`. Pixels come back top row first, the way
images are stored, although GL counts rows from the bottom.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

import numpy as np
import numpy.typing as npt
from OpenGL import GL

from emulator.render.avatar_gl import MorphMode
from emulator.render.camera import Camera
from emulator.render.errors import RenderUnavailableError
from emulator.render.glcontext import HeadlessContext
from emulator.render.renderer import DEFAULT_MORPH, Renderer
from emulator.render.scene import DrawItem


class Framebuffer:
    """A width × height render target in the current context; `bind()` before drawing."""

    def __init__(self, width: int, height: int, samples: int = 0) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"framebuffer size must be positive, got {width}x{height}")
        self.width, self.height, self.samples = width, height, samples
        self.fbo, self._buffers = self._make(samples)
        self._resolve: tuple[int, list[int]] | None = self._make(0) if samples else None

    def _make(self, samples: int) -> tuple[int, list[int]]:
        fbo = int(GL.glGenFramebuffers(1))
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
        buffers = []
        for attachment, fmt in (
            (GL.GL_COLOR_ATTACHMENT0, GL.GL_RGBA8),
            (GL.GL_DEPTH_ATTACHMENT, GL.GL_DEPTH_COMPONENT24),
        ):
            rb = int(GL.glGenRenderbuffers(1))
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, rb)
            if samples:
                GL.glRenderbufferStorageMultisample(GL.GL_RENDERBUFFER, samples, fmt, self.width, self.height)
            else:
                GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, fmt, self.width, self.height)
            GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, attachment, GL.GL_RENDERBUFFER, rb)
            buffers.append(rb)
        status = GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
        if status != GL.GL_FRAMEBUFFER_COMPLETE:
            raise RenderUnavailableError(f"offscreen framebuffer is incomplete (status 0x{int(status):x})")
        return fbo, buffers

    def bind(self) -> None:
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.fbo)

    def read_rgb(self) -> npt.NDArray[np.uint8]:
        """(height, width, 3) uint8, top row first."""
        source = self.fbo
        if self._resolve is not None:
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self.fbo)
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._resolve[0])
            w, h = self.width, self.height
            GL.glBlitFramebuffer(0, 0, w, h, 0, 0, w, h, GL.GL_COLOR_BUFFER_BIT, GL.GL_NEAREST)
            source = self._resolve[0]
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, source)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        raw = GL.glReadPixels(0, 0, self.width, self.height, GL.GL_RGB, GL.GL_UNSIGNED_BYTE)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.fbo)
        image = np.frombuffer(raw, np.uint8).reshape(self.height, self.width, 3)
        return np.ascontiguousarray(image[::-1])

    def release(self) -> None:
        for fbo, buffers in [(self.fbo, self._buffers), *([self._resolve] if self._resolve else [])]:
            GL.glDeleteRenderbuffers(len(buffers), buffers)
            GL.glDeleteFramebuffers(1, [fbo])


class OffscreenRenderer:
    """A headless context, a framebuffer and a renderer together: `render(items, cameras)` → pixels."""

    def __init__(
        self,
        width: int,
        height: int,
        samples: int = 4,
        *,
        morph: MorphMode | str = DEFAULT_MORPH,
        labels: bool = True,
        lod: bool = True,
    ) -> None:
        self.context = HeadlessContext()
        try:
            self.framebuffer = Framebuffer(width, height, samples)
            self.framebuffer.bind()
            self.renderer = Renderer(morph=morph, labels=labels, lod=lod)
        except BaseException:
            self.context.close()
            raise

    def render(self, items: Sequence[DrawItem], cameras: Sequence[Camera]) -> npt.NDArray[np.uint8]:
        if not self.context.make_current():
            raise RenderUnavailableError("the offscreen GL context can no longer be made current")
        self.framebuffer.bind()
        self.renderer.draw_views(items, cameras, self.framebuffer.width, self.framebuffer.height)
        return self.framebuffer.read_rgb()

    def close(self) -> None:
        if self.context.make_current():
            self.renderer.release()
            self.framebuffer.release()
        self.context.close()

    def __enter__(self) -> OffscreenRenderer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
