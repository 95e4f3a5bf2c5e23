"""A single-producer, single-consumer ring of float32 frames between the loop and the sound card.

Lock-free by construction: the producer alone advances `_written`, the consumer alone advances
`_read`, and each only reads the other's counter. A counter is advanced after the samples are
copied, and CPython's GIL makes the copy visible before the counter and the counter's update atomic,
so the consumer never sees a frame that is not there yet. (A free-threaded interpreter would need a
memory barrier here; this project runs on the GIL build.)

Which thread is which depends on the direction: for playback the asyncio loop produces and the
PortAudio callback consumes; for the microphone the callback produces and the loop consumes. Both
`write` and `read_into` copy into or out of the preallocated buffer and allocate no sample memory,
take no lock and never wait, so they are safe in the audio callback.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class SpscRing:
    """`capacity` frames of `channels` float32 samples."""

    def __init__(self, capacity: int, channels: int) -> None:
        if capacity < 1 or channels < 1:
            raise ValueError(f"ring needs capacity and channels >= 1, got {capacity}, {channels}")
        self.capacity = capacity
        self.channels = channels
        self._buffer = np.zeros((capacity, channels), dtype=np.float32)
        self._written = 0  # frames ever written; only the producer changes it
        self._read = 0  # frames ever read or discarded; only the consumer changes it

    def total_written(self) -> int:
        """Frames ever written: a consumer watching it can tell a stalled producer."""
        return self._written

    def readable(self) -> int:
        return self._written - self._read

    def writable(self) -> int:
        return self.capacity - (self._written - self._read)

    def write(self, frames: npt.NDArray[np.float32]) -> int:
        """Producer: copy as many frames as fit; returns how many were taken."""
        count = min(len(frames), self.writable())
        if count <= 0:
            return 0
        start = self._written % self.capacity
        first = min(count, self.capacity - start)
        self._buffer[start : start + first] = frames[:first]
        if count > first:
            self._buffer[: count - first] = frames[first:count]
        self._written += count
        return count

    def read_into(self, out: npt.NDArray[np.float32]) -> int:
        """Consumer: fill the front of `out` with the oldest frames; returns how many it got."""
        count = min(len(out), self.readable())
        if count <= 0:
            return 0
        start = self._read % self.capacity
        first = min(count, self.capacity - start)
        out[:first] = self._buffer[start : start + first]
        if count > first:
            out[first:count] = self._buffer[: count - first]
        self._read += count
        return count

    def discard(self, frames: int) -> int:
        """Consumer: drop up to `frames` of the oldest frames (to cap latency); returns how many."""
        count = max(0, min(frames, self.readable()))
        self._read += count
        return count
