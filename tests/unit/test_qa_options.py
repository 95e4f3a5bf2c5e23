"""join's QA options (--replay/--as/--speed, --score/--reference, --net, --control, --control-dir) are
checked at the edge: a bad one is a one-line error naming the option, exit code 2, before anything
joins; the tools' own errors (emulator/qa/tools.py) name the value, never an option."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.cli.vocab import ExitCode
from emulator.headset import HeadsetConfig
from emulator.qa.tools import JoinTools, ToolError

URL = "ws://127.0.0.1:9/ws"
SPEED = "--speed must be above 0 and at most 16"
REPLAY = ["--replay", "missing.hemurec", "--as", "a"]


@pytest.mark.parametrize(
    ("words", "said"),
    [
        (["--replay", "missing.hemurec"], "--replay needs --as NAME (whom to repeat)"),
        ([*REPLAY, "--speed", "0"], SPEED),
        ([*REPLAY, "--speed", "17"], SPEED),
        (["--reference", "far.wav"], "--reference is scored with --score full"),
        (["--score", "off", "--reference", "far.wav"], "--reference is scored with --score full"),
        (["--net", "moon"], "--net: unknown network 'moon'; use good,"),
        (["--net", "custom:loss=100%"], "--net: network 'custom:loss=100%': loss must be below 100%"),
        (["--control", "127.0.0.1:http"], "--control: expected HOST:PORT, got '127.0.0.1:http'"),
        (
            ["--control", "127.0.0.1:0", "--control-dir", "nowhere"],
            "--control-dir: 'nowhere' is not a directory",
        ),
    ],
)
def test_a_bad_qa_option_is_one_line_naming_it_with_exit_code_2(
    words: list[str],
    said: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # "nowhere" is not there
    assert main(["join", URL, "--audio", "none", *words]) == ExitCode.USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"headset-emulator join: {said}"), err


def test_a_replay_at_speed_16_and_a_reference_with_full_scores_pass_the_edge(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The limits themselves are allowed: what fails next is the file, named by its value."""
    missing = tmp_path / "missing.hemurec"
    code = main(["join", URL, "--audio", "none", "--replay", str(missing), "--as", "a", "--speed", "16"])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE and "--speed" not in err and "missing.hemurec" in err, err
    code = main(["join", URL, "--audio", "none", "--score", "full", "--reference", str(tmp_path / "far.wav")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == ExitCode.USAGE and len(err) == 1, err
    assert err[0].startswith(f"headset-emulator join: reference {tmp_path / 'far.wav'}: "), err


CONFIG = HeadsetConfig(url=URL, room="lobby", name="me")


@pytest.mark.parametrize(
    ("tools", "said"),
    [
        (JoinTools(replay=Path("a.hemurec")), "replay a.hemurec: whom to repeat is not given"),
        (JoinTools(replay=Path("a.hemurec"), replay_as="a", speed=0), "replay speed 0: must be above 0"),
        (JoinTools(reference=Path("far.wav")), "reference far.wav: scored only in score mode full"),
        (JoinTools(score="loud"), "unknown score mode 'loud'; choose one of off, cheap, full"),
        (JoinTools(control_dir=Path("nowhere")), "control files: 'nowhere' is not a directory"),
    ],
)
def test_the_tools_own_errors_name_the_value_not_an_option(
    tools: JoinTools, said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ToolError) as raised:
        tools.prepare(CONFIG)
    assert str(raised.value).startswith(said) and "--" not in str(raised.value), raised.value


def test_a_bad_control_address_given_to_the_tools_names_the_address() -> None:
    tools = dataclasses.replace(JoinTools(), control="127.0.0.1:http")
    with pytest.raises(ToolError, match=r"^control address: expected HOST:PORT, got '127.0.0.1:http'$"):
        asyncio.run(tools.attach(None))  # type: ignore[arg-type]
