"""Latency samples as a headset keeps them: bounded, summarised, and read by the swarm's metrics as
they come, however long the swarm runs."""

from __future__ import annotations

import math
import statistics

from emulator.headset.report import LatencySamples
from emulator.net.prometheus import Histogram
from emulator.qa.swarm_metrics import SwarmMetrics


def test_the_latest_samples_are_kept_and_summarised() -> None:
    samples = LatencySamples(limit=1000)
    for k in range(2500):
        samples.add(float(k))
    samples.add(float("nan"))  # a clock not yet synchronised: ignored
    assert samples.added == 2500
    assert 900 <= len(samples.values_ms) <= 1000
    assert samples.values_ms[-1] == 2499.0
    summary = samples.summary()
    assert summary["count"] == len(samples.values_ms)
    kept = list(samples.values_ms)
    assert summary["median_ms"] == round(statistics.median(kept), 2)
    assert summary["p95_ms"] == sorted(kept)[math.ceil(0.95 * len(kept)) - 1]


def test_since_gives_each_new_sample_once_across_the_drops() -> None:
    samples = LatencySamples(limit=1000)
    read: list[float] = []
    taken = 0
    for k in range(5000):
        samples.add(float(k))
        if k % 333 == 0:
            read += samples.since(taken)
            taken = samples.added
    read += samples.since(taken)
    assert read == [float(k) for k in range(5000)]


def test_the_swarm_histogram_counts_every_sample_once_in_a_long_run() -> None:
    # Two hours of one remote's states at 90 Hz, scraped every 15 s: 648,000 samples, far past the
    # 10,000 kept. Taking them by position counted the kept ones again after every drop.
    metrics = SwarmMetrics(swarm=None)  # type: ignore[arg-type]  # taking samples needs no swarm
    histogram = Histogram("h", "test")
    samples = LatencySamples()
    for _scrape in range(480):
        for _ in range(1350):
            samples.add(20.0)
        metrics._take(samples, histogram)
    counts = [value for suffix, _, value in histogram.family().samples if suffix == "_count"]
    assert counts == [480 * 1350]
