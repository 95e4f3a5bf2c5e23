"""RemoteStats.count_state (the swarm's hot path) does exactly what note_sequence, the count,
note_received_at and the latency sample did one call each, on random sequences with gaps, repeats,
late arrivals and wrap-around, through and past the rate's settling time."""

from __future__ import annotations

import random

import pytest

from emulator.headset.report import RemoteStats


def _by_parts(stats: RemoteStats, seq: int, now: float, latency: float | None) -> None:
    stats.note_sequence(seq)
    stats.states_received += 1
    stats.note_received_at(now)
    if latency is not None:
        stats.state_latency.add(latency)


@pytest.mark.parametrize("seed", range(20))
def test_count_state_matches_its_parts(seed: int) -> None:
    rng = random.Random(seed)
    one, parts = RemoteStats("p", "n", 3, "visionpro"), RemoteStats("p", "n", 3, "visionpro")
    seq, now = rng.randrange(0x10000), 100.0
    for _ in range(2000):
        step = rng.choice([1, 1, 1, 1, 2, 5, 0, -1, -3, -70, 40000])
        seq = (seq + step) & 0xFFFF
        now += rng.uniform(0.0, 0.02)
        latency = None if rng.random() < 0.2 else rng.choice([rng.uniform(-5, 80), float("nan")])
        one.count_state(seq, now, latency)
        _by_parts(parts, seq, now, latency)
        assert one == parts
    assert one.states_lost > 0 and one.state_latency.settled_from is not None
