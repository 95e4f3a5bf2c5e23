"""A headless OpenGL 3.3 core context for snapshots, tests and benchmarks, without Qt.

The app draws inside its Qt surface's own context; everything else needs a context of its own. We
use GLX on the X display named by DISPLAY (under Xvfb, Mesa's llvmpipe) with a tiny pbuffer as the
drawable: all real drawing goes into a framebuffer object (`offscreen.Framebuffer`), so the pbuffer's
size never matters. GLX rather than EGL because PyOpenGL picks its platform once per process and the
app's Qt contexts on X are GLX too; mixing the two in one process is asking for trouble.

Runs on the thread that creates it; a GL context is current on one thread at a time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from types import TracebackType

from emulator.render.errors import RenderUnavailableError

log = logging.getLogger(__name__)

# GLX_ARB_create_context / _profile tokens (fixed by the extension spec).
_CONTEXT_MAJOR_VERSION = 0x2091
_CONTEXT_MINOR_VERSION = 0x2092
_CONTEXT_PROFILE_MASK = 0x9126
_CONTEXT_CORE_PROFILE_BIT = 0x0001

_CreateContextAttribs = ctypes.CFUNCTYPE(
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_int,
    ctypes.POINTER(ctypes.c_int),
)


def _load_x11() -> ctypes.CDLL:
    name = ctypes.util.find_library("X11")
    if name is None:
        raise RenderUnavailableError("libX11 is not installed, so there is no X display to draw with")
    lib = ctypes.cdll.LoadLibrary(name)
    lib.XOpenDisplay.restype = ctypes.c_void_p
    lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    lib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    lib.XDefaultScreen.argtypes = [ctypes.c_void_p]
    lib.XFree.argtypes = [ctypes.c_void_p]
    return lib


class HeadlessContext:
    """An OpenGL 3.3 core context made current on creation; `close()` (or `with`) releases it all."""

    def __init__(self) -> None:
        display_name = os.environ.get("DISPLAY")
        if not display_name:
            raise RenderUnavailableError(
                "no X display: set DISPLAY (for example run under `xvfb-run`) to render offscreen"
            )
        self._x11 = _load_x11()
        try:
            from OpenGL import GLX
        except ImportError as error:  # pragma: no cover - PyOpenGL is a dependency
            raise RenderUnavailableError(f"PyOpenGL's GLX bindings cannot load: {error}") from None
        self._glx = GLX
        self._display = self._x11.XOpenDisplay(display_name.encode())
        if not self._display:
            raise RenderUnavailableError(f"cannot open X display {display_name!r}")
        self._context: ctypes.c_void_p | None = None
        self._pbuffer = 0
        try:
            self._create(display_name)
        except BaseException:
            self.close()
            raise

    def _create(self, display_name: str) -> None:
        glx = self._glx
        dpy = ctypes.cast(self._display, ctypes.POINTER(glx.Display))
        screen = self._x11.XDefaultScreen(self._display)
        attributes = (ctypes.c_int * 7)(
            glx.GLX_DRAWABLE_TYPE, glx.GLX_PBUFFER_BIT, glx.GLX_RENDER_TYPE, glx.GLX_RGBA_BIT, 0, 0, 0
        )
        count = ctypes.c_int(0)
        try:
            configs = glx.glXChooseFBConfig(dpy, screen, attributes, ctypes.byref(count))
        except Exception as error:  # PyOpenGL raises its own types when GLX is missing
            raise RenderUnavailableError(f"display {display_name!r} has no GLX: {error}") from None
        if not configs or count.value == 0:
            raise RenderUnavailableError(f"display {display_name!r} offers no GLX pbuffer configuration")
        config = ctypes.cast(configs[0], ctypes.c_void_p)
        address = glx.glXGetProcAddress(b"glXCreateContextAttribsARB")
        if not address:
            raise RenderUnavailableError("GLX_ARB_create_context is missing: cannot ask for a core profile")
        create = _CreateContextAttribs(ctypes.cast(address, ctypes.c_void_p).value or 0)
        context_attributes = (ctypes.c_int * 7)(
            _CONTEXT_MAJOR_VERSION, 3, _CONTEXT_MINOR_VERSION, 3,
            _CONTEXT_PROFILE_MASK, _CONTEXT_CORE_PROFILE_BIT, 0,
        )  # fmt: skip
        context = create(self._display, config, None, 1, context_attributes)
        if not context:
            raise RenderUnavailableError(f"display {display_name!r} cannot make an OpenGL 3.3 core context")
        self._context = ctypes.c_void_p(context)
        pbuffer_attributes = (ctypes.c_int * 5)(glx.GLX_PBUFFER_WIDTH, 4, glx.GLX_PBUFFER_HEIGHT, 4, 0)
        self._pbuffer = int(glx.glXCreatePbuffer(dpy, configs[0], pbuffer_attributes))
        self._x11.XFree(ctypes.cast(configs, ctypes.c_void_p))
        if not self.make_current():
            raise RenderUnavailableError("cannot make the OpenGL context current")
        from OpenGL import GL

        log.info("headless GL: %s on %s", _gl_string(GL.GL_VERSION), _gl_string(GL.GL_RENDERER))

    def make_current(self) -> bool:
        if self._context is None:
            return False
        glx = self._glx
        dpy = ctypes.cast(self._display, ctypes.POINTER(glx.Display))
        ctx = ctypes.cast(self._context, glx.GLXContext)
        return bool(glx.glXMakeContextCurrent(dpy, self._pbuffer, self._pbuffer, ctx))

    def close(self) -> None:
        if not self._display:
            return
        glx = self._glx
        dpy = ctypes.cast(self._display, ctypes.POINTER(glx.Display))
        if self._context is not None:
            glx.glXMakeContextCurrent(dpy, 0, 0, None)
            glx.glXDestroyContext(dpy, ctypes.cast(self._context, glx.GLXContext))
            self._context = None
        if self._pbuffer:
            glx.glXDestroyPbuffer(dpy, self._pbuffer)
            self._pbuffer = 0
        self._x11.XCloseDisplay(self._display)
        self._display = None

    def __enter__(self) -> HeadlessContext:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _gl_string(name: int) -> str:
    from OpenGL import GL

    raw = GL.glGetString(name)
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
