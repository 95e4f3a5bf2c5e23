"""Where the program keeps its files: config (room secret, app settings), cache, recordings.

The places are the platform's own (platformdirs: XDG on Linux, ~/Library on macOS, %APPDATA% on
Windows). Earlier versions used ~/.config/headset-emulator, ~/.cache/headset-emulator and
~/headset-emulator-recordings on every platform; a file or folder found only there is still used, so
an existing room secret keeps minting the same tokens and old recordings stay where they are. On Linux
the first two are the XDG places themselves ($XDG_CONFIG_HOME and $XDG_CACHE_HOME are honoured).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "headset-emulator"


def legacy_config_dir() -> Path:
    """Where earlier versions kept config on every platform (on Linux the same as config_dir())."""
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / APP


def legacy_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / APP


def legacy_recordings_dir() -> Path:
    return Path.home() / "headset-emulator-recordings"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP, appauthor=False, roaming=True))


def cache_dir() -> Path:
    """Regenerable files (avatar variants): the old cache is not read, only left to be cleared."""
    return Path(platformdirs.user_cache_dir(APP, appauthor=False))


def config_file(name: str) -> Path:
    """`name` in the config folder, or where an earlier version left it if only that one exists."""
    current = config_dir() / name
    legacy = legacy_config_dir() / name
    if not current.exists() and legacy.exists():
        return legacy
    return current


def recordings_dir() -> Path:
    """The default recordings folder: Documents/headset-emulator recordings, or the earlier
    ~/headset-emulator-recordings when that one exists and the new one does not yet."""
    current = Path(platformdirs.user_documents_dir()) / "headset-emulator recordings"
    legacy = legacy_recordings_dir()
    if not current.exists() and legacy.is_dir():
        return legacy
    return current
