"""Small PyOpenGL helpers: compile a program, look up uniforms, fill buffers. Current context only."""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
from OpenGL import GL

from emulator.render.errors import RenderUnavailableError


def _compile(kind: int, source: str) -> int:
    shader = GL.glCreateShader(kind)
    GL.glShaderSource(shader, source)
    GL.glCompileShader(shader)
    if not GL.glGetShaderiv(shader, GL.GL_COMPILE_STATUS):
        log = GL.glGetShaderInfoLog(shader)
        GL.glDeleteShader(shader)
        raise RenderUnavailableError(f"shader does not compile: {_text(log)}")
    return int(shader)


def _text(raw: Any) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


class Program:
    """A linked GLSL program with its uniform locations cached by name."""

    def __init__(self, vertex: str, fragment: str) -> None:
        shaders = [_compile(GL.GL_VERTEX_SHADER, vertex), _compile(GL.GL_FRAGMENT_SHADER, fragment)]
        self.id = int(GL.glCreateProgram())
        for shader in shaders:
            GL.glAttachShader(self.id, shader)
        GL.glLinkProgram(self.id)
        for shader in shaders:
            GL.glDeleteShader(shader)
        if not GL.glGetProgramiv(self.id, GL.GL_LINK_STATUS):
            raise RenderUnavailableError(
                f"shader program does not link: {_text(GL.glGetProgramInfoLog(self.id))}"
            )
        self._locations: dict[str, int] = {}

    def loc(self, name: str) -> int:
        if name not in self._locations:
            self._locations[name] = int(GL.glGetUniformLocation(self.id, name))
        return self._locations[name]

    def use(self) -> None:
        GL.glUseProgram(self.id)

    def matrix(self, name: str, m: Any) -> None:
        GL.glUniformMatrix4fv(self.loc(name), 1, GL.GL_TRUE, np.ascontiguousarray(m, dtype=np.float32))

    def vec3(self, name: str, v: Any) -> None:
        x, y, z = (float(c) for c in v)
        GL.glUniform3f(self.loc(name), x, y, z)

    def delete(self) -> None:
        GL.glDeleteProgram(self.id)


def buffer(target: int, data: np.ndarray[Any, Any], usage: int = GL.GL_STATIC_DRAW) -> int:
    name = int(GL.glGenBuffers(1))
    GL.glBindBuffer(target, name)
    GL.glBufferData(target, data.nbytes, data, usage)
    return name


def attribute(location: int, vbo: int, width: int) -> None:
    """Point float attribute `location` at tightly packed `width`-float elements of `vbo`."""
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, vbo)
    GL.glEnableVertexAttribArray(location)
    GL.glVertexAttribPointer(location, width, GL.GL_FLOAT, GL.GL_FALSE, 0, ctypes.c_void_p(0))
