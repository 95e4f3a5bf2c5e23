"""The headset's state stream, sans I/O: datagrams and `now` go in; datagrams, deadlines and typed
events come out.

In the style of the room's core (`emulator/room/core.py`) and aioquic's connection: no sockets, no
tasks, no clock of its own. `state_link.py` runs it over the data channel on the loop.

    feed(datagram, now)      a datagram from the room (a BATCH or one message)
    state_due(now)           whether a STATE is due, and with which parts; then send_state(...)
    poll(now)                the datagrams to send now (STATEs, PINGs, PONGs)
    next_deadline()          when to call poll (and state_due) next
    next_event()             what happened (`events.py`), only of the kinds asked for with want()

Clock offsets to each remote come from PING/PONG through the room: every participant answers every
PING it sees, and a PONG echoes the PING's sequence and timestamp, so each headset learns every
other's clock without the room keeping one (PROTOCOL.md, PING / PONG).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from typing import Any

from emulator.drive.hands import Hands
from emulator.headset.report import RemoteStats
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
from emulator.headset.stream.light import STATE_FIRST_BYTE, STATE_TYPE_MASK, count_batch_states
from emulator.headset.stream.uplink import PING_INTERVAL_S, Due, Outgoing, StreamSettings, Uplink, stamp
from emulator.model.errors import ModelError
from emulator.model.pose import Pose
from emulator.model.room_state import RemoteParticipant, RoomState
from emulator.wire import (
    FaceAccumulator,
    FaceSet,
    Hello,
    Ping,
    Pong,
    State,
    VisemeEntry,
    Visemes,
    WireError,
    clock_offset,
    is_batch,
    parse_message,
    peek_header,
    split_batch,
    wrapped_difference,
)
from emulator.wire.signaling import ParticipantInfo

log = logging.getLogger(__name__)

HANDS_EXPIRY_PERIODS = 15  # 0.5 s at 30 Hz: a lost STATE or a stall of a few periods keeps them
# A newer clock sample replaces the best one unless its round trip is this much longer: the shortest
# round trip has the least queueing asymmetry, but clock drift must still be followed.
RTT_TOLERANCE = 1.5


class StateStreamCore:
    """One headset's state stream. `room_state` is the picture of the others it keeps up to date."""

    def __init__(self, settings: StreamSettings, room_state: RoomState) -> None:
        self.settings = settings
        self.room_state = room_state
        self.light = settings.light
        self.uplink = Uplink(settings)
        self.remotes: dict[int, RemoteStats] = {}  # by room number
        self.offsets_us: dict[int, tuple[float, float]] = {}  # number → (offset, rtt) of the best sample
        self.faces: dict[int, FaceAccumulator] = {}
        # A hand not refreshed for HANDS_EXPIRY_PERIODS hand periods is dropped, so a sender that stops
        # sending hands leaves relaxed hands rather than frozen ones.
        self.hands_expiry_s = HANDS_EXPIRY_PERIODS / settings.hand_rate_hz
        self._hands_at: dict[tuple[int, str], float] = {}  # (sender, side) → when its hand last came
        self.hands_expired = 0
        self.malformed = 0
        self.unknown_sender = 0
        self.pinging = False
        self.next_ping_at = 0.0
        self._outbox: list[Outgoing] = []
        self._events: deque[StreamEvent] = deque()
        self._wanted: set[type[Any]] = set()

    # --- events -------------------------------------------------------------------------------

    def want(self, kind: type[Any]) -> None:
        """Queue events of `kind` from now on (others are never built)."""
        self._wanted.add(kind)

    def unwant(self, kind: type[Any]) -> None:
        self._wanted.discard(kind)

    def next_event(self) -> StreamEvent | None:
        return self._events.popleft() if self._events else None

    # --- the roster (from signaling) ----------------------------------------------------------

    def remote_joined(self, info: ParticipantInfo) -> None:
        self.room_state.add(
            RemoteParticipant(info.id, info.number, info.name, info.profile, info.avatar, info.face_set)
        )
        self.remotes[info.number] = RemoteStats(info.id, info.name, info.number, info.profile)
        if RemoteJoined in self._wanted:
            self._events.append(RemoteJoined(info))

    def remote_left(self, info: ParticipantInfo, reason: str) -> None:
        """Its figures stay for the report; what only decoding its stream needed goes."""
        self.room_state.remove(info.number)
        self.faces.pop(info.number, None)
        for side in ("left", "right"):
            self._hands_at.pop((info.number, side), None)
        if RemoteLeft in self._wanted:
            self._events.append(RemoteLeft(info, reason))

    # --- sending ------------------------------------------------------------------------------

    def start(self, now: float, *, sending: bool) -> None:
        """PINGs from now on, the first at once; with `sending`, STATEs too."""
        self.pinging, self.next_ping_at = True, now
        if sending:
            self.uplink.start(now)

    def stop(self) -> None:
        """No more STATEs or PINGs; PINGs still answered (at once, each in a datagram of its own)."""
        self.pinging = False
        self.uplink.stop()

    def state_due(self, now: float) -> Due | None:
        return self.uplink.state_due(now)

    def send_state(
        self, pose: Pose | None, face: Any | None, hands: Hands | None = None, *, at: float
    ) -> None:
        """A STATE sampled at `at` (monotonic seconds); it leaves with the next `poll`. A value the wire
        cannot carry costs this STATE, never the stream."""
        try:
            self.uplink.add_state(pose, face, hands, at)
        except WireError as error:
            self.uplink.skip(error)

    def skip_state(self, error: Exception) -> None:
        """A STATE that could not be sampled (a driver's bad value)."""
        self.uplink.skip(error)

    def send_ping(self, now: float) -> None:
        self._outbox.append(self.uplink.ping(now))

    def visemes(self, timestamp_us: int, entries: tuple[VisemeEntry, ...]) -> Outgoing:
        """One VISEMES datagram (a talking agent's), to send at once with its audio frame."""
        return self.uplink.visemes(timestamp_us, entries)

    @property
    def has_output(self) -> bool:
        return bool(self._outbox) or self.uplink.ready

    def poll(self, now: float) -> list[Outgoing]:
        """The datagrams to send now. Hand each to the channel, then call `sent` for those it took."""
        if self.pinging and now >= self.next_ping_at:
            self.send_ping(now)
            self.next_ping_at += PING_INTERVAL_S
            if self.next_ping_at <= now:  # a stalled loop: one PING now, not a burst of them
                self.next_ping_at = now + PING_INTERVAL_S
        if not self.has_output:
            return []
        out, self._outbox = self._outbox, []
        return out + self.uplink.take(now)

    def sent(self, out: Outgoing, now: float) -> None:
        self.uplink.sent(out, now)
        if out.states and StatesSent in self._wanted:
            self._events.append(StatesSent(out.states))

    def next_deadline(self) -> float | None:
        """When `poll` (and `state_due`) has something to do next, on the `now` clock."""
        deadlines = [self.next_ping_at] if self.pinging else []
        if self.uplink.sending:
            deadlines.append(self.uplink.next_state_at)
        return min(deadlines, default=None)

    # --- receiving ----------------------------------------------------------------------------

    def feed(self, data: bytes, now: float) -> None:
        """A datagram from the room; anything malformed in it is counted and dropped."""
        received_us = stamp(now)
        if is_batch(data):
            try:
                if self.light:
                    self._count_batch_light(data, received_us, now)
                else:
                    for inner in split_batch(data):
                        self._on_one(inner, received_us, now)
            except WireError as error:
                self.malformed += 1
                log.debug("dropped the rest of a malformed BATCH: %s", error)
            return
        self._on_one(data, received_us, now)

    def _on_one(self, data: bytes, received_us: int, now: float) -> None:
        if self.light and data[:1] and data[0] & STATE_TYPE_MASK == STATE_FIRST_BYTE:
            self._count_state_header(data, received_us, now)
            return
        try:
            message = parse_message(data)
        except WireError as error:
            self.malformed += 1
            log.debug("dropped a malformed state-stream message: %s", error)
            return
        stats = self.remotes.get(message.sender)
        if stats is None:
            self.unknown_sender += 1
            return
        if isinstance(message, Pong):
            # Outside the sequence: a PONG repeats its sender's latest number (see Uplink._pongs_now).
            self._on_pong(message, stats, received_us)
            return
        if isinstance(message, State):
            latency = self._latency_ms(message.sender, message.timestamp, received_us)
            stats.count_state(message.seq, now, latency)
            self._on_state(message, received_us, now)
            return
        # One sequence counter covers every other message a sender puts on the lossy channel.
        stats.note_sequence(message.seq)
        if isinstance(message, Ping):
            self.uplink.answer(message, received_us)
        elif isinstance(message, Visemes):
            stats.visemes_received += 1
            if VisemesReceived in self._wanted:
                self._events.append(VisemesReceived(stats.id, message, received_us))
        elif isinstance(message, Hello):
            participant = self.room_state.get(message.sender)
            if participant is not None:
                participant.name = message.display_name
                participant.profile = message.profile
                participant.avatar = message.avatar

    def _count_batch_light(self, data: bytes, received_us: int, now: float) -> None:
        """Light receiving of a BATCH: its STATEs counted from their headers where they lie (see
        `light.count_batch_states`); anything else is handled in full, in its place."""

        def on_other(start: int, end: int) -> None:
            self._on_one(data[start:end], received_us, now)  # a nested BATCH is refused there

        count_batch_states(data, self.remotes, self.offsets_us, received_us, now, on_other, self._unknown)

    def _unknown(self) -> None:
        self.unknown_sender += 1

    def _count_state_header(self, data: bytes, received_us: int, now: float) -> None:
        try:
            header = peek_header(data)
        except WireError:
            self.malformed += 1
            return
        stats = self.remotes.get(header.sender)
        if stats is None:
            self.unknown_sender += 1
            return
        stats.count_state(header.seq, now, self._latency_ms(header.sender, header.timestamp, received_us))

    def _latency_ms(self, sender: int, timestamp: int, received_us: int) -> float | None:
        offset = self.offsets_us.get(sender)
        if offset is None:
            return None
        # The sender's timestamp on our clock is its timestamp minus (its clock − ours).
        return (wrapped_difference(received_us, timestamp) + offset[0]) / 1000

    def _on_state(self, message: State, received_us: int, now: float) -> None:
        participant = self.room_state.get(message.sender)
        if participant is None:
            return
        participant.states_received += 1
        participant.last_state_at = now
        if message.pose is not None:
            try:
                participant.pose = message.pose.with_timestamp(received_us)
            except ModelError:
                self.malformed += 1
        if message.face is not None:
            accumulator = self.faces.setdefault(message.sender, FaceAccumulator())
            if accumulator.apply(message.face, message.seq):
                participant.face = accumulator.arkit()
                if FaceUpdated in self._wanted:
                    self._events.append(FaceUpdated(participant))
        if StateReceived in self._wanted:
            # A Meta face is also shown as the ARKit face the listener shows after this message.
            other_set = message.face is not None and message.face.face_set is not FaceSet.ARKIT52
            shown = participant.face.copy() if other_set else None
            self._events.append(StateReceived(participant, message, received_us, shown))
        for side, hand in (("left", message.left_hand), ("right", message.right_hand)):
            key = (message.sender, side)
            if hand is not None:
                participant.hands[side] = hand
                self._hands_at[key] = now
            elif side in participant.hands and now - self._hands_at.get(key, -math.inf) > self.hands_expiry_s:
                del participant.hands[side]
                self._hands_at.pop(key, None)
                self.hands_expired += 1

    def _on_pong(self, pong: Pong, stats: RemoteStats, received_us: int) -> None:
        sent = self.uplink.pings_sent.get(pong.ping_seq)
        if sent is None or sent != pong.ping_timestamp:
            return  # an answer to someone else's PING
        try:
            sample = clock_offset(sent, pong.receive_timestamp, pong.timestamp, received_us)
        except WireError:
            self.malformed += 1
            return
        rtt_us, offset_us = float(sample.round_trip_us), float(sample.offset_us)
        stats.round_trip.add(rtt_us / 1000)
        best = self.offsets_us.get(pong.sender)
        if best is None or rtt_us <= best[1] * RTT_TOLERANCE:
            self.offsets_us[pong.sender] = (offset_us, rtt_us)
            stats.clock_offset_us = offset_us
            if ClockOffsetUpdated in self._wanted:
                self._events.append(ClockOffsetUpdated(pong.sender, stats.id, offset_us, rtt_us))

    # --- what it measured ---------------------------------------------------------------------

    def offset_for(self, participant_id: str) -> float | None:
        """(their clock − ours) in microseconds, once a PONG has told us."""
        for number, stats in self.remotes.items():
            if stats.id == participant_id and number in self.offsets_us:
                return self.offsets_us[number][0]
        return None

    def remote_reports(self) -> list[dict[str, Any]]:
        return [stats.as_report() for stats in self.remotes.values()]

    def uplink_report(self) -> dict[str, Any]:
        up = self.uplink
        rate = up.rate_hz()
        return {
            "states_sent": up.states_sent,
            "state_packets_sent": up.packets_sent,
            "faces_sent": up.faces_sent,
            "hands_sent": up.hands_sent,
            "state_bytes_sent": up.bytes_sent,
            "malformed_received": self.malformed,
            "state_rate_hz": rate,
            **(
                {"state_rate_hz_why": "not sending for long enough yet (the first 3 s are start-up)"}
                if rate is None
                else {}
            ),
        }
