"""Full-reference listening-quality scores: what a headset played against what the sender spoke.

The received audio is resampled to 16 kHz (the speech metrics' rate), the reference is found in it
by cross-correlation (the offset is the path's delay; weak matches of its 1 s chunks mean the
received audio is not the reference at all, and the scores are the lowest, with `aligned` false),
and the span they share is scored by every metric installed:

- `visqol`: ViSQOL v3 in speech mode (`visqol-python`, Apache-2.0, the `[quality]` extra): MOS-LQO.
  Measured here on 12 s of espeak-ng speech through our Opus path with 0–20 % loss: 4.9 → 4.4, about
  one second of CPU per second of audio on this 2-core machine.
- `pesq`: ITU-T P.862.2 wide-band (`pesq`, the `[pesq]` extra: the ITU-T code comes under its own
  patent and licence terms, so it is never installed by default): MOS-LQO, 3.7 → 1.4 over the same
  ladder, a spread that tells conditions apart; ~0.04 s of CPU per second of audio.
- `stoi`: short-time objective intelligibility, 0–1 (`pystoi`, `[quality]`): not a MOS, but cheap.

The delay is followed as it changes (`align`): an adaptive playout shifts the audio by 10-20 ms now
and then, stock aiortc's jitter buffer by 280 ms after its first loss and more at each stall. Each
piece of the received audio is moved onto the reference where it matches, so every metric compares
like with like (STOI, which does no alignment of its own, scored stock's output near 0.4 at one
offset); a stall that delays the speech without losing any costs no score here.

The sender's latency chirps (`emulator/audio/marker.py`) are in the received audio but not in a
WAV reference: each one found in the received audio is left out of the alignment and of the scored
windows (both signals faded to silence over the same span), so a chirp costs no score.

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
CHUNK_S = 1.0  # the delay is followed chunk by chunk, chunks half overlapping (see `align`)
CHUNK_SEARCH_S = 0.6  # how far a chunk's offset may stray from the main one
QUIET = 1e-4  # a chunk 40 dB below the loudest carries no speech to align by
TRUSTED_MATCH = 0.5  # a chunk matching less (concealment, noise) does not move the track
SAME_OFFSET = 8  # offsets closer than 0.5 ms are one (a chunk's best lag wobbles by a sample or two)
CHIRP_GAP_S = (0.01, 0.05)  # left out around a chirp's first sample: before it, after it (it lasts 30 ms)
CHIRP_FADE_S = 0.005

NOT_FOUND = "the reference was not found in the received audio: the lowest scores stand in"

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
    aligned: bool = True  # False: the reference was not found in the audio, the scores are the lowest

    def as_dict(self) -> dict[str, object]:
        return {
            **({} if self.aligned else {"aligned": False, "aligned_why": NOT_FOUND}),
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


@dataclass(frozen=True)
class Alignment:
    """Where the reference lies in the received audio, chunk by chunk (see `align`)."""

    offset: int  # where the reference starts in the received audio for most of it, in samples
    correlation: float  # median of the sounding chunks' best normalised correlations, 0-1
    track: tuple[tuple[int, int], ...]  # (reference sample from which it holds, offset), in order

    def received_part(self, reference: Signal, received: Signal, fill: float = 0.0) -> tuple[Signal, Signal]:
        """The reference span the received audio covers, and the received audio moved onto it: each
        piece by its own offset, `fill` where the received audio has nothing."""
        if not self.track:
            return overlap(reference, received, self.offset)
        offsets = np.empty(len(reference), dtype=np.int64)
        starts = [start for start, _ in self.track] + [len(reference)]
        for (_, offset), lo, hi in zip(self.track, starts, starts[1:], strict=False):
            offsets[lo:hi] = offset
        index = np.arange(len(reference)) + offsets
        inside = (index >= 0) & (index < len(received))
        if not inside.any():
            return reference[:0], received[:0]
        first, last = int(np.argmax(inside)), len(inside) - int(np.argmax(inside[::-1]))
        moved = np.where(inside, received[np.clip(index, 0, len(received) - 1)], fill)
        return reference[first:last], moved[first:last]


def align(reference: Signal, received: Signal) -> Alignment:
    """Find the reference in `received`, following a delay that changes.

    A first cross-correlation over the whole gives the main offset. Then each 1 s chunk of the
    received audio that carries sound is looked for in the reference within ±`CHUNK_SEARCH_S` of it:
    a playout that adapts shifts the audio by 10-20 ms now and then, and stock aiortc's jitter
    buffer by 280 ms after its first loss and more at every stall; scored at one offset, everything
    after a shift would be compared with the wrong speech. Where two chunks disagree, the switch
    goes where it leaves the least difference (usually in the stall's silence). The match is the
    median of the chunks' best correlations: low when the reference is not in the audio at all."""
    corr = correlate(received, reference, mode="full", method="fft")
    offset = int(np.argmax(np.abs(corr))) - (len(reference) - 1)
    chunk, hop, search = (int(x * SCORE_RATE) for x in (CHUNK_S, CHUNK_S / 2, CHUNK_SEARCH_S))
    ref_energy = np.concatenate([[0.0], np.cumsum(reference**2)])
    loudest = max(
        (float(np.sum(received[b : b + chunk] ** 2)) for b in range(0, len(received), hop)), default=0.0
    )
    found: list[tuple[int, int]] = []  # (chunk start in the received audio, its offset)
    matches = []
    for begin in range(
        max(0, offset - search), min(len(received), offset + len(reference) + search) - chunk + 1, hop
    ):
        piece = received[begin : begin + chunk]
        power = float(np.sum(piece**2))
        if power <= loudest * QUIET or power == 0.0:
            continue  # a pause (or a stall): nothing to find it by
        lo = max(0, begin - offset - search)
        hi = min(len(reference), begin - offset + chunk + search)
        if hi - lo < chunk:
            continue
        local = correlate(reference[lo:hi], piece, mode="valid", method="fft")
        energy = ref_energy[lo + chunk : hi + 1] - ref_energy[lo : hi - chunk + 1]
        # A near-silent stretch of the reference: its energy, a difference of two large running
        # sums, is rounding noise, and so would be the correlation divided by it.
        scores = np.where(
            energy > power * QUIET, np.abs(local) / np.sqrt(np.maximum(energy, 1e-30) * power), 0.0
        )
        best = int(np.argmax(scores))
        matches.append(float(scores[best]))
        if scores[best] >= TRUSTED_MATCH:
            found.append((begin, begin - (lo + best)))
    correlation = float(np.median(matches)) if matches else 0.0
    return Alignment(offset, correlation, _track(found, reference, received, chunk))


def _track(
    found: list[tuple[int, int]], reference: Signal, received: Signal, chunk: int
) -> tuple[tuple[int, int], ...]:
    """The chunks' offsets as a piecewise track over the reference, a lone outlier voted down."""
    offsets = [offset for _, offset in found]
    for i in range(1, len(offsets) - 1):
        if offsets[i - 1] == offsets[i + 1] != offsets[i]:
            offsets[i] = offsets[i - 1]
    track: list[tuple[int, int]] = []
    for i, ((begin, _), offset) in enumerate(zip(found, offsets, strict=True)):
        if not track:
            track.append((0, offset))
            continue
        last_start, last = track[-1]
        if abs(offset - last) > SAME_OFFSET:
            # Between the middles of the two chunks, in reference samples.
            lo, hi = found[i - 1][0] + chunk // 2 - last, begin + chunk // 2 - offset
            track.append((max(last_start, _switch(reference, received, lo, hi, last, offset)), offset))
    return tuple(track)


def _switch(reference: Signal, received: Signal, lo: int, hi: int, before: int, after: int) -> int:
    """The reference sample in [lo, hi) from which `after` fits better than `before` (least squares)."""
    lo, hi = max(0, min(lo, hi)), min(len(reference), max(lo, hi))
    if hi - lo < 2:
        return lo
    span = np.arange(lo, hi)
    ref = reference[lo:hi]

    def error(offset: int) -> Signal:
        index = span + offset
        inside = (index >= 0) & (index < len(received))
        heard = np.where(inside, received[np.clip(index, 0, len(received) - 1)], 0.0)
        return np.asarray((ref - heard) ** 2, dtype=np.float64)

    first, second = np.cumsum(error(before)), np.cumsum(error(after))
    cost = np.concatenate([[0.0], first]) + (second[-1] - np.concatenate([[0.0], second]))
    return lo + int(np.argmin(cost))


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
    # The chirps go before the alignment: loud and not in the reference, they draw false matches.
    gain = chirp_gain(len(deg), chirp_starts(deg)) if leave_out_chirps else None
    alignment = align(ref, deg if gain is None else deg * gain)
    offset_ms = 1000 * alignment.offset / SCORE_RATE
    names = [m for m in (metrics or installed_metrics()) if m in METRICS]
    if alignment.correlation < ALIGNED_CORRELATION:
        # The reference is not in what was heard (silence, noise, someone else): the lowest score,
        # which the metrics themselves do not always give to well-formed speech that is not the same.
        values = {name: (0.0 if name == "stoi" else 1.0) for name in names}
        return FullScore(_headline(values), values, offset_ms, alignment.correlation, 0.0, aligned=False)
    ref_part, deg_part = alignment.received_part(ref, deg)
    if len(ref_part) < MIN_SECONDS * SCORE_RATE:
        raise ScoreError("the received audio overlaps the reference by less than a second")
    if gain is not None:
        # Both are faded over the chirps' spans, carried onto the reference like the audio.
        _, moved = alignment.received_part(ref, gain, fill=1.0)
        ref_part, deg_part = ref_part * moved, deg_part * moved
    values = {}
    for name in names:
        with contextlib.suppress(ImportError):
            values[name] = METRICS[name](ref_part, deg_part)
    return FullScore(_headline(values), values, offset_ms, alignment.correlation, len(ref_part) / SCORE_RATE)


def _headline(values: dict[str, float]) -> float | None:
    return values.get("pesq", values.get("visqol"))
