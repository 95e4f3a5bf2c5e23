"""The headset's state stream: sending pose and face at the profile's rates, and making sense of
everyone else's STATE, VISEMES, HELLO, PING and PONG messages.

Runs on the loop's thread. Clock offsets to each remote come from PING/PONG through the room: every
participant answers every PING it sees, and a PONG echoes the PING's sequence and timestamp, so each
headset learns every other's clock without the room keeping one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TextIO

from emulator.drive.hands import NO_HANDS, Hands
from emulator.headset.recording.states_log import record_entry
from emulator.headset.report import RATE_SETTLE_S, RemoteStats
from emulator.headset.ticks import due, next_tick
from emulator.model.errors import ModelError
from emulator.model.face import Face
from emulator.model.meta_face import arkit_to_meta
from emulator.net.sessions import Session
from emulator.wire import (
    BatchPacker,
    FaceAccumulator,
    FaceEncoder,
    FaceSet,
    Hello,
    Ping,
    Pong,
    State,
    VisemeEntry,
    Visemes,
    WireError,
    batch_entries,
    clock_offset,
    is_batch,
    parse_message,
    peek_header,
    split_batch,
    wire_timestamp,
    wrapped_difference,
)
from emulator.wire.quantize import clamp_position, position_problem
from emulator.wire.signaling import ParticipantInfo

if TYPE_CHECKING:
    from emulator.headset.core import Headset
    from emulator.headset.voice import Voice

log = logging.getLogger(__name__)

PING_INTERVAL_S = 1.0
HANDS_EXPIRY_PERIODS = 15  # 0.5 s at 30 Hz: a lost STATE or a stall of a few periods keeps them
STATE_FIRST_BYTE = 0x40  # version 1, type STATE
STATE_TYPE_MASK = 0xF8  # version and type bits; the low three are STATE's flags


def now_us() -> int:
    """This process's monotonic clock in microseconds, as the state-stream header carries it (u32)."""
    return wire_timestamp(time.monotonic_ns() // 1000)


class StateLink:
    def __init__(self, headset: Headset, voice: Voice) -> None:
        self.headset = headset
        self.voice = voice
        self.session: Session | None = None
        self.remotes: dict[int, RemoteStats] = {}  # by room number
        self.offsets_us: dict[int, tuple[float, float]] = {}  # number → (offset, rtt) of the best sample
        self.face_set = FaceSet.from_key(headset.profile.face_set)
        self.face_encoder = FaceEncoder(self.face_set)
        self.faces: dict[int, FaceAccumulator] = {}
        self._seq = 0
        self._pings_sent: dict[int, int] = {}  # our ping seq → its u32 timestamp
        self.states_sent = 0
        # The sender's actual rate, which receivers' delivery ratios are measured against: states
        # sent from `rate_since` (RATE_SETTLE_S after the first went out) to the latest.
        self.first_sent_at: float | None = None
        self.rate_since: float | None = None
        self.rate_since_count = 0
        self.last_sent_at: float | None = None
        self.faces_sent = 0
        self.hands_sent = 0  # STATEs that carried hands
        self.hands_dropped = 0  # hands the wire could not carry (the STATE went without them)
        self.bytes_sent = 0
        self.packets_sent = 0  # datagrams on the lossy channel carrying our STATEs (and PONGs riding along)
        # STATEs go out `states_per_packet` to a datagram (a BATCH): every datagram costs ~65 bytes of
        # SCTP/DTLS framing, a SACK and a pass through both ends' Python stacks, more than a pose.
        self.states_per_packet = max(1, headset.config.states_per_packet)
        # (STATE, carries a face, carries hands) waiting for its datagram
        self._held: list[tuple[bytes, bool, bool]] = []
        # While STATEs go out at a steady rate (send_forever), a PING's answer rides in our next STATE
        # datagram instead of taking one of its own: in a room of N every headset answers N - 1 PINGs
        # a second, which at 32 were a third of the datagrams each headset sent the room.
        self._pongs_ride = False
        self._pongs: list[tuple[Ping, int]] = []  # (PING, when it arrived) to answer in the next datagram
        self._packer = BatchPacker()
        self.malformed = 0
        self.unsendable = 0  # STATEs the wire refused (a value out of range): skipped, counted
        self.clamped = 0  # poses brought back within ±32.767 m
        self._clamp_warned = False
        self.unknown_sender = 0
        self.record_dir = headset.config.record_dir
        # A swarm member only measures what it receives: it counts and times STATEs from their headers.
        self.light = headset.config.light_receive
        self._state_logs: dict[int, TextIO] = {}
        self.on_sent: list[Callable[[bytes], None]] = []  # e.g. a session recorder; sees each sent STATE
        self.clock: Callable[[], float] = time.monotonic  # receiving time, seconds; tests set their own
        # A hand not refreshed for HANDS_EXPIRY_PERIODS hand periods is dropped, so a sender that stops
        # sending hands (`--hands none`, the control API) leaves relaxed hands rather than frozen ones.
        self.hands_expiry_s = HANDS_EXPIRY_PERIODS / headset.profile.hand_rate_hz
        self._hands_at: dict[tuple[int, str], float] = {}  # (sender, side) → when its hand last came
        self.hands_expired = 0

    def attach(self, session: Session) -> None:
        self.session = session

    # --- sending ----------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFFFF
        return self._seq

    async def send_forever(self) -> None:
        """Pose at the profile's pose rate, the face riding along at its own (lower) rate, and the
        answers to PINGs riding in the next datagram."""
        profile = self.headset.profile
        period = 1.0 / profile.pose_rate_hz
        face_period = 1.0 / profile.face_rate_hz
        hand_period = 1.0 / profile.hand_rate_hz
        next_face = next_hands = time.monotonic()
        tick = next_tick(period, next_face)  # the first STATE goes at once, the rest on the grid
        self._pongs_ride = True
        try:
            while True:
                now = time.monotonic()
                include_face, next_face = due(now, next_face, face_period)
                include_hands, next_hands = due(now, next_hands, hand_period)
                try:
                    pose, face = self.headset.sample_drivers(with_face=include_face)
                    # Hands sampled at the STATE's own timestamp: receivers can check them against the driver.
                    hands = self.headset.sample_hands(now) if include_hands else None
                    self.send_state(pose, face if include_face else None, hands, at=now)
                except (WireError, ModelError) as error:
                    self._skip_state(error)  # a driver's bad value skips one tick, never ends the stream
                now = time.monotonic()
                if tick * period - now < -0.25:  # fell far behind (a stalled loop): skip, don't burst
                    tick = next_tick(period, now)
                await asyncio.sleep(max(0.0, tick * period - now))
                tick += 1
        finally:
            self._pongs_ride = False
            self._answer_waiting_pings(alone=True)

    def send_state(
        self, pose: Any, face: Any | None, hands: Hands | None = None, at: float | None = None
    ) -> None:
        """`hands` None: this STATE carries none (they go at the hand rate); untracked sides are None.
        `at`: the `time.monotonic()` reading to stamp it with (default now)."""
        if self.session is None:
            return
        face_update = None
        if face is not None:
            # A Quest sends Meta's expression set, as the real device would; avatars map it back.
            face_update = self.face_encoder.update(
                arkit_to_meta(face) if self.face_set is FaceSet.META70 else face
            )
        if pose is not None and position_problem(pose.position) is not None:
            pose = self._clamped(pose)
        left, right = hands if hands is not None else NO_HANDS
        stamp = now_us() if at is None else wire_timestamp(round(at * 1_000_000))
        try:
            message = State(seq=self._next_seq(), sender=0, timestamp=stamp, pose=pose, face=face_update,
                            left_hand=left, right_hand=right)  # fmt: skip
            with_hands = left is not None or right is not None
            try:
                data = bytes(message)
            except WireError as error:
                # A hand the wire cannot carry (a joint over 127 mm from its parent, a wrist out of range):
                # the pose and face still go, the hands are counted as dropped.
                self.hands_dropped += 1
                with_hands = False
                log.debug("sent a STATE without its hands: %s", error)
                data = bytes(replace(message, left_hand=None, right_hand=None))
        except WireError as error:
            self._skip_state(error)  # one value the wire cannot carry costs this STATE, not the stream
            return
        self._held.append((data, face_update is not None, with_hands))
        if len(self._held) >= self.states_per_packet:
            self._send_held()

    def _skip_state(self, error: Exception) -> None:
        self.unsendable += 1
        if self.unsendable == 1 or self.unsendable % 1000 == 0:
            log.warning("a state could not be sent (%d so far): %s", self.unsendable, error)

    def _clamped(self, pose: Any) -> Any:
        """A pose that drifted beyond what the wire carries, brought back to its edge (one warning)."""
        if not self._clamp_warned:
            self._clamp_warned = True
            log.warning("%s; sending it clamped to the edge (warned once)", position_problem(pose.position))
        self.clamped += 1
        return replace(pose, position=clamp_position(pose.position))

    def _send_held(self) -> None:
        """One datagram with the held STATEs (a BATCH when there are several; the room unpacks it)."""
        held, self._held = self._held, []
        if self.session is None or not held:
            return
        states = [data for data, _, _ in held]
        for packet in self._packer.pack(states + self._answer_waiting_pings(), now_us()):
            if not self.session.send_state(packet):
                return  # the channel is not open or is backed up: these states are dropped, not counted
            self.packets_sent += 1
            self.bytes_sent += len(packet)
        for data, with_face, with_hands in held:
            for hook in self.on_sent:
                hook(data)
            self.states_sent += 1
            self.faces_sent += with_face
            self.hands_sent += with_hands
        self.last_sent_at = time.monotonic()
        if self.first_sent_at is None or self.last_sent_at < self.first_sent_at + RATE_SETTLE_S:
            # Until the sender has been sending a while, restart the measure: a join stalls the
            # loop, and the states not sent meanwhile are start-up, not the rate it sends at.
            self.first_sent_at = self.first_sent_at or self.last_sent_at
            self.rate_since, self.rate_since_count = self.last_sent_at, self.states_sent

    def send_visemes(self, timestamp_us: int, entries: tuple[VisemeEntry, ...]) -> int:
        """One VISEMES message (a talking agent's, `emulator.headset.agent`); returns bytes sent (0: none)."""
        if self.session is None:
            return 0
        message = Visemes(
            seq=self._next_seq(), sender=0, timestamp=wire_timestamp(timestamp_us), entries=entries
        )
        data = bytes(message)
        if not self.session.send_state(data):
            return 0
        self.bytes_sent += len(data)
        return len(data)

    async def ping_forever(self) -> None:
        while True:
            self.send_ping()
            await asyncio.sleep(PING_INTERVAL_S)

    def send_ping(self) -> None:
        if self.session is None:
            return
        seq = self._next_seq()
        stamp = now_us()
        self._pings_sent[seq] = stamp
        if len(self._pings_sent) > 64:
            del self._pings_sent[next(iter(self._pings_sent))]
        self.session.send_state(bytes(Ping(seq=seq, sender=0, timestamp=stamp)))

    # --- receiving --------------------------------------------------------------------------------

    def remote_joined(self, info: ParticipantInfo) -> None:
        self.remotes[info.number] = RemoteStats(info.id, info.name, info.number, info.profile)

    def on_message(self, data: bytes) -> None:
        received_us = now_us()
        if self.light and is_batch(data):
            self._count_batch_light(data, received_us)
            return
        if is_batch(data):
            try:
                for inner in split_batch(data):
                    self._on_one(inner, received_us)
            except WireError as error:
                self.malformed += 1
                log.debug("dropped the rest of a malformed BATCH: %s", error)
            return
        self._on_one(data, received_us)

    def _on_one(self, data: bytes, received_us: int) -> None:
        if self.light and data[:1] and data[0] & STATE_TYPE_MASK == STATE_FIRST_BYTE:
            self._count_state_header(data, received_us)
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
            # Outside the sequence: a PONG is addressed to one participant (see _answer_waiting_pings).
            self._on_pong(message, received_us)
            return
        # One sequence counter covers every other message a sender puts on the lossy channel.
        stats.note_sequence(message.seq)
        if isinstance(message, State):
            self._on_state(message, stats, received_us)
        elif isinstance(message, Ping):
            self._answer_ping(message, received_us)
        elif isinstance(message, Visemes):
            stats.visemes_received += 1
            self.voice.on_visemes(stats.id, message)
            if self.record_dir is not None:
                self._record(message, stats.id, received_us)
        elif isinstance(message, Hello):
            participant = self.headset.room_state.get(message.sender)
            if participant is not None:
                participant.name = message.display_name
                participant.profile = message.profile
                participant.avatar = message.avatar

    def _count_batch_light(self, data: bytes, received_us: int) -> None:
        """Light receiving of a BATCH: STATEs are counted from their headers where they lie, without
        copying them out (a swarm member gets thousands a second); anything else is handled in full."""
        now = time.monotonic()
        try:
            for first, seq, sender, timestamp, start, end in batch_entries(data):
                if first & STATE_TYPE_MASK != STATE_FIRST_BYTE:
                    self._on_one(data[start:end], received_us)  # a nested BATCH is refused there
                    continue
                stats = self.remotes.get(sender)
                if stats is None:
                    self.unknown_sender += 1
                    continue
                stats.note_sequence(seq)
                self._count_state(stats, sender, timestamp, received_us, now)
        except WireError as error:
            self.malformed += 1
            log.debug("dropped the rest of a malformed BATCH: %s", error)

    def _count_state_header(self, data: bytes, received_us: int) -> None:
        """Light receiving (swarms): a STATE is counted and timed from its header, never decoded."""
        try:
            header = peek_header(data)
        except WireError:
            self.malformed += 1
            return
        stats = self.remotes.get(header.sender)
        if stats is None:
            self.unknown_sender += 1
            return
        stats.note_sequence(header.seq)
        self._count_state(stats, header.sender, header.timestamp, received_us, time.monotonic())

    def _count_state(
        self, stats: RemoteStats, sender: int, timestamp: int, received_us: int, now: float
    ) -> None:
        stats.states_received += 1
        stats.note_received_at(now)
        offset = self.offsets_us.get(sender)
        if offset is not None:
            # The sender's timestamp on our clock is its timestamp minus (its clock − ours).
            stats.state_latency.add((wrapped_difference(received_us, timestamp) + offset[0]) / 1000)

    def _on_state(self, message: State, stats: RemoteStats, received_us: int) -> None:
        now = self.clock()
        self._count_state(stats, message.sender, message.timestamp, received_us, now)
        participant = self.headset.room_state.get(message.sender)
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
                self.voice.on_state_face(participant)
        if self.record_dir is not None:
            # A Meta face is also logged as the ARKit face the listener shows after this message.
            shown = (
                participant.face if message.face and message.face.face_set is not FaceSet.ARKIT52 else None
            )
            self._record(message, participant.id, received_us, shown)
        for side, hand in (("left", message.left_hand), ("right", message.right_hand)):
            key = (message.sender, side)
            if hand is not None:
                participant.hands[side] = hand
                self._hands_at[key] = now
            elif side in participant.hands and now - self._hands_at.get(key, -math.inf) > self.hands_expiry_s:
                del participant.hands[side]
                self._hands_at.pop(key, None)
                self.hands_expired += 1

    def _answer_ping(self, ping: Ping, received_us: int) -> None:
        if self.session is None:
            return
        self._pongs.append((ping, received_us))
        if not self._pongs_ride:
            self._answer_waiting_pings(alone=True)

    def _answer_waiting_pings(self, alone: bool = False) -> list[bytes]:
        """The PONGs for the PINGs waiting, stamped now: the time each waited (from its PING's arrival
        to now) is what `clock_offset` takes out of the round trip, so riding along costs no accuracy.
        `alone`: send them at once in a datagram of their own instead of returning them."""
        if not self._pongs:
            return []
        waiting, self._pongs = self._pongs, []
        # A PONG goes to its asker only: a number of its own would be a gap, counted as a lost message,
        # at every other receiver (N − 2 a second per sender in a room of N). It repeats the latest.
        pongs = [bytes(Pong.answer(ping, at, now_us(), self._seq)) for ping, at in waiting]
        if alone and self.session is not None:
            for packet in self._packer.pack(pongs, now_us()):
                self.session.send_state(packet)
            return []
        return pongs

    def _on_pong(self, pong: Pong, received_us: int) -> None:
        sent = self._pings_sent.get(pong.ping_seq)
        if sent is None or sent != pong.ping_timestamp:
            return  # an answer to someone else's ping
        stats = self.remotes.get(pong.sender)
        if stats is None:
            return
        try:
            sample = clock_offset(sent, pong.receive_timestamp, pong.timestamp, received_us)
        except WireError:
            self.malformed += 1
            return
        rtt_us, offset_us = sample.round_trip_us, sample.offset_us
        stats.round_trip.add(rtt_us / 1000)
        best = self.offsets_us.get(pong.sender)
        # The sample with the shortest round trip has the least queueing asymmetry: trust it most,
        # but let a newer sample win after a while so that clock drift is followed.
        if best is None or rtt_us <= best[1] * 1.5:
            self.offsets_us[pong.sender] = (float(offset_us), float(rtt_us))
            stats.clock_offset_us = float(offset_us)

    def offset_for(self, participant_id: str) -> float | None:
        """(their clock − ours) in microseconds, once a PONG has told us."""
        for number, stats in self.remotes.items():
            if stats.id == participant_id and number in self.offsets_us:
                return self.offsets_us[number][0]
        return None

    def _record(
        self, message: State | Visemes, participant_id: str, received_us: int, shown: Face | None = None
    ) -> None:
        log_file = self._state_logs.get(message.sender)
        if log_file is None:
            assert self.record_dir is not None
            path = self.record_dir / f"{participant_id}.states.jsonl"
            log_file = self._state_logs[message.sender] = path.open("a", encoding="utf-8")
        try:
            log_file.write(json.dumps(record_entry(message, received_us, shown)) + "\n")
        except WireError as error:  # not expected from a parsed message; the log must not stop the link
            log.debug("could not record a state-stream message: %s", error)

    def close(self) -> None:
        for log_file in self._state_logs.values():
            log_file.close()
        self._state_logs.clear()

    # --- reporting --------------------------------------------------------------------------------

    def remote_reports(self) -> list[dict[str, Any]]:
        return [stats.as_report() for stats in self.remotes.values()]

    def uplink_report(self) -> dict[str, Any]:
        return {
            "states_sent": self.states_sent,
            "state_packets_sent": self.packets_sent,
            "faces_sent": self.faces_sent,
            "hands_sent": self.hands_sent,
            "state_bytes_sent": self.bytes_sent,
            "malformed_received": self.malformed,
            "state_rate_hz": self.sent_rate_hz(),
            **(
                {"state_rate_hz_why": "not sending for long enough yet (the first 3 s are start-up)"}
                if self.sent_rate_hz() is None
                else {}
            ),
        }

    def sent_rate_hz(self) -> float | None:
        """States per second while sending, start-up apart (None: not sending long enough yet)."""
        if self.rate_since is None or self.last_sent_at is None:
            return None
        span = self.last_sent_at - self.rate_since
        sent = self.states_sent - self.rate_since_count
        return round(sent / span, 2) if span > 0 and sent > 0 else None
