"""Build this project's wheel and install it into fresh virtualenvs outside the checkout, as a user would.

The third-party wheels (numpy, scipy, av, Qt, …) are kept in a local cache folder
(`HEADSET_EMULATOR_WHEEL_CACHE`, default ~/.cache/headset-emulator-test-wheels): an install first
tries the cache alone (`--no-index`), and only when it misses does pip download what is missing from
PyPI into it. So a machine downloads them once, and install times measure pip, not the network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WHEEL_CACHE = Path(
    os.environ.get("HEADSET_EMULATOR_WHEEL_CACHE", Path.home() / ".cache" / "headset-emulator-test-wheels")
)
# Not part of the source: copying them would only slow the build (or leak stale build/ output).
_NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    "out",
    "bench-out",
)


class InstallError(RuntimeError):
    pass


@dataclass(frozen=True)
class Venv:
    path: Path
    install_s: float  # pip install from the local wheel cache into the fresh venv
    size_bytes: int  # the whole venv after the install

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def program(self) -> Path:
        return self.path / "bin" / "headset-emulator"

    def env(self, home: Path) -> dict[str, str]:
        """An environment that knows nothing of the checkout or the suite's own virtualenv."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
        env["PATH"] = f"{self.path / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
        env["XDG_CONFIG_HOME"] = str(home / "config")
        env["PYTHONUNBUFFERED"] = "1"
        env.pop("HEADSET_EMULATOR_ASSETS", None)
        return env

    def has(self, module: str) -> bool:
        probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
        done = subprocess.run([str(self.python), "-c", probe], capture_output=True, check=False)
        return done.returncode == 0


def _run(argv: list[str], what: str, timeout: float, cwd: Path | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False)
    if done.returncode != 0:
        raise InstallError(f"{what} failed ({done.returncode}): {(done.stdout + done.stderr)[-3000:]}")


def build_wheel(workdir: Path) -> Path:
    """The wheel of a clean copy of the checkout (what `pip wheel .` makes on a fresh clone)."""
    source = workdir / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    out = workdir / "wheels"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--disable-pip-version-check",
            "-w",
            str(out),
            ".",
        ],
        "pip wheel",
        timeout=600,
        cwd=source,
    )
    shutil.rmtree(source)
    (wheel,) = out.glob("headset_emulator-*.whl")
    return wheel


def _size(path: Path) -> int:
    return sum(f.lstat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def make_venv(path: Path, requirement: str) -> Venv:
    """A fresh venv at `path` with `requirement` (the wheel's path, maybe with `[app]`) installed."""
    _run([sys.executable, "-m", "venv", str(path)], "python -m venv", timeout=120)
    python = str(path / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    cached = [*pip, "--no-index", "--find-links", str(WHEEL_CACHE), requirement]
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    first = subprocess.run(cached, capture_output=True, text=True, timeout=900, check=False)
    if first.returncode != 0:
        # A cache miss (first run, or a new dependency): fetch what is missing from PyPI, then install.
        _run(
            [
                python,
                "-m",
                "pip",
                "download",
                "-q",
                "--disable-pip-version-check",
                "-d",
                str(WHEEL_CACHE),
                requirement,
            ],
            "pip download into the wheel cache",
            timeout=1800,
        )
        for own in WHEEL_CACHE.glob("headset_emulator-*"):
            own.unlink()  # the project's own wheel always comes from the build, never from the cache
        started = time.monotonic()
        _run(cached, "pip install from the wheel cache", timeout=900)
    install_s = time.monotonic() - started
    return Venv(path, install_s, _size(path))
