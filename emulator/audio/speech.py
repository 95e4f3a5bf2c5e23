"""A talking source: speaks a text or a timed script with espeak-ng and knows its visemes.

A talking agent needs two things in step: the audio it sends and the viseme keys that drive its
puppet. `SpeechSource` is an AudioSource (pulled 20 ms at a time like any other) that also answers
`visemes_between(start, stop)` in the same clock, the seconds of audio it has produced. Anything with
those two methods is a `TalkingSource`; that is the seam where a bridge to a hosted realtime voice
model plugs in (docs/agents.md).

Script files are UTF-8 text, one line per utterance: `SECONDS<TAB>text`, where SECONDS is when the line
starts (from the start of the script, a decimal number). Blank lines and lines starting with `#` are
ignored. A line that would start before the previous one has finished waits for it (a short breath
apart), so a script can list lines without computing their lengths.
"""

from __future__ import annotations

import bisect
import functools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from emulator.audio.bot_spec import bot_number
from emulator.audio.espeak import DEFAULT_VOICE, Espeak, SpeechError, Utterance
from emulator.audio.source import SAMPLE_RATE, MonoBlock
from emulator.model.assets import asset_path
from emulator.model.viseme_timeline import SIL, VisemeKey, VisemeTimeline

log = logging.getLogger(__name__)

BREATH_S = 0.25
"""Least silence between two lines when a script packs them tighter than they can be spoken."""


@runtime_checkable
class TalkingSource(Protocol):
    """An AudioSource that also says which visemes go with the audio it has produced.

    `visemes_between(start, stop)` returns the keys with start <= time < stop, times in seconds of
    this source's own audio (sample count / 48000), so a sender can ship the keys for each 20 ms frame
    with that frame. Called on the same thread as `read`.
    """

    sample_rate: int

    def read(self, frames: int) -> MonoBlock: ...

    def close(self) -> None: ...

    def visemes_between(self, start: float, stop: float) -> list[VisemeKey]: ...


