"""Specs parsed at the edge: each parser keeps what was written, builds what the old string did, and
names the bad value (not an option) when it refuses one; the CLI puts its option's name in front."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emulator.audio.backends import SilentOutput, WavOutput
from emulator.audio.devices import DeviceError, OutputSpec, OutputSpecError
from emulator.audio.factory import NO_AUDIO, TONE_440, AudioSpec
from emulator.audio.hrtf import HrtfSpec
from emulator.audio.tone import SilenceSource, ToneSource
from emulator.audio.wavfile import SourceError
from emulator.cli import main
from emulator.cli.vocab import ExitCode
from emulator.drive.errors import DriveError, TraceError
from emulator.drive.faces import NEUTRAL, Blink, Combined, FaceSpec, HeldFace, Talk
from emulator.drive.motions import STILL, LookAround, MotionSpec, Nod, Orbit, Still, Walk
from emulator.headset import HeadsetConfig
from emulator.model.pose import Pose
from emulator.qa.swarm import MOTIONS, SwarmPlan, mixed_motions

START = Pose.at(1.0, 1.6, -2.0, 30.0)


# --- motion -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "built"),
    [
        ("still", Still(START)),
        (" Still ", Still(START)),
        ("orbit", Orbit(START)),
        (
            "orbit:radius=2,period=12,facing=path,arc=90,turn=cw",
            Orbit(START, 2.0, 12.0, face_centre=False, arc_degrees=90.0, clockwise=True),
        ),
        ("nod:amplitude=10", Nod(START, amplitude_degrees=10.0)),
        ("look-around:yaw=30", LookAround(START, yaw_degrees=30.0)),
        ("lookaround", LookAround(START)),
        ("walk:distance=2,speed=0.5,turn=2", Walk(START, 2.0, 0.5, 2.0)),
    ],
)
def test_a_motion_spec_keeps_its_text_and_builds_its_motion(text: str, built: object) -> None:
    spec = MotionSpec.parse(text)
    assert spec.text == str(spec) == text
    assert spec.build(START) == built
    assert MotionSpec.parse(text) == spec  # a value: equal specs from equal text


def test_a_trace_is_named_by_the_spec_and_read_when_built(tmp_path: Path) -> None:
    missing = tmp_path / "walk.jsonl"
    spec = MotionSpec.parse(f"trace:{missing},once")  # no file yet: parsing does not open it
    assert (spec.name, spec.path, spec.flags) == ("trace", missing, frozenset({"once"}))
    with pytest.raises(TraceError, match="cannot read trace"):
        spec.build(START)


def test_the_default_motion_is_still() -> None:
    assert MotionSpec.parse("still") == STILL and HeadsetConfig("ws://h/ws", "r", "n").motion == STILL


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fly", "unknown motion 'fly'; choose one of still, orbit"),
        ("orbit:radius=abc", "motion 'orbit:radius=abc': option radius must be a number"),
        ("orbit:turn=sideways", "motion 'orbit:turn=sideways': turn must be ccw or cw"),
        ("walk:speed=0", "motion 'walk:speed=0': option speed=0 is outside"),
        ("trace:", "motion 'trace:': expected trace:FILE.jsonl"),
        ("trace:a.jsonl,once,loop", "motion 'trace:a.jsonl,once,loop': choose once or loop"),
    ],
)
def test_a_bad_motion_names_the_value_not_an_option(text: str, message: str) -> None:
    with pytest.raises(DriveError, match="^" + re.escape(message)) as refused:
        MotionSpec.parse(text)
    assert "--" not in str(refused.value)


# --- face ---------------------------------------------------------------------------------------


def test_a_face_spec_keeps_its_text_and_builds_its_driver() -> None:
    assert FaceSpec.parse("neutral") == NEUTRAL and NEUTRAL.neutral
    assert isinstance(FaceSpec.parse("smile").build(), HeldFace)
    blink = FaceSpec.parse("blink:seed=3,rate=20")
    assert str(blink) == "blink:seed=3,rate=20" and not blink.neutral
    assert blink.build().sample(7.0) == Blink(3, 20.0).sample(7.0)
    both = FaceSpec.parse("smile+talk:seed=2")
    assert [p.name for p in both.parts] == ["smile", "talk"]
    driver = both.build()
    assert isinstance(driver, Combined) and isinstance(driver.parts[1], Talk)


def test_a_csv_path_may_hold_a_plus_and_is_read_when_built(tmp_path: Path) -> None:
    spec = FaceSpec.parse(f"blink+csv:{tmp_path}/a+b.csv,once,nohead")
    assert spec.parts[1].path == tmp_path / "a+b.csv"
    assert spec.parts[1].flags == frozenset({"once", "nohead"})
    with pytest.raises(DriveError, match="cannot read face CSV"):
        spec.build()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("grin", "unknown face 'grin'; choose one of neutral"),
        ("blink:rate=0", "face 'blink:rate=0': option rate=0 is outside"),
        ("smile+", "face 'smile+': empty part"),
        ("csv:", "face 'csv:': expected csv:FILE.csv"),
    ],
)
def test_a_bad_face_names_the_value_not_an_option(text: str, message: str) -> None:
    with pytest.raises(DriveError, match="^" + re.escape(message)) as refused:
        FaceSpec.parse(text)
    assert "--" not in str(refused.value)


# --- audio source -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "arg"),
    [
        ("tone:440", "tone", "440"),
        ("TONE:660.5", "tone", "660.5"),
        ("wav:speech.wav:loop", "wav", "speech.wav:loop"),
        ("silence", "silence", ""),
        ("speech:Hello there", "speech", "Hello there"),
        ("script:lines.txt", "script", "lines.txt"),
        ("bot:2", "bot", "2"),
        ("mic", "mic", ""),
        ("mic:USB headset", "mic", "USB headset"),
        ("none", "none", ""),
    ],
)
def test_an_audio_spec_keeps_its_text_and_names_its_source(text: str, kind: str, arg: str) -> None:
    spec = AudioSpec.parse(text)
    assert (spec.text, spec.kind, spec.arg, str(spec)) == (text, kind, arg, text)
    assert spec.is_none == (kind == "none")


def test_audio_defaults_and_what_opens() -> None:
    assert AudioSpec.parse("tone:440") == TONE_440 == HeadsetConfig("ws://h/ws", "r", "n").audio
    assert AudioSpec.parse("none") == NO_AUDIO
    assert isinstance(TONE_440.open(), ToneSource) and isinstance(
        AudioSpec.parse("silence").open(), SilenceSource
    )


def test_a_wav_is_named_by_the_spec_and_opened_later(tmp_path: Path) -> None:
    spec = AudioSpec.parse(f"wav:{tmp_path / 'later.wav'}")  # no file yet: parsing does not open it
    with pytest.raises(SourceError, match="not found"):
        spec.open()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("trumpet", "unknown audio source 'trumpet'; use one of: bot, mic, none, script"),
        ("tone:loud", "tone needs a frequency in Hz, e.g. tone:440 (got 'loud')"),
        ("tone:30000", "tone frequency must be between 0 and 24000 Hz, not 30000.0"),
        ("wav:", "wav needs a file"),
        ("silence:3", "silence takes no argument (got '3')"),
        ("none:x", "none takes no argument (got 'x')"),
        ("speech: ", "speech: needs a text to say"),
        ("bot:x", "bot: needs a bot number, e.g. bot:0, got 'x'"),
    ],
)
def test_a_bad_audio_source_names_the_value_not_an_option(text: str, message: str) -> None:
    with pytest.raises(SourceError, match="^" + re.escape(message)) as refused:
        AudioSpec.parse(text)
    assert "--" not in str(refused.value)


def test_the_microphone_device_joins_a_bare_mic() -> None:
    config = HeadsetConfig("ws://h/ws", "r", "n", audio=AudioSpec.parse("mic"), input="usb")
    assert config.audio_spec == AudioSpec.parse("mic:usb")


# --- HRTF and output ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "off"),
    [
        ("kemar", None, False),
        ("default", None, False),
        ("", None, False),
        ("off", None, True),
        (" None ", None, True),
        ("ears/mine.sofa", Path("ears/mine.sofa"), False),
    ],
)
def test_any_hrtf_text_is_kemar_off_or_a_file_read_later(text: str, path: Path | None, off: bool) -> None:
    spec = HrtfSpec.parse(text)
    assert (spec.text, spec.path, spec.off) == (text, path, off)


@pytest.mark.parametrize(
    ("text", "kind", "target"),
    [
        ("default", "default", ""),
        ("", "default", ""),
        ("silent", "silent", ""),
        ("None", "silent", ""),
        ("wav:heard.wav", "wav", "heard.wav"),
        ("3", "device", "3"),
        ("USB headset", "device", "USB headset"),
    ],
)
def test_an_output_spec_names_a_card_silence_a_file_or_a_device(text: str, kind: str, target: str) -> None:
    spec = OutputSpec.parse(text)
    assert (spec.text, spec.kind, spec.target, str(spec)) == (text, kind, target, text)


def test_an_output_opens_when_asked_and_a_bad_one_names_the_value(tmp_path: Path) -> None:
    assert isinstance(OutputSpec.parse("silent").open(), SilentOutput)
    wav = OutputSpec.parse(f"wav:{tmp_path / 'heard.wav'}").open()
    assert isinstance(wav, WavOutput)
    wav.close()
    with pytest.raises(OutputSpecError, match=r"^output 'wav:': wav:FILE needs a file name$") as refused:
        OutputSpec.parse("wav:")
    assert isinstance(refused.value, DeviceError) and isinstance(refused.value, ValueError)


# --- a swarm's mixed motions --------------------------------------------------------------------


def test_a_mixed_swarm_hands_out_the_motions_in_turn() -> None:
    template = HeadsetConfig("ws://127.0.0.1:1/ws", "r", "t")
    plan = SwarmPlan(template, 7, motions=mixed_motions())
    assert [c.motion.text for c in plan.configs()] == [*MOTIONS, *MOTIONS[:2]]
    nodding = SwarmPlan(HeadsetConfig("ws://127.0.0.1:1/ws", "r", "t", motion=MotionSpec.parse("nod")), 2)
    assert [c.motion.text for c in nodding.configs()] == ["nod", "nod"]


# --- at the edge: the command line names its option ---------------------------------------------


@pytest.mark.parametrize(
    ("words", "said"),
    [
        (["--motion", "fly"], "--motion: unknown motion 'fly'; choose one of"),
        (["--face", "grin"], "--face: unknown face 'grin'; choose one of"),
        (["--hands", "jazz"], "--hands: unknown hands 'jazz'; choose one of"),
        (["--audio", "tone:loud"], "--audio: tone needs a frequency in Hz, e.g. tone:440 (got 'loud')"),
        (["--output", "wav:"], "--output: output 'wav:': wav:FILE needs a file name"),
    ],
)
@pytest.mark.parametrize("command", ["join", "swarm", "agent"])
def test_the_cli_reports_a_bad_spec_with_its_option_and_exit_code_2(
    command: str, words: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = {"swarm": ["-n", "2"], "agent": ["--say", "hello"]}.get(command, [])
    assert main([command, "ws://127.0.0.1:9/ws", *extra, *words]) == ExitCode.USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"headset-emulator {command}: {said}"), err
