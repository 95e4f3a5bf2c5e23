"""Which optional extras this install has, and the one line a command prints when it lacks one.

The base install is the headless headset, room, swarm and QA tools; the window, snapshots and
OpenGL rendering come with the `[app]` extra (docs/packaging.md). Commands that need it call
`require_app` before importing any of it, so a base install gets a hint instead of a traceback.
"""

from __future__ import annotations

import importlib.util

from emulator.cli.common import CommandError

# The import names of what `[app]` installs (PySide6-Essentials, pyqtgraph, qasync, PyOpenGL,
# pygltflib, Pillow, meshopt, PySDL2 with its bundled SDL2).
APP_MODULES: tuple[str, ...] = (
    "PySide6",
    "pyqtgraph",
    "qasync",
    "OpenGL",
    "pygltflib",
    "PIL",
    "meshopt",
    "sdl2",
)
APP_HINT = "pip install 'headset-emulator[app]'"


def missing_app_modules() -> list[str]:
    return [name for name in APP_MODULES if importlib.util.find_spec(name) is None]


def require_app(what: str) -> None:
    """Raise the one-line error (exit code 2) when `[app]` is not installed; `what` names the feature."""
    missing = missing_app_modules()
    if missing:
        raise CommandError(f"{what} needs the [app] extra ({', '.join(missing)} missing): {APP_HINT}")
