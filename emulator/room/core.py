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

from emulator.net.signaling.tokens import DEFAULT_MAX_LIFETIME_S, TokenError, verify
from emulator.room.ratelimit import SenderBudget
from emulator.room.screening import PING_FIRST_BYTE, STATE_FIRST_BYTE, TYPE_BITS, impossible
from emulator.wire import WireError, messages_in, pong_recipient, stamp_sender
from emulator.wire.header import MAX_MESSAGE_SIZE
from emulator.wire.signaling import (
    MIX_OWNER,
    CloseReason,
    Error,
    Join,
    Joined,
    Left,
    ParticipantInfo,
    RoomMode,
    SignalingMessage,
    Welcome,
)

log = logging.getLogger(__name__)

MODES = tuple(RoomMode)
SILENCE_TIMEOUT_S = 4.0  # a participant whose data stopped is gone well within the promised 5 s
MEDIA_SETUP_TIMEOUT_S = 20.0  # from admission to the first data-channel message or voice packet
# Ticks come twice a second; a longer gap between two means the room's own loop was too busy to hear
# anyone, and that time is not counted as anyone's silence (or a stalled room would drop everyone).
TICK_GAP_S = 1.0


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


@dataclass(frozen=True, slots=True)
class MixStates:
    """Admitted STATEs from `conn`, unstamped, for the binaural mix to follow its pose (binaural only)."""

    conn: str
    messages: tuple[bytes, ...]


Action = Send | Forward | Subscribe | Unsubscribe | Close | MixStates


@dataclass
class Participant:
    conn: str
    info: ParticipantInfo
    joined_at: float
    budget: SenderBudget
    last_heard: float | None = None  # None until its first data-channel message or voice packet
    deaf_at_heard: float = 0.0  # the room's `deaf_s` when it was last heard
    states_forwarded: int = 0
    states_refused: int = 0


@dataclass
class RoomStats:
    joins: int = 0
    refusals: int = 0
    removals_silent: int = 0
    states_forwarded: int = 0
    messages_dropped: int = 0  # every message not forwarded, for whatever reason
    messages_malformed: int = 0  # not v1, or structurally impossible (see room/screening.py)
    messages_over_budget: int = 0
    tracks_refused: int = 0  # audio from a participant whose token does not let it publish
    removals_rate_limited: int = 0


