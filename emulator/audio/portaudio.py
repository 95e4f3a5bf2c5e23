"""Sound cards through sounddevice (PortAudio): stereo playback of the mix and the microphone.

Two threads meet here. PortAudio calls `_callback` on its own real-time thread; it only copies
between the stream's buffer and a preallocated `SpscRing` and bumps integer counters: no sample
memory is allocated, no lock taken, no logging, no I/O. Everything else (`write`, `read`,
`queued_frames`, `close`) runs on the asyncio loop's thread, which fills or drains the same ring.
sounddevice is imported by `emulator.audio.devices.sounddevice_module()` only when a card is opened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import numpy as np

from emulator.audio.backends import StereoFrames, check_stereo
from emulator.audio.ring import SpscRing
from emulator.audio.source import SAMPLE_RATE, MonoBlock

log = logging.getLogger(__name__)

DEFAULT_BLOCK = SAMPLE_RATE // 100  # the device asks for 10 ms at a time, the renderer's block
DEFAULT_BUFFER_MS = 250  # ring size: how far the loop may run ahead of (or fall behind) the card
DEFAULT_INPUT_LATENCY_MS = 100  # a microphone backlog beyond this is dropped, oldest first
# 40 ms of capture buffering rides out a busy loop through ALSA's PulseAudio plugin and on hardware.
# Playback keeps "low": the voice should not wait.
INPUT_DEVICE_LATENCY_S = 0.04
# A capture stream that stops delivering for INPUT_STALL_S is reopened (a device that went away and
# came back, a sound server restarted under us). A new stream gets INPUT_START_GRACE_S first: a
# sound server may take a while before the first block (a PulseAudio source that idled with long
# blocks, such as a null sink's monitor, delivers only when its current 2 s block ends), and
# reopening it then would only restart the wait.
INPUT_STALL_S = 0.5
INPUT_START_GRACE_S = 3.0


class _Card:
    """What both directions share: a name, a ring, one stream, its counters and `close()`."""

    sample_rate = SAMPLE_RATE

    def __init__(
        self, sd: Any, device: int | None, name: str, channels: int, block: int, buffer_ms: int
    ) -> None:
        self.name = name
        self.underrun_frames = 0
        self.overrun_frames = 0
        self._sd, self._device, self._block = sd, device, block
        self._ring = SpscRing(SAMPLE_RATE * buffer_ms // 1000, channels)
        self._stream: Any = None

    def close(self) -> None:
        """Stop the stream (PortAudio joins its callback thread); safe to call twice."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            stream.stop()
            stream.close()
            if self.underrun_frames or self.overrun_frames:
                log.info(
                    "%s: %d frames of underrun, %d of overrun",
                    self.name,
                    self.underrun_frames,
                    self.overrun_frames,
                )


class PortAudioOutput(_Card):
    """Plays (frames, 2) float32 blocks on an output device.

    `underrun_frames`: silence the card played because the loop was late (counted in the callback);
    `overrun_frames`: frames the loop wrote into a full ring and lost (counted on the loop).
    """

    def __init__(
        self,
        sd: Any,
        device: int | None,
        name: str,
        block: int = DEFAULT_BLOCK,
        buffer_ms: int = DEFAULT_BUFFER_MS,
    ) -> None:
        super().__init__(sd, device, name, 2, block, buffer_ms)
        self._stream = sd.OutputStream(
            device=self._device,
            samplerate=SAMPLE_RATE,
            channels=2,
            dtype="float32",
            blocksize=self._block,
            latency="low",
            callback=self._callback,
        )
        self._stream.start()

    def _callback(self, outdata: Any, frames: int, _time: Any, _status: Any) -> None:
        # PortAudio's thread: copy only.
        got = self._ring.read_into(outdata)
        if got < frames:
            outdata[got:] = 0.0
            self.underrun_frames += frames - got

    def write(self, frames: StereoFrames) -> int:
        array = check_stereo(frames)
        taken = self._ring.write(array)
        self.overrun_frames += len(array) - taken
        return taken

    def queued_frames(self) -> int:
        return self._ring.readable()

    async def drain(self, below_frames: int = 0, poll_s: float = 0.005) -> None:
        """Wait on the loop until at most `below_frames` are still queued (the card polls, not signals)."""
        while self._ring.readable() > below_frames and self._stream is not None and self._stream.active:
            await asyncio.sleep(poll_s)


class PortAudioInput(_Card):
    """The microphone as an `AudioSource`: mono float32 at 48 kHz, pulled by the loop.

    `overrun_frames`: frames the card delivered into a full ring (callback); `underrun_frames`:
    silence `read` returned because the card was behind (loop); `dropped_frames`: backlog dropped to
    keep latency bounded (loop); `restarts`: stalled capture streams reopened (loop).
    """

    def __init__(
        self,
        sd: Any,
        device: int | None,
        name: str,
        block: int = DEFAULT_BLOCK,
        buffer_ms: int = DEFAULT_BUFFER_MS,
        max_latency_ms: int = DEFAULT_INPUT_LATENCY_MS,
    ) -> None:
        super().__init__(sd, device, name, 1, block, buffer_ms)
        self.dropped_frames = 0
        self.restarts = 0
        self._max_backlog = SAMPLE_RATE * max_latency_ms // 1000
        self._open()

    def _open(self) -> None:
        self._stream = self._sd.InputStream(
            device=self._device,
            samplerate=SAMPLE_RATE,
            channels=1,
            dtype="float32",
            blocksize=self._block,
            latency=INPUT_DEVICE_LATENCY_S,
            callback=self._callback,
        )
        self._stream.start()
        self._seen_written = self._ring.total_written()
        self._last_progress = time.monotonic()
        self._delivering = False

    def _watch(self) -> None:
        """Loop thread: reopen the stream when the card has stopped delivering."""
        written = self._ring.total_written()
        now = time.monotonic()
        if written != self._seen_written:
            self._seen_written, self._last_progress, self._delivering = written, now, True
            return
        patience = INPUT_STALL_S if self._delivering else INPUT_START_GRACE_S
        if now - self._last_progress > patience and self._stream is not None:
            log.warning("%s: capture stalled for %.2f s, reopening it", self.name, now - self._last_progress)
            self.restarts += 1
            stream, self._stream = self._stream, None
            stream.abort()
            stream.close()
            self._open()

    def _callback(self, indata: Any, frames: int, _time: Any, _status: Any) -> None:
        # PortAudio's thread: copy only.
        taken = self._ring.write(indata)
        if taken < frames:
            self.overrun_frames += frames - taken

    def read(self, frames: int) -> MonoBlock:
        """Exactly `frames` samples; silence where the card has not delivered yet (never waits)."""
        self._watch()
        backlog = self._ring.readable() - frames - self._max_backlog
        if backlog > 0:
            self.dropped_frames += self._ring.discard(backlog)
        out = np.zeros((frames, 1), dtype=np.float32)
        got = self._ring.read_into(out)
        self.underrun_frames += frames - got
        return out[:, 0]
