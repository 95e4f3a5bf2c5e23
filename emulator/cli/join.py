"""`headset-emulator join URL --room R --name N`: one headless headset, everything but the window."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.cli.common import (
    CommandError,
    freeze_what_is_loaded,
    parse_option,
    start_error,
    stop_on_signals,
)
from emulator.cli.qa_options import add_qa_arguments, tools_from_args
from emulator.cli.status import StatusPrinter, add_status_argument, headset_line, printer_for, status_task
from emulator.cli.summary_table import remote_table
from emulator.cli.verdict_options import add_verdict_arguments, limits_from_args, say_verdict
from emulator.cli.vocab import ExitCode, seconds

# The headset and what it loads (numpy, aiortc, PyAV; asyncio too) are imported when a command runs,
# not for --help.
if TYPE_CHECKING:
    import asyncio

    from emulator.headset import Headset, HeadsetConfig
    from emulator.model.pose import Pose
    from emulator.qa.tools import JoinTools
    from emulator.qa.verdict import Limits


def add_headset_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by `join` and `swarm`."""
    parser.add_argument("url", help="the room, e.g. ws://127.0.0.1:8765/ws")
    parser.add_argument("--room", default="lobby", help="room name (default lobby)")
    parser.add_argument("--token", help="join token (default: minted locally for a room on this machine)")
    parser.add_argument("--secret", help="room secret for minting a local token")
    parser.add_argument(
        "--profile", default="visionpro", help="device profile: visionpro, quest3, quest3s, questpro"
    )
    parser.add_argument("--avatar", default="default", help="avatar name or .glb path others should draw")
    parser.add_argument(
        "--audio",
        default="tone:440",
        help="mic | tone:HZ | wav:FILE | silence | speech:TEXT (default tone:440)",
    )
    parser.add_argument(
        "--opus-bitrate", type=int, default=32_000, help="Opus bitrate in bit/s (default 32000)"
    )
    parser.add_argument(
        "--opus-frame",
        type=int,
        choices=(10, 20),
        default=20,
        metavar="MS",
        help="Opus frame, 10 or 20 ms (default 20; 10 lowers latency, doubles packets per second)",
    )
    parser.add_argument(
        "--states-per-packet",
        type=int,
        default=2,
        metavar="K",
        help="pose/face samples per data-channel datagram, 1-8 (default 2: 90 Hz pose in 45 datagrams/s)",
    )
    parser.add_argument(
        "--motion", default="still", help="still | orbit | nod | look-around | walk | trace:FILE.jsonl"
    )
    parser.add_argument(
        "--face",
        default="neutral",
        help="neutral | talk | blink | smile | surprise | csv:FILE | trace:FILE.jsonl (a --motion trace:FILE "
        "brings its faces along with the default face)",
    )
    parser.add_argument(
        "--hands",
        default="relaxed",
        help="none | relaxed | wave | point | pinch | thumbs-up | talk | trace:FILE.jsonl (default relaxed)",
    )
    parser.add_argument(
        "--duration", type=seconds, help="leave after this long, e.g. 90s or 5m (default: until Ctrl+C)"
    )
    parser.add_argument("--hrtf", help="SOFA file for binaural rendering, or 'off' (default: bundled KEMAR)")
    parser.add_argument("--hrtf-mirror", action="store_true", help="swap the HRTF's left and right ears")
    parser.add_argument("--output", help="play what is heard: default, a device name or index, or wav:FILE")
    parser.add_argument("--input", help="microphone for --audio mic: index or part of a name")
    parser.add_argument(
        "--ice-server",
        action="append",
        default=[],
        metavar="URL",
        help="STUN/TURN server, repeatable: turn:HOST:PORT?transport=udp, turn:USER:PASS@HOST:PORT, "
        "stun:HOST:PORT",
    )
    parser.add_argument(
        "--connect-timeout", type=seconds, default=15.0, help="give up joining after this long (default 15s)"
    )
    parser.add_argument("--ice-username", help="TURN username (for URLs without credentials)")
    parser.add_argument("--ice-credential", help="TURN password (for URLs without credentials)")
    parser.add_argument(
        "--relay-only", action="store_true", help="use relayed (TURN) candidates only, as behind a firewall"
    )


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("join", help="join a room as one headless headset")
    add_headset_arguments(parser)
    parser.add_argument("--name", help="display name (default headset, or the replayed one's)")
    parser.add_argument("--identity", help="participant identity (default: the name)")
    parser.add_argument(
        "--at", help="position X,Y,Z in metres, e.g. --at=-2,1.6,0 (default: standing at the origin, 0,1.6,0)"
    )
    parser.add_argument("--yaw", type=float, default=0.0, help="facing, degrees; positive turns left")
    parser.add_argument("--report", type=Path, help="write what was measured as JSON here on leaving")
    parser.add_argument(
        "--record-dir", type=Path, help="write each remote's audio (WAV) and states (JSONL) here"
    )
    add_qa_arguments(parser)
    add_verdict_arguments(parser)
    add_status_argument(parser)
    parser.set_defaults(handler=run)


