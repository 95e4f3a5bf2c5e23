"""What one headset's report and recordings say about another: the proofs every SFU test shares."""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import numpy as np


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        frames = w.readframes(w.getnframes())
        data = np.frombuffer(frames, dtype=np.int16).astype(np.float32) / 32768
        return data.reshape(-1, w.getnchannels()).mean(axis=1), w.getframerate()


def loud_blocks(samples: np.ndarray, block: int = 960, level: float = 0.02) -> tuple[int, int]:
    """(how many 20 ms blocks of `samples` are louder than `level` RMS, how many blocks in all)."""
    blocks = samples[: len(samples) // block * block].reshape(-1, block)
    return int((np.sqrt((blocks**2).mean(axis=1)) > level).sum()), len(blocks)


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    spectrum[: int(50 * len(samples) / rate)] = 0  # ignore DC and rumble
    return float(np.argmax(spectrum) * rate / len(samples))


def check_heard_and_seen(
    record_dir: Path, remote: dict[str, Any], sender_report: dict[str, Any], tone_hz: float, place: str
) -> None:
    """`remote` (one entry of a receiver's report) heard and saw the sender whose report is given.

    The voice: the sender's tone dominates what was recorded. The states: at least 90% of the rate
    they were sent at. The right sender: the poses attributed to it are where it stands (`X,Y,Z`).
    """
    samples, rate = read_wav(record_dir / f"{remote['id']}.wav")
    assert len(samples) > rate * 3, f"under 3 s of {remote['name']} recorded"
    assert abs(dominant_hz(samples[rate:], rate) - tone_hz) < 5
    sent_rate = sender_report["uplink"]["states_sent"] / sender_report["duration_s"]
    assert remote["states"]["rate_hz"] >= 0.9 * sent_rate, (remote["name"], remote["states"])
    lines = (record_dir / f"{remote['id']}.states.jsonl").read_text().splitlines()
    positions = np.array([json.loads(line)["p"] for line in lines if '"p"' in line])
    expected = np.array([float(v) for v in place.split(",")])
    assert len(positions) > 100
    assert np.abs(positions - expected).max() < 0.002
