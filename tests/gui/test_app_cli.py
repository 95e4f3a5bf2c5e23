"""`headset-emulator app URL`: the desktop app joins a room someone else serves, and others see it."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.room import RoomProcess, cli, cli_env

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def test_app_joins_a_running_room_and_is_seen_there(
    room_process: RoomProcess, tmp_path: Path, xvfb_display: str
) -> None:
    env = {**cli_env(tmp_path), "DISPLAY": xvfb_display}
    report = tmp_path / "observer.json"
    observer = subprocess.Popen(
        cli("join", room_process.url, "--name", "observer", "--audio", "none", "--report", str(report), "-q"),
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        app = subprocess.run(
            cli("app", room_process.url, "--room", "lobby", "--name", "tester", "--quit-after", "6s",
                "--settings", str(tmp_path / "app.ini")),
            env=env, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
    finally:
        time.sleep(0.5)
        observer.send_signal(signal.SIGTERM)  # the observer leaves and writes its report
        _, observer_err = observer.communicate(timeout=60)
    assert app.returncode == 0, app.stderr
    assert f"joined lobby at {room_process.url} as tester" in app.stderr
    assert "Traceback" not in app.stderr
    seen = json.loads(report.read_text())
    assert "tester" in [remote["name"] for remote in seen["remotes"]], observer_err
    joined = [e for e in seen["events"] if e["event"] == "joined" and e["name"] == "tester"]
    assert joined, seen["events"]
    # The room joined from the command line is remembered among the Connect dock's recent rooms.
    assert f"recent=lobby @ {room_process.url}" in (tmp_path / "app.ini").read_text()


def test_app_that_cannot_reach_its_room_says_why_and_exits_3(tmp_path: Path, xvfb_display: str) -> None:
    env = {**cli_env(tmp_path), "DISPLAY": xvfb_display}
    app = subprocess.run(
        cli("app", "ws://127.0.0.1:9/ws", "--quit-after", "1s", "--settings", str(tmp_path / "app.ini")),
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert app.returncode == 3, app.stderr
    assert "could not join lobby at ws://127.0.0.1:9/ws" in app.stderr
    assert "Traceback" not in app.stderr
