"""Where the bundled assets (profiles, avatars, HRTF data, speech scripts, traces, faces) live.

They are package data in `emulator/assets/`, found with `importlib.resources` so a checkout, an
installed wheel and the PyInstaller bundle (which keeps the package's files under `sys._MEIPASS`) all
work alike. `HEADSET_EMULATOR_ASSETS` names a folder of one's own with the same layout instead
(tests, a user's own avatars and profiles).
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

ENV_OVERRIDE = "HEADSET_EMULATOR_ASSETS"


def assets_dir() -> Path:
    override = os.environ.get(ENV_OVERRIDE)
    if override:
        return Path(override)
    bundled = files("emulator").joinpath("assets")
    # Callers hand these paths to numpy, h5py and ctypes, which need real files: a zipped install
    # (zipimport) has none, so it is named instead of failing later on an odd path.
    if not isinstance(bundled, Path):
        raise RuntimeError(f"headset-emulator's assets are not on disk ({bundled}); install it unzipped")
    return bundled


def asset_path(*parts: str) -> Path:
    return assets_dir().joinpath(*parts)
