"""Build the one-folder desktop bundle with packaging/headset-emulator.spec into a folder of its own."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.support.processes import run_in_group

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "headset-emulator.spec"
BUILD_TIMEOUT_S = 900.0


class BundleError(RuntimeError):
    pass


def build_bundle(top: Path) -> Path:
    """The built bundle's executable, with PyInstaller's work, dist and cache folders all under `top`."""
    top.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
    argv += ["--workpath", str(top / "build"), "--distpath", str(top / "dist"), str(SPEC)]
    env = {**os.environ, "PYINSTALLER_CONFIG_DIR": str(top / "config")}
    done = run_in_group(argv, timeout=BUILD_TIMEOUT_S, merged=True, cwd=str(top), env=env)
    if done.returncode != 0:
        raise BundleError(f"the bundle did not build:\n{done.stdout[-4000:]}")
    executable = top / "dist" / "headset-emulator" / "headset-emulator"
    if not os.access(executable, os.X_OK):
        raise BundleError(f"no executable at {executable}")
    return executable
