"""What `--help` shows beyond the options: headed groups and examples at the end.

The groups are arranged here, by option name, rather than in each subcommand's module, so that a
flag added to a subcommand lands in a group without touching the lines that register it.
"""

from __future__ import annotations

import argparse

MAIN_EPILOG = """\
examples:
  headset-emulator demo                                   the app in a local room with two bots
  headset-emulator room                                   serve a room on 127.0.0.1:8765
  headset-emulator join ws://127.0.0.1:8765/ws --room lobby --duration 30s
  headset-emulator app ws://127.0.0.1:8765/ws --room lobby --name me

exit codes: 0 ok, 1 the run failed (a probe threshold, a lost room), 2 usage, 3 could not connect
or was refused. `-v/-q` go before or after the command. docs/cli.md has the whole vocabulary."""

EXAMPLES: dict[str, str] = {
    "app": """\
examples:
  headset-emulator app                                    the window; pick the room in Connect
  headset-emulator app ws://127.0.0.1:8765/ws --room lobby --name me
  headset-emulator app janus://127.0.0.1:8188/1234 --profile quest3""",
    "join": """\
examples:
  headset-emulator join ws://127.0.0.1:8765/ws --room lobby --duration 30s
  headset-emulator join ws://10.0.0.5:8765/ws --token $TOKEN --motion orbit --face talk
  headset-emulator join janus://127.0.0.1:8188/1234 --audio wav:voice.wav --report run.json""",
    "swarm": """\
examples:
  headset-emulator swarm ws://127.0.0.1:8765/ws -n 20 --duration 5m --report swarm.json
  headset-emulator swarm ws://127.0.0.1:8765/ws -n 200 --workers 2 --speakers 10""",
    "agent": """\
examples:
  headset-emulator agent ws://127.0.0.1:8765/ws --say "hello there" --name guide
  headset-emulator agent ws://127.0.0.1:8765/ws --wav greeting.wav --loop""",
    "probe": """\
examples:
  headset-emulator probe ws://127.0.0.1:8765/ws --once --max-join 5s --max-first-audio 2s
  headset-emulator probe ws://127.0.0.1:8765/ws --every 1m --metrics 127.0.0.1:9108

Each run's line ends with HEALTHY or UNHEALTHY (docs/qa.md has thresholds a local room passes).
--timeout and the durations of --max-* need a unit (they took milliseconds before): 500ms, 2s.""",
    "room": """\
examples:
  headset-emulator room                                   127.0.0.1:8765, one secret per machine
  headset-emulator room --host 0.0.0.0 --port 9000 --metrics 127.0.0.1:9109""",
    "snapshot": """\
examples:
  headset-emulator snapshot --out head.png
  headset-emulator snapshot --avatar me.vrm --yaw 30 --out me.png""",
    "drive": """\
examples:
  headset-emulator drive --motion orbit --face talk --duration 20s --out orbit.jsonl""",
    "self-test": """\
examples:
  headset-emulator self-test
  headset-emulator self-test --no-window --out frame.png""",
}

# Group title → the option destinations it holds, for subcommands that have them.
GROUPS: dict[str, tuple[str, ...]] = {
    "room and identity": (
        "room", "token", "secret", "name", "identity", "profile", "avatar", "at", "yaw",
    ),
    "what it sends": (
        "audio", "opus_bitrate", "states_per_packet", "motion", "face", "hands",
    ),
    "record and replay": ("record", "replay", "replay_as", "speed", "loop"),
    "what it hears": ("hrtf", "hrtf_mirror", "output", "input", "record_dir"),
    "network": (
        "ice_server", "ice_username", "ice_credential", "relay_only", "connect_timeout", "net",
        "net_seed",
    ),
    "run and report": (
        "duration", "report", "metrics", "control", "every", "once", "count", "timeout", "status_every",
    ),
}  # fmt: skip


# Groups only some commands have; they are filled before the shared ones above.
COMMAND_GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "swarm": {"the swarm": ("count", "speakers", "radius", "prefix", "workers")},
}


def arrange_groups(parser: argparse.ArgumentParser, command: str) -> None:
    """Move the parser's loose options into the headed groups above (ones it has; order kept)."""
    loose = parser._optionals
    for title, dests in {**COMMAND_GROUPS.get(command, {}), **GROUPS}.items():
        moving = [a for a in loose._group_actions if a.dest in dests and a.help != argparse.SUPPRESS]
        if len(moving) < 2:
            continue
        group = parser.add_argument_group(title)
        for action in moving:
            loose._group_actions.remove(action)
            group._group_actions.append(action)