def config_from_args(args: argparse.Namespace, name: str, place: Pose) -> HeadsetConfig:
    from emulator.audio.devices import OutputSpec
    from emulator.audio.factory import NO_AUDIO, AudioSpec
    from emulator.audio.hrtf import HrtfSpec
    from emulator.drive.faces import FaceSpec
    from emulator.drive.hands import hands_from_spec
    from emulator.drive.motions import MotionSpec
    from emulator.headset import HeadsetConfig
    from emulator.headset.config import MAX_STATES_PER_PACKET
    from emulator.net.transport.ice_servers import IceOptions, IceServerError

    if args.opus_bitrate < 6000 or args.opus_bitrate > 510_000:
        raise CommandError("--opus-bitrate must be between 6000 and 510000 bit/s")
    if not 1 <= args.states_per_packet <= MAX_STATES_PER_PACKET:
        raise CommandError(f"--states-per-packet must be between 1 and {MAX_STATES_PER_PACKET}")
    if args.duration is not None and not args.duration > 0:
        raise CommandError("--duration must be positive")
    # The agent names its voice with --say, --script or --wav instead (its --audio defaults to None).
    audio = NO_AUDIO if args.audio is None else parse_option(AudioSpec.parse, args.audio, "--audio")
    output = None if args.output is None else parse_option(OutputSpec.parse, args.output, "--output")
    if args.input and audio.text.strip().lower() != "mic":
        raise CommandError(f"--input picks the microphone for --audio mic (--audio is {audio})")
    try:
        ice = IceOptions.from_urls(args.ice_server, args.ice_username, args.ice_credential, args.relay_only)
    except IceServerError as error:
        raise CommandError(f"{'--relay-only' if error.url is None else '--ice-server'}: {error}") from None
    if not args.connect_timeout > 0:
        raise CommandError("--connect-timeout must be positive")
    return HeadsetConfig(
        ice=ice,
        connect_timeout_s=args.connect_timeout,
        url=args.url,
        room=args.room,
        name=name,
        token=args.token,
        identity=getattr(args, "identity", None),
        profile=args.profile,
        avatar=args.avatar,
        placement=place,
        motion=parse_option(MotionSpec.parse, args.motion, "--motion"),
        face=parse_option(FaceSpec.parse, args.face, "--face"),
        hands=parse_option(hands_from_spec, args.hands, "--hands"),
        audio=audio,
        opus_bitrate=args.opus_bitrate,
        opus_frame_ms=args.opus_frame,
        states_per_packet=args.states_per_packet,
        record_dir=getattr(args, "record_dir", None),
        hrtf=None if args.hrtf is None else HrtfSpec.parse(args.hrtf),  # never refused: files open at start
        hrtf_mirror=args.hrtf_mirror,
        output=output,
        secret=args.secret,
        input=args.input,
    )


async def run_until_stopped(duration: float | None, *started: Headset) -> None:
    """Wait for the duration, Ctrl+C or SIGTERM, whichever comes first."""
    import asyncio

    with stop_on_signals() as stop:
        ended = [asyncio.ensure_future(h.closed.wait()) for h in started]
        waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait()), *ended]
        if duration is not None:
            waiters.append(asyncio.ensure_future(asyncio.sleep(duration)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()


def run(args: argparse.Namespace) -> int:
    from emulator.drive.errors import DriveError
    from emulator.drive.spec import placement

    try:
        start = placement(args.at, args.yaw)
    except DriveError as error:
        raise CommandError(str(error)) from None
    config = config_from_args(args, args.name or "headset", start)
    limits = limits_from_args(args)
    import asyncio

    return asyncio.run(
        _join(config, args.duration, args.report, tools_from_args(args), printer_for(args), limits)
    )


async def _join(
    config: HeadsetConfig,
    duration: float | None,
    report_path: Path | None,
    tools: JoinTools | None = None,
    printer: StatusPrinter | None = None,
    limits: Limits | None = None,
) -> int:
    from emulator.headset import HeadsetError
    from emulator.qa.tools import JoinTools, ToolError

    tools = tools or JoinTools()
    try:
        headset = tools.prepare(config)
    except (ToolError, HeadsetError) as error:
        raise CommandError(str(error)) from None
    config = headset.config
    try:
        await headset.start()
        for note in await tools.attach(headset):
            print(f"{config.name}: {note}", file=sys.stderr, flush=True)
    except (HeadsetError, ToolError) as error:
        await tools.stop()
        await headset.stop()
        raise start_error(error) from None
    print(
        f"joined {config.room} at {config.url} as {config.name} ({headset.participant_id}); "
        f"{len(headset.session_participants())} others here",
        file=sys.stderr,
        flush=True,
    )
    mismatch = identity_note(headset)
    if mismatch:
        print(mismatch, file=sys.stderr, flush=True)
    freeze_what_is_loaded()
    try:
        async with status_task(printer, lambda before: headset_line(headset, before)):
            await run_until_stopped(duration, headset)
    finally:
        report = {**headset.report(), **tools.report()}
        await tools.stop()
        await headset.stop()
    await tools.add_scores(report)
    return finish(headset, report, report_path, limits)


def identity_note(headset: Headset) -> str | None:
    """When the token names someone else than `--name`/`--identity`: who the room says we are."""
    given, shown = headset.config.participant_identity, headset.participant_id
    if shown is None or shown == given:
        return None
    return (
        f"{headset.config.name}: the token is for identity {shown!r}, not {given!r}: the room shows this "
        f"headset as {headset.config.name!r} with id {shown!r}"
    )


def finish(
    headset: Headset, report: dict[str, Any], report_path: Path | None, limits: Limits | None = None
) -> int:
    """After leaving: write the report if asked, give the verdict (unless --no-verdict); exit code 1
    if the room, not we, ended the session or the run was unhealthy."""
    if report_path is not None:
        report_path.write_text(json.dumps(report, indent=2))
    print(remote_table(report), file=sys.stderr, flush=True)
    from emulator.wire.signaling import CloseReason  # the wire package loads numpy: not for --help

    ended = headset.close_reason not in (None, CloseReason.LEFT)
    if ended:
        print(f"the room ended the session: {headset.close_reason}", file=sys.stderr)
    unhealthy = say_verdict(limits, [report])
    return ExitCode.FAILED if ended or unhealthy else ExitCode.OK
