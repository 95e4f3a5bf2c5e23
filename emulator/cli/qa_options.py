"""The QA toolkit's options on `join`: --record, --replay/--as/--speed/--loop, --net, --control,
--score/--reference."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.cli.common import CommandError, parse_option

if TYPE_CHECKING:
    from emulator.qa.tools import JoinTools

CONTROL_TOKEN_ENV = "HEADSET_EMULATOR_CONTROL_TOKEN"
NET_HELP = (
    "good | wifi | 4g | lossy | commute | cafe-wifi | "
    "custom:loss=5%%,burst=4,delay=80ms,jitter=30ms,rate=300kbps,reorder=1%%,duplicate=1%% (default good)"
)


def add_net_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--net", help=f"network conditions, applied to this headset's packets: {NET_HELP}")
    parser.add_argument("--net-seed", type=int, default=0, help="seed of the loss and jitter draws")


def add_qa_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--record", type=Path, help="write the session (states, audio, events) to this file")
    parser.add_argument("--replay", type=Path, help="repeat a participant of this recording (with --as)")
    parser.add_argument("--as", dest="replay_as", metavar="NAME", help="whom to repeat from --replay")
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="replay speed (default 1); the voice is not time-stretched, so its pitch changes with it",
    )
    parser.add_argument("--loop", action="store_true", help="repeat the replay when it ends")
    add_net_argument(parser)
    parser.add_argument(
        "--control", metavar="HOST:PORT", help="serve the remote-control HTTP API here, e.g. 127.0.0.1:8770"
    )
    parser.add_argument(
        "--control-token",
        metavar="TOKEN",
        help=f"bearer token the control API requires (default: ${CONTROL_TOKEN_ENV}, else a new one, "
        "printed at start)",
    )
    parser.add_argument(
        "--control-dir",
        type=Path,
        metavar="DIR",
        help="files the control API's /audio and /motion may open (default: none)",
    )
    parser.add_argument(
        "--score",
        choices=("off", "cheap", "full"),
        default="cheap",
        help="voice scores in --report: cheap = E-model from loss and delay (default), full = also "
        "the audio against --reference (needs the [quality] extra)",
    )
    parser.add_argument("--reference", type=Path, help="WAV the far end plays, scored with --score full")


def tools_from_args(args: argparse.Namespace) -> JoinTools:
    """The QA tools these options ask for; a bad combination or value is a CommandError naming its
    option (the tools' own errors name only the value)."""
    from emulator.net.prometheus import parse_listen
    from emulator.net.transport.condition_spec import parse_conditions
    from emulator.qa.tools import JoinTools

    if args.replay is not None:
        if not args.replay_as:
            raise CommandError("--replay needs --as NAME (whom to repeat)")
        if not args.speed > 0 or args.speed > 16:
            raise CommandError("--speed must be above 0 and at most 16")
    if args.reference is not None and args.score != "full":
        raise CommandError("--reference is scored with --score full")
    if args.control is not None:
        parse_option(lambda text: parse_listen(text, 0), args.control, "--control")
    if args.control_dir is not None and not args.control_dir.is_dir():
        raise CommandError(f"--control-dir: {str(args.control_dir)!r} is not a directory")
    return JoinTools(
        record=args.record,
        replay=args.replay,
        replay_as=args.replay_as,
        speed=args.speed,
        loop=args.loop,
        net=None if args.net is None else parse_option(parse_conditions, args.net, "--net"),
        net_seed=args.net_seed,
        control=args.control,
        control_token=args.control_token or os.environ.get(CONTROL_TOKEN_ENV),
        control_dir=args.control_dir,
        name_given=args.name is not None,
        score=args.score,
        reference=args.reference,
    )


def add_metrics_argument(parser: argparse.ArgumentParser, example_port: int) -> None:
    parser.add_argument(
        "--metrics", metavar="HOST:PORT", help=f"serve Prometheus metrics here, e.g. 127.0.0.1:{example_port}"
    )


def metrics_address(args: argparse.Namespace) -> tuple[str, int] | None:
    """Where `--metrics` asks to serve, or None; a malformed address is a CommandError."""
    from emulator.net.prometheus import parse_listen

    if not args.metrics:
        return None
    try:
        return parse_listen(args.metrics)
    except ValueError as error:
        raise CommandError(f"--metrics: {error}") from None
