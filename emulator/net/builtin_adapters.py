"""The adapters this package registers: `ws://`/`wss://` (the bundled room) and `janus://` (VideoRoom).

Each imports its session module only when a session opens, so listing adapters stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.net.signaling.adapters import Credentials

if TYPE_CHECKING:
    from emulator.net.signaling.adapters import Session
    from emulator.net.signaling.room_session import SessionCallbacks
    from emulator.net.transport.ice_servers import IceOptions
    from emulator.wire.signaling import Join


class RoomAdapter:
    """The bundled room: a signed join token per participant (`--token`, or minted from the secret)."""

    credentials: Credentials = "token"

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
        from emulator.net.signaling.room_session import RoomSession

        # The room takes the identity from the signed token, so `identity` is not sent separately.
        return RoomSession(url, join, audio_track=audio_track, callbacks=callbacks, ice=ice)


class JanusAdapter:
    """A Janus VideoRoom at janus://HOST:PORT/ROOM: it asks for no credentials."""

    credentials: Credentials = "none"

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
        from emulator.net.signaling.janus import JanusSession

        return JanusSession(
            url, join, audio_track=audio_track, callbacks=callbacks, ice=ice, identity=identity
        )
