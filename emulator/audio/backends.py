"""Where the binaural mix goes and where the microphone comes from, when it is not a sound card.

Pluggable the way pyglet's media drivers are: every output follows `AudioOutput`, every input is an
`AudioSource`, and the silent ones stand in when there is no device, so headless runs and CI need no
sound card. `WavOutput` records the mix (`--output wav:FILE`). All methods here run on the asyncio
loop's thread.
"""

from __future__ import annotations

import logging
import wave
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from emulator.audio.source import SAMPLE_RATE

log = logging.getLogger(__name__)

StereoFrames = npt.NDArray[np.float32]


class AudioOutput(Protocol):
    """Stereo float32 frames at 48 kHz, shape (frames, 2), in [-1, 1]. Called on the loop's thread."""

    name: str
    sample_rate: int

    def write(self, frames: StereoFrames) -> int:
        """Queue frames for playing; returns how many were taken (fewer when the queue is full)."""
        ...

    def queued_frames(self) -> int:
        """Frames written but not yet played: what a pacing loop keeps near its target."""
        ...

    def close(self) -> None:
        """Stop and release; safe to call twice."""
        ...


def check_stereo(frames: npt.ArrayLike) -> StereoFrames:
    array = np.asarray(frames, dtype=np.float32)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"an output takes (frames, 2) stereo blocks, got shape {array.shape}")
    return array


class SilentOutput:
    """Plays nothing and takes everything: the output of a machine without a sound card."""

    sample_rate = SAMPLE_RATE

    def __init__(self, name: str = "silent") -> None:
        self.name = name
        self.frames_written = 0

    def write(self, frames: StereoFrames) -> int:
        count = len(check_stereo(frames))
        self.frames_written += count
        return count

    def queued_frames(self) -> int:
        return 0

    def close(self) -> None:
        pass


class WavOutput:
    """Records the stereo mix to a 16-bit 48 kHz WAV file; the header is finished by `close()`.

    Writes go straight to a buffered file on the loop's thread: 1.9 kB per 10 ms is far below what
    would stall the loop, and it keeps the file complete up to the last block if the program stops.
    """

    sample_rate = SAMPLE_RATE

    def __init__(self, path: Path) -> None:
        self.name = f"wav:{path}"
        self.path = path
        self.frames_written = 0
        self.clipped_samples = 0
        # Opened first, so a bad path fails before wave holds it; both are closed in close().
        self._handle = path.open("wb")
        self._file: wave.Wave_write | None = wave.open(self._handle, "wb")  # noqa: SIM115
        self._file.setnchannels(2)
        self._file.setsampwidth(2)
        self._file.setframerate(SAMPLE_RATE)

    def write(self, frames: StereoFrames) -> int:
        if self._file is None:
            raise ValueError(f"{self.name} is closed")
        array = check_stereo(frames)
        over = np.abs(array) > 1.0
        self.clipped_samples += int(np.count_nonzero(over))
        pcm = np.clip(array, -1.0, 1.0) * 32767.0
        self._file.writeframes(np.rint(pcm).astype("<i2").tobytes())
        self.frames_written += len(array)
        return len(array)

    def queued_frames(self) -> int:
        return 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._handle.close()
            if self.clipped_samples:
                log.warning("%s: %d samples clipped", self.name, self.clipped_samples)
