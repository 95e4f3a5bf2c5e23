"""The binaural renderer: every source, placed by its position and the listener's pose, to two ears.

One renderer per listener. The headset uses one for the voices it receives (client-side mode); the
room keeps one per listener for its binaural mix (server-side mode). Both call it the same way:
`set_listener`, `set_source`/`remove_source` when the state stream says so, and `render` once per
block with each source's mono samples.

How (the technique OpenAL Soft and 3D Tune-In use): uniformly partitioned overlap-save convolution,
batched over all sources with numpy's rfft. The sum over sources happens in the frequency domain, so
the inverse FFTs do not grow with the number of sources. When a source's direction changes, the block
is rendered with the old and the new filter and crossfaded with a raised cosine; because both sums
share the same input spectra, the crossfade costs one extra multiply-add over the changed sources
and one extra inverse FFT, never a click. Distance gain ramps linearly across each block.

Threads: everything here runs on the thread that owns the renderer (the asyncio loop); it is not
thread-safe and never touches a sound card.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Hashable, Mapping

import numpy as np
import numpy.typing as npt

from emulator.audio.filters import DEFAULT_MAX_TAPS, HrtfFilterBank, filter_bank
from emulator.audio.geometry import distance_gain, head_frame_points, unit_directions
from emulator.audio.hrtf import HrtfSet, load_kemar
from emulator.audio.source import SAMPLE_RATE
from emulator.model.pose import Pose, Vec3
from emulator.model.profiles import DeviceProfile

log = logging.getLogger(__name__)

MAX_BLOCK = SAMPLE_RATE // 100  # 10 ms: the longest block a turning head may wait for
DEFAULT_MIN_DISTANCE_M = 0.3
DEFAULT_ROLLOFF = 1.0
# A direction change smaller than this keeps the current filter: tracking jitter costs nothing.
DEFAULT_MIN_TURN_DEG = 0.1

StereoBlock = npt.NDArray[np.float32]


class BinauralRenderer:
    """Renders mono sources to a stereo (block, 2) float32 mix for one listener."""

    # Arrays with one row per source, in the order of `_ids`.
    _PER_SOURCE = (
        "_positions", "_history", "_spectra", "_filters", "_filter_units", "_has_filter", "_gains", "_input",
        "_faces",
    )  # fmt: skip

    def __init__(
        self,
        hrtf: HrtfSet | None = None,
        block: int = MAX_BLOCK,
        *,
        min_distance_m: float = DEFAULT_MIN_DISTANCE_M,
        rolloff: float = DEFAULT_ROLLOFF,
        max_taps: int = DEFAULT_MAX_TAPS,
        min_turn_deg: float = DEFAULT_MIN_TURN_DEG,
    ) -> None:
        if not 1 <= block <= MAX_BLOCK:
            raise ValueError(f"block must be 1..{MAX_BLOCK} samples (10 ms at 48 kHz), got {block}")
        if not (min_distance_m > 0 and rolloff >= 0):
            raise ValueError(f"need min_distance_m > 0 and rolloff >= 0, got {min_distance_m}, {rolloff}")
        self.hrtf = hrtf or load_kemar()
        self.block = block
        self.min_distance_m = min_distance_m
        self.rolloff = rolloff
        self._bank: HrtfFilterBank = filter_bank(self.hrtf, block, max_taps)
        self._cos_turn = math.cos(math.radians(min_turn_deg))
        self._listener = Pose()
        self._ids: list[Hashable] = []
        self._slot: dict[Hashable, int] = {}
        p, k = self._bank.partitions, self._bank.bins
        self._positions = np.zeros((0, 3))
        self._history = np.zeros((0, 2 * block), dtype=np.float32)  # previous + current input block
        self._spectra = np.zeros((0, p, k), dtype=np.complex64)  # frequency-domain delay line
        self._filters = np.zeros((0, 2, p, k), dtype=np.complex64)
        self._filter_units = np.zeros((0, 3))
        self._has_filter = np.zeros(0, dtype=bool)
        self._gains = np.zeros(0)
        ramp = (np.arange(block, dtype=np.float64) + 1.0) / block
        self._gain_ramp = ramp.astype(np.float32)
        self._fade_out = (0.5 + 0.5 * np.cos(np.pi * ramp)).astype(np.float32)
        self._input = np.zeros((0, block), dtype=np.float32)
        self._faces = np.zeros(0, dtype=np.intp)  # where each filter was found: the next search starts there

    @classmethod
    def for_profile(
        cls, profile: DeviceProfile, hrtf: HrtfSet | None = None, block: int = MAX_BLOCK
    ) -> BinauralRenderer:
        """A renderer with the device's distance law (rolloff, minimum distance)."""
        return cls(hrtf, block, min_distance_m=profile.min_distance_m, rolloff=profile.rolloff)

    # --- scene --------------------------------------------------------------------------------

    @property
    def sources(self) -> tuple[Hashable, ...]:
        return tuple(self._ids)

    @property
    def partitions(self) -> int:
        return self._bank.partitions

    def set_listener(self, pose: Pose) -> None:
        self._listener = pose

    def set_source(self, source_id: Hashable, position: Vec3) -> None:
        """Add a source or move it; a new source starts at its first rendered block."""
        if not position.is_finite():
            raise ValueError(f"source {source_id!r}: position {position.as_tuple()} is not finite")
        slot = self._slot.get(source_id)
        if slot is None:
            slot = self._add_slot(source_id)
        self._positions[slot] = position.as_tuple()

    def remove_source(self, source_id: Hashable) -> None:
        """Forget a source at once (its filter tail is dropped); unknown ids are ignored."""
        slot = self._slot.pop(source_id, None)
        if slot is None:
            return
        keep = np.arange(len(self._ids)) != slot
        del self._ids[slot]
        self._slot = {sid: i for i, sid in enumerate(self._ids)}
        for name in self._PER_SOURCE:
            setattr(self, name, getattr(self, name)[keep])

    def _add_slot(self, source_id: Hashable) -> int:
        slot = len(self._ids)
        self._ids.append(source_id)
        self._slot[source_id] = slot

        def grow(array: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
            return np.concatenate([array, np.zeros((1, *array.shape[1:]), dtype=array.dtype)])

        for name in self._PER_SOURCE:
            setattr(self, name, grow(getattr(self, name)))
        self._gains[slot] = -1.0  # no gain yet: its first block starts at the target gain
        self._faces[slot] = -1
        return slot

    # --- rendering ----------------------------------------------------------------------------

    def _target_gains(self, distances: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return distance_gain(distances, self.min_distance_m, self.rolloff)

    def render(self, blocks: Mapping[Hashable, npt.ArrayLike]) -> StereoBlock:
        """The next (block, 2) stereo block; a source missing from `blocks` plays silence this block."""
        out = np.zeros((self.block, 2), dtype=np.float32)
        n = len(self._ids)
        if n == 0:
            return out
        block = self.block
        self._input.fill(0.0)
        for source_id, samples in blocks.items():
            slot = self._slot.get(source_id)
            if slot is None:
                continue
            if np.shape(samples) != (block,):
                raise ValueError(
                    f"source {source_id!r}: block of shape {np.shape(samples)}, expected {block}"
                )
            self._input[slot] = samples

        units, distance = unit_directions(head_frame_points(self._listener, self._positions))
        gains = self._target_gains(distance)
        start = np.where(self._gains < 0, gains, self._gains).astype(np.float32)[:, None]
        self._input *= start + (gains.astype(np.float32)[:, None] - start) * self._gain_ramp
        self._gains = gains

        self._history[:, :block] = self._history[:, block:]
        self._history[:, block:] = self._input
        if self._spectra.shape[1] > 1:
            self._spectra[:, 1:] = self._spectra[:, :-1]
        self._spectra[:, 0] = np.fft.rfft(self._history, axis=-1)

        difference = self._update_filters(units)
        mix = np.sum(self._spectra[:, None] * self._filters, axis=(0, 2))  # (2, bins)
        out_t = np.fft.irfft(mix, n=2 * block, axis=-1)[:, block:]
        if difference is not None:
            out_t += np.fft.irfft(difference, n=2 * block, axis=-1)[:, block:] * self._fade_out
        out[:] = out_t.T
        return out

    def _update_filters(self, units: npt.NDArray[np.float64]) -> npt.NDArray[np.complex64] | None:
        """New filters for sources that turned; returns sum over them of X * (old - new), or None."""
        turned = ~self._has_filter | (np.einsum("ij,ij->i", units, self._filter_units) < self._cos_turn)
        changed = np.flatnonzero(turned)
        if not len(changed):
            return None
        # Everyone moving is the common case (a turning head): slices then avoid gather copies.
        rows: slice | npt.NDArray[np.intp] = slice(None) if len(changed) == len(turned) else changed
        new, self._faces[rows] = self._bank.filters_for(units[rows], self._faces[rows])
        had = self._has_filter[rows]
        # A new source has no old filter and no past input: it starts with its own filter.
        if had.all():
            old, spectra = self._filters[rows] - new, self._spectra[rows]
        else:
            keep = changed[had]
            old, spectra = self._filters[keep] - new[had], self._spectra[keep]
        self._filters[rows] = new
        self._filter_units[rows] = units[rows]
        self._has_filter[rows] = True
        if not len(old):
            return None
        difference: npt.NDArray[np.complex64] = np.sum(spectra[:, None] * old, axis=(0, 2))
        return difference
