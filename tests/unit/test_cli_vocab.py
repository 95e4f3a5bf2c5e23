"""One vocabulary across the subcommands: -v/-q anywhere, durations with units, --out, exit codes."""

from __future__ import annotations

import argparse
import importlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.cli import SUBCOMMANDS, build_parser, chosen_command, main
from emulator.cli.status import StatusPrinter, Totals, describe, worst_pair
from emulator.cli.vocab import ExitCode, verbosity
from emulator.model.durations import parse_duration


def parse(*words: str) -> argparse.Namespace:
    return build_parser(chosen_command(words)).parse_args(words)


def usage_error(capsys: pytest.CaptureFixture[str], *words: str) -> str:
    with pytest.raises(SystemExit) as stopped:
        parse(*words)
    assert stopped.value.code == ExitCode.USAGE
    return capsys.readouterr().err


# --- -v/-q before or after the subcommand -------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (("-v", "join", "ws://h/ws"), 1),
        (("join", "ws://h/ws", "-v"), 1),
        (("-v", "join", "-vv", "ws://h/ws"), 3),
        (("join", "ws://h/ws", "-q"), -1),
        (("-q", "swarm", "ws://h/ws", "-n", "2"), -1),
        (("probe", "ws://h/ws", "--verbose"), 1),
        (("profiles", "--quiet"), -1),
    ],
)
def test_verbosity_counts_wherever_it_is_given(words: tuple[str, ...], expected: int) -> None:
    assert verbosity(parse(*words)) == expected


def test_every_subcommand_takes_v_and_q_after_it() -> None:
    parser = build_parser(every=True)
    subcommands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(subcommands) == set(SUBCOMMANDS)
    for name, sub in subcommands.items():
        options = {o for action in sub._actions for o in action.option_strings}
        assert {"-v", "-q", "--verbose", "--quiet"} <= options, name


# --- durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("20s", 20.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1.5s", 1.5),
        ("90", 90.0),
        ("2 s", 2.0),
    ],
)
def test_durations_take_units_and_a_bare_number_is_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["soon", "5x", "-3s", "0s", "", "s"])
def test_a_malformed_or_non_positive_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_duration_options_read_units_on_every_command() -> None:
    assert parse("join", "ws://h/ws", "--duration", "5m").duration == 300.0
    assert parse("join", "ws://h/ws", "--duration", "30").duration == 30.0
    assert parse("join", "ws://h/ws", "--connect-timeout", "500ms").connect_timeout == 0.5
    assert parse("swarm", "ws://h/ws", "-n", "2", "--duration", "2m").duration == 120.0
    assert parse("agent", "ws://h/ws", "--say", "hi", "--markers", "2s").markers == 2.0
    assert parse("drive", "--duration", "1500ms").duration == 1.5
    assert parse("self-test", "--seconds", "3s").seconds == 3.0
    assert parse("probe", "ws://h/ws", "--every", "1m").every == 60.0
    assert parse("app", "--quit-after", "250ms").quit_after == 0.25


@pytest.mark.parametrize(
    "option", ["--timeout", "--max-join", "--max-first-audio", "--max-mouth-to-ear", "--max-rtt"]
)
def test_options_that_took_milliseconds_refuse_a_bare_number(
    option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    error = usage_error(capsys, "probe", "ws://h/ws", option, "500")
    assert "'500' needs a unit: 500ms or 500s?" in error
    value = getattr(parse("probe", "ws://h/ws", option, "500ms"), option[2:].replace("-", "_"))
    # Latency thresholds are kept in milliseconds, as join's are; durations in seconds.
    assert value == (500.0 if option in ("--max-mouth-to-ear", "--max-rtt") else 0.5)


def test_a_bad_duration_is_a_usage_error_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert "argument --duration: not a duration: 'soon'" in usage_error(
        capsys, "join", "ws://h/ws", "--duration", "soon"
    )


# --- --out, and the old names kept -------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "field", "old"),
    [
        (("snapshot",), "out", None),
        (("drive",), "out", "--output"),
        (("self-test",), "frame", "--frame"),
        (("demo",), "screenshot", "--screenshot"),
    ],
)
def test_a_command_that_writes_one_file_calls_it_out(
    words: tuple[str, ...], field: str, old: str | None
) -> None:
    assert str(getattr(parse(*words, "--out", "x.png"), field)) == "x.png"
    assert str(getattr(parse(*words, "-o", "y.png"), field)) == "y.png"
    if old is not None:
        assert str(getattr(parse(*words, old, "z.png"), field)) == "z.png"
        # The old name still works but is no longer advertised.
        sub = build_parser(words[0])._subparsers._group_actions[0].choices[words[0]]  # type: ignore[union-attr]
        assert old not in sub.format_help()


