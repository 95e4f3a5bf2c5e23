"""Bring your own room: the signaling adapter interface, and finding adapters by URL scheme.

A headset reaches a room through a `Session` (join, exchange SDP, keep the roster, send on its
channels, leave) that an adapter opens for a URL. Adapters are found through the entry-point group
`headset_emulator.adapters`, keyed by URL scheme, so a package of one's own can add `myapp://`
without touching this one. docs/adapters.md walks through writing one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable
from urllib.parse import urlparse

if TYPE_CHECKING:
    from emulator.net.signaling.room_session import SessionCallbacks
    from emulator.net.transport.ice_servers import IceOptions
    from emulator.wire.signaling import Join, ParticipantInfo, RoomMode, Welcome

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "headset_emulator.adapters"

# How an adapter's participants prove they may join; what the headset puts in `Join.token`:
#   "token":  a join token: `--token`, or one minted here from the room secret (the bundled room);
#   "secret": the shared secret itself (`--secret`, $HEADSET_EMULATOR_SECRET or the local secret
#             file), from which the adapter makes what its server wants (a JWT, an HMAC);
#   "none":   nothing (`--token` is still passed through when given), as an open Janus room.
Credentials = Literal["token", "secret", "none"]
CREDENTIALS: tuple[Credentials, ...] = ("token", "secret", "none")

# Used when the package's own entry points cannot be read (a source checkout that was never
# installed, a bundle without metadata); an installed entry point of the same scheme wins.
BUILTIN: dict[str, str] = {
    "ws": "emulator.net.builtin_adapters:RoomAdapter",
    "wss": "emulator.net.builtin_adapters:RoomAdapter",
    "janus": "emulator.net.builtin_adapters:JanusAdapter",
}


class Session(Protocol):
    """One participant's connection to a room, whatever SFU is behind it. All on one asyncio loop.

    `connect()` does the whole join: signaling, the offer/answer exchange, ICE, and waits until the
    `state` (unordered, no retransmits) and `control` (reliable) data channels are open. Roster
    changes and remote tracks arrive through `callbacks`; `close()` leaves and must be safe to call
    twice or after a failed connect.
    """

    me: ParticipantInfo | None
    participants: dict[str, ParticipantInfo]
    track_owners: dict[str, str]  # track key (an SDP mid for the bundled room) → participant id
    pc: Any  # the peer connection that carries our own voice and states (its ICE pair is reported)
    connected: asyncio.Event  # set once joined with the data channels open
    mode: RoomMode  # forward (one track per speaker) or binaural (the room mixes); Janus forwards
    callbacks: SessionCallbacks  # what the owner hears about; a recorder may wrap them

    async def connect(self, timeout: float) -> Welcome:
        """Join; raise `emulator.net.signaling.room_session.SessionError(code, message)` when it cannot."""
        ...

    async def close(self, reason: str = "left") -> None: ...

    def send_state(self, data: bytes) -> bool:
        """Send on the lossy channel; False (and counted) rather than queue behind a slow link."""
        ...

    def send_control(self, data: bytes) -> bool: ...


@runtime_checkable
class SignalingAdapter(Protocol):
    """What an entry point names: how its participants authenticate, and how a session opens."""

    credentials: Credentials

    def open(
        self,
        url: str,
        join: Join,
        *,
        audio_track: Any,
        callbacks: SessionCallbacks,
        ice: IceOptions | None,
        identity: str | None,
    ) -> Session:
        """A session for `url`, not yet connected; cheap, no I/O (the headset calls `connect`)."""
        ...


class AdapterError(Exception):
    """No adapter for a URL's scheme, or the one installed is broken; says which and what exists."""


def scheme_of(url: str) -> str:
    return urlparse(url).scheme.lower()


@functools.cache
def installed_schemes() -> Mapping[str, str]:
    """Scheme → `module:attribute`, the package's built-ins overridden by installed entry points.

    Read once per process: scanning every installed distribution's metadata is not free, and a
    swarm opens hundreds of sessions.
    """
    found = dict(BUILTIN)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        found[point.name.lower()] = point.value
    return MappingProxyType(found)


def adapter_for(url: str) -> SignalingAdapter:
    """The adapter that serves `url`'s scheme, loaded and checked; AdapterError if there is none."""
    scheme = scheme_of(url)
    if not scheme:
        raise AdapterError(
            f"{url!r} has no scheme: expected e.g. ws://HOST:PORT/ws or janus://HOST:PORT/ROOM"
        )
    target = installed_schemes().get(scheme)
    if target is None:
        known = ", ".join(f"{s}://" for s in sorted(installed_schemes()))
        raise AdapterError(f"no signaling adapter for {scheme}:// (installed: {known}); see docs/adapters.md")
    try:
        found = EntryPoint(scheme, target, ENTRY_POINT_GROUP).load()
    except Exception as error:  # a third party's import can fail in any way; say which adapter
        raise AdapterError(f"the {scheme}:// adapter {target} cannot be loaded: {error}") from None
    adapter = found() if isinstance(found, type) else found
    if not isinstance(adapter, SignalingAdapter) or adapter.credentials not in CREDENTIALS:
        raise AdapterError(
            f"the {scheme}:// adapter {target} is not a SignalingAdapter "
            f"(needs `credentials` in {CREDENTIALS} and `open(url, join, ...)`)"
        )
    return adapter
