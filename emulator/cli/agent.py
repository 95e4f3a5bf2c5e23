"""`headset-emulator agent URL --say TEXT`: a talking avatar agent that speaks and moves its mouth.

The agent is a headless headset whose voice is espeak-ng speech (`--say`, `--script`), a WAV (`--wav`,
lip-synced from its own audio) or any `--audio` source; it sends a VISEMES stream timed to that audio
and shows the visemes on its own face. Without `--duration` it leaves once it has said everything
(a looping source talks until Ctrl+C).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.cli.common import CommandError, freeze_what_is_loaded, start_error
from emulator.cli.join import (
    add_headset_arguments,
    config_from_args,
    finish,
    identity_note,
    run_until_stopped,
)
from emulator.cli.status import StatusPrinter, add_status_argument, headset_line, printer_for, status_task
from emulator.cli.verdict_options import add_verdict_arguments, limits_from_args
from emulator.cli.vocab import seconds_or_zero

if TYPE_CHECKING:  # loaded when the agent runs, not for --help
    from emulator.headset.agent import TalkingAgent
    from emulator.headset.config import HeadsetConfig
    from emulator.qa.verdict import Limits

TAIL_S = 0.5  # stay this long after the last word so that it is heard to the end


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("agent", help="join a room as a talking avatar agent (speech + visemes)")
    add_headset_arguments(parser)
    said = parser.add_argument_group("what the agent says (one of)")
    said.add_argument("--say", help="text to speak with espeak-ng")
    said.add_argument("--script", type=Path, help="file of SECONDS<TAB>text lines, spoken at those times")
    said.add_argument("--wav", type=Path, help="a WAV to play; its visemes are estimated from the sound")
    parser.add_argument("--loop", action="store_true", help="say it over and over")
    parser.add_argument("--voice", help="espeak-ng voice, e.g. en-us, en+f3, de (default en-us)")
    parser.add_argument("--name", default="agent", help="display name (default agent)")
    parser.add_argument("--identity", help="participant identity (default: the name)")
    parser.add_argument("--at", help="position X,Y,Z in metres (default 0,1.6,0)")
    parser.add_argument("--yaw", type=float, default=0.0, help="facing, degrees; positive turns left")
    parser.add_argument("--report", type=Path, help="write what was measured and sent as JSON here")
    parser.add_argument("--record-dir", type=Path, help="write each remote's audio (WAV) and states here")
    parser.add_argument(
        "--markers",
        type=seconds_or_zero,
        default=0.0,
        help="mouth-to-ear marker period, e.g. 2s (default 0: none)",
    )
    add_verdict_arguments(parser)
    add_status_argument(parser)
    parser.set_defaults(handler=run, audio=None, face="blink")


def source_spec(args: argparse.Namespace) -> str:
    """The `--audio` spec the options name (exactly one of --say, --script, --wav, --audio)."""
    given = [
        spec
        for spec, present in (
            (f"speech:{args.say}", args.say is not None),
            (f"script:{args.script}", args.script is not None),
            (f"wav:{args.wav}{':loop' if args.loop else ''}", args.wav is not None),
            (args.audio, args.audio is not None),
        )
        if present
    ]
    if len(given) != 1:
        raise CommandError("say what the agent says with exactly one of --say, --script, --wav or --audio")
    return str(given[0])


def open_talking(args: argparse.Namespace) -> Any:
    from emulator.audio.wavfile import SourceError
    from emulator.headset.agent import talking_source
    from emulator.model.errors import ModelError

    spec = source_spec(args)
    kind = spec.partition(":")[0]
    try:
        if kind in ("speech", "script", "bot") and (args.voice or args.loop):
            from emulator.audio.espeak import SpeechError
            from emulator.audio.speech import open_speech_source

            try:
                return open_speech_source(spec, voice=args.voice, loop=args.loop or None)
            except SpeechError as error:
                raise SourceError(str(error)) from None
        return talking_source(spec)
    except (SourceError, ModelError, OSError) as error:
        raise CommandError(f"cannot speak {spec!r}: {error}") from None


def run(args: argparse.Namespace) -> int:
    from emulator.audio.factory import AudioSpec
    from emulator.audio.wavfile import SourceError
    from emulator.drive.errors import DriveError
    from emulator.drive.spec import placement
    from emulator.headset import HeadsetError
    from emulator.headset.agent import TalkingAgent

    try:
        start = placement(args.at, args.yaw)
    except DriveError as error:
        raise CommandError(str(error)) from None
    if not args.markers >= 0:
        raise CommandError("--markers must be 0 (off) or a period in seconds")
    limits = limits_from_args(args)
    config = config_from_args(args, args.name, start)  # a bad option is refused before the voice opens
    source = open_talking(args)
    config.marker_period_s = args.markers
    try:
        config.audio = AudioSpec.parse(source_spec(args))  # what reports show: the source is open already
        agent = TalkingAgent(config, source)
    except (HeadsetError, SourceError) as error:
        source.close()
        raise CommandError(str(error)) from None
    return asyncio.run(_talk(agent, config, args.duration, args.report, printer_for(args), limits))


async def _until_said(agent: TalkingAgent) -> None:
    while not agent.finished:
        await asyncio.sleep(0.05)
    await asyncio.sleep(TAIL_S)


async def _talk(
    agent: TalkingAgent,
    config: HeadsetConfig,
    duration: float | None,
    report: Path | None,
    printer: StatusPrinter | None = None,
    limits: Limits | None = None,
) -> int:
    from emulator.headset import HeadsetError

    try:
        await agent.start()
    except HeadsetError as error:
        await agent.stop()
        raise start_error(error) from None
    headset = agent.headset
    print(
        f"agent {config.name} joined {config.room} at {config.url} ({headset.participant_id}); talking",
        file=sys.stderr,
        flush=True,
    )
    mismatch = identity_note(headset)
    if mismatch:
        print(mismatch, file=sys.stderr, flush=True)
    freeze_what_is_loaded()
    said = asyncio.ensure_future(_until_said(agent)) if duration is None else None
    try:
        async with status_task(printer, lambda before: headset_line(headset, before)):
            if said is None:
                await run_until_stopped(duration, headset)
            else:
                stopped = asyncio.ensure_future(run_until_stopped(None, headset))
                await asyncio.wait([said, stopped], return_when=asyncio.FIRST_COMPLETED)
                for task in (said, stopped):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
    finally:
        measured = agent.report()
        await agent.stop()
    return finish(headset, measured, report, limits)