def test_join_output_stays_the_audio_device_and_report_stays() -> None:
    args = parse("join", "ws://h/ws", "--output", "wav:heard.wav", "--report", "r.json")
    assert args.output == "wav:heard.wav"
    assert args.report == Path("r.json")


# --- HOST:PORT ---------------------------------------------------------------------------------


def test_extra_listeners_take_host_port_and_the_room_takes_host_and_port() -> None:
    room = parse("room", "--host", "127.0.0.2", "--port", "9000", "--metrics", "127.0.0.1:9109")
    assert (room.host, room.port, room.metrics) == ("127.0.0.2", 9000, "127.0.0.1:9109")
    for words in (("join", "ws://h/ws"), ("swarm", "ws://h/ws", "-n", "1"), ("probe", "ws://h/ws")):
        sub = build_parser(words[0])._subparsers._group_actions[0].choices[words[0]]  # type: ignore[union-attr]
        metavars = {a.dest: a.metavar for a in sub._actions}
        for dest in ("metrics", "control"):
            if dest in metavars:
                assert metavars[dest] == "HOST:PORT", (words[0], dest)


def test_a_malformed_host_port_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "ws://127.0.0.1:9/ws", "--once", "--metrics", "host:port"]) == ExitCode.USAGE
    assert (
        capsys.readouterr().err.strip()
        == "headset-emulator probe: --metrics: expected HOST:PORT, got 'host:port'"
    )


# --- exit codes ---------------------------------------------------------------------------------


def run_cli(*words: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HEADSET_EMULATOR_SECRET": "s", "XDG_CONFIG_HOME": str(tmp_path)}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return subprocess.run(
        [sys.executable, "-m", "emulator", *words], capture_output=True, text=True, env=env, timeout=120,
        check=False,
    )  # fmt: skip


def test_exit_codes_from_the_real_cli(tmp_path: Path) -> None:
    assert run_cli("--version", tmp_path=tmp_path).returncode == ExitCode.OK
    usage = run_cli("join", "ws://127.0.0.1:9/ws", "--duration", "soon", tmp_path=tmp_path)
    assert usage.returncode == ExitCode.USAGE
    bad_value = run_cli(
        "join", "ws://127.0.0.1:9/ws", "--profile", "nope", "--audio", "none", tmp_path=tmp_path
    )
    assert bad_value.returncode == ExitCode.USAGE
    assert len(bad_value.stderr.strip().splitlines()) == 1, bad_value.stderr
    # Port 9 on loopback: nobody listens, the connection is refused.
    refused = run_cli("join", "ws://127.0.0.1:9/ws", "--audio", "none", "--duration", "2s", tmp_path=tmp_path)
    assert refused.returncode == ExitCode.UNREACHABLE, refused.stderr
    assert refused.stderr.startswith("headset-emulator join: could not join lobby at ws://127.0.0.1:9/ws")
    assert "Traceback" not in refused.stderr


def test_a_probe_that_cannot_reach_its_room_is_a_failed_run(tmp_path: Path) -> None:
    done = run_cli("probe", "ws://127.0.0.1:9/ws", "--once", "--timeout", "5s", tmp_path=tmp_path)
    assert done.returncode == ExitCode.FAILED, done.stderr
    assert "UNHEALTHY: could not join" in done.stdout


def test_the_app_without_qt_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "emulator.ui.app", None)  # what a base install without Qt sees
    assert main(["app"]) == ExitCode.USAGE
    assert capsys.readouterr().err.strip().splitlines() == [
        "headset-emulator app: the desktop app needs the [app] extra: pip install 'headset-emulator[app]'"
        " (emulator.ui.app is not installed)"
    ]


# --- help, lazily --------------------------------------------------------------------------------


def test_each_summary_in_top_level_help_is_the_one_its_module_registers() -> None:
    full = build_parser(every=True)._subparsers._group_actions[0]  # type: ignore[union-attr]
    lazy = build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
    full_help = {a.dest: a.help for a in full._choices_actions}
    lazy_help = {a.dest: a.help for a in lazy._choices_actions}
    assert lazy_help == full_help
    assert list(lazy_help) == list(SUBCOMMANDS)


