"""The two error types of the render layer: a bad avatar file, and no OpenGL to draw with."""


class AvatarError(ValueError):
    """An avatar file that cannot be used (missing, truncated, not glTF 2.0, bad accessor…); says why."""


class RenderUnavailableError(RuntimeError):
    """No OpenGL 3.3 core context can be made here (no X display, no GLX, an old driver); says why."""
