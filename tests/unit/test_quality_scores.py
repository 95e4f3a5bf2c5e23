"""Listening-quality scores: the E-model's curve, and full-reference metrics on real Opus output.

The full-reference tests run espeak-ng speech through our Opus encoder and playout buffer with
seeded packet loss (no network: the codec-only path) and score what came out against what went in.
ViSQOL (the `[quality]` extra, in the test extra) is always run; PESQ only where it is installed.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest

from emulator.audio.marker import chirp
from emulator.audio.quality.emodel import emodel, mos_from_r
from emulator.audio.quality.full import (
    SCORE_RATE,
    ScoreError,
    align,
    chirp_gain,
    chirp_starts,
    installed_metrics,
    overlap,
    score_full,
    to_score_rate,
)
from emulator.audio.source import SAMPLE_RATE
from emulator.audio.speech import ScriptLine, SpeechSource
from tests.support.codec_only import through_opus

SPEECH = (
    ScriptLine(0.0, "The quick brown fox jumps over the lazy dog near the river bank."),
    ScriptLine(4.0, "Please call Stella and ask her to bring these things with her."),
)
OTHER = (
    ScriptLine(0.0, "A different sentence, about the weather and the trains this morning."),
    ScriptLine(4.0, "Nothing in it matches the reference, not a single word of it."),
)
SECONDS = 8.0
FRAMES = round(SECONDS * 50)
METRICS = [m for m in ("visqol", "pesq") if m in installed_metrics()]


def speak(lines: tuple[ScriptLine, ...]) -> npt.NDArray[np.float32]:
    source = SpeechSource(lines)
    return np.concatenate([source.read(960) for _ in range(FRAMES)])


def test_the_e_model_falls_with_loss_bursts_and_delay() -> None:
    clean = emodel(30.0, 0.0)
    assert clean.r_factor == pytest.approx(93.2 - 0.72) and 4.3 < clean.mos < 4.5
    ladder = [emodel(30.0, loss).mos for loss in (0.0, 0.02, 0.05, 0.10, 0.20)]
    assert ladder == sorted(ladder, reverse=True) and ladder[-1] < 2.7
    assert emodel(30.0, 0.10).mos < 3.5  # what `probe --min-mos 3.5` fails
    assert emodel(30.0, 0.05, burst_ratio=4).mos < emodel(30.0, 0.05).mos
    assert emodel(400.0, 0.0).mos < emodel(150.0, 0.0).mos - 0.5  # past 177 ms delay hurts fast
    assert mos_from_r(-5) == 1.0 and mos_from_r(120) == 4.5


@pytest.mark.slow
def test_known_bad_signals_score_below_two() -> None:
    reference = speak(SPEECH)
    rng = np.random.default_rng(0)
    bad = {
        "noise": (0.1 * rng.standard_normal(len(reference))).astype(np.float32),
        "silence": np.zeros(len(reference), dtype=np.float32),
        "another sentence": speak(OTHER),
    }
    for name, received in bad.items():
        score = score_full(reference, received, metrics=METRICS)
        assert score.mos is not None and score.mos < 2.0, (name, score)
        assert not score.aligned and score.as_dict()["aligned"] is False, (name, score)
    good = score_full(reference, through_opus(reference, 0.0), metrics=METRICS)
    assert good.mos is not None and good.mos > 3.5, good
    assert good.correlation > 0.8 and 5 < good.offset_ms < 40  # the codec's lookahead and our playout


@pytest.mark.skipif("stoi" not in installed_metrics(), reason="needs pystoi (the [quality] extra)")
def test_a_delay_that_changes_midway_is_followed() -> None:
    """Stock aiortc's output stalls (its backlog grows by 280 ms after a loss) and skips a lost frame
    (20 ms less): the scorer follows both, and the speech around them scores as it did unstalled.
    At one offset for the whole, everything after the stall is compared with the wrong speech."""
    reference = speak(SPEECH)
    heard = through_opus(reference)
    at, skip = 3 * SAMPLE_RATE, round(5.5 * SAMPLE_RATE)
    stall = np.zeros(round(0.28 * SAMPLE_RATE), dtype=np.float32)
    stalled = np.concatenate([heard[:at], stall, heard[at:skip], heard[skip + 960 :]])
    ref, deg = to_score_rate(reference, SAMPLE_RATE), to_score_rate(stalled, SAMPLE_RATE)
    alignment = align(ref, deg)
    steps = [b - a for (_, a), (_, b) in itertools.pairwise(alignment.track)]
    assert steps == pytest.approx([0.28 * SCORE_RATE, -0.02 * SCORE_RATE], abs=16), alignment.track
    followed = score_full(reference, stalled, metrics=["stoi"]).metrics["stoi"]
    unstalled = score_full(reference, heard, metrics=["stoi"]).metrics["stoi"]
    assert followed > unstalled - 0.01, (followed, unstalled)
    from pystoi import stoi

    at_one_offset = stoi(*overlap(ref, deg, alignment.offset), SCORE_RATE)
    assert at_one_offset < unstalled - 0.3, at_one_offset


def test_too_little_audio_is_a_one_line_error() -> None:
    with pytest.raises(ScoreError, match="at least 1 s"):
        score_full(np.zeros(4800, dtype=np.float32), np.zeros(48_000, dtype=np.float32))


# ViSQOL costs 1-3 s of CPU per second of audio here, so its ladder has three rungs; PESQ and STOI
# are cheap enough for all five and the bursty one.
LADDERS = {
    "visqol": (0.0, 0.05, 0.20),
    "pesq": (0.0, 0.02, 0.05, 0.10, 0.20),
    "stoi": (0.0, 0.02, 0.05, 0.10, 0.20),
}
TOLERANCE = {"visqol": 0.1, "pesq": 0.1, "stoi": 0.02}  # MOS points; STOI is 0-1


@pytest.mark.slow
@pytest.mark.parametrize("metric", [m for m in LADDERS if m in installed_metrics()])
def test_a_codec_loss_ladder_scores_fall_monotonically(metric: str) -> None:
    """Seeded random loss up the ladder, then 5 % in bursts of 4: each lower than clean."""
    reference = speak(SPEECH)
    scores = [score_full(reference, through_opus(reference, loss), metrics=[metric]).metrics[metric]
              for loss in LADDERS[metric]]  # fmt: skip
    tolerance = TOLERANCE[metric]
    assert all(b <= a + tolerance for a, b in itertools.pairwise(scores)), scores
    assert scores[0] > scores[-1] + 3 * tolerance, scores
    if metric != "visqol":
        # Averaged over four loss draws: twenty lost frames in five bursts may all fall in a pause.
        bursty = [
            score_full(
                reference, through_opus(reference, 0.05, burst=4, seed=seed), metrics=[metric]
            ).metrics[metric]
            for seed in range(1, 5)
        ]
        assert np.mean(bursty) < scores[0] - tolerance, (bursty, scores)


# What a chirp every 2 s costs each metric when it is scored (measured on this clip): PESQ counts it
# as distortion (3.60 -> 2.27), ViSQOL barely (4.88 -> 4.79).
CHIRP_COST = {"pesq": 0.5, "visqol": 0.04}


@pytest.mark.slow
@pytest.mark.parametrize("metric", [m for m in CHIRP_COST if m in installed_metrics()])
def test_the_senders_latency_chirps_cost_no_score(metric: str) -> None:
    """A sender mixes a chirp in every 2 s; the WAV reference lacks them. Scored as they are, they
    lower the score; left out of the scored windows (the default), the score is the chirp-free one."""
    reference = speak(SPEECH)
    marked = reference.copy()
    marker = chirp()
    for k in range(4):
        at = round((0.7 + 2.0 * k) * SAMPLE_RATE)
        marked[at : at + len(marker)] += marker
    without = score_full(reference, through_opus(reference), metrics=[metric]).metrics[metric]
    heard = through_opus(marked)
    left_out = score_full(reference, heard, metrics=[metric]).metrics[metric]
    scored = score_full(reference, heard, metrics=[metric], leave_out_chirps=False).metrics[metric]
    assert scored < without - CHIRP_COST[metric], (scored, without)
    assert abs(left_out - without) < 0.1, (left_out, without)


def test_chirps_are_found_where_they_were_mixed_in() -> None:
    """The leave-out finds every chirp through Opus, within a millisecond of where it went in."""
    reference = speak(SPEECH)
    marker = chirp()
    starts = [round((0.7 + 2.0 * k) * SAMPLE_RATE) for k in range(4)]
    for at in starts:
        reference[at : at + len(marker)] += marker
    heard = to_score_rate(through_opus(reference), SAMPLE_RATE)
    found = chirp_starts(heard)
    for at in starts:
        expected = at * SCORE_RATE // SAMPLE_RATE
        assert any(0 <= f - expected < 0.03 * SCORE_RATE for f in found), (expected, found)
    gain = chirp_gain(len(heard), found)
    assert all(gain[f + 5 : f + round(0.035 * SCORE_RATE)].max() == 0.0 for f in found)
    assert gain.mean() > 0.9  # a few tens of milliseconds per chirp, nothing more