class ScriptError(SpeechError):
    """A script file that cannot be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class ScriptLine:
    start: float
    text: str


def parse_script(text: str, origin: str = "<script>") -> list[ScriptLine]:
    """Lines of a script (format in the module docstring); errors say `origin:line: what is wrong`."""
    lines: list[ScriptLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{origin}:{number}"
        seconds, sep, words = raw.strip("\r\n").partition("\t")
        if not sep:
            raise ScriptError(f"{where}: expected SECONDS<TAB>text, found no tab in {line[:60]!r}")
        try:
            start = float(seconds)
        except ValueError:
            raise ScriptError(f"{where}: {seconds.strip()[:30]!r} is not a number of seconds") from None
        if not math.isfinite(start) or start < 0:
            raise ScriptError(f"{where}: the start time must be a finite number >= 0, got {seconds.strip()}")
        if lines and start < lines[-1].start:
            raise ScriptError(
                f"{where}: starts at {start:g} s, before the line above ({lines[-1].start:g} s)"
            )
        words = words.strip()
        if not words:
            raise ScriptError(f"{where}: no text after the time")
        lines.append(ScriptLine(start, words))
    if not lines:
        raise ScriptError(f"{origin}: no lines to speak (format: SECONDS<TAB>text per line)")
    return lines


def load_script(path: str | Path) -> list[ScriptLine]:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScriptError(f"script file {file} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ScriptError(f"script file {file} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ScriptError(f"cannot read script file {file}: {exc.strerror}") from None
    return parse_script(text, str(file))


class SpeechSource:
    """Speaks script lines at their times; loops when asked. One thread at a time (the sender's).

    All lines are synthesized up front (espeak-ng makes a second of speech in about 2 ms),
    so `read` only copies and the whole viseme timeline is known from the start.
    """

    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        lines: Sequence[ScriptLine],
        *,
        voice: str = DEFAULT_VOICE,
        rate: int = 175,
        pitch: int = 50,
        loop: bool = False,
        loop_gap: float = 1.5,
        engine: Espeak | None = None,
    ) -> None:
        if not lines:
            raise SpeechError("nothing to say: the script has no lines")
        if not (math.isfinite(loop_gap) and loop_gap >= 0):
            raise SpeechError(f"the loop gap must be >= 0 seconds, got {loop_gap}")
        engine = engine or Espeak.shared()
        placed: list[tuple[int, Utterance]] = []
        cursor = 0
        for line in lines:
            utterance = engine.synthesize(line.text, voice=voice, rate=rate, pitch=pitch)
            wanted = round(line.start * SAMPLE_RATE)
            earliest = cursor + round(BREATH_S * SAMPLE_RATE) if placed else 0
            if wanted < earliest:
                log.debug(
                    "line %r moved from %.2f s to %.2f s", line.text[:30], line.start, earliest / SAMPLE_RATE
                )
            offset = max(wanted, earliest)
            placed.append((offset, utterance))
            cursor = offset + len(utterance.samples)
        # Only the speech is kept, not the silences between lines: a long script stays small.
        self._offsets = [offset for offset, _ in placed]
        self._clips = [utterance.samples for _, utterance in placed]
        timelines: list[VisemeTimeline] = [VisemeTimeline([VisemeKey(0.0, SIL)])]
        for offset, utterance in placed:
            timelines.append(utterance.visemes.shifted(offset / SAMPLE_RATE))
        self.utterances: tuple[tuple[float, Utterance], ...] = tuple((o / SAMPLE_RATE, u) for o, u in placed)
        self.visemes: VisemeTimeline = VisemeTimeline().merged(*timelines)
        """One pass of the script; times from its start."""
        self.loop = loop
        self._period = cursor + (round(loop_gap * SAMPLE_RATE) if loop else 0)
        self._position = 0
        self._closed = False

    @property
    def duration(self) -> float:
        """Seconds of one pass, including the gap before it repeats when looping."""
        return self._period / SAMPLE_RATE

    @property
    def position(self) -> float:
        """Seconds of audio produced so far: the clock of `visemes_between`."""
        return self._position / SAMPLE_RATE

    @property
    def finished(self) -> bool:
        return self._closed or (not self.loop and self._position >= self._period)

    def read(self, frames: int) -> MonoBlock:
        out = np.zeros(frames, dtype=np.float32)
        if self._closed or frames <= 0:
            return out
        done = 0
        while done < frames:
            phase = self._position % self._period if self.loop else self._position
            if phase >= self._period:
                break  # not looping and past the end: the rest stays silent
            take = min(frames - done, self._period - phase)
            self._mix(out[done : done + take], phase)
            done += take
            self._position += take
        self._position += frames - done
        return out

    def _mix(self, out: MonoBlock, phase: int) -> None:
        """Copy the speech that falls in [phase, phase + len(out)) of one pass into `out`."""
        end = phase + len(out)
        first = max(0, bisect.bisect_right(self._offsets, phase) - 1)
        for offset, clip in zip(self._offsets[first:], self._clips[first:], strict=True):
            if offset >= end:
                break
            lo, hi = max(phase, offset), min(end, offset + len(clip))
            if hi > lo:
                out[lo - phase : hi - phase] = clip[lo - offset : hi - offset]

    def visemes_between(self, start: float, stop: float) -> list[VisemeKey]:
        if stop <= start:
            return []
        if not self.loop:
            return self.visemes.between(start, stop)
        period = self.duration
        keys: list[VisemeKey] = []
        first = max(0, math.floor(start / period))
        for n in range(first, math.floor(stop / period) + 1):
            base = n * period
            keys.extend(
                VisemeKey(k.time + base, k.viseme, k.weight)
                for k in self.visemes.between(start - base, stop - base)
            )
        return keys

    def close(self) -> None:
        self._closed = True


# --- specs and the bots' chatter -----------------------------------------------------------------------

BOT_VOICES: tuple[tuple[str, int], ...] = (("en-us+m3", 45), ("en+f3", 60), ("en-us+m7", 35), ("en+f4", 55))
"""(espeak-ng voice, pitch) per demo bot, so that two bots are told apart by ear."""


def bot_script_path(index: int) -> Path:
    """The bundled chatter of demo bot `index` (scripts repeat after the last of them)."""
    scripts = sorted(asset_path("speech").glob("bot*.tsv"))
    if not scripts:
        raise SpeechError(f"no bot scripts in {asset_path('speech')}")
    return scripts[index % len(scripts)]


def bot_source(
    index: int, *, voice: str | None = None, loop: bool = True, engine: Espeak | None = None
) -> SpeechSource:
    """A talker for demo bot `index`: its own lines and its own voice, looping unless told not to."""
    default_voice, pitch = BOT_VOICES[index % len(BOT_VOICES)]
    lines = load_script(bot_script_path(index))
    return SpeechSource(lines, voice=voice or default_voice, pitch=pitch, loop=loop, engine=engine)


def speech_openers() -> dict[str, Callable[[str], SpeechSource]]:
    """{kind: opener(arg)} for a source factory keyed by `KIND:ARG` (`register_source(kind, opener)`)."""
    return {kind: functools.partial(_open_kind, kind) for kind in ("speech", "script", "bot")}


def _open_kind(kind: str, arg: str) -> SpeechSource:
    return open_speech_source(f"{kind}:{arg}")


SPEC_HELP = (
    "speech:TEXT (say TEXT once), script:FILE (SECONDS<TAB>text lines), bot:N (demo bot N's chatter, looping)"
)


def open_speech_source(
    spec: str, *, voice: str | None = None, loop: bool | None = None, engine: Espeak | None = None
) -> SpeechSource:
    """A SpeechSource from a spec string: `speech:TEXT`, `script:FILE` or `bot:N`.

    `voice` and `loop` override the spec's defaults (bots loop with their own voice; the others speak
    once with the default voice).
    """
    kind, sep, rest = spec.partition(":")
    if not sep:
        raise SpeechError(f"not a speech source {spec!r}: use {SPEC_HELP}")
    if kind == "speech":
        if not rest.strip():
            raise SpeechError("speech: needs a text to say, e.g. speech:Hello there")
        lines = [ScriptLine(0.0, rest.strip())]
        return SpeechSource(lines, voice=voice or DEFAULT_VOICE, loop=bool(loop), engine=engine)
    if kind == "script":
        return SpeechSource(load_script(rest), voice=voice or DEFAULT_VOICE, loop=bool(loop), engine=engine)
    if kind == "bot":
        try:
            index = bot_number(rest)
        except ValueError as error:
            raise SpeechError(str(error)) from None
        return bot_source(index, voice=voice, loop=True if loop is None else loop, engine=engine)
    raise SpeechError(f"unknown speech source kind {kind!r} in {spec!r}: use {SPEC_HELP}")
