"""Where the bundled assets (profiles, avatars, HRTF data, sounds, traces) live.

A checkout keeps them in `assets/` beside the package; the PyInstaller bundle (packaging/) keeps its
copy in its `_internal/` folder, which it names in `sys._MEIPASS`; `HEADSET_EMULATOR_ASSETS` overrides
both (tests, a user's own avatars and profiles).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def assets_dir() -> Path:
    override = os.environ.get("HEADSET_EMULATOR_ASSETS")
    if override:
        return Path(override)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "assets"
    return Path(__file__).resolve().parents[2] / "assets"


def asset_path(*parts: str) -> Path:
    return assets_dir().joinpath(*parts)
