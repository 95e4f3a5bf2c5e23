"""`open_source(spec)`: the one place a `--audio` string becomes an AudioSource.

Specs: `tone:HZ` (e.g. `tone:440`), `wav:FILE` (played once) or `wav:FILE:loop`, `silence`, and the
talking sources `speech:TEXT`, `script:FILE`, `bot:N` (`emulator.audio.speech`, loaded on first use). Other
modules add kinds with `register_source("mic", opener)` (the device module does this for `mic`), so this
module never imports a sound card library.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from emulator.audio.source import AudioSource
from emulator.audio.tone import SilenceSource, ToneSource
from emulator.audio.wavfile import SourceError, WavSource

Opener = Callable[[str], AudioSource]
"""Takes what follows `KIND:` in the spec (empty when there is no colon)."""

_openers: dict[str, Opener] = {}


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


def _open_tone(arg: str) -> AudioSource:
    try:
        hz = float(arg)
    except ValueError:
        raise SourceError(f"tone needs a frequency in Hz, e.g. tone:440 (got {arg!r})") from None
    try:
        return ToneSource(hz)
    except ValueError as exc:
        raise SourceError(str(exc)) from None


def _open_wav(arg: str) -> AudioSource:
    path, loop = arg, False
    if arg.endswith(":loop"):
        path, loop = arg[: -len(":loop")], True
    if not path:
        raise SourceError("wav needs a file, e.g. wav:speech.wav or wav:speech.wav:loop")
    return WavSource(path, loop=loop)


def _open_silence(arg: str) -> AudioSource:
    if arg:
        raise SourceError(f"silence takes no argument (got {arg!r})")
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
