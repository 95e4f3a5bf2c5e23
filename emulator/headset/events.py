"""The headset's one event hub: what the app, the recorder, the tools and the mouths subscribe to.

Events are typed (the state stream's, `emulator.headset.stream.events`, and the ones below), and a
kind nobody subscribed to is never built: whoever produces it asks `wants(kind)` first, the state
stream's core is told to build or stop building its kinds as subscribers come and go, and the
headset samples its stats only while someone subscribes to them. A swarm member with no subscriber
pays nothing per datagram.
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


@dataclass(frozen=True, slots=True)
class VoiceLevel:
    """How loud one block was, RMS in dBFS (`emulator.audio.level`; -120 for digital silence): a
    remote's voice as this headset pulled it (`participant_id`, "" for a binaural room's mix), every
    pull; or, `participant_id` None, this headset's own voice as the encoder takes it, after the mute
    (muted: -120), every Opus frame. Swarm members sharing one encoder: only the first one's hub
    hears the shared voice's level."""

    participant_id: str | None
    dbfs: float


@dataclass(frozen=True, slots=True)
class AudioFigures:
    """A remote's voice as received, running totals since it took its track (the report's `audio`)."""

    packets_received: int
    packets_lost: int
    payload_bytes: int
    jitter_ms: float
    playout_delay_ms: float
    codec_floor_ms: float  # what no path with this codec can beat (one frame plus the lookahead)


@dataclass(frozen=True, slots=True)
class RemoteFigures:
    """One remote as `StatsSampled` carries it (those who left keep their last figures)."""

    participant_id: str
    name: str
    states_received: int
    states_lost: int
    round_trip_ms: float | None  # the newest PING/PONG round trip; None before the first
    mouth_to_ear_ms: float | None  # the newest latency chirp's; None when none was heard
    audio: AudioFigures | None  # None: no voice received from them


@dataclass(frozen=True, slots=True)
class StatsSampled:
    """The headset's counters once a second (`STATS_PERIOD_S`), only while someone subscribes:
    running totals (a subscriber takes rates from two samples) and the newest measurements."""

    at: float  # time.monotonic() when sampled
    bytes_sent: int  # state datagrams and encoded voice since the start
    states_sent: int
    remotes: tuple[RemoteFigures, ...]


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
    "AudioFigures",
    "BlocksHeard",
    "ClockOffsetUpdated",
    "DatagramReceived",
    "EventHub",
    "FaceUpdated",
    "RemoteFigures",
    "RemoteJoined",
    "RemoteLeft",
    "StateReceived",
    "StatesSent",
    "StatsSampled",
    "VisemesReceived",
    "VoiceLevel",
]
