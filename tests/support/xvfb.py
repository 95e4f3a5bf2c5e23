"""A real X screen for OpenGL and Qt tests: Xvfb with Mesa's llvmpipe, started once per session.

The screen is a 1366×768 laptop's, the smallest the app is made for: every GUI test then runs the
window where a window taller or wider than the screen would show (issue 19's demo proofs).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.support.processes import HelperProcessError, stop_group

SCREEN = "1366x768x24"


def start_xvfb(timeout: float = 15.0) -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb on a display number it picks itself (`-displayfd`), so parallel runs never collide."""
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", SCREEN, "-nolisten", "tcp",
         "+extension", "GLX"],
        pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    os.close(write_end)
    try:
        answer = b""
        deadline = time.monotonic() + timeout
        while not answer.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([read_end], [], [], max(0.0, remaining))
            chunk = os.read(read_end, 16) if ready else b""
            if not chunk:
                stop_group(process)
                raise HelperProcessError(f"Xvfb did not report a display within {timeout:.0f} s")
            answer += chunk
    finally:
        os.close(read_end)
    return process, f":{int(answer)}"


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[str]:
    """DISPLAY of a private 24-bit Xvfb screen; set in os.environ for the rest of the session."""
    if shutil.which("Xvfb") is None:
        raise RuntimeError("Xvfb is not installed: run `make test`, which installs it")
    process, display = start_xvfb()
    previous = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display
    os.environ.pop("QT_QPA_PLATFORM", None)
    try:
        yield display
    finally:
        stop_group(process)
        if previous is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = previous