def test_version_and_help_do_not_import_the_headset_or_qt(tmp_path: Path) -> None:
    code = (
        "import sys; from emulator.cli import main\n"
        "for command in ('', 'join', 'swarm', 'probe', 'agent', 'app'):\n"
        "    words = [command, '--help'] if command else ['--help']\n"
        "    try: main(words)\n"
        "    except SystemExit: pass\n"
        "heavy = [m for m in ('numpy', 'aiortc', 'av', 'PySide6', 'emulator.headset') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "HEAVY []" in done.stdout, done.stdout[-500:]


def test_help_groups_options_and_ends_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("join", "swarm", "probe", "agent", "app"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "\nexamples:\n" in text, command
        assert f"  headset-emulator {command} " in text.split("\nexamples:\n")[1], command
    with pytest.raises(SystemExit):
        main(["join", "--help"])
    text = capsys.readouterr().out
    for title in ("room and identity:", "what it sends:", "what it hears:", "network:", "run and report:"):
        assert f"\n{title}\n" in text


def test_every_subcommand_module_registers_what_the_table_says() -> None:
    for name, (module_name, _) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        assert callable(module.register), name


# --- the status line's text ---------------------------------------------------------------------


def report(
    name: str, sent: int, received: int, lost: int, payload: int, rtt: float | None
) -> dict[str, object]:
    remote = {
        "name": "peer",
        "states": {"received": received, "lost": 0},
        "audio": {
            "packets_received": received,
            "packets_lost": lost,
            "payload_bytes": payload,
            "underruns": 1,
        },
        "round_trip": {"median_ms": rtt},
    }
    return {
        "name": name,
        "uplink": {"states_sent": sent, "audio_payload_bytes": payload},
        "remotes": [remote],
    }


def test_the_status_line_gives_rates_between_two_looks() -> None:
    before = Totals.of([report("a", 0, 0, 0, 0, None)], at=10.0)
    now = Totals.of([report("a", 90, 50, 0, 4000, 12.4)], at=11.0)
    assert describe(now, before, "3") == (
        "joined 3 | states out 90/s in 50/s | voice out 32 kbps in 32 kbps | loss 0.0% | rtt 12 ms"
        " | underruns 1"
    )


def test_the_worst_pair_is_the_lossiest_then_the_slowest() -> None:
    reports = [
        report("a", 1, 99, 1, 0, 10.0),
        report("b", 1, 90, 10, 0, 5.0),
        report("c", 1, 90, 10, 0, 30.0),
    ]
    assert worst_pair(reports) == "worst peer→c loss 10.0% rtt 30 ms"


def test_the_status_printer_rewrites_on_a_terminal_and_prints_lines_otherwise() -> None:
    terminal, log = io.StringIO(), io.StringIO()
    for stream, is_terminal in ((terminal, True), (log, False)):
        printer = StatusPrinter(stream, terminal=is_terminal)
        printer.show("one")
        printer.show("two")
        printer.done()
    assert terminal.getvalue() == "\rone\x1b[K\rtwo\x1b[K\n"
    assert log.getvalue() == "one\ntwo\n"


# --- shell completion -----------------------------------------------------------------------------


def test_bash_completion_completes_commands_and_options(tmp_path: Path) -> None:
    script = run_cli("completion", "bash", tmp_path=tmp_path)
    assert script.returncode == 0, script.stderr
    (tmp_path / "complete.bash").write_text(script.stdout)
    probe = (
        f"source {tmp_path / 'complete.bash'}\n"
        'COMP_WORDS=(headset-emulator jo); COMP_CWORD=1; _shtab_headset_emulator; echo "${COMPREPLY[@]}"\n'
        "COMP_WORDS=(headset-emulator join --status); COMP_CWORD=2; _shtab_headset_emulator; "
        'echo "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.splitlines() == ["join", "--status-every"]


def test_zsh_completion_is_a_compdef_script(tmp_path: Path) -> None:
    script = run_cli("completion", "zsh", tmp_path=tmp_path)
    assert script.returncode == 0, script.stderr
    assert script.stdout.startswith("#compdef headset-emulator")
    assert "--status-every" in script.stdout and "app:'open the desktop app" in script.stdout
