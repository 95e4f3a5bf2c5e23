"""Mouth-to-ear latency with an audible marker: a short chirp mixed into the outgoing audio on request,
found again in the played-out audio by a matched filter.

Why a chirp: its autocorrelation is one sharp peak (sample-accurate timing), it survives Opus at
32 kbps (1–3 kHz sits in the band every Opus mode codes), and it correlates poorly with tones, speech
harmonics and concealment noise, so the detector needs no knowledge of the source it is mixed over.

Times: `MarkedSource` stamps each marker with the time its first sample was "spoken" on the sender's
clock. A block read at time t stands for the 20 ms that ended at t (what a microphone delivers), so the
marker's first sample, at the start of the block, was spoken at t − block duration: the figure includes
the capture framing, as a real mouth-to-ear measurement would. The detector reports when the marker's
first sample is played on the receiver's clock. `match_latencies` pairs them, correcting by the offset
receiver_clock − sender_clock (0 in one process; from PING/PONG across processes).
"""

from __future__ import annotations

import bisect
import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from emulator.audio.source import SAMPLE_RATE, AudioSource, MonoBlock

CHIRP_MS = 30
CHIRP_LOW_HZ = 1000.0
CHIRP_HIGH_HZ = 3000.0
CHIRP_AMPLITUDE = 0.5
BAND_LOW_HZ = 800.0  # the detector listens only to the marker's band: tones and voices below drop out
BAND_HIGH_HZ = 4500.0
DETECT_THRESHOLD = 0.4  # normalized correlation in the band; a marker through Opus scores 0.7–0.9
REFRACTORY_S = 0.1  # two detections closer than this are one marker
CHUNK_SAMPLES = 2400  # 50 ms: how much audio the detector gathers before it runs the matched filter


def chirp(sample_rate: int = SAMPLE_RATE) -> MonoBlock:
    """The marker: a Hann-windowed linear sweep from 1 to 3 kHz over 30 ms."""
    n = sample_rate * CHIRP_MS // 1000
    t = np.arange(n) / sample_rate
    duration = n / sample_rate
    rate = (CHIRP_HIGH_HZ - CHIRP_LOW_HZ) / duration
    phase = 2 * np.pi * (CHIRP_LOW_HZ * t + 0.5 * rate * t * t)
    return (CHIRP_AMPLITUDE * np.hanning(n) * np.sin(phase)).astype(np.float32)


