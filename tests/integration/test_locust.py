"""Fake headsets as Locust users: a master and two workers on loopback, and a room that dies."""

from __future__ import annotations

import contextlib
import csv
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from emulator.qa.locust import locustfile_path
from tests.support.janus import JanusServer
from tests.support.processes import running, stop_group
from tests.support.room import RoomProcess, _answers, cli, cli_env, free_port

pytestmark = pytest.mark.slow


# Two speakers and one measuring listener (all on the first worker); failures (underruns on a busy host) do
# not change the exit code: the tests read the CSV.
HEADSETS = ("--speakers", "2", "--measuring", "1", "--exit-code-on-error", "0")


def locust(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(locustfile_path()), *args]


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as f:
        return {row["Name"]: row for row in csv.DictReader(f) if row["Type"]}


def watch_room(
    room: RoomProcess, until: subprocess.Popen[bytes], seconds: float, workers: list[subprocess.Popen[bytes]]
) -> tuple[int, set[psutil.Process]]:
    """While `until` runs (at most `seconds`): the most participants the room held at once, and every
    process the workers started."""
    most, seen, deadline = 0, set(), time.monotonic() + seconds
    while until.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            most = max(most, int(room.health()["participants"]))  # type: ignore[call-overload]
        seen.update(engines_of(workers))
        time.sleep(0.5)
    return most, seen


def engines_of(processes: list[subprocess.Popen[bytes]]) -> list[psutil.Process]:
    """The headset engines these Locust processes started."""
    found = []
    for process in processes:
        try:
            for child in psutil.Process(process.pid).children(recursive=True):
                if "emulator.qa.locust.engine" in child.cmdline():
                    found.append(child)
        except psutil.Error:
            pass  # ended meanwhile
    return found


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        stop_group(process)


def test_a_master_and_two_workers_run_six_headsets(
    room_process: RoomProcess, tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    port, env = free_port(), cli_env(tmp_path)
    master = subprocess.Popen(
        locust("--headless", "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
               "--expect-workers", "2", "-u", "6", "-r", "3", "-t", "12s", "--csv", str(tmp_path / "run"),
               "-H", room_process.url, "--rooms", "loadtest", *HEADSETS),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    started.append(master)
    worker_argv = locust("--worker", "--master-host", "127.0.0.1", "--master-port", str(port))
    workers = [
        subprocess.Popen(
            worker_argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        for _ in range(2)
    ]
    started.extend(workers)
    most, engines = watch_room(room_process, master, 120, workers)
    _, err = master.communicate(timeout=60)
    assert master.returncode == 0, err.decode(errors="replace")[-3000:]
    for worker in workers:
        assert worker.wait(timeout=30) == 0
    # Every headset engine (one per worker) left and ended with its worker.
    assert len(engines) == 2
    _, alive = psutil.wait_procs(list(engines), timeout=10)
    assert alive == []
    # The room's roster held all six users at once.
    assert most == 6
    rows = read_rows(tmp_path / "run_stats.csv")
    for name in ("join", "first audio", "mouth-to-ear", "state latency", "round trip"):
        assert int(rows[name]["Request Count"]) > 0, (name, rows.keys())
        assert rows[name]["Failure Count"] == "0", (name, rows[name])
    assert int(rows["join"]["Request Count"]) == 6
    assert "lost room" not in rows
    # Mouth-to-ear on loopback: a playout buffer and a few 20 ms frames, not seconds.
    assert 0 < float(rows["mouth-to-ear"]["Median Response Time"]) < 2000


def test_users_report_a_lost_room_and_rejoin_when_it_returns(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    room_port, env = free_port(), cli_env(tmp_path)
    url = f"ws://127.0.0.1:{room_port}/ws"
    argv = cli("room", "--host", "127.0.0.1", "--port", str(room_port))

    def room_up() -> Iterator[subprocess.Popen[bytes]]:
        return running(argv, ready=lambda: _answers(room_port), env=env, name="room", timeout=30)

    stats = tmp_path / "run_stats.csv"
    with room_up() as first:
        runner = subprocess.Popen(
            locust("--headless", "-u", "2", "-r", "2", "-t", "120s", "--csv", str(tmp_path / "run"),
                   "-H", url, "--rooms", "flaky", *HEADSETS),
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        started.append(runner)
        assert wait_for_joins(stats, 2, 60), "the users did not join"
        assert RoomProcess(url, room_port, first).health()["participants"] == 2
        time.sleep(3)  # they hear and see each other for a while
    # The room is gone (its process group stopped): the users lose it, then fail to join for a while.
    time.sleep(5)
    with room_up() as second:
        assert wait_for_joins(stats, 4, 60), "the users did not rejoin the returned room"
        assert RoomProcess(url, room_port, second).health()["participants"] == 2
        runner.terminate()  # as Ctrl+C: Locust stops its users and writes its CSV
        _, err = runner.communicate(timeout=60)
    text = err.decode(errors="replace")
    assert "Traceback" not in text, text[-3000:]
    rows = read_rows(tmp_path / "run_stats.csv")
    assert int(rows["lost room"]["Failure Count"]) == 2, rows.get("lost room")
    assert int(rows["join"]["Request Count"]) - int(rows["join"]["Failure Count"]) >= 4
    with (tmp_path / "run_failures.csv").open() as f:
        reasons = {row["Name"]: row["Error"] for row in csv.DictReader(f)}
    assert "lost the room" in reasons["lost room"]
    # While the room was down, joins failed with a reason that names the room.
    if "join" in reasons:
        assert "could not join flaky" in reasons["join"]


def wait_for_joins(stats: Path, count: int, seconds: float) -> bool:
    """Until Locust's CSV (written every second or two) counts `count` successful joins."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            join = read_rows(stats).get("join")
        except (OSError, KeyError, csv.Error):
            join = None
        if join and int(join["Request Count"]) - int(join["Failure Count"]) >= count:
            return True
        time.sleep(0.5)
    return False


def test_users_join_a_janus_room(
    janus_server: JanusServer, tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    runner = subprocess.Popen(
        locust("--headless", "-u", "3", "-r", "3", "-t", "10s", "--csv", str(tmp_path / "run"),
               "-H", janus_server.url, *HEADSETS),
        env=cli_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    started.append(runner)
    _, err = runner.communicate(timeout=90)
    assert runner.returncode == 0, err.decode(errors="replace")[-3000:]
    rows = read_rows(tmp_path / "run_stats.csv")
    # Janus takes no token (the adapter's rule): every user joined, and they heard and saw each other.
    assert rows["join"]["Request Count"] == "3" and rows["join"]["Failure Count"] == "0"
    for name in ("first audio", "state latency"):
        assert int(rows[name]["Request Count"]) > 0 and rows[name]["Failure Count"] == "0", rows.get(name)
