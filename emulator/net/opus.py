"""Our own Opus encoder settings, through PyAV's libopus (aiortc's is fixed at 96 kbps stereo, no FEC).

Voice for a headset: mono, 48 kHz, 20 ms frames, 32 kbps by default, `application=voip`, in-band FEC
on with an expected loss so libopus actually spends bits on it (FEC lives in the SILK layer, which the
hybrid mode used at these rates carries). FFmpeg's libopus wrapper takes `application`,
`frame_duration`, `fec`, `packet_loss`, `vbr` (complexity is the generic `compression_level`, left at
10). The FFmpeg inside PyAV 18 has no `dtx` option; an option FFmpeg does not know is left
unconsumed, so `OpusEncoder` refuses it loudly instead of silently encoding something else. Speech
gets FEC data; a pure tone usually gets none (libopus judges it not worth the bits).

`channels=2` is for the room's binaural mix (one stereo stream per listener): the encoder then takes
(960, 2) frames; the ears' level and time differences are what the mix must carry, so it wants a
higher bitrate than a voice (see `emulator/room/mix.py`).
"""

from __future__ import annotations

import fractions
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

from emulator.audio.source import FRAME_SAMPLES, SAMPLE_RATE

PcmFrame = npt.NDArray[np.float32]

TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)


class OpusSettingsError(ValueError):
    pass


@dataclass(frozen=True)
class OpusSettings:
    bitrate: int = 32_000
    fec: bool = True
    expected_loss_percent: int = 10
    application: str = "voip"
    channels: int = 1

    def __post_init__(self) -> None:
        if self.channels not in (1, 2):
            raise OpusSettingsError(f"Opus channels must be 1 or 2, not {self.channels}")
        if not 6_000 <= self.bitrate <= 510_000:
            raise OpusSettingsError(f"Opus bitrate must be within 6000..510000 bit/s, not {self.bitrate}")
        if not 0 <= self.expected_loss_percent <= 100:
            raise OpusSettingsError(f"expected loss must be 0..100 %, not {self.expected_loss_percent}")
        if self.application not in ("voip", "audio", "lowdelay"):
            raise OpusSettingsError(f"unknown Opus application {self.application!r}")


class OpusEncoder:
    """One 20 ms frame in ((960,) mono, (960, 2) with channels=2), one Opus packet out.

    Not thread-safe: one owner calls `encode`.
    """

    def __init__(self, settings: OpusSettings | None = None) -> None:
        self.settings = settings or OpusSettings()
        codec = av.CodecContext.create("libopus", "w")
        codec.sample_rate = SAMPLE_RATE
        self._layout = "stereo" if self.settings.channels == 2 else "mono"
        codec.layout = self._layout
        codec.format = "flt"
        codec.bit_rate = self.settings.bitrate
        codec.time_base = TIME_BASE
        options = {
            "application": self.settings.application,
            "frame_duration": str(1000 * FRAME_SAMPLES // SAMPLE_RATE),
            "fec": "1" if self.settings.fec else "0",
            "packet_loss": str(self.settings.expected_loss_percent),
            "vbr": "on",
        }
        codec.options = dict(options)
        codec.open()
        unused = set(codec.options) & set(options)
        if unused:
            raise OpusSettingsError(f"this FFmpeg's libopus ignores option(s) {sorted(unused)}")
        self._codec = codec
        self._pts = 0

    def encode(self, pcm: PcmFrame) -> bytes:
        """The packet for exactly one frame (960 samples); libopus emits one packet per frame."""
        shape = (FRAME_SAMPLES,) if self.settings.channels == 1 else (FRAME_SAMPLES, 2)
        if pcm.shape != shape:
            raise ValueError(f"Opus frames are {shape} samples, got {pcm.shape}")
        # "flt" is packed: interleaved samples in one plane.
        packed = np.ascontiguousarray(pcm, dtype=np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(packed, format="flt", layout=self._layout)
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        self._pts += FRAME_SAMPLES
        packets = self._codec.encode(frame)
        return b"".join(bytes(p) for p in packets)