@dataclass
class RoomCore:
    """One room: the participants and the rules between them."""

    name: str
    secret: bytes
    mode: RoomMode = RoomMode.FORWARD
    max_token_lifetime_s: float = DEFAULT_MAX_LIFETIME_S
    participants: dict[str, Participant] = field(default_factory=dict)  # by conn
    stats: RoomStats = field(default_factory=RoomStats)
    deaf_s: float = 0.0  # how long, in all, the room's loop was too busy to tick (see TICK_GAP_S)
    _last_tick: float | None = None
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
            log.info("room %r refused a join: %s", self.name, reason)
            return [Send(conn, Error("wrong-room", reason)), Close(conn, "wrong-room")]

        actions: list[Action] = []
        for other in list(self.participants.values()):
            if other.info.id == grant.identity:
                # The same identity joining again replaces its old connection (a reconnecting headset).
                actions += self._remove(other.conn, CloseReason.REPLACED)
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
        budget = SenderBudget.for_profile(request.profile, now)
        self.participants[conn] = Participant(conn, info, joined_at=now, budget=budget)
        self._conn_by_number[info.number] = conn
        self._resize_budgets()
        self.stats.joins += 1
        log.info(
            "room %r: %r joined as %r (number %d, %r%s)",
            self.name,
            info.id,
            info.name,
            info.number,
            info.profile,
            "" if info.may_publish else ", listen-only",
        )
        actions.append(Send(conn, Welcome(info, self.mode, [p.info for p in others])))
        actions += [Send(p.conn, Joined(info)) for p in others]
        if self.mode == RoomMode.FORWARD:
            for p in others:
                if info.may_publish:
                    actions.append(Subscribe(listener=p.conn, speaker=conn))
                if p.info.may_publish:
                    actions.append(Subscribe(listener=conn, speaker=p.conn))
        else:
            # Binaural: one stream, the room's mix for this listener, whoever speaks.
            actions.append(Subscribe(listener=conn, speaker=MIX_OWNER))
        return actions

    def leave(self, conn: str, now: float, reason: str = CloseReason.LEFT) -> list[Action]:
        """The connection is gone or asked to leave; idempotent."""
        return self._remove(conn, reason)

    def state_message(self, conn: str, data: bytes, now: float, *, reliable: bool) -> list[Action]:
        """A state-stream message from a participant: stamp its sender and hand it to everyone else.

        Stamping here is what stops a client from speaking for another: whatever sender number a
        client wrote is replaced by the one the room gave it. Before that, each message must fit its
        sender's budget (room/ratelimit.py) and be structurally possible (room/screening.py).
        """
        sender = self.participants.get(conn)
        if sender is None:
            self.stats.messages_dropped += 1
            return []
        sender.last_heard = now
        sender.deaf_at_heard = self.deaf_s
        try:
            if len(data) > MAX_MESSAGE_SIZE:
                raise WireError(f"oversized: {len(data)} bytes is more than {MAX_MESSAGE_SIZE}")
            # A client may pack its own messages into a BATCH; each one is stamped and forwarded alone,
            # so receivers get them batched per receiver like everyone else's.
            messages = messages_in(data)
        except WireError:
            return self._refuse(sender, 1, malformed=True)
        budget = sender.budget
        admitted: list[bytes] = []
        over = 0
        for message in messages:
            if reliable:
                allowed = budget.allow_control(now)
            elif message[0] == PING_FIRST_BYTE:
                allowed = budget.allow_ping(now)
            else:
                allowed = budget.allow_state(now)
            if not allowed:
                over += 1
            elif impossible(message) is not None:
                self._refuse(sender, 1, malformed=True)
            else:
                admitted.append(message)
        if over:
            self.stats.messages_over_budget += over
            self._refuse(sender, over)
            if budget.flagrant():  # no honest sender gets here: cut off now, not at the next tick
                return self._cut_off(sender)
        if not admitted:
            # Where a flood's messages end: no stamping, and no walk over the participants for each.
            return []
        actions: list[Action] = []
        if self.mode == RoomMode.BINAURAL:
            # A listen-only participant's pose turns its own mix; with its audio refused at the
            # server layer, nobody else's mix places it.
            states = tuple(m for m in admitted if m[0] & TYPE_BITS == STATE_FIRST_BYTE)
            if states:
                actions.append(MixStates(conn, states))
        if not sender.info.may_publish:
            self._refuse(sender, len(admitted))
            return actions
        try:
            stamped = [stamp_sender(message, sender.info.number) for message in admitted]
        except WireError:
            return self._refuse(sender, len(admitted), malformed=True)
        recipients = tuple(p.conn for p in self.participants.values() if p.conn != conn)
        sender.states_forwarded += len(stamped)
        self.stats.states_forwarded += len(stamped)
        if not recipients:
            return actions
        for message in stamped:
            to = pong_recipient(message)
            if to is None:
                actions.append(Forward(recipients, message, reliable))
                continue
            # A PONG answers one participant's PING: only the asker needs it.
            addressee = self._conn_by_number.get(to)
            if addressee is not None and addressee != conn:
                actions.append(Forward((addressee,), message, reliable))
        return actions

    def may_publish(self, conn: str) -> bool:
        """Whether the participant's token lets it be heard; the I/O layer asks before taking its audio."""
        participant = self.participants.get(conn)
        return participant is not None and participant.info.may_publish

    def refuse_track(self, conn: str) -> None:
        self.stats.tracks_refused += 1
        participant = self.participants.get(conn)
        if participant is not None:
            log.info("room %r: refused audio from listen-only %r", self.name, participant.info.id)

    def heard(self, conn: str, now: float) -> None:
        """Any sign of life on a participant's media (data channel message, RTP)."""
        participant = self.participants.get(conn)
        if participant is not None:
            participant.last_heard = now
            participant.deaf_at_heard = self.deaf_s

    def tick(self, now: float) -> list[Action]:
        """Remove participants whose transport has gone quiet; call twice a second (see TICK_GAP_S)."""
        if self._last_tick is not None and now - self._last_tick > TICK_GAP_S:
            self.deaf_s += now - self._last_tick - TICK_GAP_S
            log.info("room %r: no tick for %.1f s (the loop was busy)", self.name, now - self._last_tick)
        self._last_tick = now
        actions: list[Action] = []
        for p in list(self.participants.values()):
            if p.last_heard is None:
                if now - p.joined_at > MEDIA_SETUP_TIMEOUT_S:
                    actions += self._remove(p.conn, CloseReason.MEDIA_TIMEOUT)
            elif now - p.last_heard - (self.deaf_s - p.deaf_at_heard) > SILENCE_TIMEOUT_S:
                self.stats.removals_silent += 1
                actions += self._remove(p.conn, CloseReason.TRANSPORT_LOST)
            elif p.budget.should_cut_off(now):
                actions += self._cut_off(p)
        return actions

    def _cut_off(self, p: Participant) -> list[Action]:
        self.stats.removals_rate_limited += 1
        log.warning(
            "room %r: %r stayed over its message budget (%d dropped); disconnected",
            self.name, p.info.id, p.budget.dropped,
        )  # fmt: skip
        return self._remove(p.conn, CloseReason.RATE_LIMITED)

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

    def _refuse(self, sender: Participant, count: int, *, malformed: bool = False) -> list[Action]:
        sender.states_refused += count
        self.stats.messages_dropped += count
        if malformed:
            self.stats.messages_malformed += count
        return []

    def _resize_budgets(self) -> None:
        for p in self.participants.values():
            p.budget.resize(len(self.participants))

    def _remove(self, conn: str, reason: str) -> list[Action]:
        gone = self.participants.pop(conn, None)
        if gone is None:
            return []
        self._conn_by_number.pop(gone.info.number, None)
        self._resize_budgets()
        log.info("room %r: %r (%r) left: %s", self.name, gone.info.id, gone.info.name, reason)
        actions: list[Action] = [Close(conn, reason)]
        for p in self.participants.values():
            actions.append(Send(p.conn, Left(gone.info.id, gone.info.number, reason)))
            if self.mode == RoomMode.FORWARD:
                actions.append(Unsubscribe(listener=p.conn, speaker=conn))
        return actions
