"""Full-reference listening-quality scores: what a headset played against what the sender spoke.

The received audio is resampled to 16 kHz (the speech metrics' rate), the reference is found in it
by cross-correlation (the offset is the path's delay; weak matches of its 2 s chunks mean the
received audio is not the reference at all), and the overlapping span is scored by every metric installed:

- `visqol`: ViSQOL v3 in speech mode (`visqol-python`, Apache-2.0, the `[quality]` extra): MOS-LQO.
  Measured here on 12 s of espeak-ng speech through our Opus path with 0–20 % loss: 4.9 → 4.4, about
  one second of CPU per second of audio on this 2-core machine.
- `pesq`: ITU-T P.862.2 wide-band (`pesq`, the `[pesq]` extra: the ITU-T code comes under its own
  patent and licence terms, so it is never installed by default): MOS-LQO, 3.7 → 1.4 over the same
  ladder, a spread that tells conditions apart; ~0.04 s of CPU per second of audio.
- `stoi`: short-time objective intelligibility, 0–1 (`pystoi`, `[quality]`): not a MOS, but cheap.

The sender's latency chirps (`emulator/audio/marker.py`) are in the received audio but not in a
WAV reference: each one found in the received audio is left out of the scored windows (both
signals faded to silence over the same span), so a chirp costs no score.

The headline `mos` is PESQ's when it is installed (the better resolution), else ViSQOL's. All of
this is slow next to a 10 ms audio block: callers score after a run or on a worker thread, never on
the audio path. No model is downloaded: ViSQOL's SVR model ships inside its package.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.signal import correlate, resample_poly

SCORE_RATE = 16_000
ALIGNED_CORRELATION = 0.2  # chunks matching less than this: the reference is not in the received audio
MIN_SECONDS = 1.0  # less overlap than this is not scored
CHUNK_S = 2.0  # alignment is checked chunk by chunk (see `align`)
CHUNK_SEARCH_S = 0.1
CHIRP_GAP_S = (0.01, 0.05)  # left out around a chirp's first sample: before it, after it (it lasts 30 ms)
CHIRP_FADE_S = 0.005

log = logging.getLogger(__name__)

Signal = npt.NDArray[np.float64]


class ScoreError(ValueError):
    """The audio cannot be scored (too short, empty); says why in one line."""


@dataclass(frozen=True)
class FullScore:
    mos: float | None  # MOS-LQO of the headline metric (PESQ if installed, else ViSQOL)
    metrics: dict[str, float] = field(default_factory=dict)  # every metric that ran
    offset_ms: float = 0.0  # where the reference starts in the received audio
    correlation: float = 0.0  # normalised cross-correlation peak of the alignment
    seconds: float = 0.0  # audio scored

    def as_dict(self) -> dict[str, object]:
        return {
            "mos": None if self.mos is None else round(self.mos, 2),
            **({"mos_why": "neither PESQ nor ViSQOL ran (STOI gives no MOS)"} if self.mos is None else {}),
            **{name: round(value, 3) for name, value in self.metrics.items()},
            "offset_ms": round(self.offset_ms, 1),
            "correlation": round(self.correlation, 3),
            "seconds": round(self.seconds, 2),
        }


def installed_metrics() -> list[str]:
    """The full-reference metrics this machine can run, headline candidates first."""
    modules = {"pesq": "pesq", "visqol": "visqol", "stoi": "pystoi"}
    return [name for name, module in modules.items() if importlib.util.find_spec(module) is not None]


def to_score_rate(audio: npt.ArrayLike, rate: int) -> Signal:
    """Mono float64 at 16 kHz (stereo is averaged)."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if rate == SCORE_RATE:
        return x
    g = np.gcd(rate, SCORE_RATE)
    return np.asarray(resample_poly(x, SCORE_RATE // g, rate // g), dtype=np.float64)


def align(reference: Signal, received: Signal) -> tuple[int, float]:
    """(offset of the reference in `received`, in samples; how well they match there, 0–1).

    The match is the median over 2 s chunks of each chunk's best normalised correlation within
    ±`CHUNK_SEARCH_S` of the offset: an adaptive playout shifts the audio by a few milliseconds
    now and then, which a single correlation over the whole span would count as a mismatch."""
    corr = correlate(received, reference, mode="full", method="fft")
    offset = int(np.argmax(np.abs(corr))) - (len(reference) - 1)
    ref_part, deg_part = overlap(reference, received, offset)
    chunk, search = int(CHUNK_S * SCORE_RATE), int(CHUNK_SEARCH_S * SCORE_RATE)
    start_in_ref = max(0, -offset)
    matches = []
    for begin in range(0, len(deg_part) - chunk + 1, chunk):
        piece = deg_part[begin : begin + chunk]
        lo = max(0, start_in_ref + begin - search)
        window = reference[lo : start_in_ref + begin + chunk + search]
        norm = float(np.linalg.norm(piece))
        if norm == 0 or len(window) < chunk:
            matches.append(0.0)
            continue
        local = correlate(window, piece, mode="valid", method="fft")
        energy = np.sqrt(np.maximum(np.convolve(window**2, np.ones(chunk), mode="valid"), 1e-20))
        matches.append(float(np.max(np.abs(local) / (energy * norm))))
    del ref_part
    return offset, (float(np.median(matches)) if matches else 0.0)


def chirp_starts(received: Signal) -> list[int]:
    """Sample indices where a latency chirp starts in `received` (at SCORE_RATE)."""
    from emulator.audio.marker import MarkerDetector

    detector = MarkerDetector(SCORE_RATE)
    detector.feed(received.astype(np.float32), 0.0)
    detector.flush()
    return [round(t * SCORE_RATE) for t in detector.detections]


def chirp_gain(length: int, starts: list[int]) -> Signal:
    """1 everywhere but around each chirp start, where it fades to 0 and back."""
    gain = np.ones(length)
    before, after = (round(s * SCORE_RATE) for s in CHIRP_GAP_S)
    fade = round(CHIRP_FADE_S * SCORE_RATE)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, fade))  # 0 -> 1
    notch = np.concatenate([ramp[::-1], np.zeros(before + after), ramp])
    for start in starts:
        lo = start - before - fade
        window = notch[max(0, -lo) : len(notch) - max(0, lo + len(notch) - length)]
        begin = max(0, lo)
        gain[begin : begin + len(window)] = np.minimum(gain[begin : begin + len(window)], window)
    return gain


