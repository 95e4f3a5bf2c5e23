"""Listening-quality scores in reports: `--score off|cheap|full` and `--reference FILE.wav`.

`cheap` (the default) gives every remote voice of a report an E-model score (`emodel`: R-factor and
MOS-CQE) from what the report already holds: the loss its playout counted and the mouth-to-ear the
chirps measured (or, without chirps, half the state round trip plus the playout delay and the codec
floor). `full` also scores the audio itself against a known reference (`--reference`, a WAV of
what the far end plays) with the full-reference metrics installed (`emulator/audio/quality/full.py`):
the received audio is kept in memory while joined (up to `MAX_KEEP_S` per voice, a copy of each
10 ms block, nothing more on the audio path) and scored on a worker thread after leaving.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from emulator.audio.quality.emodel import emodel
from emulator.audio.quality.full import ScoreError, installed_metrics, score_full
from emulator.audio.source import SAMPLE_RATE, MonoBlock

log = logging.getLogger(__name__)

SCORE_MODES = ("off", "cheap", "full")
MAX_KEEP_S = 600.0


def cheap_score(remote: dict[str, Any]) -> dict[str, float] | None:
    """The E-model of one remote of a headset report, or None when it sent no audio."""
    audio = remote.get("audio") or {}
    received, lost = audio.get("packets_received", 0), audio.get("packets_lost", 0)
    if not received:
        return None
    latency = remote.get("mouth_to_ear") or {}
    if latency.get("count"):
        delay = float(latency["median_ms"])
    else:
        rtt = (remote.get("round_trip") or {}).get("median_ms") or 0.0
        delay = rtt / 2 + audio.get("playout_delay_ms", 0.0) + audio.get("codec_floor_ms", 0.0)
    return emodel(delay, lost / (lost + received)).as_dict()


def add_cheap_scores(report: dict[str, Any]) -> None:
    for remote in report.get("remotes", []):
        score = cheap_score(remote)
        if score is not None:
            remote.setdefault("score", {})["emodel"] = score


class ReceivedAudio:
    """A listener (`Voice.listeners`) keeping each remote voice's played blocks, bounded."""

    def __init__(self, max_seconds: float = MAX_KEEP_S) -> None:
        self.max_samples = int(max_seconds * SAMPLE_RATE)
        self.blocks: dict[str, list[MonoBlock]] = {}
        self._kept: dict[str, int] = {}

    def __call__(self, blocks: dict[str, MonoBlock]) -> None:
        for participant_id, block in blocks.items():
            kept = self._kept.get(participant_id, 0)
            if kept < self.max_samples:
                self.blocks.setdefault(participant_id, []).append(block.copy())
                self._kept[participant_id] = kept + len(block)

    def audio(self, participant_id: str) -> npt.NDArray[np.float32]:
        blocks = self.blocks.get(participant_id)
        return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)


async def add_full_scores(
    report: dict[str, Any], received: ReceivedAudio, reference: npt.NDArray[np.float32]
) -> None:
    """Score each remote voice against `reference` on a worker thread; a voice that cannot be scored
    gets a one-line `error` instead."""
    metrics = installed_metrics()
    for remote in report.get("remotes", []):
        audio = received.audio(remote["id"])
        if not len(audio):
            continue
        entry = remote.setdefault("score", {})
        if not metrics:
            entry["full"] = {"error": "no full-reference metric installed (pip install -e .[quality])"}
            continue
        try:
            score = await asyncio.to_thread(score_full, reference, audio, SAMPLE_RATE, metrics)
        except ScoreError as error:
            entry["full"] = {"error": str(error)}
            continue
        entry["full"] = score.as_dict()
