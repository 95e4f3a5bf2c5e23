"""HRTF filters ready for partitioned convolution, interpolated for any direction.

Interpolating raw impulse responses of neighbouring directions mixes two arrival times and notches
the spectrum (a comb filter). So, as 3D Tune-In does, the onset delay of every measured response is
taken out first: the aligned responses are interpolated, and the interpolated (fractional) delay is
put back as a linear phase on the interpolated spectrum. A measured direction with whole-sample
onsets therefore renders exactly its measured response.

The aligned responses are stored as spectra so that a direction change costs a weighted sum and a
phase multiply, not an FFT, when the filter fits one partition (the default: 10 ms blocks and at most
480 taps, which keeps 99% or more of every KEMAR response's energy).
"""

from __future__ import annotations

import logging
import math
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from emulator.audio.directions import DirectionInterpolator, IndexArray, WeightArray
from emulator.audio.hrtf_set import HrtfSet

log = logging.getLogger(__name__)

ONSET_THRESHOLD = 0.1  # -20 dB of a response's own peak marks its onset
ONSET_LEAD = 8  # samples kept before the onset: resampling pre-ringing belongs to the response
GUARD = 8  # room after the longest delayed response for the tail of a fractional delay
DEFAULT_MAX_TAPS = 480
FRACTION_STEPS = 256

SpectrumArray = npt.NDArray[np.complex64]


def onsets(hrir: npt.NDArray[np.float32]) -> npt.NDArray[np.intp]:
    """(directions, 2) whole-sample delays to take out: the onset less a short lead, never negative."""
    magnitude = np.abs(hrir)
    peak = magnitude.max(axis=-1, keepdims=True)
    first = np.argmax(magnitude >= ONSET_THRESHOLD * np.maximum(peak, 1e-30), axis=-1)
    result: npt.NDArray[np.intp] = np.maximum(first - ONSET_LEAD, 0).astype(np.intp)
    return result


class HrtfFilterBank:
    """Per-partition filter spectra for one HRTF set and one block size; shared, read-only.

    Runs on whichever thread renders (the asyncio loop's); holds no mutable state after __init__.
    """

    def __init__(self, hrtf: HrtfSet, block: int, max_taps: int = DEFAULT_MAX_TAPS) -> None:
        self.hrtf = hrtf
        self.block = block
        self.bins = block + 1
        delays = onsets(hrtf.hrir)
        lo, hi = int(delays.min()), int(delays.max())
        length = min(hrtf.taps - lo, max(max_taps - hi - GUARD, 128))
        self.partitions = max(1, math.ceil((hi + length + GUARD) / block))
        self.fft_long = 2 * self.partitions * block
        aligned = np.zeros((hrtf.directions, 2, length), dtype=np.float64)
        for m, ear in np.ndindex(hrtf.directions, 2):
            seg = hrtf.hrir[m, ear, delays[m, ear] : delays[m, ear] + length]
            aligned[m, ear, : len(seg)] = seg
        kept = np.sum(aligned**2, axis=-1) / np.maximum(
            np.sum(hrtf.hrir.astype(np.float64) ** 2, axis=-1), 1e-30
        )
        log.debug(
            "%s: %d-tap aligned filters, delays %d..%d, %d partition(s) of %d, energy kept >= %.2f%%",
            hrtf.name, length, lo, hi, self.partitions, block, 100 * float(kept.min()),
        )  # fmt: skip
        if kept.min() < 0.95:
            log.warning("%s: filters keep only %.1f%% of some responses' energy", hrtf.name, 100 * kept.min())
        spectra = np.fft.rfft(aligned, n=self.fft_long, axis=-1).astype(np.complex64)
        self._spectra = spectra.reshape(hrtf.directions, -1)  # rows gather as contiguous copies
        self._delays = delays.astype(np.float64)
        # e^{-jωd} = whole[floor d] * fraction[round(frac(d) * STEPS)]: two row gathers instead of a
        # sine and cosine per bin. Whole-sample delays stay exact; a fraction is off by at most
        # 1/(2 STEPS) of a sample, far below what an ear or the measured set resolves.
        omega = 2.0 * np.pi * np.arange(self.fft_long // 2 + 1) / self.fft_long
        self._whole = np.exp(-1j * np.outer(np.arange(hi + 2), omega)).astype(np.complex64)
        self._fraction = np.exp(-1j * np.outer(np.arange(FRACTION_STEPS + 1) / FRACTION_STEPS, omega)).astype(
            np.complex64
        )
        self.interpolator = DirectionInterpolator(hrtf.unit_vectors())

    def filters_for(
        self, units: npt.NDArray[np.float64], hint: IndexArray | None = None
    ) -> tuple[SpectrumArray, IndexArray]:
        """(n, 2, partitions, block + 1) spectra for (n, 3) unit head-frame directions, and the faces
        they were found in (pass them back as `hint` next time)."""
        faces, w = self.interpolator.locate(units, hint)
        return self.filters(self.interpolator.corners(faces), w), faces

    def filters(self, idx: IndexArray, w: WeightArray) -> SpectrumArray:
        n = len(idx)
        # (n, 1, 3) @ (n, 3, 2 * bins): the weighted sum of three spectra as one batched matmul.
        spectrum: SpectrumArray = np.matmul(w.astype(np.complex64)[:, None, :], self._spectra[idx]).reshape(
            n, 2, -1
        )
        delay = np.einsum("nj,nje->ne", w, self._delays[idx])  # (n, 2) fractional samples
        whole = np.floor(delay).astype(np.intp)
        steps = np.rint((delay - whole) * FRACTION_STEPS).astype(np.intp)
        spectrum *= self._whole[whole]
        spectrum *= self._fraction[steps]
        if self.partitions == 1:
            return spectrum.reshape(n, 2, 1, self.bins)
        impulse = np.fft.irfft(spectrum, n=self.fft_long, axis=-1)[..., : self.partitions * self.block]
        parts = impulse.reshape(n, 2, self.partitions, self.block)
        return np.fft.rfft(parts, n=2 * self.block, axis=-1).astype(np.complex64)


@lru_cache(maxsize=8)
def filter_bank(hrtf: HrtfSet, block: int, max_taps: int = DEFAULT_MAX_TAPS) -> HrtfFilterBank:
    """One bank per (set, block size): a room's renderer per listener shares it."""
    return HrtfFilterBank(hrtf, block, max_taps)
