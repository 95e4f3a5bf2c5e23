"""Speech from espeak-ng's C library, with the onset of every phoneme in the audio it produced.

Why the library through ctypes and not the `espeak-ng` program: the program prints phonemes (`-x`,
`--ipa`) but never their times, and `--pho` prints durations only for MBROLA voices (it prints nothing
for espeak's own voices, checked with 1.51). The library's synthesis callback, initialised with
`espeakINITIALIZE_PHONEME_EVENTS`, reports a PHONEME event per phoneme whose `sample` field is the
position in the very audio it hands back, so the viseme timeline cannot drift from the sound. With
`espeakINITIALIZE_PHONEME_IPA` the names are IPA, which `emulator.model.viseme_timeline` maps for any
language.

The library keeps global state (one voice, one callback), so one process-wide engine serialises all
calls with a lock; a call costs about 2 ms per second of speech (BENCHMARKS.md), so nobody waits long.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emulator.audio.source import SAMPLE_RATE, MonoBlock
from emulator.model.viseme_timeline import VisemeTimeline

log = logging.getLogger(__name__)

INSTALL_HINT = "install the Debian package espeak-ng (apt-get install espeak-ng; it brings libespeak-ng1)"
LIBRARY_ENV = "HEADSET_EMULATOR_ESPEAK_LIBRARY"
"""Set to a library path to use another espeak-ng build than the system's."""

DEFAULT_VOICE = "en-us"
RATE_RANGE = (80, 450)  # words per minute, espeak's own limits

# speak_lib.h, API revision 12 (espeak-ng 1.49 … 1.52)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_PHONEME_IPA = 0x0002
_INITIALIZE_DONT_EXIT = 0x8000  # without it a missing data directory makes the library call exit()
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_PARAM_RATE = 1
_PARAM_PITCH = 3
_EE_OK = 0


class SpeechError(Exception):
    """Speech cannot be made: the message says what to fix (a voice name, a parameter, the install)."""


class EspeakMissing(SpeechError):
    """espeak-ng is not installed; the message names the package."""


