"""Voice scores of speech between two real aiortc peers on loopback: our receive path vs stock aiortc's.

The sender speaks demo bot 0's espeak-ng chatter (no chirps: nothing in it that the reference
lacks). Ours: our encoder (32 kbps mono, FEC) and `PlayoutBuffer` pulled 10 ms at a time; stock:
aiortc's encoder, jitter buffer and decoder, its frames played back to back (as in bench_latency).
Loss is the same seeded drop hook on the receiver (random, or Gilbert-Elliott bursts), or a `--net`
preset's conditioner on the receiving peer connection. What each played is scored against the
source with every full-reference metric installed (`emulator/audio/quality/full.py`), after the
session; the scoring's CPU time per minute of audio is measured too. Peer to peer, not through the
room process: the room forwards packets without touching them, so the receive path is what differs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np
from aiortc.mediastreams import MediaStreamTrack

from emulator.audio.quality.emodel import emodel
from emulator.audio.quality.full import METRICS, installed_metrics, score_full
from emulator.audio.source import MonoBlock
from emulator.audio.speech import bot_source
from emulator.headset.voice import BLOCK_S, BLOCK_SAMPLES
from emulator.net.media.fanout import EncodedAudioFanout
from emulator.net.media.loss import PacketDropper, drop_incoming_rtp
from emulator.net.media.playout import PlayoutBuffer
from emulator.net.media.receive import attach_playout, receiver_for_track
from emulator.net.transport.condition_spec import parse_conditions
from emulator.net.transport.conditions import NetworkConditioner
from tests.benchmarks.bench_latency import PcmTrack, StockListener
from tests.benchmarks.report import Section
from tests.support.media import frames_sounding, pace, played_share
from tests.support.peers import loopback_pair, negotiate, wait_connected

SECONDS = 10.0  # scored per session
SETTLE_S = 1.0
CONDITIONS: tuple[tuple[str, float, float | None, str | None], ...] = (
    ("no loss", 0.0, None, None),
    ("2 % random", 0.02, None, None),
    ("5 % random", 0.05, None, None),
    ("10 % random", 0.10, None, None),
    ("5 % bursty (burst 4)", 0.05, 4.0, None),
    ("lossy preset", 0.0, None, "lossy"),
    ("4g preset", 0.0, None, "4g"),
)


@dataclass
class Heard:
    blocks: list[MonoBlock] = field(default_factory=list)

    def feed(self, block: MonoBlock, at: float) -> None:  # what StockListener calls
        self.blocks.append(block)


@dataclass
class Session:
    audio: MonoBlock
    played: float
    loss: float


async def _session(ours: bool, loss: float, burst: float | None, preset: str | None) -> Session:
    source = bot_source(0)
    heard = Heard()
    buffers: list[PlayoutBuffer] = []
    stock: list[StockListener] = []
    droppers: list[PacketDropper] = []
    fanout = EncodedAudioFanout(source) if ours else None
    network = NetworkConditioner(parse_conditions(preset), seed=5) if preset else None
    async with loopback_pair() as (a, b):
        a.addTrack(fanout.subscribe() if fanout else PcmTrack(source))  # type: ignore[arg-type]

        @b.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            receiver = receiver_for_track(b, track)
            dropper = PacketDropper(loss, seed=1234, burst=burst)
            droppers.append(dropper)
            drop_incoming_rtp(receiver, dropper)
            if ours:
                buffers.append(attach_playout(receiver))
            else:
                stock.append(StockListener(track, heard))  # type: ignore[arg-type]

        await negotiate(a, b)
        await wait_connected(a, b)
        if network is not None:
            network.attach(b)
        await asyncio.sleep(SETTLE_S)
        start = time.monotonic()
        try:
            if ours:
                before = frames_sounding(buffers)
                await pace(lambda now: buffers[0].pull(BLOCK_SAMPLES, now), SECONDS, heard.feed, BLOCK_S)
                played = played_share(before, frames_sounding(buffers))
                stats = buffers[0].stats
                lost = stats.packets_lost / max(1, stats.packets_lost + stats.packets_received)
            else:
                stock[0].measuring = True
                await asyncio.sleep(SECONDS)
                stock[0].measuring = False
                played = min(1.0, stock[0].played_s / (time.monotonic() - start))
                dropped = droppers[0].dropped
                lost = dropped / max(1, dropped + droppers[0].passed)
        finally:
            for listener in stock:
                await listener.stop()
            if network is not None:
                lost = max(lost, network.incoming.stats.lost / max(1, network.incoming.stats.passed))
                await network.stop()
            if fanout:
                await fanout.stop()
    return Session(np.concatenate(heard.blocks) if heard.blocks else np.zeros(0, np.float32), played, lost)


def _reference() -> MonoBlock:
    """The source from its start, long enough to hold the scored window: our fanout starts reading
    when subscribed (before the peers connect, which can take seconds here), stock's on connection."""
    source = bot_source(0)
    return np.concatenate([source.read(960) for _ in range(round((SETTLE_S + SECONDS + 30) * 50))])


def run() -> list[Section]:
    metrics = [m for m in ("pesq", "visqol", "stoi") if m in installed_metrics()]
    reference = _reference()
    rows: list[list[str]] = []
    cost: dict[str, float] = dict.fromkeys(metrics, 0.0)
    scored_s = 0.0
    for label, loss, burst, preset in CONDITIONS:
        row = [label]
        for ours in (False, True):
            session = asyncio.run(_session(ours, loss, burst, preset))
            values: dict[str, float] = {}
            for metric in metrics:
                began = time.process_time()
                score = score_full(reference, session.audio, metrics=[metric])
                cost[metric] += time.process_time() - began
                values[metric] = score.metrics.get(metric, float("nan"))
            scored_s += len(session.audio) / 48_000
            shown = " / ".join(f"{values[m]:.2f}" for m in metrics)
            row += [shown, f"{100 * session.played:.1f}", f"{100 * session.loss:.1f}"]
        row.append(f"{emodel(60.0, loss).mos:.2f}" if preset is None else "-")
        rows.append(row)
        print("  " + " | ".join(row), flush=True)
    names = " / ".join(metrics)
    columns = ["condition", f"stock: {names}", "stock played %", "stock loss %"]
    columns += [f"ours: {names}", "ours played %", "ours loss %", "E-model MOS (60 ms)"]
    minutes = scored_s / 60  # every metric scores every session once
    cost_rows = [[m, f"{cost[m] / max(1e-9, scored_s / 60):.1f}"] for m in metrics]
    return [
        Section(
            f"Voice scores of speech, stock aiortc vs ours ({SECONDS:g} s per session, peer to peer)",
            columns,
            rows,
            [
                "Full-reference scores of what each path played against the spoken source (demo bot 0's "
                "espeak-ng speech), aligned by cross-correlation; PESQ WB and ViSQOL v3 speech are MOS-LQO, "
                "STOI is 0-1. One session per cell on a shared 2-core machine: read differences of a few "
                "tenths as noise.",
                "played % = share of the output time carrying sound (decoded or concealed); stock plays "
                "frames as they come, so its played share counts its stalls.",
                f"{minutes:.1f} min of audio scored per metric.",
            ],
        ),
        Section(
            "Scoring cost (CPU seconds per minute of audio, this machine)",
            ["metric", "CPU s per audio minute"],
            cost_rows,
            [f"Metrics installed: {', '.join(metrics) or 'none'}; {', '.join(METRICS)} are known."],
        ),
    ]
