"""Network conditions: bursty loss, reordering, duplicates and the time-varying presets, from seeds."""

from __future__ import annotations

import itertools
import random

import pytest

from emulator.net.media.loss import PacketDropper, SharedLoss
from emulator.net.transport.condition_spec import PRESETS, ConditionsError, NetConditions, parse_conditions
from emulator.net.transport.conditions import REORDER_HOLD_S, Impairment
from emulator.net.transport.loss_model import LossModel, gilbert_parameters
from emulator.net.transport.schedules import Schedule


def _runs(lost: list[bool]) -> list[int]:
    """Lengths of the runs of consecutive losses."""
    runs, current = [], 0
    for flag in lost:
        if flag:
            current += 1
        elif current:
            runs.append(current)
            current = 0
    if current:
        runs.append(current)
    return runs


@pytest.mark.parametrize(("loss", "burst", "seed"), [(0.05, 4.0, 1), (0.02, 2.0, 7), (0.10, 8.0, 3)])
def test_bursty_loss_has_the_asked_mean_and_burst_length(loss: float, burst: float, seed: int) -> None:
    model = LossModel(loss, burst, random.Random(seed))
    lost = [model.lost() for _ in range(400_000)]
    runs = _runs(lost)
    assert sum(lost) / len(lost) == pytest.approx(loss, rel=0.08)
    assert sum(runs) / len(runs) == pytest.approx(burst, rel=0.08)


def test_independent_loss_has_short_runs_and_bursty_loss_long_ones() -> None:
    independent = PacketDropper(0.05, seed=5)
    bursty = PacketDropper(0.05, seed=5, burst=4)
    flat = _runs([independent.should_drop() for _ in range(100_000)])
    runs = _runs([bursty.should_drop() for _ in range(100_000)])
    assert sum(flat) / len(flat) < 1.1  # 1 / (1 - 5 %)
    assert max(runs) > max(flat) + 5
    assert bursty.dropped + bursty.passed == 100_000 and bursty.dropped / 100_000 == pytest.approx(
        0.05, rel=0.15
    )


def test_gilbert_parameters_follow_the_documented_mapping() -> None:
    p, r = gilbert_parameters(0.05, 4)
    assert r == pytest.approx(0.25) and p == pytest.approx(0.05 / (4 * 0.95))
    assert p / (p + r) == pytest.approx(0.05)
    for loss, burst in ((1.0, 4.0), (0.05, 0.5)):
        with pytest.raises(ValueError):
            gilbert_parameters(loss, burst)


def test_the_same_seed_loses_the_same_packets() -> None:
    a, b = PacketDropper(0.05, seed=9, burst=4), PacketDropper(0.05, seed=9, burst=4)
    c = PacketDropper(0.05, seed=10, burst=4)
    first = [a.should_drop() for _ in range(5000)]
    assert first == [b.should_drop() for _ in range(5000)]
    assert first != [c.should_drop() for _ in range(5000)]


def _payloads(count: int, seed: int = 0) -> list[bytes]:
    """Opus-like payloads: mostly distinct, with runs of one repeated frame (digital silence)."""
    rng = random.Random(seed)
    out: list[bytes] = []
    while len(out) < count:
        out += [b"\xf8silence"] * rng.randint(1, 40) if rng.random() < 0.2 else [rng.randbytes(40)]
    return out[:count]


@pytest.mark.parametrize("burst", [None, 4.0])
def test_a_shared_loss_drops_the_same_packets_at_every_listener(burst: float | None) -> None:
    """Each listener's copy is known by its payloads, so a listener that joined later, or sees the
    packets after another, loses what the others lose from where it came in; repeated payloads
    (silence) each have a fate of their own and the mean stays the one asked for."""
    pattern = SharedLoss(0.05, seed=3, burst=burst)
    early, late = pattern.dropper(), pattern.dropper()
    stream = _payloads(40_000)
    # The late one comes in just before a distinct payload (its first packet, or the rest of a run
    # of silence it joins in, has a fate of its own) and sees each packet a little after the early
    # one, as listeners of one room do.
    join = next(i for i in range(37, len(stream)) if not stream[i + 1].startswith(b"\xf8"))
    first, second = [], []
    for i, payload in enumerate(stream):
        first.append(early.should_drop(payload))
        if i >= join:
            second.append(late.should_drop(payload))
    assert second[1:] == first[join + 1 :]
    assert early.dropped / len(stream) == pytest.approx(0.05, rel=0.15)
    silent = [lost for p, lost in zip(stream, first, strict=True) if p.startswith(b"\xf8")]
    assert sum(silent) / len(silent) == pytest.approx(0.05, rel=0.3)
    if burst is not None:
        assert sum(_runs(first)) / len(_runs(first)) == pytest.approx(burst, rel=0.15)
    other = SharedLoss(0.05, seed=4, burst=burst).dropper()
    assert [other.should_drop(p) for p in stream] != first


