"""The desktop bundle: build it with packaging/headset-emulator.spec, then run what a laptop user runs.

The bundle is built once for this module into a temporary directory (PyInstaller's --workpath and
--distpath) and removed afterwards. Each run of the built program starts from another directory,
with an environment that holds neither the repo's .venv nor its sources on any path, and (where the
machine allows a network namespace) with no network interface but loopback: what it needs must be in
the bundle, and it can send nothing past 127.0.0.1 even by mistake.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import __version__
from emulator.render.png import decode_png
from tests.support.pulse import PulseServer

# The module builds the bundle (about a minute here, alone on 2 cores) before its first test runs.
pytestmark = [pytest.mark.slow, pytest.mark.gui, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "headset-emulator.spec"
BUILD_TIMEOUT_S = 900.0
RUN_TIMEOUT_S = 240.0


def _run(argv: list[str], *, timeout: float, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """subprocess.run in a process group of its own: on a timeout the whole group is killed."""
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, **kwargs
    )
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


@pytest.fixture(scope="module")
def bundle() -> Iterator[Path]:
    """The built bundle's executable; the build and dist directories are removed afterwards."""
    top = Path(tempfile.mkdtemp(prefix="headset-emulator-bundle-"))
    try:
        started = time.monotonic()
        argv = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
        argv += ["--workpath", str(top / "build"), "--distpath", str(top / "dist"), str(SPEC)]
        # Its cache too goes in the temporary directory, so the build leaves nothing behind.
        env = {**os.environ, "PYINSTALLER_CONFIG_DIR": str(top / "config")}
        done = _run(argv, timeout=BUILD_TIMEOUT_S, cwd=str(top), env=env)
        assert done.returncode == 0, f"the bundle did not build:\n{done.stdout[-4000:]}"
        print(f"bundle built in {time.monotonic() - started:.0f} s", file=sys.stderr)
        executable = top / "dist" / "headset-emulator" / "headset-emulator"
        assert os.access(executable, os.X_OK), f"no executable at {executable}"
        yield executable
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    """What a desktop session has: no virtualenv, no PYTHONPATH, only system directories on PATH."""
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def _loopback_only(argv: list[str]) -> list[str]:
    """Run `argv` in a new network namespace whose only interface is loopback, if the machine lets us.

    The code keeps to loopback by itself (emulator.net.transport.ice); this makes any slip fail instead
    of leak.
    """
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return argv
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return argv
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *argv]


def test_version_matches_the_package(bundle: Path, tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    done = _run([str(bundle), "--version"], timeout=RUN_TIMEOUT_S, cwd=str(tmp_path), env=env)
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip() == f"headset-emulator {__version__}"


def test_self_test_passes_from_the_bundle_alone(
    bundle: Path, tmp_path: Path, xvfb_display: str, pulse_server: PulseServer
) -> None:
    frame = tmp_path / "frame.png"
    env = _clean_env(tmp_path, DISPLAY=xvfb_display, PULSE_SERVER=pulse_server.server)
    argv = _loopback_only([str(bundle), "self-test", "--frame", str(frame)])
    done = _run(argv, timeout=RUN_TIMEOUT_S, cwd=str(tmp_path), env=env)
    assert done.returncode == 0, done.stdout
    checks = [line for line in done.stdout.splitlines() if line[:4] in ("PASS", "WARN", "FAIL")]
    lines = {line.split()[1]: line for line in checks}
    every = ("version", "libs", "assets", "audio", "speech", "gamepad", "room", "join", "render", "window")
    for name in every:
        assert lines.get(name, "").startswith("PASS"), f"{name}: {lines.get(name)}\n{done.stdout}"
    bundle_dir = str(bundle.parent)
    assert f"bundle at {bundle_dir}" in lines["version"]
    # PortAudio, libopus and espeak-ng load from the bundle, not from this machine's Debian packages.
    assert lines["libs"].count("(bundle)") == 3, lines["libs"]
    assert f"{bundle_dir}/_internal/emulator/assets" in lines["assets"]
    assert "127.0.0.1" in lines["room"]
    image = decode_png(frame.read_bytes())
    assert image.shape == (240, 320, 3) and image.std() > 10  # sky, floor and the bot: not a blank frame


def test_the_desktop_app_draws_a_talking_bot(bundle: Path, tmp_path: Path, xvfb_display: str) -> None:
    """`demo` from the bundle: the window opens, a bot joins, its avatar is drawn and saved."""
    shot = tmp_path / "demo.png"
    env = _clean_env(tmp_path, DISPLAY=xvfb_display)
    argv = [str(bundle), "demo", "--bots", "1", "--settings", str(tmp_path / "s.ini")]
    argv += ["--screenshot", str(shot)]
    done = _run(_loopback_only(argv), timeout=RUN_TIMEOUT_S, cwd=str(tmp_path), env=env)
    assert done.returncode == 0, done.stdout
    assert "first frame with 1 avatars" in done.stdout, done.stdout
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
