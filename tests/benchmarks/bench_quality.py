"""Voice scores of speech through the bundled room: our receive path vs stock aiortc's, side by side.

A room process on loopback; a speaker with the headset's send path (demo bot 0's espeak-ng chatter,
a latency chirp every 2 s of its clock, our encoder: 32 kbps mono, FEC); per condition, one session
with a pair of listeners per seed, ours (tap + `PlayoutBuffer`, a headset listener's settings, pulled
every 10 ms) and stock aiortc's (its jitter buffer and decoder, frames played as they come). Each
pair loses the same packets on its receive side (`SharedLoss`: random, or Gilbert-Elliott bursts);
the presets put a `NetworkConditioner` on each listener's whole connection instead, seeded alike but
drawing over different datagrams, so those pairs do not lose the same packets. What each played over
the window is scored against what the speaker said in it with every full-reference metric installed
(`emulator/audio/quality/full.py`, which follows a delay that changes and leaves the chirps out);
mouth-to-ear comes from the chirps. The codec-only row is the clean session's reference through our
Opus encoder and playout with no network. The scoring's CPU time per minute of audio is measured too.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emulator.audio.quality.emodel import emodel
from emulator.audio.quality.full import METRICS, FullScore, installed_metrics, score_full
from emulator.audio.source import MonoBlock
from emulator.audio.speech import bot_source
from emulator.net.media.loss import SharedLoss
from emulator.net.transport.condition_spec import parse_conditions
from emulator.net.transport.conditions import NetworkConditioner
from tests.benchmarks.report import Section
from tests.support.codec_only import through_opus
from tests.support.room import SECRET, start_room
from tests.support.voice_room import Heard, VoiceRoom

SECONDS = 20.0  # scored per listener
SEEDS = (1, 2, 3)  # a pair of listeners per seed in each session
MARKER_PERIOD = 2.0
CONDITIONS: tuple[tuple[str, float, float | None, str | None], ...] = (
    ("no loss", 0.0, None, None),
    ("2 % random", 0.02, None, None),
    ("5 % random", 0.05, None, None),
    ("10 % random", 0.10, None, None),
    ("5 % bursty (burst 4)", 0.05, 4.0, None),
    ("lossy preset", 0.0, None, "lossy"),
    ("4g preset", 0.0, None, "4g"),
)
# The goals, in the headline metric's MOS: ours above stock at 5 % random and 5 % bursty
# loss, and the clean path within a margin of codec-only.
GOALS = {"5 % random": 0.8, "5 % bursty (burst 4)": 0.5}
CLEAN_MARGIN = 0.3


@dataclass
class Session:
    heard: list[Heard]
    reference: MonoBlock
    late_pulls: int


async def _session(url: str, index: int, loss: float, burst: float | None, preset: str | None) -> Session:
    async with VoiceRoom(
        url, SECRET.encode(), bot_source(0), room=f"quality-{index}", marker_period_s=MARKER_PERIOD
    ) as room:
        for seed in SEEDS:
            pattern = SharedLoss(loss, seed=seed, burst=burst)
            for ours in (False, True):
                network = NetworkConditioner(parse_conditions(preset), seed=seed) if preset else None
                name = f"{'ours' if ours else 'stock'}-{seed}"
                await room.listen(name, pattern.dropper(), ours=ours, network=network)
        await room.hearing()
        await asyncio.sleep(1.0)
        heard = await room.measure(SECONDS)
        return Session(heard, room.reference(), room.window_late_pulls)


@dataclass
class Scored:
    values: dict[str, list[float]]  # per metric, one per listener whose audio the reference was found in
    unaligned: int  # listeners whose audio it was not found in
    played: float
    mouth_to_ear: list[float]
    loss: float


def _score(heard: list[Heard], reference: MonoBlock, metrics: list[str], cost: dict[str, float]) -> Scored:
    values: dict[str, list[float]] = {m: [] for m in metrics}
    unaligned = 0
    for listener in heard:
        scores: list[FullScore] = []
        for metric in metrics:
            began = time.process_time()
            scores.append(score_full(reference, listener.audio, metrics=[metric]))
            cost[metric] += time.process_time() - began
        if not all(s.aligned for s in scores):
            unaligned += 1
            continue
        for metric, score in zip(metrics, scores, strict=True):
            values[metric].append(score.metrics[metric])
    return Scored(
        values,
        unaligned,
        float(np.mean([h.played for h in heard])),
        [x for h in heard for x in h.mouth_to_ear_ms],
        float(np.mean([h.loss for h in heard])),
    )


def _shown(scored: Scored, metrics: list[str]) -> str:
    if not any(scored.values[m] for m in metrics):
        return "-"
    shown = " / ".join(f"{np.mean(scored.values[m]):.2f}" for m in metrics)
    return shown + (f" ({scored.unaligned} -)" if scored.unaligned else "")


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values):.0f}" if values else "-"


@dataclass
class Table:
    rows: list[list[str]]
    scored_s: float  # audio scored by each metric
    host: list[str]  # sessions where the host fell behind
    goals: list[str]


def _run(url: str, metrics: list[str], cost: dict[str, float]) -> Table:
    headline = metrics[0]
    table = Table([], 0.0, [], [])
    for index, (label, loss, burst, preset) in enumerate(CONDITIONS):
        session = asyncio.run(_session(url, index, loss, burst, preset))
        stock = _score([h for h in session.heard if not h.ours], session.reference, metrics, cost)
        ours = _score([h for h in session.heard if h.ours], session.reference, metrics, cost)
        table.scored_s += sum(len(h.audio) for h in session.heard) / 48_000
        late = max(h.late_frames for h in session.heard if h.ours)
        if preset is None and (late or session.late_pulls):  # a preset's jitter makes late frames too
            table.host.append(f"{label}: {session.late_pulls} late pulls, up to {late} late frames")
        gain: float | None = None
        if stock.values[headline] and ours.values[headline]:
            gain = float(np.mean(ours.values[headline]) - np.mean(stock.values[headline]))
        if label in GOALS:
            met = gain is not None and gain >= GOALS[label]
            table.goals.append(f"{label}: {'met' if met else 'NOT met'} (≥ {GOALS[label]:+.1f})")
        # BurstR: the mean run of lost packets over random loss's at that rate, 1 / (1 - loss).
        burst_ratio = burst * (1 - loss) if burst else 1.0
        delay = statistics.median(ours.mouth_to_ear) if ours.mouth_to_ear else None
        e_model = None if delay is None else emodel(delay, ours.loss, burst_ratio).mos
        table.rows.append(
            [
                label,
                f"{100 * ours.loss:.1f}" + ("" if preset is None else f" / {100 * stock.loss:.1f}"),
                _shown(stock, metrics),
                f"{100 * stock.played:.1f}",
                _ms(stock.mouth_to_ear),
                _shown(ours, metrics),
                f"{100 * ours.played:.1f}",
                _ms(ours.mouth_to_ear),
                "-" if gain is None else f"{gain:+.2f}",
                "-" if e_model is None else f"{e_model:.2f}",
            ]
        )
        print("  " + " | ".join(table.rows[-1]), flush=True)
        if index == 0:
            codec = score_full(session.reference, through_opus(session.reference), metrics=metrics)
            shown = " / ".join(f"{codec.metrics[m]:.2f}" for m in metrics)
            table.rows.append(
                ["codec only (no network)", "0.0", "-", "-", "-", shown, "100.0", "-", "-", "-"]
            )
            if ours.values[headline]:
                apart = float(np.mean(ours.values[headline])) - codec.metrics[headline]
                met = abs(apart) <= CLEAN_MARGIN
                table.goals.append(f"clean vs codec-only: {'met' if met else 'NOT met'} ({apart:+.2f})")
    return table


def run() -> list[Section]:
    metrics = [m for m in ("pesq", "visqol", "stoi") if m in installed_metrics()]
    cost: dict[str, float] = dict.fromkeys(metrics, 0.0)
    with tempfile.TemporaryDirectory() as tmp, contextlib.contextmanager(start_room)(Path(tmp)) as room:
        table = _run(room.url, metrics, cost)
    names = " / ".join(metrics)
    headline = metrics[0] if metrics else "none"
    columns = [
        "condition",
        "loss % (ours / stock)",
        f"stock: {names}",
        "stock played %",
        "stock mouth-to-ear ms",
        f"ours: {names}",
        "ours played %",
        "ours mouth-to-ear ms",
        f"ours − stock ({headline})",
        "E-model MOS (ours)",
    ]
    cost_rows = [[m, f"{cost[m] / max(1e-9, table.scored_s / 60):.1f}"] for m in metrics]
    return [
        Section(
            f"Voice scores of speech through the bundled room, stock aiortc vs ours ({len(SEEDS)} pairs "
            f"of listeners × {SECONDS:g} s per condition; goals: ours ≥ 0.8 above stock at 5 % random "
            "loss, ≥ 0.5 at 5 % bursty, clean within 0.3 of codec-only)",
            columns,
            table.rows,
            [
                f"Goals ({headline}): " + "; ".join(table.goals) + ".",
                "Full-reference scores of what each path played against what the speaker said (demo bot 0's "
                "espeak-ng speech), the mean over the listeners; PESQ WB and ViSQOL v3 speech are MOS-LQO, "
                "STOI is 0-1. The scorer follows the path's delay as it changes (stock's jumps by 280 ms "
                "after its first loss and at each stall) and leaves the latency chirps out; a stall that "
                "only delays speech costs no score here (the played % and mouth-to-ear show it). A '-' "
                "is audio the reference could not be found in; '(n -)' counts such listeners, left out "
                "of the mean.",
                "Loss: the share of the speaker's packets each listener's drop hook took over the window "
                "(both paths lose the same packets); presets: what each conditioner dropped, ours / stock.",
                "played % = share of the output time carrying sound: ours, the playout's frames decoded "
                "or concealed; stock, the frames it played over the window (it conceals nothing and "
                "stalls until its jitter buffer refills).",
                "Mouth-to-ear: median over the chirps of all listeners, from the 20 ms capture frame to "
                "the output (no device buffer). E-model: ours' loss and mouth-to-ear (G.107, bursts as "
                "BurstR).",
                "The codec-only row: the no-loss session's reference through our encoder and playout, no "
                "network (stock's aiortc decodes with the same libopus).",
                "Host, in the sessions without a preset (a late frame came after its playout time: "
                "on loopback, a busy host): "
                + ("; ".join(table.host) or "no late pulls and no late frames")
                + ".",
            ],
        ),
        Section(
            "Scoring cost (CPU seconds per minute of audio, this machine)",
            ["metric", "CPU s per audio minute"],
            cost_rows,
            [
                f"{table.scored_s / 60:.1f} min of audio scored by each metric, alignment included; "
                f"metrics installed: {', '.join(metrics) or 'none'}; {', '.join(METRICS)} are known."
            ],
        ),
    ]
