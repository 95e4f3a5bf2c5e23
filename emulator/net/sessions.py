"""What a headset needs from a room connection, whichever SFU is behind it, and the factory by URL.

`ws://…` is the bundled room (`RoomSession`), `janus://HOST:PORT/ROOM` a Janus VideoRoom
(`JanusSession`). The headset, its state link and its voice only ever see this protocol.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from aiortc import MediaStreamTrack

from emulator.net.ice_servers import IceOptions
from emulator.net.janus import JanusSession, is_janus_url
from emulator.net.session import CONNECT_TIMEOUT_S, RoomSession, SessionCallbacks
from emulator.wire.signaling import Join, ParticipantInfo, Welcome


class Session(Protocol):
    me: ParticipantInfo | None
    participants: dict[str, ParticipantInfo]
    track_owners: dict[str, str]  # track key (an SDP mid for the bundled room) → participant id
    pc: Any  # the peer connection that carries our own voice and states (its ICE pair is reported)
    connected: asyncio.Event  # set once joined with the data channels open
    mode: str  # "forward" (one track per speaker) or "binaural" (the room mixes); Janus forwards
    callbacks: SessionCallbacks  # what the owner hears about; a recorder may wrap them

    async def connect(self, timeout: float = CONNECT_TIMEOUT_S) -> Welcome: ...

    async def close(self, reason: str = "left") -> None: ...

    def send_state(self, data: bytes) -> bool: ...

    def send_control(self, data: bytes) -> bool: ...


def open_session(
    url: str,
    join: Join,
    *,
    audio_track: MediaStreamTrack | None,
    callbacks: SessionCallbacks,
    ice: IceOptions | None = None,
    identity: str | None = None,
) -> Session:
    """`identity` matters to Janus only (the bundled room takes it from the join token)."""
    if is_janus_url(url):
        return JanusSession(
            url, join, audio_track=audio_track, callbacks=callbacks, ice=ice, identity=identity
        )
    return RoomSession(url, join, audio_track=audio_track, callbacks=callbacks, ice=ice)
