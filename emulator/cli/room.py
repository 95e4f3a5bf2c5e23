"""`headset-emulator room` serves the bundled room; `headset-emulator token` mints a join token."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from typing import Any

from emulator.cli.common import CommandError, freeze_what_is_loaded, stop_on_signals
from emulator.cli.qa_options import add_metrics_argument, metrics_address
from emulator.model.durations import parse_duration
from emulator.net.prometheus import MetricsServer
from emulator.net.signaling.tokens import Grant, TokenError, load_secret, mint
from emulator.net.transport.ice import is_loopback_host
from emulator.room.edge import EdgeLimits
from emulator.room.metrics import RoomMetrics
from emulator.room.server import DEFAULT_HOST, DEFAULT_PORT, RoomServer
from emulator.wire.signaling import RoomMode


def register(subparsers: Any) -> None:
    room = subparsers.add_parser("room", help="serve the bundled spatial room (an SFU) on this machine")
    room.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    room.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    room.add_argument(
        "--mix",
        type=RoomMode,
        choices=tuple(RoomMode),
        default=RoomMode.FORWARD,
        help="forward: every listener gets every voice and spatializes it itself (default); "
        "binaural: the room renders one binaural mix per listener",
    )
    room.add_argument(
        "--browsers",
        action="store_true",
        help="serve browsers on this machine: WebRTC also on this machine's own interface addresses, "
        "which a browser needs (it offers no loopback candidate); see docs/browser.md",
    )
    room.add_argument("--secret", help="token secret (default: $HEADSET_EMULATOR_SECRET or a local file)")
    add_metrics_argument(room, 9109)
    limits = EdgeLimits()
    room.add_argument(
        "--max-token-lifetime",
        metavar="DURATION",
        default="24h",
        help="refuse tokens valid for longer than this from now (default 24h)",
    )
    room.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="also accept browsers from this origin, e.g. https://app.example (repeatable; SECURITY.md)",
    )
    room.add_argument(
        "--join-timeout",
        metavar="DURATION",
        default=f"{limits.join_timeout_s:g}s",
        help=f"close a connection that has not joined within this (default {limits.join_timeout_s:g}s)",
    )
    room.add_argument(
        "--max-pending",
        metavar="N",
        type=int,
        default=limits.max_pending,
        help=f"connections waiting to join, at most (default {limits.max_pending})",
    )
    room.add_argument(
        "--max-pending-per-address",
        metavar="N",
        type=int,
        default=limits.max_pending_per_address,
        help="connections waiting to join from one non-loopback address (an IPv6 /64 counts as one), "
        f"at most (default {limits.max_pending_per_address})",
    )
    room.add_argument(
        "--max-connects-per-second",
        metavar="RATE",
        type=float,
        default=limits.max_connects_per_second,
        help="WebSocket connections one address (an IPv6 /64) may open a second, on average, loopback "
        f"included; more get HTTP 429 (default {limits.max_connects_per_second:g})",
    )
    room.add_argument(
        "--max-connect-burst",
        metavar="N",
        type=int,
        default=limits.max_connect_burst,
        help="WebSocket connections one address may open at once before --max-connects-per-second "
        f"applies, e.g. a swarm joining (default {limits.max_connect_burst})",
    )
    room.set_defaults(handler=run_room)

    token = subparsers.add_parser("token", help="mint a join token from the room's secret")
    token.add_argument("--room", required=True, help="room name the token admits to")
    token.add_argument("--identity", required=True, help="participant identity")
    token.add_argument("--ttl", default="1h", help="lifetime, e.g. 90s, 15m, 1h (default 1h)")
    token.add_argument("--listen-only", action="store_true", help="may not publish audio or state")
    token.add_argument(
        "--max-token-lifetime",
        metavar="DURATION",
        default="24h",
        help="the room's --max-token-lifetime: a longer --ttl is refused (default 24h)",
    )
    token.add_argument("--secret", help="token secret (default: $HEADSET_EMULATOR_SECRET or a local file)")
    token.set_defaults(handler=run_token)


def run_token(args: argparse.Namespace) -> int:
    try:
        ttl = parse_duration(args.ttl)
        longest = parse_duration(args.max_token_lifetime)
        secret = load_secret(args.secret)
    except (ValueError, TokenError) as error:
        raise CommandError(str(error)) from None
    if ttl > longest:
        raise CommandError(
            f"--ttl {args.ttl} is longer than a room accepts ({args.max_token_lifetime}); a room started "
            f"with --max-token-lifetime {args.ttl} or more takes it (pass the same here)"
        )
    print(mint(secret, Grant(args.room, args.identity, time.time() + ttl, not args.listen_only)))
    return 0


def run_room(args: argparse.Namespace) -> int:
    try:
        secret = load_secret(args.secret)
    except TokenError as error:
        raise CommandError(str(error)) from None
    listen = metrics_address(args)
    if logging.getLogger().level == logging.WARNING:
        # By default a room tells its operator who joined, left or was refused (info), nothing more.
        logging.getLogger("emulator.room").setLevel(logging.INFO)
    server = RoomServer(secret, args.host, args.port, args.mix, limits=_limits(args), browsers=args.browsers)
    return asyncio.run(_serve(server, listen))


def _limits(args: argparse.Namespace) -> EdgeLimits:
    try:
        lifetime = parse_duration(args.max_token_lifetime)
        join_timeout = parse_duration(args.join_timeout)
    except ValueError as error:
        raise CommandError(str(error)) from None
    if args.max_pending < 1 or args.max_pending_per_address < 1:
        raise CommandError("--max-pending and --max-pending-per-address must be at least 1")
    if not 0 < args.max_connects_per_second < float("inf"):  # written so that "nan" fails it too
        raise CommandError("--max-connects-per-second must be a positive number")
    if args.max_connect_burst < 1:
        raise CommandError("--max-connect-burst must be at least 1")
    for origin in args.allow_origin:
        scheme, sep, rest = origin.partition("://")
        if scheme not in ("http", "https") or not sep or not rest or "/" in rest.rstrip("/"):
            raise CommandError(f"--allow-origin: expected SCHEME://HOST[:PORT], got {origin!r}")
    return EdgeLimits(
        join_timeout_s=join_timeout,
        max_pending=args.max_pending,
        max_pending_per_address=args.max_pending_per_address,
        max_connects_per_second=args.max_connects_per_second,
        max_connect_burst=args.max_connect_burst,
        max_token_lifetime_s=lifetime,
        allowed_origins=tuple(args.allow_origin),
    )


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
    if server.browsers and is_loopback_host(server.host):
        print(
            f"browsers on this machine: open http://{server.host}:{server.port}/", file=sys.stderr, flush=True
        )
    elif server.browsers:
        print(
            "--browsers: a room on a network address takes any candidate already", file=sys.stderr, flush=True
        )
    freeze_what_is_loaded()
    try:
        with stop_on_signals() as stop:
            await stop.wait()
    finally:
        if metrics is not None:
            await metrics.stop()
        await server.stop()
    return 0
