"""`headset-emulator snapshot` end to end: a real process, real GL under Xvfb, a real PNG."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emulator.render.png import decode_png
from tests.support.avatars import write_rpm_style_avatar


def _snapshot(*args: str, display: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    if display is not None:
        env["DISPLAY"] = display
    return subprocess.run(
        [sys.executable, "-m", "emulator", "snapshot", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.gui
def test_snapshot_writes_the_face_it_was_asked_for(xvfb_display: str, tmp_path: Path) -> None:
    rest, face = tmp_path / "rest.png", tmp_path / "face.png"
    common = ["--size", "320x240", "--fov", "30", "--distance", "0.6"]
    done = _snapshot(*common, "--out", str(rest), display=xvfb_display)
    assert done.returncode == 0, done.stderr
    done = _snapshot(
        *common, "--face", "jawOpen=1,eyeBlinkLeft=1", "--yaw", "30", "--out", str(face), display=xvfb_display
    )
    assert done.returncode == 0, done.stderr
    a, b = decode_png(rest.read_bytes()), decode_png(face.read_bytes())
    assert a.shape == (240, 320, 3)
    assert (np.abs(a.astype(int) - b.astype(int)).max(axis=-1) > 24).sum() > 500


@pytest.mark.gui
def test_snapshot_of_an_rpm_style_avatar_with_visemes(xvfb_display: str, tmp_path: Path) -> None:
    avatar = write_rpm_style_avatar(tmp_path / "rpm.glb")
    out = tmp_path / "rpm.png"
    args = ["--avatar", str(avatar), "--visemes", "viseme_aa=1", "--name", "Bot", "--speaking", "0.5"]
    done = _snapshot(*args, "--stereo", "--profile", "quest3", "--out", str(out), display=xvfb_display)
    assert done.returncode == 0, done.stderr
    assert decode_png(out.read_bytes()).shape == (480, 640, 3)


def test_snapshot_without_a_display_says_so(tmp_path: Path) -> None:
    done = _snapshot("--out", str(tmp_path / "x.png"), display=None)
    assert done.returncode == 2
    assert "no X display" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.png").exists()


def test_snapshot_of_a_truncated_avatar_says_so(tmp_path: Path) -> None:
    avatar = write_rpm_style_avatar(tmp_path / "rpm.glb")
    avatar.write_bytes(avatar.read_bytes()[:500])
    done = _snapshot("--avatar", str(avatar), "--out", str(tmp_path / "x.png"), display=None)
    assert done.returncode == 2 and "truncated" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--face", "jawOpn=1"], "jawOpn"), (["--face", "jawOpen=wide"], "NAME=NUMBER"),
     (["--size", "big"], "WIDTHxHEIGHT"), (["--visemes", "viseme_zz=1"], "viseme_zz"),
     (["--profile", "hololens"], "hololens")],
)  # fmt: skip
def test_snapshot_rejects_bad_arguments_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    done = _snapshot(*args, "--out", str(tmp_path / "x.png"), display=None)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
