"""Make the README's screenshot: run `headset-emulator demo` on a private Xvfb screen and save docs/demo.png.

The screen is a 1366×768 laptop's. The demo saves the window itself once both bots are in view and
facing the user (`--out`), so the picture is what a user sees a few seconds after `make run`.
Usage: `.venv/bin/python scripts/screenshot_demo.py [OUT.png]`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCREEN = "1366x768x24"


def free_display() -> int:
    for number in range(120, 220):
        if not Path(f"/tmp/.X{number}-lock").exists() and not Path(f"/tmp/.X11-unix/X{number}").exists():
            return number
    raise SystemExit("no free X display number between :120 and :219")


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "demo.png"
    number = free_display()
    xvfb = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", SCREEN, "-nolisten", "tcp", "+extension", "GLX"],
        start_new_session=True,
    )
    try:
        socket = Path(f"/tmp/.X11-unix/X{number}")
        deadline = time.monotonic() + 20
        while not socket.exists():
            if time.monotonic() > deadline or xvfb.poll() is not None:
                raise SystemExit("Xvfb did not start")
            time.sleep(0.1)
        env = dict(os.environ, DISPLAY=f":{number}", QT_QPA_PLATFORM="xcb")
        with tempfile.TemporaryDirectory() as tmp:
            argv = [
                sys.executable, "-m", "emulator", "demo", "--out", str(out),
                "--settings", str(Path(tmp) / "settings.ini"),
            ]  # fmt: skip
            result = subprocess.run(argv, env=env, timeout=180, check=False)
        return result.returncode
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