def test_random_shared_losses_with_one_seed_are_nested() -> None:
    """A ladder's rungs differ only by the packets they add: what 2 % loses, 5 % and 10 % lose too."""
    stream = _payloads(20_000)
    droppers = [SharedLoss(f, seed=8).dropper() for f in (0.02, 0.05, 0.10)]
    rungs = [[dropper.should_drop(p) for p in stream] for dropper in droppers]
    for low, high in itertools.pairwise(rungs):
        assert all(h for lo, h in zip(low, high, strict=True) if lo)
        assert sum(high) > sum(low) * 1.5


def test_new_keys_parse_and_bad_values_say_which() -> None:
    custom = parse_conditions("custom:loss=5%,burst=4,reorder=2%,duplicate=1%,delay=20ms")
    assert (custom.loss, custom.burst, custom.reorder, custom.duplicate) == pytest.approx(
        (0.05, 4, 0.02, 0.01)
    )
    assert "burst=4" in custom.describe() and "reorder=2%" in custom.describe()
    assert not custom.clean and not parse_conditions("custom:reorder=1%").clean
    for bad, words in (
        ("custom:loss=5%,burst=0.5", "burst"),
        ("custom:reorder=150%", "reorder"),
        ("custom:duplicate=many", "duplicate"),
        ("custom:bursts=4", "expected"),
    ):
        with pytest.raises(ConditionsError, match=words):
            parse_conditions(bad)


def test_reordered_datagrams_are_overtaken_and_duplicates_arrive_twice() -> None:
    conditions = NetConditions("t", delay_s=0.02, reorder=0.1, duplicate=0.05)
    impairment = Impairment(conditions, seed=4)
    deliveries = [impairment.deliveries(100, i * 0.01) for i in range(10_000)]
    arrivals = sorted((i * 0.01 + hold, i) for i, holds in enumerate(deliveries) for hold in holds)
    order = [i for _, i in arrivals]
    overtaken = sum(1 for before, after in itertools.pairwise(order) if after < before)
    assert impairment.stats.reordered / 10_000 == pytest.approx(0.1, rel=0.15)
    assert overtaken == pytest.approx(impairment.stats.reordered, rel=0.1)  # each one is overtaken
    holds = sorted({round(hold, 9) for holds in deliveries for hold in holds})
    assert holds == pytest.approx([0.02, 0.02 + REORDER_HOLD_S])
    twice = sum(1 for holds in deliveries if len(holds) == 2)
    assert twice == impairment.stats.duplicated and twice / 10_000 == pytest.approx(0.05, rel=0.2)
    assert len(arrivals) == 10_000 + twice


def test_commute_replays_the_same_handovers_from_the_same_seed() -> None:
    commute = parse_conditions("commute")
    assert commute.varying == "commute" and not commute.clean and "handover" in commute.describe()
    a, b, other = Schedule(commute, 11), Schedule(commute, 11), Schedule(commute, 12)
    times = [t * 0.05 for t in range(24_000)]  # 20 minutes
    first = [a.at(t).loss for t in times]
    assert first == [b.at(t).loss for t in times]
    assert first != [other.at(t).loss for t in times]
    outages = _runs([loss >= 1.0 for loss in first])
    assert 20 <= len(outages) <= 90  # a handover every 15–40 s
    assert all(run * 0.05 <= 0.35 for run in outages)  # each 50–300 ms


def test_a_handover_loses_every_datagram_then_the_cell_recovers() -> None:
    impairment = Impairment(PRESETS["commute"], seed=2, schedule_seed=21)
    lost = [not impairment.deliveries(200, t * 0.02) for t in range(60_000)]  # 20 minutes of audio
    runs = _runs(lost)
    assert max(runs) >= 3  # ≥ 60 ms of consecutive loss: an outage, not independent 1 % loss
    assert 20 <= sum(1 for run in runs if run >= 3) <= 120
    assert impairment.stats.lost / 60_000 < 0.05


def test_cafe_wifi_has_delay_spikes_and_bursts_both_ways_on_one_schedule() -> None:
    cafe = PRESETS["cafe-wifi"]
    out = Impairment(cafe, seed=0, schedule_seed=5)
    into = Impairment(cafe, seed=1, schedule_seed=5)
    seen_out = [out.in_force(t * 0.1) for t in range(12_000)]
    seen_in = [into.in_force(t * 0.1) for t in range(12_000)]
    assert seen_out == seen_in  # the same schedule both ways
    assert max(c.delay_s for c in seen_out) >= 0.12
    assert max(c.loss for c in seen_out) == pytest.approx(0.08)
