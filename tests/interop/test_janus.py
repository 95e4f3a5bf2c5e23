"""Janus as the SFU: headsets and a swarm in a VideoRoom of Debian's janus, on loopback only.

The same proofs as in the bundled room: each hears the others' tone, receives their states at the
rate they were sent, and attributes them to the right sender (the numbers are given client-side).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.exchange import check_heard_and_seen
from tests.support.janus import JanusServer
from tests.support.processes import finish_all
from tests.support.reports import read_report
from tests.support.room import cli, cli_env

pytestmark = pytest.mark.slow

TONES = {"alpha": 440.0, "bravo": 660.0}
PLACES = {"alpha": "0,1.6,-2", "bravo": "2,1.6,0"}


def join(name: str, url: str, tmp_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    argv = cli(
        "join", url, "--name", name, "--audio", f"tone:{TONES[name]:g}", f"--at={PLACES[name]}",
        "--no-verdict", "--motion", "still", "--face", "talk",
        "--report", str(tmp_path / f"{name}.json"), "--record-dir", str(tmp_path / name), *extra,
    )  # fmt: skip
    return subprocess.Popen(argv, env=cli_env(tmp_path), stderr=subprocess.PIPE, start_new_session=True)


def test_two_headsets_hear_and_see_each_other_through_janus(
    janus_server: JanusServer, tmp_path: Path
) -> None:
    # bravo leaves first: alpha must see it go through Janus's events.
    durations = {"alpha": "9", "bravo": "6"}
    finish_all(
        {name: join(name, janus_server.url, tmp_path, "--duration", durations[name]) for name in TONES}
    )
    reports = {name: read_report(tmp_path / f"{name}.json") for name in TONES}
    for receiver, report in reports.items():
        (remote,) = report["remotes"]
        sender = next(n for n in TONES if n != receiver)
        assert remote["name"] == sender
        check_heard_and_seen(tmp_path / receiver, remote, reports[sender], TONES[sender], PLACES[sender])
        # Janus's own candidate is on loopback (the test's configuration and shim at work).
        assert report["ice"]["remote_address"].startswith("127.0.0.1:")
    left = [e for e in reports["alpha"]["events"] if e["event"] == "left"]
    assert [e["name"] for e in left] == ["bravo"], reports["alpha"]["events"]


def test_a_swarm_exchanges_audio_and_states_through_janus(janus_server: JanusServer, tmp_path: Path) -> None:
    count = 3
    argv = cli(
        "swarm", "--no-verdict", janus_server.url, "-n", str(count), "--audio", "tone:500", "--duration", "8",
        "--report", str(tmp_path / "swarm.json"),
    )  # fmt: skip
    proc = subprocess.Popen(argv, env=cli_env(tmp_path), stderr=subprocess.PIPE, start_new_session=True)
    finish_all({"swarm": proc})
    report = read_report(tmp_path / "swarm.json")
    assert report["headsets"] == count and report["failed"] == []
    pairs = count * (count - 1)
    # Every headset received every other's states at ≥ 90% of the rate they were sent at …
    assert report["state_delivery"]["pairs"] == pairs
    assert report["state_delivery"]["min_ratio"] >= 0.9, report["state_delivery"]
    # … and heard every other's voice.
    assert report["audio"]["streams"] == pairs
    for headset in report["per_headset"]:
        names = sorted(r["name"] for r in headset["remotes"])
        assert names == sorted(h["name"] for h in report["per_headset"] if h is not headset)
        for remote in headset["remotes"]:
            assert remote["audio"]["packets_received"] > 100, (headset["name"], remote)
    # One member decodes what it hears (the rest count packets through the playout unheard): it
    # heard every other's tone.
    (listening,) = [h for h in report["per_headset"] if h["remotes"][0]["audio"]["level_dbfs"] is not None]
    for remote in listening["remotes"]:
        assert remote["audio"]["level_dbfs"] > -40, (listening["name"], remote)
