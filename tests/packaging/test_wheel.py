"""The built wheel, installed with pip into fresh virtualenvs outside the checkout, as a user installs it.

One venv with the base install (the headless headset, room, swarm and QA tools) and one with the
`[app]` extra, each made once per run from the wheel of a clean copy of the checkout, while the rest
of the suite runs (tests/packaging/prebuild.py; wheel_venv.py keeps the third-party wheels in a local
cache). Every command runs
the venv's own `headset-emulator` from a temporary directory, with no PYTHONPATH: what it needs must
be in the wheel or declared by it.
"""

from __future__ import annotations

import contextlib
import urllib.request
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from emulator import __version__
from emulator.render.png import decode_png
from tests.packaging.wheel_venv import Venv
from tests.support.prebuilt import prebuilt
from tests.support.processes import run_in_group, running
from tests.support.room import SECRET, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

RUN_TIMEOUT_S = 180.0
APP_ONLY = ("PySide6", "OpenGL", "sdl2", "pygltflib", "qasync", "pyqtgraph", "PIL", "meshopt")


# Built beside the rest of the suite (tests/support/prebuilt.py); these wait for them.
BUILD_WAIT_S = 3000.0


@pytest.fixture(scope="module")
def wheel(request: pytest.FixtureRequest) -> Path:
    return Path(prebuilt(request.config, "wheel", BUILD_WAIT_S)["path"])


def _venv(request: pytest.FixtureRequest, name: str) -> Venv:
    made = prebuilt(request.config, name, BUILD_WAIT_S)
    return Venv(Path(made["path"]), made["install_s"], made["size_bytes"])


@pytest.fixture(scope="module")
def base_venv(request: pytest.FixtureRequest) -> Venv:
    return _venv(request, "base")


@pytest.fixture(scope="module")
def app_venv(request: pytest.FixtureRequest) -> Venv:
    return _venv(request, "app")


def _cli(venv: Venv, home: Path, *args: str, display: str | None = None) -> tuple[int, str, str]:
    env = venv.env(home)
    env["HEADSET_EMULATOR_SECRET"] = SECRET
    env.pop("DISPLAY", None)
    if display is not None:
        env["DISPLAY"] = display
    done = run_in_group([str(venv.program), *args], timeout=RUN_TIMEOUT_S, cwd=str(home), env=env)
    return done.returncode, done.stdout, done.stderr


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=0.5):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _room(venv: Venv, home: Path) -> Iterator[str]:
    """The venv's own room on loopback, stopped when the caller's block ends."""
    port = free_port()
    env = venv.env(home)
    env["HEADSET_EMULATOR_SECRET"] = SECRET
    argv = [str(venv.program), "room", "--host", "127.0.0.1", "--port", str(port)]
    with running(argv, ready=lambda: _answers(port), env=env, name="room", timeout=60):
        yield f"ws://127.0.0.1:{port}/ws"


def test_the_wheel_carries_the_assets_the_license_and_its_extras(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"headset_emulator-{__version__}.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
    for asset in (
        "profiles/visionpro.toml",
        "avatars/default.glb",
        "hrtf/mit_kemar_48k.npz",
        "speech/bot1.tsv",
    ):
        assert f"emulator/assets/{asset}" in names, asset
    assert f"{info}/licenses/LICENSE" in names
    assert "License-Expression: MIT" in metadata
    requires = [
        line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")
    ]
    base = [r for r in requires if "extra ==" not in r]
    app = [r for r in requires if 'extra == "app"' in r]
    assert any(r.startswith("aioice") for r in base) and any(r.startswith("aiortc<1.17") for r in base)
    assert not any(r.lower().startswith(("pyside6", "pyopengl", "pysdl2", "trimesh")) for r in base), base
    assert any(r.startswith("PySide6-Essentials") for r in app), app


def test_the_app_install_passes_self_test_joins_a_room_and_renders_a_snapshot(
    app_venv: Venv, xvfb_display: str, tmp_path: Path
) -> None:
    code, out, err = _cli(
        app_venv, tmp_path, "self-test", "--no-window", "--seconds", "2", display=xvfb_display
    )
    assert code == 0, out + err
    lines = {line.split()[1]: line for line in out.splitlines() if line[:4] in ("PASS", "WARN", "FAIL")}
    for name in ("assets", "room", "join", "render"):
        assert lines[name].startswith("PASS"), lines[name]
    # The assets come from the installed package, not from a checkout.
    assert f"{app_venv.path}/lib/" in lines["assets"] and "site-packages/emulator/assets" in lines["assets"]

    with _room(app_venv, tmp_path) as url:
        code, out, err = _cli(
            app_venv, tmp_path, "join", url, "--name", "wheel", "--duration", "3", "--no-verdict"
        )
        assert code == 0, out + err

    # Two colour variants of the bundled bust: the pixels that differ are the avatar, nothing else.
    images = []
    for variant in ("default", "amber"):
        png = tmp_path / f"{variant}.png"
        argv = ("snapshot", "--variant", variant, "--out", str(png), "--size", "320x240")
        code, out, err = _cli(app_venv, tmp_path, *argv, display=xvfb_display)
        assert code == 0, out + err
        images.append(decode_png(png.read_bytes())[..., :3].astype(np.int16))
    assert images[0].shape[:2] == (240, 320)
    avatar = np.any(np.abs(images[0] - images[1]) > 24, axis=2)
    assert avatar.mean() > 0.05, f"the bust covers only {avatar.mean():.1%} of the snapshot"
    assert not avatar[:, :40].any() and not avatar[:, -40:].any(), "the variants differ beside the bust"


def test_the_base_install_runs_headless_and_asks_for_the_app_extra(base_venv: Venv, tmp_path: Path) -> None:
    present = [name for name in APP_ONLY if base_venv.has(name)]
    assert present == [], f"the base install pulled in {present}"

    # The three at once, each in a room of its own (the probe makes a fresh one): none waits on another.
    with _room(base_venv, tmp_path) as url, ThreadPoolExecutor(3) as pool:
        runs = [
            pool.submit(_cli, base_venv, tmp_path, *argv)
            for argv in (
                ("join", url, "--room", "solo", "--name", "solo", "--duration", "3", "--no-verdict"),
                ("swarm", url, "-n", "3", "--duration", "4", "--no-verdict"),
                ("probe", url, "--once", "--no-verdict"),
            )
        ]
        for run in runs:
            code, out, err = run.result()
            assert code == 0, out + err

    for command in (["snapshot", "--out", str(tmp_path / "x.png")], ["demo"], ["app"]):
        code, out, err = _cli(base_venv, tmp_path, *command)
        assert code == 2, out + err
        assert out == "" and len(err.splitlines()) == 1, err
        assert "[app] extra" in err and "pip install 'headset-emulator[app]'" in err
    assert not (tmp_path / "x.png").exists()
