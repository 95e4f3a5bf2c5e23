"""The room's routing core, sans I/O: events and `now` go in, actions come out.

Written in the style of aioquic's connection: no sockets, no tasks, no clock of its own. The aiohttp
and aiortc layer around it (`emulator/room/server.py`) turns WebSocket messages, data-channel messages
and transport changes into calls here and carries out the returned actions. That keeps every rule of
the room — who is admitted, who hears whom, who may speak for whom — testable in microseconds.

Connections are opaque strings chosen by the I/O layer (one per WebSocket). A connection becomes a
participant once its `Join` is admitted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from emulator.net.tokens import DEFAULT_MAX_LIFETIME_S, TokenError, verify
from emulator.wire import WireError, pong_recipient, stamp_datagram
from emulator.wire.signaling import (
    MIX_OWNER,
    Error,
    Join,
    Joined,
    Left,
    ParticipantInfo,
    SignalingMessage,
    Welcome,
)

log = logging.getLogger(__name__)

MODES = ("forward", "binaural")
SILENCE_TIMEOUT_S = 4.0  # a participant whose data stopped is gone well within the promised 5 s
MEDIA_SETUP_TIMEOUT_S = 20.0  # from admission to the first data-channel message


# --- actions -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """Send a signaling message on a connection's WebSocket."""

    conn: str
    message: SignalingMessage


