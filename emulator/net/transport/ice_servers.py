"""STUN/TURN servers given on the command line, the relay-only policy, and what ICE ended up using.

Why a module of its own: aiortc takes `RTCIceServer(urls, username, credential)` and ignores a TURN
URL it cannot use without a word, and aioice drops a failed TURN allocation silently (a relay-only
session then simply never connects). Users behind a firewall need the opposite: a URL that is wrong
is refused when it is parsed, and a TURN server that refuses us is named in the error.

URLs: `turn:HOST:PORT?transport=udp|tcp`, `turns:HOST:PORT`, `stun:HOST:PORT`; credentials either in
the URL (`turn:USER:PASS@HOST:PORT`, the form many firewall guides print) or given separately.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from emulator.net.transport import patches
from emulator.net.transport.ice import loopback_configuration

log = logging.getLogger(__name__)

TURN_PROBE_TIMEOUT_S = 5.0

_URL = re.compile(
    r"(?P<scheme>stuns?|turns?):(?:(?P<user>[^:@/?]+):(?P<password>[^@/?]*)@)?"
    r"(?P<host>\[[0-9a-fA-F:]+\]|[^:?/@\[\]]+)(?::(?P<port>\d{1,5}))?"
    r"(?:\?transport=(?P<transport>udp|tcp))?"
)


class IceServerError(ValueError):
    """A malformed ICE server URL, or relay-only ICE without a TURN server; says which and why.
    `url` is the URL at fault (None: the relay-only policy is)."""

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


@dataclass(frozen=True)
class IceServerSpec:
    scheme: str
    host: str
    port: int
    transport: str | None
    username: str | None
    credential: str | None

    @property
    def is_turn(self) -> bool:
        return self.scheme.startswith("turn")

    @property
    def url(self) -> str:
        """The URL as aiortc wants it: credentials taken out."""
        url = f"{self.scheme}:{self.host}:{self.port}"
        return url + (f"?transport={self.transport}" if self.transport else "")

    def to_rtc(self) -> RTCIceServer:
        return RTCIceServer(self.url, username=self.username, credential=self.credential)


def parse_ice_server(url: str, username: str | None = None, credential: str | None = None) -> IceServerSpec:
    """One ICE server URL; credentials in the URL win over the separate ones."""
    match = _URL.fullmatch(url.strip())
    if match is None:
        raise IceServerError(
            f"ICE server {url!r}: expected turn:HOST:PORT[?transport=udp|tcp], "
            "turn:USER:PASS@HOST:PORT or stun:HOST:PORT",
            url,
        )
    scheme = match["scheme"]
    port = int(match["port"]) if match["port"] else (5349 if scheme.endswith("s") else 3478)
    if not 0 < port < 65536:
        raise IceServerError(f"ICE server {url!r}: port {port} is out of range", url)
    transport = match["transport"]
    if scheme.startswith("stun") and transport:
        raise IceServerError(f"ICE server {url!r}: a STUN URL takes no transport", url)
    if scheme == "turns" and transport == "udp":
        raise IceServerError(f"ICE server {url!r}: turns: runs over TCP only", url)
    user = unquote(match["user"]) if match["user"] else username
    password = unquote(match["password"]) if match["user"] else credential
    if scheme.startswith("turn") and (user is None or password is None):
        raise IceServerError(
            f"ICE server {url!r}: a TURN server needs credentials "
            "(turn:USER:PASS@HOST:PORT, or a username and credential given with it)",
            url,
        )
    host = match["host"].strip("[]")
    return IceServerSpec(scheme, host, port, transport, user, password)


@dataclass(frozen=True)
class IceOptions:
    """What the user asked ICE to use; the default (no servers, all candidates) is loopback-friendly."""

    servers: tuple[IceServerSpec, ...] = ()
    relay_only: bool = False

    @classmethod
    def from_urls(
        cls,
        urls: list[str] | tuple[str, ...],
        username: str | None = None,
        credential: str | None = None,
        relay_only: bool = False,
    ) -> IceOptions:
        servers = tuple(parse_ice_server(url, username, credential) for url in urls)
        if relay_only and not any(s.is_turn for s in servers):
            raise IceServerError("relay-only ICE needs a TURN server (turn:…)")
        return cls(servers, relay_only)

    @property
    def turn(self) -> IceServerSpec | None:
        # aiortc uses the first usable TURN server only; say so by using the same one everywhere.
        return next((s for s in self.servers if s.is_turn), None)

    def configuration(self) -> RTCConfiguration:
        """An explicit configuration: an empty server list also stops aiortc asking Google's STUN."""
        policy = RTCIceTransportPolicy.RELAY if self.relay_only else RTCIceTransportPolicy.ALL
        return RTCConfiguration(iceServers=[s.to_rtc() for s in self.servers], iceTransportPolicy=policy)


