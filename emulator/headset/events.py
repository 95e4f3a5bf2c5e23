"""The headset's one event hub: what the app, the recorder, the tools and the mouths subscribe to.

Events are typed (the state stream's, `emulator.headset.stream.events`, and the two below), and a
kind nobody subscribed to is never built: whoever produces it asks `wants(kind)` first, and the state
stream's core is told to build or stop building its kinds as subscribers come and go. A swarm member
with no subscriber pays nothing per datagram.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from emulator.audio.source import MonoBlock
from emulator.headset.stream.events import (
    ClockOffsetUpdated,
    FaceUpdated,
    RemoteJoined,
    RemoteLeft,
    StateReceived,
    StatesSent,
    VisemesReceived,
)

E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class DatagramReceived:
    """A datagram as it came off a data channel, before the state stream reads it (a recording
    keeps each remote message as it was sent)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class BlocksHeard:
    """One pull of the voice: each remote's block by participant id ("" for a binaural room's mix),
    10 ms (20 ms for a swarm member nobody hears), mono, or stereo for the room's mix."""

    blocks: dict[str, MonoBlock]


class EventHub:
    """Handlers by event kind, called in the order they subscribed, on the loop's thread."""

    def __init__(self) -> None:
        self._handlers: dict[type[Any], list[Callable[[Any], None]]] = {}
        self._watchers: list[Callable[[type[Any], bool], None]] = []

    def watch(self, on_change: Callable[[type[Any], bool], None]) -> None:
        """`on_change(kind, wanted)` when a kind gets its first subscriber or loses its last one."""
        self._watchers.append(on_change)
        for kind in self._handlers:
            on_change(kind, True)

    def subscribe(self, kind: type[E], handler: Callable[[E], None]) -> None:
        handlers = self._handlers.setdefault(kind, [])
        handlers.append(handler)
        if len(handlers) == 1:
            for watcher in self._watchers:
                watcher(kind, True)

    def unsubscribe(self, kind: type[E], handler: Callable[[E], None]) -> None:
        """Safe for a handler that is not subscribed."""
        handlers = self._handlers.get(kind)
        if handlers is None or handler not in handlers:
            return
        handlers.remove(handler)
        if not handlers:
            del self._handlers[kind]
            for watcher in self._watchers:
                watcher(kind, False)

    def wants(self, kind: type[Any]) -> bool:
        return kind in self._handlers

    def emit(self, event: object) -> None:
        # A copy: a handler may unsubscribe itself (a recorder closing on the event it reads).
        for handler in tuple(self._handlers.get(type(event), ())):
            handler(event)


__all__ = [
    "BlocksHeard",
    "ClockOffsetUpdated",
    "DatagramReceived",
    "EventHub",
    "FaceUpdated",
    "RemoteJoined",
    "RemoteLeft",
    "StateReceived",
    "StatesSent",
    "VisemesReceived",
]
