"""The degradation ladder through the bundled room: more loss, lower scores; no loss, the codec's own.

One room process, one speaker (demo bot 0's speech through our encoder) and, at once, a listener of
ours per rung, each losing a seeded share of its copy on its receive side. The random rungs share a
seed, so they are nested (every packet 2 % loses, 5 % loses too): one rung differs from the next by
the loss it adds, not by where its draws happened to fall. Bursty loss is three listeners with seeds
of their own, averaged (fifty lost frames in a dozen bursts may fall in pauses or in words).

The speaker sends without in-band FEC: whether FEC can rebuild a lost frame depends on the
listener's playout delay, which follows the host's hiccups, and on a loaded host listeners with FEC
scored 20 % random loss above 5 % (STOI 0.955 against 0.939, measured here). Without it, a rung's
score depends on its losses alone, and the listeners can play 60 ms late (a headset plays 5 ms
late, or more when its jitter says so) without changing it: a busy host's hiccups shorter than
that do not make them conceal frames no loss took.

After 20 s, each is scored against what the speaker said, with STOI (cheap and always installed)
and PESQ when it is; the codec-only score is the same speech through our Opus encoder (the same
settings) and playout, with no network at all.
"""

from __future__ import annotations

import asyncio
import itertools

import numpy as np
import pytest

from emulator.audio.quality.full import installed_metrics, score_full
from emulator.audio.speech import bot_source
from emulator.net.media.loss import SharedLoss
from emulator.net.media.opus import OpusSettings
from tests.support.codec_only import through_opus
from tests.support.room import SECRET, RoomProcess
from tests.support.voice_room import Heard, VoiceRoom

pytestmark = pytest.mark.slow

SECONDS = 20.0
RANDOM_RUNGS = (0.0, 0.02, 0.05, 0.10, 0.20)
BURST_SEEDS = (11, 12, 13)
# Per metric: how much a rung may score above the one before it (the ladder's noise), and how far
# the clean path may be from codec-only. PESQ in MOS points as the issue asks; STOI (0-1) is
# squeezed near its top, where 2 % random loss costs it 0.01 and PESQ 0.6, so its margins are too.
TOLERANCE = {"stoi": (0.01, 0.02), "pesq": (0.1, 0.3)}
# STOI is in the test extra (a missing one fails the test); PESQ's licence keeps it out of it.
METRICS = ["stoi", *(["pesq"] if "pesq" in installed_metrics() else [])]
NO_FEC = OpusSettings(fec=False)
FLOOR_MS = 60.0
# A starved host: a listener with 1 % of its frames late (half the loss between the first two
# rungs), or a pacer that fell behind this often.
STARVED_FRAMES = 10
STARVED_PULLS = 20


async def listen_to_the_ladder(url: str) -> tuple[list[Heard], np.ndarray, int]:
    async with VoiceRoom(url, SECRET.encode(), bot_source(0), room="ladder", opus=NO_FEC) as room:
        for loss in RANDOM_RUNGS:
            dropper = SharedLoss(loss, seed=7).dropper()
            await room.listen(f"{loss:.0%} random", dropper, ours=True, min_delay_ms=FLOOR_MS)
        for seed in BURST_SEEDS:
            dropper = SharedLoss(0.05, seed, burst=4).dropper()
            await room.listen(f"5% bursty #{seed}", dropper, ours=True, min_delay_ms=FLOOR_MS)
        await room.hearing()
        await asyncio.sleep(1.0)  # past each playout's first adjustments
        heard = await room.measure(SECONDS)
        return heard, room.reference(), room.window_late_pulls


def score(reference: np.ndarray, heard: Heard, metric: str) -> float:
    return score_full(reference, heard.audio, metrics=[metric]).metrics[metric]


def starved(heard: list[Heard], late_pulls: int) -> str:
    """What the playouts' counters say about the host, for a failure's message."""
    late = {h.name: h.late_frames for h in heard if h.late_frames}
    said = f"{late_pulls} pulls a block or more late; frames that came after their time: {late or 'none'}"
    if late_pulls < STARVED_PULLS and max(late.values(), default=0) < STARVED_FRAMES:
        return f"the host kept up ({said})"
    return (
        f"THE HOST WAS STARVED ({said}): a listener whose packets wait on a busy loop conceals frames "
        "no loss took, so the order says as much about the host as about the loss"
    )


async def test_scores_fall_down_a_loss_ladder_and_the_clean_path_scores_as_the_codec(
    room_process: RoomProcess,
) -> None:
    heard, reference, late_pulls = await listen_to_the_ladder(room_process.url)
    host = starved(heard, late_pulls)
    random, bursty = heard[: len(RANDOM_RUNGS)], heard[len(RANDOM_RUNGS) :]
    # The drop hooks took what they were asked to, and nested: each rung loses more than the last.
    losses = [h.loss for h in random]
    assert losses[0] == 0.0 and all(b > a for a, b in itertools.pairwise(losses)), (losses, host)
    # One seed's bursts over a 20 s window land anywhere from 1.4 % to 13 % (200 seeds of the model
    # here); the three together average near the 5 % asked for.
    bursts_lost = [h.loss for h in bursty]
    assert 0.1 < losses[-1] < 0.3 and all(0.0 < b < 0.2 for b in bursts_lost), (losses, bursts_lost, host)
    assert 0.02 < float(np.mean(bursts_lost)) < 0.1, (bursts_lost, host)
    codec = score_full(reference, through_opus(reference, settings=NO_FEC), metrics=METRICS)
    for metric in METRICS:
        step, clean_margin = TOLERANCE[metric]
        ladder = [score(reference, h, metric) for h in random]
        bursts = float(np.mean([score(reference, h, metric) for h in bursty]))
        said = (
            f"{metric}: codec-only {codec.metrics[metric]:.3f}, ladder {np.round(ladder, 3).tolist()}, "
            f"bursty {bursts:.3f}; {host}"
        )
        print(said)  # the figures, for a run with -s or -rP
        assert abs(ladder[0] - codec.metrics[metric]) <= clean_margin, said
        assert all(b <= a + step for a, b in itertools.pairwise(ladder)), said
        assert ladder[-1] < ladder[0] - 3 * step, said  # the ladder falls, not only stays level
        assert bursts < ladder[0] - step, said  # 5 % in bursts costs STOI 0.03, PESQ 0.8-1.0 here
        if metric == "stoi":
            # Runs of lost frames take whole phonemes, single ones only what concealment cannot
            # rebuild: intelligibility suffers more from bursts. PESQ weighs it the other way round
            # (it penalises many short glitches more than a few long gaps), so only STOI is held to it.
            assert bursts <= ladder[2] + step, said
