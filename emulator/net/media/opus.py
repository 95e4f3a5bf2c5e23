"""Our own Opus encoder settings, through PyAV's libopus (aiortc's is fixed at 96 kbps stereo, no FEC).

Voice for a headset: mono, 48 kHz, 20 ms frames (or 10: `--opus-frame`), 32 kbps by default,
`application=voip`, in-band FEC
on with an expected loss so libopus actually spends bits on it (FEC lives in the SILK layer, which the
hybrid mode used at these rates carries). FFmpeg's libopus wrapper takes `application`,
`frame_duration`, `fec`, `packet_loss`, `vbr` (complexity is the generic `compression_level`, left at
10). The FFmpeg inside PyAV 18 has no `dtx` option; an option FFmpeg does not know is left
unconsumed, so `OpusEncoder` refuses it loudly instead of silently encoding something else. Speech
gets FEC data; a pure tone usually gets none (libopus judges it not worth the bits).

Frame size: 10 ms frames halve the packetisation wait (the frame must be captured before it is
encoded) at the cost of twice the packets per second and more header overhead; they stay in the
`voip` application, since `lowdelay` (restricted low delay) is CELT-only and has no in-band FEC. The
latency floor the codec sets is the frame plus libopus's lookahead (`codec_floor_ms`).

`channels=2` is for the room's binaural mix (one stereo stream per listener): the encoder then takes
(frame, 2) blocks; the ears' level and time differences are what the mix must carry, so it wants a
higher bitrate than a voice (see `emulator/room/mix.py`).
"""

from __future__ import annotations

import fractions
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

from emulator.audio.source import SAMPLE_RATE

PcmFrame = npt.NDArray[np.float32]

TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
FRAME_CHOICES_MS = (10, 20)
# libopus's encoder lookahead in the voip and audio applications (2.5 ms of it in restricted low
# delay): the decoded audio trails the input by this much beyond the frame itself.
LOOKAHEAD_MS = 6.5


def codec_floor_ms(frame_ms: float) -> float:
    """The least mouth-to-ear an Opus path can have: one frame captured, plus the lookahead."""
    return frame_ms + LOOKAHEAD_MS


class OpusSettingsError(ValueError):
    pass


@dataclass(frozen=True)
class OpusSettings:
    bitrate: int = 32_000
    fec: bool = True
    expected_loss_percent: int = 10
    application: str = "voip"
    channels: int = 1
    frame_ms: int = 20

    def __post_init__(self) -> None:
        if self.channels not in (1, 2):
            raise OpusSettingsError(f"Opus channels must be 1 or 2, not {self.channels}")
        if not 6_000 <= self.bitrate <= 510_000:
            raise OpusSettingsError(f"Opus bitrate must be within 6000..510000 bit/s, not {self.bitrate}")
        if not 0 <= self.expected_loss_percent <= 100:
            raise OpusSettingsError(f"expected loss must be 0..100 %, not {self.expected_loss_percent}")
        if self.application not in ("voip", "audio", "lowdelay"):
            raise OpusSettingsError(f"unknown Opus application {self.application!r}")
        if self.frame_ms not in FRAME_CHOICES_MS:
            raise OpusSettingsError(f"Opus frames are 10 or 20 ms here, not {self.frame_ms}")

    @property
    def frame_samples(self) -> int:
        return SAMPLE_RATE * self.frame_ms // 1000


class OpusEncoder:
    """One frame in ((n,) mono, (n, 2) with channels=2; n = `settings.frame_samples`), one packet out.

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
            "frame_duration": str(self.settings.frame_ms),
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
        """The packet for exactly one frame; libopus emits one packet per frame."""
        n = self.settings.frame_samples
        shape = (n,) if self.settings.channels == 1 else (n, 2)
        if pcm.shape != shape:
            raise ValueError(f"Opus frames are {shape} samples, got {pcm.shape}")
        # "flt" is packed: interleaved samples in one plane.
        packed = np.ascontiguousarray(pcm, dtype=np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(packed, format="flt", layout=self._layout)
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        self._pts += n
        packets = self._codec.encode(frame)
        return b"".join(bytes(p) for p in packets)