class _EventId(ctypes.Union):
    _fields_ = (("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8))


class _Event(ctypes.Structure):
    _fields_ = (
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    )


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class Utterance:
    """One synthesized text: 48 kHz mono audio, the phoneme onsets in it and the viseme timeline.

    Times are seconds from the first sample of `samples`.
    """

    text: str
    samples: MonoBlock
    phonemes: tuple[tuple[float, str], ...] = ()
    visemes: VisemeTimeline = field(default_factory=VisemeTimeline)

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def _find_library(explicit: str | None) -> str:
    name = explicit or os.environ.get(LIBRARY_ENV) or ctypes.util.find_library("espeak-ng")
    return name or "libespeak-ng.so.1"


class Espeak:
    """The espeak-ng library, loaded once per process. Thread-safe: calls are serialised."""

    _instances: dict[str, Espeak] = {}  # noqa: RUF012 - one per library path, process-wide on purpose
    _instances_lock = threading.Lock()

    @classmethod
    def shared(cls, library: str | None = None) -> Espeak:
        """The process's engine for `library` (default: the system's libespeak-ng)."""
        path = _find_library(library)
        with cls._instances_lock:
            engine = cls._instances.get(path)
            if engine is None:
                engine = cls._instances[path] = cls(path)
            return engine

    def __init__(self, library: str) -> None:
        try:
            self._lib: Any = ctypes.CDLL(library)
        except OSError as exc:
            raise EspeakMissing(f"espeak-ng is not installed ({library}: {exc}); {INSTALL_HINT}") from None
        self._lock = threading.Lock()
        self._chunks: list[np.ndarray[Any, np.dtype[np.int16]]] = []
        self._phonemes: list[tuple[int, str]] = []
        self._callback = _Callback(self._on_synth)  # kept alive: the library holds a raw pointer
        lib = self._lib
        if not hasattr(lib, "espeak_Synth"):
            raise EspeakMissing(f"espeak-ng is not installed ({library} is not libespeak-ng); {INSTALL_HINT}")
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int)
        lib.espeak_SetVoiceByName.argtypes = (ctypes.c_char_p,)
        lib.espeak_SetParameter.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int)
        lib.espeak_Synth.argtypes = (
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        )  # fmt: skip
        options = _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_PHONEME_IPA | _INITIALIZE_DONT_EXIT
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, options)
        if rate <= 0:
            raise EspeakMissing(f"espeak-ng's data files were not found ({library}); {INSTALL_HINT}")
        self.native_rate: int = rate
        lib.espeak_SetSynthCallback(self._callback)
        log.info("espeak-ng loaded from %s at %d Hz", library, rate)

    def _on_synth(self, wav: Any, count: int, events: Any) -> int:
        """Runs inside espeak_Synth on the caller's thread; must never raise into C."""
        try:
            if wav and count > 0:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
            i = 0
            while events[i].type != _EVENT_LIST_TERMINATED:
                event = events[i]
                if event.type == _EVENT_PHONEME:
                    self._phonemes.append((event.sample, event.id.string.decode("utf-8", "replace")))
                i += 1
        except Exception:  # an exception cannot cross into C; losing one event beats a crash
            log.exception("espeak-ng callback failed")
        return 0

    def synthesize(
        self, text: str, *, voice: str = DEFAULT_VOICE, rate: int = 175, pitch: int = 50
    ) -> Utterance:
        """Speak `text` into an Utterance. Blocks for about 2 ms per second of speech.

        `voice` is an espeak-ng voice file name with an optional variant (`en`, `en-us+f3`, `de+m2`;
        the library matches file names, so `en-gb` is spelled `en`); `rate` is words per minute
        (80–450), `pitch` 0–100.
        """
        if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
            raise SpeechError(
                f"speech rate must be {RATE_RANGE[0]}..{RATE_RANGE[1]} words a minute, got {rate}"
            )
        if not 0 <= pitch <= 100:
            raise SpeechError(f"speech pitch must be 0..100, got {pitch}")
        clean = text.replace("\x00", " ").strip()
        if not clean:
            return Utterance(text, np.zeros(0, dtype=np.float32))
        data = clean.encode("utf-8")
        with self._lock:
            if self._lib.espeak_SetVoiceByName(voice.encode("utf-8")) != _EE_OK:
                raise SpeechError(
                    f"espeak-ng has no voice {voice!r}: use a voice file name such as en, en-us, de or "
                    "en-gb-scotland, optionally with a variant (en-us+f3); `espeak-ng --voices` lists them"
                )
            self._lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
            self._lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
            self._chunks.clear()
            self._phonemes.clear()
            status = self._lib.espeak_Synth(
                data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            chunks, phonemes = self._chunks[:], self._phonemes[:]
            self._chunks.clear()
            self._phonemes.clear()
        if status != _EE_OK:
            raise SpeechError(f"espeak-ng failed to speak {clean[:40]!r} (error {status})")
        native = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        return self._utterance(text, native, phonemes)

    def _utterance(
        self, text: str, native: np.ndarray[Any, np.dtype[np.int16]], phonemes: list[tuple[int, str]]
    ) -> Utterance:
        samples = _resample(native.astype(np.float64) / 32768.0, self.native_rate, SAMPLE_RATE)
        np.clip(samples, -1.0, 1.0, out=samples)
        onsets = tuple((sample / self.native_rate, ipa) for sample, ipa in phonemes)
        end = len(native) / self.native_rate
        return Utterance(text, samples, onsets, VisemeTimeline.from_phonemes(onsets, end=end))


def _resample(signal: np.ndarray[Any, np.dtype[np.float64]], rate: int, to_rate: int) -> Any:
    """Band-limited resampling of a whole utterance through its spectrum (numpy's FFT).

    scipy.signal's resample_poly did this too, but importing scipy.signal took about two seconds of
    the demo's start-up before its bots could join. Silence is padded on both sides first, so the
    FFT's wrap-around cannot carry the end of the speech into its start."""
    if rate == to_rate or len(signal) == 0:
        return signal.astype(np.float32)
    pad = rate // 20  # 50 ms
    padded = np.concatenate([np.zeros(pad), signal, np.zeros(pad)])
    start = pad * to_rate // rate
    count = -(-len(signal) * to_rate // rate)  # as many samples as resample_poly gave: ceil
    length = start + count + start + 1
    resampled = np.fft.irfft(np.fft.rfft(padded), n=length) * (length / len(padded))
    return resampled[start : start + count].astype(np.float32)


def synthesize(text: str, *, voice: str = DEFAULT_VOICE, rate: int = 175, pitch: int = 50) -> Utterance:
    """`Espeak.shared().synthesize(...)`: speech from the system's espeak-ng."""
    return Espeak.shared().synthesize(text, voice=voice, rate=rate, pitch=pitch)
