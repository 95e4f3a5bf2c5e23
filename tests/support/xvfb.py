"""A real X screen for OpenGL and Qt tests: Xvfb with Mesa's llvmpipe, started once per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import running


def _free_display() -> int:
    for number in range(90, 190):
        if not Path(f"/tmp/.X{number}-lock").exists() and not Path(f"/tmp/.X11-unix/X{number}").exists():
            return number
    raise RuntimeError("no free X display number between :90 and :189")


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[str]:
    """DISPLAY of a private 24-bit Xvfb screen; set in os.environ for the rest of the session."""
    if shutil.which("Xvfb") is None:
        raise RuntimeError("Xvfb is not installed: run `make test`, which installs it")
    number = _free_display()
    display = f":{number}"
    socket = Path(f"/tmp/.X11-unix/X{number}")
    argv = ["Xvfb", display, "-screen", "0", "1920x1080x24", "-nolisten", "tcp", "+extension", "GLX"]
    previous = os.environ.get("DISPLAY")
    with running(argv, ready=socket.exists, name="Xvfb"):
        os.environ["DISPLAY"] = display
        os.environ.pop("QT_QPA_PLATFORM", None)
        try:
            yield display
        finally:
            if previous is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = previous