class MarkedSource:
    """Wraps any AudioSource; `inject()` mixes one marker into the start of the next block read."""

    def __init__(self, source: AudioSource, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.sample_rate = source.sample_rate
        self._clock = clock
        self._marker = chirp(source.sample_rate)
        self._requested = False
        self._remaining: MonoBlock | None = None
        self.injections: list[float] = []
        """Sender-clock times each marker's first sample was spoken, oldest first."""

    def inject(self) -> None:
        """Ask for a marker in the next block (ignored while one is still being played out)."""
        self._requested = True

    def read(self, frames: int) -> MonoBlock:
        block = self.source.read(frames).copy()
        if self._requested and self._remaining is None:
            self._requested = False
            self._remaining = self._marker
            self.injections.append(self._clock() - frames / self.sample_rate)
        if self._remaining is not None:
            n = min(frames, len(self._remaining))
            block[:n] += self._remaining[:n]
            self._remaining = self._remaining[n:] if n < len(self._remaining) else None
            np.clip(block, -1.0, 1.0, out=block)
        return block

    def close(self) -> None:
        self.source.close()


def prepare_detection() -> Any:
    """scipy.signal, imported on first call: call it before joining, not with peers connected.

    The import takes 1 s on an idle core and 3-4 s on a loaded one, all of it on the caller's thread:
    done on a live loop (at the first remote voice) it silenced every headset of a swarm worker long
    enough for the room to drop them as transport-lost. Only a process that listens for markers pays.
    """
    import scipy.signal

    return scipy.signal


@functools.lru_cache(maxsize=4)
def _band_and_template(sample_rate: int) -> tuple[Any, Any, float]:
    """The band filter, the marker as it comes out of it, and its norm: the same for every detector."""
    signal = prepare_detection()
    band = signal.butter(4, (BAND_LOW_HZ, BAND_HIGH_HZ), btype="bandpass", fs=sample_rate, output="sos")
    # The template goes through the same band filter, so the matched filter sees what it will get.
    template = signal.sosfilt(band, chirp(sample_rate).astype(np.float64))
    return band, template, float(np.linalg.norm(template))


class MarkerDetector:
    """Feed it played-out blocks in order with the time each block's first sample is played."""

    def __init__(self, sample_rate: int = SAMPLE_RATE, threshold: float = DETECT_THRESHOLD) -> None:
        self.sample_rate = sample_rate
        self.threshold = threshold
        signal = prepare_detection()
        self._sosfilt = signal.sosfilt
        self._band, self._template, self._norm = _band_and_template(sample_rate)
        import scipy.fft  # loaded with scipy.signal: no cost of its own

        self._fft = scipy.fft
        self._spectra: dict[int, Any] = {}  # FFT length -> the template's conjugate spectrum
        self._band_state = np.zeros((self._band.shape[0], 2))
        self._history = np.zeros(0)
        self._history_start = 0.0  # time of the first sample in `_history`
        self._candidate: tuple[float, float] | None = None  # (time, score) of the best recent peak
        self._pending: list[MonoBlock] = []
        self._pending_len = 0
        self._pending_start = 0.0
        self.detections: list[float] = []
        self.scores: list[float] = []

    def feed(self, block: MonoBlock, start_time: float) -> list[float]:
        """New detections (receiver-clock times of a marker's first sample) completed by this block.

        Blocks are gathered into chunks of at least CHUNK_SAMPLES before the matched filter runs: the
        filter's cost is mostly per call, and a listener pulls 10 ms blocks from every remote voice.
        Times come from sample positions, so the wait changes no measurement; `flush()` processes a tail.
        """
        if self._pending:
            expected = self._pending_start + self._pending_len / self.sample_rate
            if abs(expected - start_time) > 0.05:
                found = self._process()  # the stream jumped: finish what came before on its own
                self._history = np.zeros(0)
                self._pending_start = start_time
                self._pending.append(block)
                self._pending_len += len(block)
                return found
        else:
            self._pending_start = start_time
        self._pending.append(block)
        self._pending_len += len(block)
        if self._pending_len < CHUNK_SAMPLES:
            return []
        return self._process()

    def flush(self) -> list[float]:
        """Process whatever is waiting and emit the last candidate."""
        found = self._process() if self._pending else []
        if self._candidate is not None:
            found.append(self._emit())
        return found

    def _process(self) -> list[float]:
        block = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        start_time = self._pending_start
        self._pending, self._pending_len = [], 0
        n = len(self._template)
        if len(self._history) == 0:
            self._history_start = start_time
        else:
            # Keep timing anchored to the stream, not to jittery call times, unless the stream jumped.
            expected = self._history_start + len(self._history) / self.sample_rate
            if abs(expected - start_time) > 0.05:
                self._history = np.zeros(0)
                self._history_start = start_time
        filtered, self._band_state = self._sosfilt(self._band, block.astype(np.float64), zi=self._band_state)
        data = np.concatenate([self._history, filtered])
        found: list[float] = []
        if len(data) >= n:
            corr = self._correlate(data)
            # Sliding-window energy from a running sum: O(len) where a convolution is O(len × n).
            running = np.concatenate(([0.0], np.cumsum(np.square(data))))
            energy = running[n:] - running[:-n]
            score = corr / (self._norm * np.sqrt(np.maximum(energy, 1e-12)))
            for i in np.flatnonzero(score > self.threshold):
                found.extend(self._consider(self._history_start + i / self.sample_rate, float(score[i])))
            keep = n - 1
            consumed = len(data) - keep
            self._history = data[consumed:]
            self._history_start += consumed / self.sample_rate
            latest = self._history_start
        else:
            self._history = data
            latest = self._history_start
        if self._candidate is not None and latest - self._candidate[0] > REFRACTORY_S:
            found.append(self._emit())
        return found

    def _correlate(self, data: Any) -> Any:
        """`scipy.signal.correlate(data, template, mode="valid")`, with the template's spectrum kept per
        FFT length (chunks come in a few sizes): a quarter of scipy's time, which transforms both."""
        fft = self._fft
        size = fft.next_fast_len(len(data), real=True)
        spectrum = self._spectra.get(size)
        if spectrum is None:
            spectrum = self._spectra[size] = np.conj(fft.rfft(self._template, size))
        # Circular correlation equals the linear one at every lag whose window stays inside `data`.
        return fft.irfft(fft.rfft(data, size) * spectrum, size)[: len(data) - len(self._template) + 1]

    def _consider(self, at: float, score: float) -> list[float]:
        out: list[float] = []
        if self._candidate is not None and at - self._candidate[0] > REFRACTORY_S:
            out.append(self._emit())
        if self._candidate is None or score > self._candidate[1]:
            self._candidate = (at, score)
        return out

    def _emit(self) -> float:
        assert self._candidate is not None
        at, score = self._candidate
        self._candidate = None
        self.detections.append(at)
        self.scores.append(score)
        return at


def match_latencies(
    injections: Sequence[float], detections: Sequence[float], *, offset: float = 0.0, max_latency: float = 1.0
) -> list[float]:
    """Latency of each detected marker: detection − (its injection + offset), each injection used once.

    `offset` is receiver_clock − sender_clock. A detection with no injection in the preceding
    `max_latency` seconds (a false detection) is left out.
    """
    shifted = sorted(t + offset for t in injections)
    used: set[int] = set()
    out: list[float] = []
    for det in sorted(detections):
        i = bisect.bisect_right(shifted, det) - 1
        if i >= 0 and i not in used and det - shifted[i] <= max_latency:
            used.add(i)
            out.append(det - shifted[i])
    return out
