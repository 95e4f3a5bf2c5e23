"""Issue 3's proof over real processes on loopback: a room and three headless headsets."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.exchange import check_heard_and_seen
from tests.support.processes import finish_all, stop_group
from tests.support.reports import read_report
from tests.support.room import RoomProcess, cli, cli_env

pytestmark = pytest.mark.slow

TONES = {"alpha": 440.0, "bravo": 660.0, "charlie": 880.0}
PLACES = {"alpha": "0,1.6,-2", "bravo": "2,1.6,0", "charlie": "-2,1.6,0"}


def start_headset(name: str, room: RoomProcess, tmp_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    argv = cli(
        "join", "--no-verdict", room.url, "--room", "lobby", "--name", name,
        "--audio", f"tone:{TONES[name]:g}", f"--at={PLACES[name]}", "--motion", "still", "--face", "talk",
        "--report", str(tmp_path / f"{name}.json"), "--record-dir", str(tmp_path / name),
        *extra,
    )  # fmt: skip
    return subprocess.Popen(argv, env=cli_env(tmp_path), stderr=subprocess.PIPE, start_new_session=True)


def test_three_headsets_hear_and_see_each_other(room_process: RoomProcess, tmp_path: Path) -> None:
    finish_all({name: start_headset(name, room_process, tmp_path, "--duration", "12") for name in TONES})
    reports = {name: read_report(tmp_path / f"{name}.json") for name in TONES}
    for receiver, report in reports.items():
        remotes = {r["name"]: r for r in report["remotes"]}
        assert set(remotes) == set(TONES) - {receiver}
        for sender, remote in remotes.items():
            check_heard_and_seen(tmp_path / receiver, remote, reports[sender], TONES[sender], PLACES[sender])


def test_a_killed_headset_leaves_the_others_room_within_5_s(
    room_process: RoomProcess, tmp_path: Path
) -> None:
    procs = {name: start_headset(name, room_process, tmp_path) for name in TONES}
    try:
        deadline = time.monotonic() + 60
        while room_process.health()["rooms"] != {"lobby": 3}:
            assert time.monotonic() < deadline, "three headsets did not join within 60 s"
            for name, proc in procs.items():
                assert proc.poll() is None, f"{name} exited: {proc.stderr.read().decode()[-2000:]}"
            time.sleep(0.2)
        time.sleep(2)  # let states and pings flow
        killed_at = time.monotonic()
        os.killpg(procs["charlie"].pid, signal.SIGKILL)
        procs["charlie"].wait(10)
        time.sleep(5.5)
        for name in ("alpha", "bravo"):
            os.killpg(procs[name].pid, signal.SIGTERM)
            _, err = procs[name].communicate(timeout=30)
            assert procs[name].returncode == 0, err.decode()[-2000:]
    finally:
        for proc in procs.values():
            stop_group(proc)
    for name in ("alpha", "bravo"):
        events = read_report(tmp_path / f"{name}.json")["events"]
        left = [e for e in events if e["event"] == "left" and e["name"] == "charlie"]
        assert left, f"{name} never saw charlie leave: {events}"
        assert left[0]["at"] - killed_at <= 5.0
