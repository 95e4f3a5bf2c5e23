"""Who is in the room, where they are and what their faces do, as one receiver sees it.

Updated on the asyncio loop as state messages arrive; the renderer and the audio engine read it
through `snapshot()`, which copies what they need so they never see a half-applied update.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from emulator.model.face import Face
from emulator.model.pose import Pose


@dataclass
class RemoteParticipant:
    """One other participant. `number` is the room's small id that stamps its state messages."""

    id: str
    number: int
    name: str
    profile: str
    avatar: str = "default"
    face_set: str = "arkit52"
    pose: Pose | None = None
    face: Face = field(default_factory=Face)
    hands: dict[str, Any] = field(default_factory=dict)  # side → HandPose
    states_received: int = 0
    last_state_at: float | None = None  # receiver's monotonic seconds
    first_state_at: float | None = None


@dataclass(frozen=True, slots=True)
class ParticipantView:
    """An immutable copy for readers on other threads (painting, the audio callback's feeder)."""

    id: str
    number: int
    name: str
    profile: str
    avatar: str
    pose: Pose | None
    face: Face


class RoomState:
    """The receiver's picture of everyone else. Touched only on the loop's thread."""

    def __init__(self) -> None:
        self.by_number: dict[int, RemoteParticipant] = {}

    def add(self, participant: RemoteParticipant) -> None:
        self.by_number[participant.number] = participant

    def remove(self, number: int) -> RemoteParticipant | None:
        return self.by_number.pop(number, None)

    def get(self, number: int) -> RemoteParticipant | None:
        return self.by_number.get(number)

    def by_id(self, participant_id: str) -> RemoteParticipant | None:
        return next((p for p in self.by_number.values() if p.id == participant_id), None)

    def __len__(self) -> int:
        return len(self.by_number)

    def __iter__(self) -> Iterator[RemoteParticipant]:
        return iter(list(self.by_number.values()))

    def snapshot(self) -> list[ParticipantView]:
        return [
            ParticipantView(p.id, p.number, p.name, p.profile, p.avatar, p.pose, p.face.copy())
            for p in self.by_number.values()
        ]
