"""What the state stream tells its listeners: typed events out of `StateStreamCore`.

An event of a kind nobody asked for is never built (`StateStreamCore.want`): a swarm member, which
counts thousands of STATEs a second from their headers, pays nothing for events it does not read.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.model.face import Face
from emulator.model.room_state import RemoteParticipant
from emulator.wire import State, Visemes
from emulator.wire.signaling import ParticipantInfo


@dataclass(frozen=True, slots=True)
class RemoteJoined:
    info: ParticipantInfo


@dataclass(frozen=True, slots=True)
class RemoteLeft:
    info: ParticipantInfo
    reason: str


@dataclass(frozen=True, slots=True)
class StateReceived:
    """A decoded STATE from a participant in the room (full receivers only).

    `shown`: for a face in a set other than ARKit's (a Quest's), the ARKit face shown after it."""

    participant: RemoteParticipant
    message: State
    received_us: int
    shown: Face | None


@dataclass(frozen=True, slots=True)
class FaceUpdated:
    """A STATE changed `participant.face` (the mouths keep their overlay on it)."""

    participant: RemoteParticipant


@dataclass(frozen=True, slots=True)
class VisemesReceived:
    participant_id: str
    message: Visemes
    received_us: int


@dataclass(frozen=True, slots=True)
class ClockOffsetUpdated:
    """A PONG gave a better estimate of (their clock − ours) for participant `number`."""

    number: int
    participant_id: str
    offset_us: float
    round_trip_us: float


@dataclass(frozen=True, slots=True)
class StatesSent:
    """STATE messages (unstamped, as encoded) that just left in one datagram."""

    messages: tuple[bytes, ...]


StreamEvent = (
    RemoteJoined
    | RemoteLeft
    | StateReceived
    | FaceUpdated
    | VisemesReceived
    | ClockOffsetUpdated
    | StatesSent
)
