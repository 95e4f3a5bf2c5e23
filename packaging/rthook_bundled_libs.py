"""PyInstaller runtime hook: make the native libraries shipped inside the bundle the ones that load.

sounddevice (PortAudio), emulator.net.media.opus_decoder (libopus) and emulator.audio.espeak (libespeak-ng)
each ask `ctypes.util.find_library`, which on Linux only consults the system's ldconfig cache: on a
laptop without those Debian packages it finds nothing, although the bundle carries the libraries.
Runs before any of them is imported (sounddevice binds `find_library` at import), so wrapping it here
is enough. espeak-ng reads its phoneme data from `$ESPEAK_DATA_PATH/espeak-ng-data` when given no path.
"""

import ctypes.util
import glob
import os
import sys

_BUNDLE = getattr(sys, "_MEIPASS", os.path.dirname(os.path.abspath(sys.executable)))
_system_find_library = ctypes.util.find_library


def _bundled(name: str) -> str | None:
    matches = sorted(glob.glob(os.path.join(_BUNDLE, f"lib{name}.so*")))
    return matches[0] if matches else None


def _find_library(name: str) -> str | None:
    return _bundled(name) or _system_find_library(name)


ctypes.util.find_library = _find_library
if os.path.isdir(os.path.join(_BUNDLE, "espeak-ng-data")):
    os.environ.setdefault("ESPEAK_DATA_PATH", _BUNDLE)
