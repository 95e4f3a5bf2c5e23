"""`swarm --workers K`: one swarm shared among worker processes, one merged report."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.reports import check_report, read_report
from tests.support.room import RoomProcess, cli, cli_env

pytestmark = pytest.mark.slow


def test_a_swarm_in_two_worker_processes_reports_as_one(room_process: RoomProcess, tmp_path: Path) -> None:
    report_path = tmp_path / "swarm.json"
    result = subprocess.run(
        cli("swarm", room_process.url, "-n", "5", "--workers", "2", "--speakers", "2", "--audio", "tone:500",
            "--duration", "7", "--report", str(report_path), "--no-verdict"),
        env=cli_env(tmp_path), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "2 worker processes started" in result.stderr
    # --no-verdict: the summary is the last line, no HEALTHY/UNHEALTHY after it.
    printed = check_report(json.loads(result.stdout.strip().splitlines()[-1]))
    report = read_report(report_path)
    assert printed["headsets"] == report["headsets"] == 5 and report["failed"] == []
    names = sorted(h["name"] for h in report["per_headset"])
    assert names == [f"swarm-0{i}" for i in range(1, 6)]
    # Every headset, whichever process it ran in, saw every other one's states …
    assert report["state_delivery"]["pairs"] == 5 * 4
    assert report["state_delivery"]["min_ratio"] >= 0.9, report["state_delivery"]
    # On loopback next to nothing is lost, and the PONGs a member sends to one asker leave no gap
    # in its sequence at the others (they counted 3 a second from each sender here, 3% of its states).
    received = sum(r["states"]["received"] for h in report["per_headset"] for r in h["remotes"])
    lost = sum(r["states"]["lost"] for h in report["per_headset"] for r in h["remotes"])
    assert lost <= 0.005 * received, (lost, received)
    # … and the 2 speakers of the whole swarm (both in the first worker) reached the other 4 and each other.
    assert report["audio"]["streams"] == 2 * 4
    speakers = [h["name"] for h in report["per_headset"] if h["uplink"]["audio_frames_encoded"] > 0]
    assert sorted(speakers) == ["swarm-01", "swarm-02"]
    # One member of the whole swarm decodes and measures (the last one), not one per worker.
    listening = [
        h["name"] for h in report["per_headset"] if any(r["mouth_to_ear"]["count"] for r in h["remotes"])
    ]
    assert listening == ["swarm-05"]
    # Every member plays out with the same floor, the measuring one too: an underrun means the same
    # (audio a frame late) whoever counted it.
    floors = {
        r["audio"]["playout_min_delay_ms"] for h in report["per_headset"] for r in h["remotes"] if r["audio"]
    }
    assert floors == {20.0}  # one 20 ms Opus frame
    assert report["audio"]["underruns_settled"] is not None
    # Every worker took its report before any headset left: no one saw a member of the swarm leave.
    left = [(h["name"], e["id"]) for h in report["per_headset"] for e in h["events"] if e["event"] == "left"]
    assert left == []
    # The host was watched from the moment the swarm settled: this Linux machine's steal counter read,
    # and every underrun it puts down to a host stall is one of the settled ones.
    assert report["host"]["cpu_steal_ms"] is not None and report["host"]["cpu_steal_ms"] >= 0
    in_stalls = report["audio"]["underruns_settled_in_host_stalls"]
    assert 0 <= in_stalls <= report["audio"]["underruns_settled"]
    assert "settled_underruns" not in printed


def test_workers_cannot_serve_one_metrics_endpoint(room_process: RoomProcess, tmp_path: Path) -> None:
    argv = cli("swarm", room_process.url, "-n", "4", "--workers", "2", "--metrics", "127.0.0.1:0")
    result = subprocess.run(
        argv, env=cli_env(tmp_path), capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "--metrics" in result.stderr and "Traceback" not in result.stderr
