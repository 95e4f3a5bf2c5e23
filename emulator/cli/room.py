"""`headset-emulator room` serves the bundled room; `headset-emulator token` mints a join token."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from emulator.cli.common import CommandError, freeze_what_is_loaded, stop_on_signals
from emulator.cli.qa_options import add_metrics_argument, metrics_address
from emulator.cli.vocab import seconds
from emulator.net.prometheus import MetricsServer
from emulator.net.tokens import Grant, TokenError, load_secret, mint
from emulator.room.metrics import RoomMetrics
from emulator.room.server import DEFAULT_HOST, DEFAULT_PORT, RoomServer


def register(subparsers: Any) -> None:
    room = subparsers.add_parser("room", help="serve the bundled spatial room (an SFU) on this machine")
    room.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    room.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    room.add_argument(
        "--mix",
        choices=("forward", "binaural"),
        default="forward",
        help="forward: every listener gets every voice and spatializes it itself (default); "
        "binaural: the room renders one binaural mix per listener",
    )
    room.add_argument("--secret", help="token secret (default: $HEADSET_EMULATOR_SECRET or a local file)")
    add_metrics_argument(room, 9109)
    room.set_defaults(handler=run_room)

    token = subparsers.add_parser("token", help="mint a join token from the room's secret")
    token.add_argument("--room", required=True, help="room name the token admits to")
    token.add_argument("--identity", required=True, help="participant identity")
    token.add_argument("--ttl", type=seconds, default=3600.0, help="lifetime, e.g. 90s, 15m, 1h (default 1h)")
    token.add_argument("--listen-only", action="store_true", help="may not publish audio or state")
    token.add_argument("--secret", help="token secret (default: $HEADSET_EMULATOR_SECRET or a local file)")
    token.set_defaults(handler=run_token)


def run_token(args: argparse.Namespace) -> int:
    try:
        ttl = args.ttl
        secret = load_secret(args.secret)
    except (ValueError, TokenError) as error:
        raise CommandError(str(error)) from None
    print(mint(secret, Grant(args.room, args.identity, time.time() + ttl, not args.listen_only)))
    return 0


def run_room(args: argparse.Namespace) -> int:
    try:
        secret = load_secret(args.secret)
    except TokenError as error:
        raise CommandError(str(error)) from None
    listen = metrics_address(args)
    return asyncio.run(_serve(RoomServer(secret, args.host, args.port, args.mix), listen))


async def _serve(server: RoomServer, metrics_at: tuple[str, int] | None = None) -> int:
    try:
        await server.start()
    except OSError as error:
        raise CommandError(f"cannot listen on {server.host}:{server.port}: {error.strerror}") from None
    metrics = MetricsServer(RoomMetrics(server).collect, *metrics_at) if metrics_at else None
    if metrics is not None:
        try:
            await metrics.start()
        except OSError as error:
            await server.stop()
            raise CommandError(
                f"--metrics: cannot listen on {metrics.host}:{metrics.port}: {error.strerror}"
            ) from None
        print(f"room metrics on {metrics.url}", file=sys.stderr, flush=True)
    print(f"room serving on {server.url} (mode {server.mode}); Ctrl+C stops it", file=sys.stderr, flush=True)
    freeze_what_is_loaded()
    try:
        with stop_on_signals() as stop:
            await stop.wait()
    finally:
        if metrics is not None:
            await metrics.stop()
        await server.stop()
    return 0
