"""The desktop bundle: build it with packaging/headset-emulator.spec, then run what a laptop user runs.

The bundle is built once per run into a temporary directory while the rest of the suite runs, and
removed at the session's end. Each run of the built program starts from another directory, with an
environment that holds neither the repo's .venv nor its sources on any path, and (where the machine
allows a network namespace) with no network interface but loopback: what it needs must be in the
bundle, and it can send nothing past 127.0.0.1 even by mistake.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from emulator import __version__
from emulator.render.png import decode_png
from tests.support.prebuilt import prebuilt
from tests.support.processes import run_in_group
from tests.support.pulse import PulseServer

pytestmark = [pytest.mark.slow, pytest.mark.gui, pytest.mark.timeout(900)]

RUN_TIMEOUT_S = 240.0
BUILD_WAIT_S = 850.0


@pytest.fixture(scope="module")
def bundle(request: pytest.FixtureRequest) -> Path:
    """The built bundle's executable (built beside the rest of the suite: tests/support/prebuilt.py)."""
    return Path(prebuilt(request.config, "bundle", BUILD_WAIT_S)["executable"])


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    """What a desktop session has: no virtualenv, no PYTHONPATH, only system directories on PATH."""
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def _loopback_only(argv: list[str]) -> list[str]:
    """Run `argv` in a new network namespace whose only interface is loopback, if the machine lets us.

    The code keeps to loopback by itself (emulator.net.ice); this makes any slip fail instead of leak.
    """
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return argv
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return argv
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *argv]


def test_version_matches_the_package(bundle: Path, tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    done = run_in_group(
        [str(bundle), "--version"], timeout=RUN_TIMEOUT_S, merged=True, cwd=str(tmp_path), env=env
    )
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip() == f"headset-emulator {__version__}"


def test_self_test_passes_from_the_bundle_alone(
    bundle: Path, tmp_path: Path, xvfb_display: str, pulse_server: PulseServer
) -> None:
    frame = tmp_path / "frame.png"
    env = _clean_env(tmp_path, DISPLAY=xvfb_display, PULSE_SERVER=pulse_server.server)
    argv = _loopback_only([str(bundle), "self-test", "--frame", str(frame)])
    done = run_in_group(argv, timeout=RUN_TIMEOUT_S, merged=True, cwd=str(tmp_path), env=env)
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
    done = run_in_group(_loopback_only(argv), timeout=RUN_TIMEOUT_S, merged=True, cwd=str(tmp_path), env=env)
    assert done.returncode == 0, done.stdout
    assert "first frame with 1 avatars" in done.stdout, done.stdout
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
