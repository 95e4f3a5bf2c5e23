"""The headset's state stream without I/O: `StateStreamCore` (feed, poll, deadlines, typed events),
the sending side it drives (`uplink.py`) and its events. `emulator.headset.state_link` runs it on the
loop over a session's data channel."""

from emulator.headset.stream.core import StateStreamCore
from emulator.headset.stream.events import (
    ClockOffsetUpdated,
    FaceUpdated,
    RemoteJoined,
    RemoteLeft,
    StateReceived,
    StatesSent,
    StreamEvent,
    VisemesReceived,
)
from emulator.headset.stream.uplink import Due, Outgoing, StreamSettings

__all__ = [
    "ClockOffsetUpdated",
    "Due",
    "FaceUpdated",
    "Outgoing",
    "RemoteJoined",
    "RemoteLeft",
    "StateReceived",
    "StateStreamCore",
    "StatesSent",
    "StreamEvent",
    "StreamSettings",
    "VisemesReceived",
]
