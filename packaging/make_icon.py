"""Render the app icon (packaging/icon.png): the bundled default avatar's face, as a 256 px square.

Run under an X display (`xvfb-run -a .venv/bin/python packaging/make_icon.py`); the PNG is committed,
so building the bundle needs no display. Rerun it when the default avatar changes.
"""

import sys
from pathlib import Path

from emulator.cli import main

ICON = Path(__file__).resolve().parent / "icon.png"

if __name__ == "__main__":
    sys.exit(
        main(
            [
                "snapshot",
                "--size",
                "256x256",
                "--distance",
                "0.42",
                "--fov",
                "40",
                "--face",
                "mouthSmileLeft=0.6,mouthSmileRight=0.6",
                "--out",
                str(ICON),
            ]
        )
    )
