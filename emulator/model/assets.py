"""Where the bundled assets (profiles, avatars, HRTF data, sounds, traces) live.

A checkout keeps them in `assets/` beside the package; a desktop bundle sets
`HEADSET_EMULATOR_ASSETS` to its own copy.
"""

from __future__ import annotations

import os
from pathlib import Path


def assets_dir() -> Path:
    override = os.environ.get("HEADSET_EMULATOR_ASSETS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "assets"


def asset_path(*parts: str) -> Path:
    return assets_dir().joinpath(*parts)
