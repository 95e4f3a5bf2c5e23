"""Build the one-folder desktop bundle with packaging/headset-emulator.spec into a folder of its own."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "headset-emulator.spec"
BUILD_TIMEOUT_S = 900.0


class BundleError(RuntimeError):
    pass


def run_grouped(argv: list[str], *, timeout: float, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """subprocess.run in a process group of its own: on a timeout the whole group is killed."""
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, **kwargs
    )  # type: ignore[call-overload]
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        raise AssertionError(f"{argv[0]} did not finish within {timeout:.0f} s:\n{out[-4000:]}") from None
    finally:
        # Whatever it started and left behind (a window's child, a server) goes with it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(argv, process.returncode, out, "")


def build_bundle(top: Path) -> Path:
    """The built bundle's executable, with PyInstaller's work, dist and cache folders all under `top`."""
    top.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
    argv += ["--workpath", str(top / "build"), "--distpath", str(top / "dist"), str(SPEC)]
    env = {**os.environ, "PYINSTALLER_CONFIG_DIR": str(top / "config")}
    done = run_grouped(argv, timeout=BUILD_TIMEOUT_S, cwd=str(top), env=env)
    if done.returncode != 0:
        raise BundleError(f"the bundle did not build:\n{done.stdout[-4000:]}")
    executable = top / "dist" / "headset-emulator" / "headset-emulator"
    if not os.access(executable, os.X_OK):
        raise BundleError(f"no executable at {executable}")
    return executable
