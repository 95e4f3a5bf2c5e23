"""espeak-ng speech, its phoneme timing and the speech source, with the real library."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.audio.espeak import Espeak, EspeakMissing, SpeechError, synthesize
from emulator.audio.source import FRAME_SAMPLES, SAMPLE_RATE
from emulator.audio.speech import (
    ScriptError,
    ScriptLine,
    SpeechSource,
    TalkingSource,
    bot_source,
    load_script,
    open_speech_source,
    parse_script,
    speech_openers,
)
from emulator.drive.visemes import VisemeFaceDriver
from emulator.model.viseme_timeline import SIL, ipa_to_visemes
from tests.support.speech import TEST_SCRIPT, energy_onsets

MOUTH = ("jawOpen", "mouthFunnel", "mouthPucker", "mouthSmileLeft", "mouthStretchLeft", "mouthPressLeft")


def test_an_utterance_is_48k_mono_float_with_ordered_phonemes() -> None:
    u = synthesize("Testing one, two, three.")
    assert u.samples.dtype == np.float32 and u.samples.ndim == 1
    assert 0.05 < np.abs(u.samples).max() <= 1.0
    assert 1.0 < u.duration < 3.0
    onsets = [t for t, _ in u.phonemes]
    assert onsets == sorted(onsets) and onsets[0] >= 0 and onsets[-1] <= u.duration
    assert {"t", "w", "θ"} <= {ipa for _, ipa in u.phonemes}


def test_viseme_onsets_match_the_speech_energy_onsets(spoken_script: SpeechSource) -> None:
    audio = spoken_script.read(round(spoken_script.duration * SAMPLE_RATE))
    heard = energy_onsets(audio)
    seen = spoken_script.visemes.speech_onsets()
    assert len(seen) >= len(TEST_SCRIPT)
    for t in seen:
        assert min(abs(t - h) for h in heard) <= 0.060, f"viseme onset {t:.3f} s has no sound within 60 ms"
    for h in heard:
        assert min(abs(h - t) for t in seen) <= 0.060, f"sound at {h:.3f} s has no viseme onset within 60 ms"
    # Each line starts when the script says.
    for line in TEST_SCRIPT:
        assert min(abs(line.start - h) for h in heard) <= 0.060


def test_the_driven_face_talks_during_lines_and_rests_between_them(spoken_script: SpeechSource) -> None:
    driver = VisemeFaceDriver(spoken_script.visemes)
    starts = [start for start, _ in spoken_script.utterances]
    ends = [start + u.duration for start, u in spoken_script.utterances]
    for start, end in zip(starts, ends, strict=True):
        jaw = np.array([driver.face_at(t)["jawOpen"] for t in np.arange(start, end, 0.01)])
        assert jaw.max() >= 0.5 and jaw.mean() >= 0.15, f"line at {start} s barely moves the jaw"
        assert (jaw > 0.1).mean() >= 0.6, f"line at {start} s: the mouth is shut for most of it"
    for end, nxt in zip(ends, starts[1:], strict=False):
        for t in np.arange(end + 0.15, nxt - 0.1, 0.01):
            face = driver.face_at(t)
            assert max(face[name] for name in MOUTH) < 0.02, f"mouth not at rest at {t:.2f} s"


def test_a_script_source_reads_in_frames_and_ends_in_silence(spoken_script: SpeechSource) -> None:
    source = spoken_script
    assert isinstance(source, TalkingSource)
    n = round(source.duration * SAMPLE_RATE)
    sizes = [FRAME_SAMPLES, 1, 4799, 333, 48_000] * (n // 54_093 + 2)
    blocks = [source.read(size) for size in sizes]
    assert [len(b) for b in blocks] == sizes
    joined = np.concatenate(blocks)
    reference = np.zeros(len(joined), dtype=np.float32)
    for start, utterance in source.utterances:  # espeak-ng varies slightly between runs: rebuild this one
        at = round(start * SAMPLE_RATE)
        reference[at : at + len(utterance.samples)] = utterance.samples
    assert np.array_equal(joined, reference)
    assert source.finished and not np.any(source.read(FRAME_SAMPLES))
    assert source.position == pytest.approx((len(joined) + FRAME_SAMPLES) / SAMPLE_RATE)
    source.close()
    source.close()
    assert not np.any(source.read(10))


def test_lines_listed_too_close_wait_for_each_other() -> None:
    source = SpeechSource(
        [ScriptLine(0.0, "This line takes more than a second to say."), ScriptLine(0.5, "Next.")]
    )
    (first_start, first), (second_start, _) = source.utterances
    assert second_start >= first_start + first.duration + 0.2


def test_a_looping_source_repeats_its_audio_and_visemes() -> None:
    source = SpeechSource([ScriptLine(0.1, "Loop me.")], loop=True, loop_gap=0.5)
    period = source.duration
    assert period == pytest.approx(source.utterances[0][1].duration + 0.1 + 0.5, abs=1e-3)
    audio = source.read(round(2.5 * period * SAMPLE_RATE))
    p = round(period * SAMPLE_RATE)
    assert np.array_equal(audio[:p], audio[p : 2 * p])
    assert not source.finished
    one = source.visemes_between(0, period)
    two = source.visemes_between(period, 2 * period)
    assert [k.viseme for k in one] == [k.viseme for k in two]
    assert [k.time + period for k in one] == pytest.approx([k.time for k in two])
    across = source.visemes_between(period - 0.05, period + 0.2)
    assert any(k.time >= period for k in across) and across[0].viseme == SIL


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no lines to speak"),
        ("# only a comment\n\n", "no lines to speak"),
        ("1.0 no tab here\n", ":1: expected SECONDS<TAB>text"),
        ("0\tfine\nsoon\tnot a time\n", ":2: 'soon' is not a number"),
        ("-1\tnegative\n", ":1: the start time must be a finite number >= 0"),
        ("nan\tnot a number\n", ":1: the start time must be a finite number"),
        ("inf\tforever\n", ":1: the start time must be a finite number"),
        ("2\tlater\n1\tearlier\n", ":2: starts at 1 s, before the line above"),
        ("1\t   \n", ":1: no text after the time"),
    ],
)
def test_broken_scripts_say_where_and_what(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "lines.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ScriptError, match=message) as info:
        load_script(path)
    assert str(path) in str(info.value)


def test_unreadable_scripts_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="does not exist"):
        load_script(tmp_path / "missing.tsv")
    binary = tmp_path / "binary.tsv"
    binary.write_bytes(b"0\t\xff\xfe\x00garbage")
    with pytest.raises(ScriptError, match="not UTF-8"):
        load_script(binary)
    with pytest.raises(ScriptError, match="cannot read"):
        load_script(tmp_path)


def test_script_format_tolerates_comments_blank_lines_and_crlf() -> None:
    lines = parse_script("# greeting\r\n\r\n0.5\tHello there.\r\n3\tBye.  \r\n")
    assert lines == [ScriptLine(0.5, "Hello there."), ScriptLine(3.0, "Bye.")]


def test_specs_open_speech_scripts_and_bots(tmp_path: Path) -> None:
    said = open_speech_source("speech:Hello there")
    assert said.utterances[0][1].text == "Hello there" and not said.loop
    path = tmp_path / "s.tsv"
    path.write_text("0\tOne.\n2\tTwo.\n", encoding="utf-8")
    scripted = open_speech_source(f"script:{path}", loop=True)
    assert len(scripted.utterances) == 2 and scripted.loop
    bot0, bot1 = open_speech_source("bot:0"), bot_source(1)
    assert bot0.loop and bot1.loop
    assert bot0.utterances[0][1].text != bot1.utterances[0][1].text
    for bad, message in [
        ("hello", "not a speech source"),
        ("speech:", "needs a text"),
        ("bot:x", "needs a bot number"),
        ("bot:-1", "needs a bot number >= 0"),
        ("tone:440", "unknown speech source kind 'tone'"),
        (f"script:{tmp_path / 'nope.tsv'}", "does not exist"),
    ]:
        with pytest.raises(SpeechError, match=message):
            open_speech_source(bad)


def test_openers_for_a_kind_keyed_source_factory(tmp_path: Path) -> None:
    openers = speech_openers()
    assert sorted(openers) == ["bot", "script", "speech"]
    assert openers["speech"]("Hi there").utterances[0][1].text == "Hi there"
    assert openers["bot"]("2").loop
    with pytest.raises(ScriptError, match="does not exist"):
        openers["script"](str(tmp_path / "none.tsv"))


def test_bad_voice_and_parameters_are_clear_errors() -> None:
    with pytest.raises(SpeechError, match="no voice 'xx-nonsense'"):
        synthesize("hi", voice="xx-nonsense")
    with pytest.raises(SpeechError, match=r"rate must be 80\.\.450"):
        synthesize("hi", rate=5)
    with pytest.raises(SpeechError, match=r"pitch must be 0\.\.100"):
        synthesize("hi", pitch=101)
    # The engine is still usable after an error.
    assert synthesize("hi").duration > 0.1


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\x00\x01\x02",
        "<speak><break time='9999s'/></speak>",
        "日本語のテキスト",
        "a" * 5000,
        "[[h@l'oU]]",
    ],
)
def test_odd_text_never_breaks_the_engine(text: str) -> None:
    u = synthesize(text)
    assert u.samples.dtype == np.float32 and np.all(np.isfinite(u.samples))
    assert u.duration < 600


def test_a_missing_espeak_is_a_clear_error_naming_the_package(tmp_path: Path) -> None:
    with pytest.raises(EspeakMissing, match=r"apt-get install espeak-ng"):
        Espeak.shared(library=str(tmp_path / "libespeak-ng.so.1"))
    with pytest.raises(EspeakMissing, match="espeak-ng is not installed"):
        Espeak.shared(library="libm.so.6")  # a library, but not espeak-ng


def test_without_espeak_on_the_machine_a_fresh_process_says_what_to_install(tmp_path: Path) -> None:
    """A fresh process with no espeak-ng program on PATH and no library where it looks."""
    code = (
        "from emulator.audio.speech import open_speech_source\n"
        "from emulator.audio.espeak import EspeakMissing\n"
        "try:\n    open_speech_source('speech:hello')\n"
        "except EspeakMissing as exc:\n    print(exc)\n"
    )
    env = dict(
        os.environ, PATH=str(tmp_path), HEADSET_EMULATOR_ESPEAK_LIBRARY=str(tmp_path / "libespeak-ng.so.1")
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "espeak-ng is not installed" in done.stdout and "apt-get install espeak-ng" in done.stdout
    assert "Traceback" not in done.stderr


def test_threads_share_the_engine_without_mixing_their_speech() -> None:
    texts = ["One two three.", "A much longer sentence, spoken from another thread at the same time.", "Hi."]
    alone = {t: synthesize(t) for t in texts}
    with ThreadPoolExecutor(max_workers=3) as pool:
        together = list(pool.map(synthesize, texts * 4))
    for text, utterance in zip(texts * 4, together, strict=True):
        # espeak-ng varies a few samples between runs, never by a whole word.
        assert abs(utterance.duration - alone[text].duration) < 0.05
        assert [p for _, p in utterance.phonemes] == [p for _, p in alone[text].phonemes]


@given(st.text(max_size=300))
def test_any_text_is_a_script_or_a_clear_script_error(text: str) -> None:
    try:
        lines = parse_script(text)
    except ScriptError as exc:
        assert str(exc).startswith("<script>")
    else:
        assert lines and all(line.text and line.start >= 0 for line in lines)


@pytest.mark.parametrize(
    ("voice", "text"),
    [
        ("en-us", "Pack my box with five dozen liquor jugs; measure the treasure, judge the rhythm."),
        ("en", "Jackdaws love my big sphinx of quartz. Hour, year, poor, air, near, tour."),
        ("de", "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich. Ich möchte Brötchen."),
        ("fr", "Portez ce vieux whisky au juge blond qui fume. Un bon vin blanc."),
        ("es", "El veloz murciélago hindú comía feliz cardillo y kiwi."),
    ],
)
def test_every_phoneme_espeak_speaks_has_a_mouth_shape(voice: str, text: str) -> None:
    """Only the sounds with no lip shape of their own (h, glottal stop) borrow a neighbour's."""
    utterance = synthesize(text, voice=voice)
    unmapped = {ipa for _, ipa in utterance.phonemes if ipa_to_visemes(ipa) is None}
    assert unmapped <= {"h", "ʔ", "ɦ"}, unmapped
    assert len(utterance.visemes.speech_onsets()) >= 1
