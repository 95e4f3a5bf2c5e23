"""Opus decoding with loss concealment and in-band FEC, straight from libopus through ctypes.

Why not PyAV: FFmpeg's libopus decoder always passes `decode_fec=0` and treats an empty packet as the
end of the stream, so neither FEC recovery nor packet-loss concealment is reachable through it. The
playout buffer needs both, so this module binds the five libopus calls it uses: the system's
(Debian `libopus0`), else the copy inside PyAV's wheel (`av.libs/`), so a pip install needs no system
libopus.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import importlib.util
from pathlib import Path

import numpy as np

from emulator.audio.source import FRAME_SAMPLES, SAMPLE_RATE, MonoBlock

OPUS_OK = 0
MAX_PACKET_SAMPLES = 5760  # 120 ms at 48 kHz: the longest an Opus packet can be


class OpusDecodeError(RuntimeError):
    pass


def pyav_libopus() -> Path | None:
    """The libopus PyAV's manylinux wheel carries (auditwheel puts it in `av.libs/` beside `av/`)."""
    spec = importlib.util.find_spec("av")
    if spec is None or spec.origin is None:
        return None
    package = Path(spec.origin).parent
    for folder in (package.parent / "av.libs", package):
        found = sorted(folder.glob("libopus*.so*"))
        if found:
            return found[0]
    return None


def library_candidates() -> list[str]:
    """Where libopus is looked for, in order: the system's, PyAV's, then the plain soname."""
    system = ctypes.util.find_library("opus")
    bundled = pyav_libopus()
    return [name for name in (system, str(bundled) if bundled else None, "libopus.so.0") if name]


@functools.cache
def _lib() -> ctypes.CDLL:
    errors = []
    for name in library_candidates():
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError as exc:
            errors.append(str(exc))
    else:
        raise OpusDecodeError(
            f"libopus not found ({'; '.join(errors)}); install the Debian package libopus0"
        ) from None
    lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    lib.opus_decoder_create.restype = ctypes.c_void_p
    lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
    lib.opus_decoder_destroy.restype = None
    lib.opus_decode_float.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int32,
        ctypes.POINTER(ctypes.c_float),
        ctypes.c_int,
        ctypes.c_int,
    ]
    lib.opus_decode_float.restype = ctypes.c_int
    lib.opus_packet_get_nb_samples.argtypes = [ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32]
    lib.opus_packet_get_nb_samples.restype = ctypes.c_int
    lib.opus_strerror.argtypes = [ctypes.c_int]
    lib.opus_strerror.restype = ctypes.c_char_p
    return lib


def packet_samples(payload: bytes) -> int | None:
    """Samples per channel at 48 kHz that an Opus packet holds (its TOC and frame count), or None."""
    if not payload:
        return None
    n = int(_lib().opus_packet_get_nb_samples(payload, len(payload), SAMPLE_RATE))
    return n if 0 < n <= MAX_PACKET_SAMPLES else None


class OpusDecoder:
    """48 kHz; every call returns exactly one frame of `frame_samples` (the sender's frame size:
    960 for 20 ms, 480 for 10 ms): (n,) mono, or (n, 2) with `channels=2` (the room's binaural mix).
    Owned by one thread (the asyncio loop)."""

    def __init__(self, channels: int = 1, frame_samples: int = FRAME_SAMPLES) -> None:
        if channels not in (1, 2):
            raise ValueError(f"Opus decodes 1 or 2 channels, not {channels}")
        err = ctypes.c_int(0)
        self._lib = _lib()
        self.channels = channels
        self._state = self._lib.opus_decoder_create(SAMPLE_RATE, channels, ctypes.byref(err))
        if err.value != OPUS_OK or not self._state:
            raise OpusDecodeError(f"opus_decoder_create failed: {self._error(err.value)}")
        # Room for the longest packet, so a packet longer than the frame decodes (and is cut) cleanly.
        self._out = np.zeros((MAX_PACKET_SAMPLES, channels), dtype=np.float32)
        self._out_ptr = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        self.set_frame_samples(frame_samples)

    def set_frame_samples(self, frame_samples: int) -> None:
        """The frame size from now on (what a concealed or FEC-rebuilt frame lasts)."""
        if frame_samples <= 0 or frame_samples % 120 or frame_samples > MAX_PACKET_SAMPLES:
            raise ValueError(f"an Opus frame is 2.5 ms steps up to 120 ms, not {frame_samples} samples")
        self.frame_samples = frame_samples
        self._shape = (frame_samples,) if self.channels == 1 else (frame_samples, self.channels)

    def _error(self, code: int) -> str:
        return (self._lib.opus_strerror(code) or b"?").decode()

    def _run(self, payload: bytes | None, fec: bool) -> MonoBlock:
        if not self._state:
            raise OpusDecodeError("decoder is closed")
        # Concealment and FEC make exactly the asked length (that of the frame lost); a decode, the packet's.
        room = MAX_PACKET_SAMPLES if payload and not fec else self.frame_samples
        n = self._lib.opus_decode_float(
            self._state, payload, len(payload) if payload else 0, self._out_ptr, room, int(fec)
        )
        if n < 0:
            raise OpusDecodeError(self._error(n))
        frame = self.frame_samples
        out = np.zeros((frame, self.channels), dtype=np.float32)
        out[: min(n, frame)] = self._out[: min(n, frame)]
        return out.reshape(self._shape)

    def decode(self, payload: bytes) -> MonoBlock:
        """The frame carried by `payload`; a corrupt packet raises OpusDecodeError (the caller conceals)."""
        if not payload:
            raise OpusDecodeError("empty Opus packet")
        return self._run(payload, fec=False)

    def conceal(self) -> MonoBlock:
        """libopus's packet-loss concealment for one missing frame (it fades out over a long gap)."""
        return self._run(None, fec=False)

    def recover(self, next_payload: bytes) -> MonoBlock:
        """The missing frame rebuilt from the FEC data inside the *next* packet (PLC if it has none)."""
        return self._run(next_payload, fec=True)

    def close(self) -> None:
        if self._state:
            self._lib.opus_decoder_destroy(self._state)
            self._state = None

    def __del__(self) -> None:
        self.close()