@dataclass(frozen=True, slots=True)
class Forward:
    """Deliver state-stream bytes (already stamped) to participants, on the lossy or reliable channel."""

    to: tuple[str, ...]
    data: bytes
    reliable: bool


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Start sending `speaker`'s voice to `listener`; `speaker` `MIX_OWNER` is the listener's binaural mix."""

    listener: str
    speaker: str


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    listener: str
    speaker: str


@dataclass(frozen=True, slots=True)
class Close:
    """Tear down a connection: its WebSocket and its peer connection."""

    conn: str
    reason: str


Action = Send | Forward | Subscribe | Unsubscribe | Close


@dataclass
class Participant:
    conn: str
    info: ParticipantInfo
    joined_at: float
    last_heard: float | None = None  # None until its first data-channel message
    states_forwarded: int = 0
    states_refused: int = 0


@dataclass
class RoomStats:
    joins: int = 0
    refusals: int = 0
    removals_silent: int = 0
    states_forwarded: int = 0
    messages_dropped: int = 0


@dataclass
class RoomCore:
    """One room: the participants and the rules between them."""

    name: str
    secret: bytes
    mode: str = "forward"
    max_token_lifetime_s: float = DEFAULT_MAX_LIFETIME_S
    participants: dict[str, Participant] = field(default_factory=dict)  # by conn
    stats: RoomStats = field(default_factory=RoomStats)
    _next_number: int = 1
    _conn_by_number: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"room mode must be one of {MODES}, got {self.mode!r}")

    # --- events ----------------------------------------------------------------------------------

    def join(self, conn: str, request: Join, now: float, wall_time: float) -> list[Action]:
        """A client asks to join; `wall_time` (Unix seconds) is what token expiry is checked against."""
        if conn in self.participants:
            return [Send(conn, Error("already-joined", "this connection has already joined"))]
        try:
            grant = verify(
                self.secret,
                request.token,
                room=self.name,
                now=wall_time,
                max_lifetime_s=self.max_token_lifetime_s,
            )
        except TokenError as error:
            self.stats.refusals += 1
            log.info("room %r refused a join: %s", self.name, error)
            return [Send(conn, Error(error.code, str(error))), Close(conn, error.code)]
        if request.room != self.name:
            self.stats.refusals += 1
            reason = f"asked for room {request.room!r} on room {self.name!r}"
            return [Send(conn, Error("wrong-room", reason)), Close(conn, "wrong-room")]

        actions: list[Action] = []
        for other in list(self.participants.values()):
            if other.info.id == grant.identity:
                # The same identity joining again replaces its old connection (a reconnecting headset).
                actions += self._remove(other.conn, "replaced")
        info = ParticipantInfo(
            id=grant.identity,
            number=self._allocate_number(),
            name=request.name,
            profile=request.profile,
            avatar=request.avatar,
            face_set=request.face_set,
            may_publish=grant.may_publish,
        )
        others = list(self.participants.values())
        self.participants[conn] = Participant(conn, info, joined_at=now)
        self._conn_by_number[info.number] = conn
        self.stats.joins += 1
        actions.append(Send(conn, Welcome(info, self.mode, [p.info for p in others])))
        actions += [Send(p.conn, Joined(info)) for p in others]
        if self.mode == "forward":
            for p in others:
                if info.may_publish:
                    actions.append(Subscribe(listener=p.conn, speaker=conn))
                if p.info.may_publish:
                    actions.append(Subscribe(listener=conn, speaker=p.conn))
        else:
            # Binaural: one stream, the room's mix for this listener, whoever speaks.
            actions.append(Subscribe(listener=conn, speaker=MIX_OWNER))
        return actions

    def leave(self, conn: str, now: float, reason: str = "left") -> list[Action]:
        """The connection is gone or asked to leave; idempotent."""
        return self._remove(conn, reason)

    def state_message(self, conn: str, data: bytes, now: float, *, reliable: bool) -> list[Action]:
        """A state-stream message from a participant: stamp its sender and hand it to everyone else.

        Stamping here is what stops a client from speaking for another: whatever sender number a
        client wrote is replaced by the one the room gave it.
        """
        sender = self.participants.get(conn)
        if sender is None:
            self.stats.messages_dropped += 1
            return []
        sender.last_heard = now
        if not sender.info.may_publish:
            sender.states_refused += 1
            self.stats.messages_dropped += 1
            return []
        try:
            # A client may pack its own messages into a BATCH; each one is stamped and forwarded alone,
            # so receivers get them batched per receiver like everyone else's.
            stamped = stamp_datagram(data, sender.info.number)
        except WireError:
            # Not v1 state-stream messages: count it, drop it (all of a malformed BATCH).
            sender.states_refused += 1
            self.stats.messages_dropped += 1
            return []
        recipients = tuple(p.conn for p in self.participants.values() if p.conn != conn)
        sender.states_forwarded += len(stamped)
        self.stats.states_forwarded += len(stamped)
        if not recipients:
            return []
        forwards: list[Action] = []
        for message in stamped:
            to = pong_recipient(message)
            if to is None:
                forwards.append(Forward(recipients, message, reliable))
                continue
            # A PONG answers one participant's PING: only the asker needs it.
            addressee = self._conn_by_number.get(to)
            if addressee is not None and addressee != conn:
                forwards.append(Forward((addressee,), message, reliable))
        return forwards

    def heard(self, conn: str, now: float) -> None:
        """Any sign of life on a participant's media (data channel message, RTP)."""
        participant = self.participants.get(conn)
        if participant is not None:
            participant.last_heard = now

    def tick(self, now: float) -> list[Action]:
        """Remove participants whose transport has gone quiet; call about once a second."""
        actions: list[Action] = []
        for p in list(self.participants.values()):
            if p.last_heard is None:
                if now - p.joined_at > MEDIA_SETUP_TIMEOUT_S:
                    actions += self._remove(p.conn, "media-timeout")
            elif now - p.last_heard > SILENCE_TIMEOUT_S:
                self.stats.removals_silent += 1
                actions += self._remove(p.conn, "transport-lost")
        return actions

    # --- queries ---------------------------------------------------------------------------------

    def participant(self, conn: str) -> Participant | None:
        return self.participants.get(conn)

    def by_number(self, number: int) -> Participant | None:
        conn = self._conn_by_number.get(number)
        return None if conn is None else self.participants.get(conn)

    def __len__(self) -> int:
        return len(self.participants)

    # --- internals -------------------------------------------------------------------------------

    def _allocate_number(self) -> int:
        used = {p.info.number for p in self.participants.values()}
        for _ in range(65535):
            number = self._next_number
            self._next_number = number % 65535 + 1
            if number not in used:
                return number
        raise RuntimeError("room is full: 65535 participants")

    def _remove(self, conn: str, reason: str) -> list[Action]:
        gone = self.participants.pop(conn, None)
        if gone is None:
            return []
        self._conn_by_number.pop(gone.info.number, None)
        log.info("room %r: %r (%r) left: %s", self.name, gone.info.id, gone.info.name, reason)
        actions: list[Action] = [Close(conn, reason)]
        for p in self.participants.values():
            actions.append(Send(p.conn, Left(gone.info.id, gone.info.number, reason)))
            if self.mode == "forward":
                actions.append(Unsubscribe(listener=p.conn, speaker=conn))
        return actions
