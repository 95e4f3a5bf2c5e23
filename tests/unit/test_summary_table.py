"""The table `join` and `agent` print when they end."""

from __future__ import annotations

from emulator.cli.summary_table import remote_table


def test_one_row_per_remote_with_where_it_was_heard_and_how_well() -> None:
    report = {
        "remotes": [
            {
                "name": "alice",
                "heard_from": {"azimuth_deg": 30.4, "elevation_deg": 0.0, "distance_m": 2.06},
                "states": {
                    "received": 900,
                    "lost": 3,
                    "latency": {"median_ms": 90.0, "settled": {"count": 5, "median_ms": 12.4}},
                },
                "audio": {"packets_received": 480, "packets_lost": 1, "underruns_settled": 2},
                "mouth_to_ear": {"median_ms": None, "settled": {"count": 0}},
            },
            {"name": "bob", "heard_from": None, "states": {"received": 0, "lost": 0}, "audio": {}},
        ]
    }
    lines = remote_table(report).splitlines()
    assert lines[0].split() == [
        "remote",
        "heard",
        "from",
        "states",
        "lost",
        "voice",
        "pkts",
        "lost",
        "underruns",
        "latency",
        "m2e",
    ]
    assert lines[1].split() == ["alice", "left", "30°,", "2.1", "m", "900", "3", "480", "1", "2", "12", "-"]
    assert lines[2].split() == ["bob", "-", "0", "0", "-", "-", "-", "-", "-"]
    assert remote_table({"remotes": []}) == "nobody else was in the room"
