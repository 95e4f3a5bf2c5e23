"""Voice routing inside one room (placeholder until the media path lands)."""

from __future__ import annotations

from typing import Any


class RoomAudio:
    def __init__(self, room: str, mode: str) -> None:
        self.room = room
        self.mode = mode

    def add_speaker(self, conn_id: str, receiver: Any, track: Any) -> None:
        pass

    def subscribe(self, listener: str, pc: Any, speaker: str) -> str:
        return "none"

    def unsubscribe(self, listener: str, speaker: str) -> str:
        return "none"

    def track_map(self, listener: str, pc: Any) -> dict[str, str]:
        return {}

    async def remove_participant(self, conn_id: str) -> None:
        pass

    async def stop(self) -> None:
        pass