def overlap(reference: Signal, received: Signal, offset: int) -> tuple[Signal, Signal]:
    """The spans of both that line up, the received one shifted by `offset`."""
    start, stop = max(0, offset), min(len(received), offset + len(reference))
    return reference[start - offset : stop - offset], received[start:stop]


_VISQOL_LOCK = threading.Lock()
_visqol_api: object | None = None


def _visqol(ref: Signal, deg: Signal) -> float:
    global _visqol_api
    from visqol.api import VisqolApi

    with _VISQOL_LOCK:
        if _visqol_api is None:
            api = VisqolApi()
            # The polynomial mapper: the lattice one needs a TFLite runtime this project does not ship.
            api.create(mode="speech", use_lattice_model=False)
            _visqol_api = api
        result = _visqol_api.measure_from_arrays(ref, deg, SCORE_RATE)  # type: ignore[attr-defined]
    return float(result.moslqo)


def _pesq(ref: Signal, deg: Signal) -> float:
    from pesq import NoUtterancesError, pesq

    try:
        return float(pesq(SCORE_RATE, ref, deg, "wb"))
    except NoUtterancesError:
        return 1.0  # nothing speech-like in the received audio: the lowest score


def _stoi(ref: Signal, deg: Signal) -> float:
    from pystoi import stoi

    return float(stoi(ref, deg, SCORE_RATE))


METRICS: dict[str, Callable[[Signal, Signal], float]] = {"pesq": _pesq, "visqol": _visqol, "stoi": _stoi}


def score_full(
    reference: npt.ArrayLike,
    received: npt.ArrayLike,
    rate: int = 48_000,
    metrics: list[str] | None = None,
    *,
    leave_out_chirps: bool = True,
) -> FullScore:
    """Score `received` against `reference` (both at `rate`); ScoreError when there is too little.

    With `leave_out_chirps`, the latency chirps found in `received` are faded out of both signals."""
    ref, deg = to_score_rate(reference, rate), to_score_rate(received, rate)
    if min(len(ref), len(deg)) < MIN_SECONDS * SCORE_RATE:
        raise ScoreError(f"need at least {MIN_SECONDS:g} s of reference and received audio to score")
    offset, correlation = align(ref, deg)
    names = [m for m in (metrics or installed_metrics()) if m in METRICS]
    if correlation < ALIGNED_CORRELATION:
        # The reference is not in what was heard (silence, noise, someone else): the lowest score,
        # which the metrics themselves do not always give to well-formed speech that is not the same.
        values = {name: (0.0 if name == "stoi" else 1.0) for name in names}
        return FullScore(_headline(values), values, 1000 * offset / SCORE_RATE, correlation, 0.0)
    ref_part, deg_part = overlap(ref, deg, offset)
    if len(ref_part) < MIN_SECONDS * SCORE_RATE:
        raise ScoreError("the received audio overlaps the reference by less than a second")
    if leave_out_chirps:
        start = max(0, offset)
        starts = [i - start for i in chirp_starts(deg) if start <= i < start + len(deg_part)]
        if starts:
            gain = chirp_gain(len(deg_part), starts)
            ref_part, deg_part = ref_part * gain, deg_part * gain
    values = {}
    for name in names:
        with contextlib.suppress(ImportError):
            values[name] = METRICS[name](ref_part, deg_part)
    return FullScore(
        _headline(values), values, 1000 * offset / SCORE_RATE, correlation, len(ref_part) / SCORE_RATE
    )


def _headline(values: dict[str, float]) -> float | None:
    return values.get("pesq", values.get("visqol"))
