"""What a headset needs from a room connection, whichever SFU is behind it, and opening one by URL.

The adapter for the URL's scheme (emulator/net/signaling/adapters.py) opens the session: `ws://…` the bundled
room, `janus://HOST:PORT/ROOM` a Janus VideoRoom, or any scheme an installed package registers. The
headset, its state link and its voice only ever see the `Session` protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.net.signaling.adapters import AdapterError, Session, adapter_for

if TYPE_CHECKING:
    from aiortc import MediaStreamTrack

    from emulator.net.signaling.room_session import SessionCallbacks
    from emulator.net.transport.ice_servers import IceOptions
    from emulator.wire.signaling import Join

__all__ = ["AdapterError", "Session", "open_session"]


def open_session(
    url: str,
    join: Join,
    *,
    audio_track: MediaStreamTrack | None,
    callbacks: SessionCallbacks,
    ice: IceOptions | None = None,
    identity: str | None = None,
) -> Session:
    """`identity` is the id others see where the SFU takes it from the client (Janus); AdapterError
    when no adapter serves the URL's scheme."""
    return adapter_for(url).open(
        url, join, audio_track=audio_track, callbacks=callbacks, ice=ice, identity=identity
    )
