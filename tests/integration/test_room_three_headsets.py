"""Issue 3's proof over real processes on loopback: a room and three headless headsets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.support.processes import stop_group
from tests.support.room import RoomProcess, cli, cli_env

pytestmark = pytest.mark.slow

TONES = {"alpha": 440.0, "bravo": 660.0, "charlie": 880.0}
PLACES = {"alpha": "0,1.6,-2", "bravo": "2,1.6,0", "charlie": "-2,1.6,0"}


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        frames = w.readframes(w.getnframes())
        data = np.frombuffer(frames, dtype=np.int16).astype(np.float32) / 32768
        return data.reshape(-1, w.getnchannels()).mean(axis=1), w.getframerate()


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    spectrum[: int(50 * len(samples) / rate)] = 0  # ignore DC and rumble
    return float(np.argmax(spectrum) * rate / len(samples))


def start_headset(name: str, room: RoomProcess, tmp_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    argv = cli(
        "join", room.url, "--room", "lobby", "--name", name,
        "--audio", f"tone:{TONES[name]:g}", f"--at={PLACES[name]}", "--motion", "still", "--face", "talk",
        "--report", str(tmp_path / f"{name}.json"), "--record-dir", str(tmp_path / name),
        *extra,
    )  # fmt: skip
    return subprocess.Popen(argv, env=cli_env(tmp_path), stderr=subprocess.PIPE, start_new_session=True)


def test_three_headsets_hear_and_see_each_other(room_process: RoomProcess, tmp_path: Path) -> None:
    procs = {name: start_headset(name, room_process, tmp_path, "--duration", "12") for name in TONES}
    try:
        for name, proc in procs.items():
            _, err = proc.communicate(timeout=90)
            assert proc.returncode == 0, f"{name} failed: {err.decode()[-3000:]}"
    finally:
        for proc in procs.values():
            stop_group(proc)
    reports = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in TONES}
    for receiver, report in reports.items():
        remotes = {r["name"]: r for r in report["remotes"]}
        assert set(remotes) == set(TONES) - {receiver}
        for sender, remote in remotes.items():
            # The voice: that sender's frequency is the dominant one in what this receiver recorded.
            samples, rate = read_wav(tmp_path / receiver / f"{remote['id']}.wav")
            assert len(samples) > rate * 3, f"{receiver} recorded under 3 s of {sender}"
            assert abs(dominant_hz(samples[rate:], rate) - TONES[sender]) < 5
            # The states: at least 90% of the rate the sender sent them at.
            sent = reports[sender]["uplink"]
            sent_rate = sent["states_sent"] / reports[sender]["duration_s"]
            assert remote["states"]["rate_hz"] >= 0.9 * sent_rate, (receiver, sender, remote["states"])
            # The right sender: the poses this receiver attributed to the sender are where it stands.
            lines = (tmp_path / receiver / f"{remote['id']}.states.jsonl").read_text().splitlines()
            positions = np.array([json.loads(line)["p"] for line in lines if '"p"' in line])
            expected = np.array([float(v) for v in PLACES[sender].split(",")])
            assert len(positions) > 100
            assert np.abs(positions - expected).max() < 0.002


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
        events = json.loads((tmp_path / f"{name}.json").read_text())["events"]
        left = [e for e in events if e["event"] == "left" and e["name"] == "charlie"]
        assert left, f"{name} never saw charlie leave: {events}"
        assert left[0]["at"] - killed_at <= 5.0
