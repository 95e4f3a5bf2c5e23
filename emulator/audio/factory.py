"""`AudioSpec`: an `--audio` value parsed into a source kind and its argument; `open()` makes the source.

Specs: `tone:HZ` (e.g. `tone:440`), `wav:FILE` (played once) or `wav:FILE:loop`, `silence`, the
talking sources `speech:TEXT`, `script:FILE`, `bot:N` (`emulator.audio.speech`, loaded on first use),
`mic[:DEVICE]`, and `none` (no voice at all). Other modules add kinds with `register_source("mic",
opener)` (the device module does this for `mic`), so this module never imports a sound card library.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from emulator.audio.bot_spec import bot_number
from emulator.audio.source import SAMPLE_RATE, AudioSource
from emulator.audio.tone import SilenceSource, ToneSource
from emulator.audio.wavfile import SourceError, WavSource

Opener = Callable[[str], AudioSource]
"""Takes what follows `KIND:` in the spec (empty when there is no colon)."""

_openers: dict[str, Opener] = {}
NO_SOURCE = "none"  # a headset that sends no voice
DEVICE_KINDS = ("mic",)  # registered by `emulator.audio.devices` when it is imported


def register_source(kind: str, opener: Opener) -> None:
    """Make `KIND[:ARG]` specs open with `opener(ARG)`; registering a kind again replaces it."""
    _openers[kind.lower()] = opener


def source_kinds() -> list[str]:
    return sorted(_openers)


def open_source(spec: str) -> AudioSource:
    """An open source for `spec`, or SourceError naming what is wrong with it."""
    kind, _, arg = spec.strip().partition(":")
    opener = _openers.get(kind.lower())
    if opener is None:
        raise SourceError(f"unknown audio source {spec!r}; use one of: {', '.join(source_kinds())}")
    return opener(arg)


@dataclass(frozen=True)
class AudioSpec:
    """An `--audio` value, checked: which source, with which argument; `open()` makes it.

    Files and devices (`wav:`, `script:`, `mic:`) are named here and opened by `open()`, when the
    headset starts: a file may change and a device come or go in between.
    """

    text: str  # as written: what reports and the control API show
    kind: str  # lower case: tone, wav, silence, speech, script, bot, mic, none, or a registered one
    arg: str = ""

    @classmethod
    def parse(cls, text: str) -> AudioSpec:
        """The spec `text` names; a `SourceError` names the value and what is accepted."""
        kind, _, arg = text.strip().partition(":")
        kind = kind.lower()
        known = {*_openers, *DEVICE_KINDS, NO_SOURCE}
        if kind not in known:
            raise SourceError(f"unknown audio source {text!r}; use one of: {', '.join(sorted(known))}")
        check = _CHECKS.get(kind)
        if check is not None:
            check(arg)
        return cls(text, kind, arg)

    @property
    def is_none(self) -> bool:
        """`none`: the headset sends no voice (and opens nothing)."""
        return self.kind == NO_SOURCE

    def open(self) -> AudioSource:
        """The source; SourceError (or a device's error as one) when it cannot be had now."""
        return open_source(self.text)

    def __str__(self) -> str:
        return self.text


def _tone_hz(arg: str) -> float:
    try:
        hz = float(arg)
    except ValueError:
        raise SourceError(f"tone needs a frequency in Hz, e.g. tone:440 (got {arg!r})") from None
    if not 0 < hz < SAMPLE_RATE / 2:
        raise SourceError(f"tone frequency must be between 0 and {SAMPLE_RATE // 2} Hz, not {hz}")
    return hz


def _wav_file(arg: str) -> tuple[str, bool]:
    path, loop = arg, False
    if arg.endswith(":loop"):
        path, loop = arg[: -len(":loop")], True
    if not path:
        raise SourceError("wav needs a file, e.g. wav:speech.wav or wav:speech.wav:loop")
    return path, loop


def _no_argument(kind: str) -> Callable[[str], None]:
    def check(arg: str) -> None:
        if arg:
            raise SourceError(f"{kind} takes no argument (got {arg!r})")

    return check


def _speech_text(arg: str) -> None:
    if not arg.strip():
        raise SourceError("speech: needs a text to say, e.g. speech:Hello there")


def _bot_number(arg: str) -> None:
    try:
        bot_number(arg)
    except ValueError as error:
        raise SourceError(str(error)) from None


# What `parse` checks of a built-in kind's argument: the openers say the same when they open.
_CHECKS: dict[str, Callable[[str], object]] = {
    "tone": _tone_hz,
    "wav": _wav_file,
    "silence": _no_argument("silence"),
    NO_SOURCE: _no_argument(NO_SOURCE),
    "speech": _speech_text,
    "bot": _bot_number,
}


def _open_tone(arg: str) -> AudioSource:
    return ToneSource(_tone_hz(arg))


def _open_wav(arg: str) -> AudioSource:
    path, loop = _wav_file(arg)
    return WavSource(path, loop=loop)


def _open_silence(arg: str) -> AudioSource:
    _no_argument("silence")(arg)
    return SilenceSource()


register_source("tone", _open_tone)
register_source("wav", _open_wav)
register_source("silence", _open_silence)


def _open_speech(kind: str, arg: str) -> AudioSource:
    # Imported here: espeak-ng is only looked for when someone asks a headset to speak.
    from emulator.audio.espeak import SpeechError
    from emulator.audio.speech import open_speech_source

    try:
        return open_speech_source(f"{kind}:{arg}")
    except SpeechError as exc:
        raise SourceError(str(exc)) from None


for _kind in ("speech", "script", "bot"):
    register_source(_kind, functools.partial(_open_speech, _kind))


TONE_440 = AudioSpec("tone:440", "tone", "440")  # a headset's voice when nobody said otherwise
NO_AUDIO = AudioSpec(NO_SOURCE, NO_SOURCE)
