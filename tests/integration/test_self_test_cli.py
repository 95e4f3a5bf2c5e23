"""`headset-emulator self-test` from a checkout: one line per check, and a clear reason when one fails.

The full run (every check passing, window included) is in tests/packaging/test_bundle.py, against the
built bundle; here the command runs as `python -m emulator` to show how it reports a machine that
cannot draw.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _self_test(*args: str, display: str | None, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    if display is not None:
        env["DISPLAY"] = display
    return subprocess.run(
        [sys.executable, "-m", "emulator", "self-test", "--seconds", "1.5", *args],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _lines(out: str) -> dict[str, str]:
    checks = [line for line in out.splitlines() if line[:4] in ("PASS", "WARN", "FAIL")]
    return {line.split()[1]: line for line in checks}


@pytest.mark.gui
def test_headless_checks_pass_and_the_frame_shows_the_bot(xvfb_display: str, tmp_path: Path) -> None:
    frame = tmp_path / "frame.png"
    done = _self_test("--no-window", "--frame", str(frame), display=xvfb_display, tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = _lines(done.stdout)
    assert "window" not in lines
    for name in ("version", "assets", "room", "join", "render"):
        assert lines[name].startswith("PASS"), lines[name]
    assert "Ada" in lines["join"] and "pose states" in lines["join"]
    assert frame.exists()
    assert done.stdout.splitlines()[-1].startswith("self-test passed")


def test_without_a_display_the_render_and_window_checks_fail_with_the_reason(tmp_path: Path) -> None:
    done = _self_test(display=None, tmp_path=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = _lines(done.stdout)
    assert lines["join"].startswith("PASS"), lines["join"]  # the network part needs no display
    assert lines["render"].startswith("FAIL") and "DISPLAY" in lines["render"], lines["render"]
    assert lines["window"].startswith("FAIL") and "no display" in lines["window"], lines["window"]
    assert done.stdout.splitlines()[-1] == "self-test FAILED: render, window (see the FAIL lines above)"
    assert "Traceback" not in done.stdout + done.stderr


def test_no_window_without_a_display_passes_with_the_render_check_a_warning_naming_the_fix(
    tmp_path: Path,
) -> None:
    done = _self_test("--no-window", display=None, tmp_path=tmp_path)
    lines = _lines(done.stdout)
    assert lines["join"].startswith("PASS"), done.stdout + done.stderr
    assert (
        lines["render"].startswith("WARN")
        and "xvfb-run -a headset-emulator self-test --no-window" in lines["render"]
    ), lines["render"]
    assert "window" not in lines
    failed = [name for name, line in lines.items() if line.startswith("FAIL")]
    assert failed == [] and done.returncode == 0, done.stdout
    assert (
        done.stdout.splitlines()[-1].startswith("self-test passed")
        and "render" in done.stdout.splitlines()[-1]
    )
    assert "Traceback" not in done.stdout + done.stderr