def session_configuration(
    given: RTCConfiguration | None, options: IceOptions, local: bool
) -> RTCConfiguration | None:
    """What a session's peer connections use: an explicit one, else the user's servers, else (for a
    room on this machine) no servers at all; None lets aiortc choose, for a remote room without
    servers given."""
    if given is not None:
        return given
    if options.servers:
        return options.configuration()
    return loopback_configuration() if local else None


def ice_connection(pc: Any) -> Any | None:
    """The aioice connection under a peer connection's (bundled) transport, if it has one yet."""
    for transceiver in pc.getTransceivers():
        transport = transceiver.sender.transport or transceiver.receiver.transport
        if transport is not None:
            return patches.ice_connection_of(transport.transport)
    sctp = getattr(pc, "sctp", None)
    if sctp is not None:
        return patches.ice_connection_of(sctp.transport.transport)
    return None


def local_candidate_types(pc: Any) -> list[str]:
    connection = ice_connection(pc)
    return [c.type for c in connection.local_candidates] if connection is not None else []


def selected_pair(pc: Any) -> dict[str, str] | None:
    """The nominated pair of the first component: local/remote candidate types and addresses."""
    connection = ice_connection(pc)
    nominated = patches.nominated_pairs(connection) if connection is not None else None
    if not nominated:
        return None
    pair = nominated.get(1) or next(iter(nominated.values()))
    local, remote = pair.local_candidate, pair.remote_candidate
    return {
        "local_type": local.type,
        "local_address": f"{local.host}:{local.port}",
        "remote_type": remote.type,
        "remote_address": f"{remote.host}:{remote.port}",
    }


async def turn_failure(server: IceServerSpec, timeout: float = TURN_PROBE_TIMEOUT_S) -> str:
    """Ask the TURN server for an allocation ourselves, to say why ICE got no relay candidate.

    aioice swallows the reason; a short allocation of our own (released at once) recovers it.
    """
    from aioice import turn

    class _Quiet(asyncio.DatagramProtocol):
        pass

    transport = None
    try:
        transport, _ = await asyncio.wait_for(
            turn.create_turn_endpoint(
                _Quiet,
                server_addr=(server.host, server.port),
                username=server.username,
                password=server.credential,
                ssl=server.scheme == "turns",
                transport=server.transport or ("tcp" if server.scheme == "turns" else "udp"),
            ),
            timeout,
        )
    except TimeoutError:
        return f"TURN server {server.url} did not answer within {timeout:.0f} s"
    except Exception as error:  # aioice raises TransactionFailed, OSError, … — any is the answer
        detail = str(error) or type(error).__name__
        if "401" in detail:
            return f"TURN server {server.url} refused the credentials for {server.username!r} ({detail})"
        return f"TURN server {server.url} refused an allocation: {detail}"
    finally:
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.close()
    return f"TURN server {server.url} allocated for us, but ICE gathered no relay candidate"


async def relay_problem(pc: Any, options: IceOptions) -> str | None:
    """After gathering: why a session that needs a relay candidate has none (None when all is well)."""
    server = options.turn
    if server is None or "relay" in local_candidate_types(pc):
        return None
    if not options.relay_only:
        log.warning("%s", await turn_failure(server))
        return None
    return await turn_failure(server)
