"""What a headset puts on its state stream, without I/O: STATEs at the profile's rates packed into
datagrams, PINGs, PONGs and VISEMES, each stamped from the `now` it is given.

STATEs go out `states_per_packet` to a datagram (a BATCH): every datagram costs ~65 bytes of SCTP/DTLS
framing, a SACK and a pass through both ends' Python stacks, more than a pose (PROTOCOL.md, BATCH).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Literal

from emulator.drive.hands import Hands
from emulator.headset.report import RATE_SETTLE_S
from emulator.headset.ticks import due, next_tick
from emulator.model.meta_face import arkit_to_meta
from emulator.model.pose import Pose
from emulator.model.profiles import DeviceProfile
from emulator.wire import (
    BatchPacker,
    FaceEncoder,
    FaceSet,
    Ping,
    Pong,
    VisemeEntry,
    Visemes,
    WireError,
    batch_entries,
    is_batch,
    wire_timestamp,
)
from emulator.wire.messages import check_hands, state_bytes
from emulator.wire.quantize import POSITION_LIMIT_M, clamp_position, position_problem

log = logging.getLogger(__name__)

PING_INTERVAL_S = 1.0
STALL_S = 0.25  # a STATE this late (a stalled loop) restarts the grid from now instead of bursting
PINGS_REMEMBERED = 64


def stamp(now: float) -> int:
    """A monotonic reading in seconds as the header's u32 microseconds."""
    return wire_timestamp(int(now * 1_000_000))


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """The rates and framing of one headset's stream (from its profile and config)."""

    pose_rate_hz: float
    face_rate_hz: float
    hand_rate_hz: float
    states_per_packet: int = 2
    face_set: FaceSet = FaceSet.ARKIT52
    light: bool = False  # count and time others' STATEs from their headers, never decode them

    @classmethod
    def for_device(cls, profile: DeviceProfile, states_per_packet: int, light: bool) -> StreamSettings:
        return cls(
            profile.pose_rate_hz,
            profile.face_rate_hz,
            profile.hand_rate_hz,
            max(1, states_per_packet),
            FaceSet.from_key(profile.face_set),
            light,
        )


@dataclass(frozen=True, slots=True)
class Due:
    """Which parts the STATE that is due now carries besides the pose."""

    face: bool
    hands: bool


# The four answers `state_due` can give, made once (it answers 90 times a second per headset).
_DUES = ((Due(False, False), Due(False, True)), (Due(True, False), Due(True, True)))


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One datagram for the lossy channel, and the STATEs in it (counted once it is handed over)."""

    data: bytes
    kind: Literal["states", "visemes", "ping", "pongs"]
    states: tuple[bytes, ...] = ()
    faces: int = 0
    hands: int = 0


class Uplink:
    def __init__(self, settings: StreamSettings) -> None:
        self.settings = settings
        self.face_encoder = FaceEncoder(settings.face_set)
        self._meta = settings.face_set is FaceSet.META70
        self._periods = 1.0 / settings.pose_rate_hz, 1.0 / settings.face_rate_hz, 1.0 / settings.hand_rate_hz
        self.seq = 0
        self._packer = BatchPacker()
        self._held: list[tuple[bytes, bool, bool]] = []  # (STATE, carries a face, carries hands)
        # While STATEs go out at a steady rate, a PING's answer rides in our next STATE datagram: in a
        # room of N every headset answers N - 1 PINGs a second, a third of its datagrams at N = 32.
        self.pongs_ride = False
        self._pongs: list[tuple[Ping, int]] = []  # (PING, its arrival) to answer in the next datagram
        self.pings_sent: dict[int, int] = {}  # our PING's seq → its timestamp
        self.sending = False
        self.next_state_at = 0.0
        self._tick = 0
        self._next_face = self._next_hands = 0.0
        self.states_sent = self.faces_sent = self.hands_sent = 0
        self.hands_dropped = 0  # hands the wire could not carry (the STATE went without them)
        self.bytes_sent = 0
        self.packets_sent = 0  # datagrams carrying our STATEs (and PONGs riding along)
        self.unsendable = 0  # STATEs the wire refused (a value out of range): skipped, counted
        self.clamped = 0  # poses brought back within ±32.767 m
        # The sender's actual rate, which receivers' delivery ratios are measured against: states
        # sent from `rate_since` (RATE_SETTLE_S after the first went out) to the latest.
        self.first_sent_at: float | None = None
        self.rate_since: float | None = None
        self.rate_since_count = 0
        self.last_sent_at: float | None = None

    def next_seq(self) -> int:
        self.seq = (self.seq + 1) & 0xFFFF
        return self.seq

    # --- the schedule -------------------------------------------------------------------------

    def start(self, now: float) -> None:
        """STATEs from now on: the first at once, the rest on the process-wide grid (ticks.py)."""
        self.sending = self.pongs_ride = True
        self._next_face = self._next_hands = self.next_state_at = now
        self._tick = next_tick(1.0 / self.settings.pose_rate_hz, now)

    def stop(self) -> None:
        self.sending = self.pongs_ride = False

    def state_due(self, now: float) -> Due | None:
        """Which parts the STATE due at `now` carries (None: none is due); moves the schedule on."""
        if not self.sending or now < self.next_state_at:
            return None
        period, face_period, hands_period = self._periods
        face, self._next_face = due(now, self._next_face, face_period)
        hands, self._next_hands = due(now, self._next_hands, hands_period)
        if self._tick * period - now < -STALL_S:
            self._tick = next_tick(period, now)
        self.next_state_at = self._tick * period
        self._tick += 1
        return _DUES[face][hands]

    # --- what goes out ------------------------------------------------------------------------

    def add_state(self, pose: Pose | None, face: Any | None, hands: Hands | None, at: float) -> None:
        """A STATE stamped `at`, held for its datagram. `hands` None: it carries none; WireError if
        the wire cannot carry its pose or face (the hands alone are dropped and counted)."""
        # Straight to bytes (wire.state_bytes, FaceEncoder.encode): the same bytes `State` gives,
        # without a State, Header and FaceUpdate made and checked for every STATE.
        face_block = None
        if face is not None:
            # A Quest sends Meta's expression set, as the real device would; avatars map it back.
            face_block = self.face_encoder.encode(arkit_to_meta(face) if self._meta else face)
        if pose is not None:
            p, limit = pose.position, POSITION_LIMIT_M
            if not (abs(p.x) <= limit and abs(p.y) <= limit and abs(p.z) <= limit):
                pose = self._clamped(pose)  # what position_problem refuses, NaN included
        seq, timestamp = self.next_seq(), stamp(at)
        if hands is None:  # no hands path to go through: 90 STATEs a second
            self._held.append((state_bytes(seq, timestamp, pose, face_block), face_block is not None, False))
            return
        left, right = hands
        with_hands = left is not None or right is not None
        if with_hands:
            check_hands(left, right)
        try:
            data = state_bytes(seq, timestamp, pose, face_block, left, right)
        except WireError as error:
            # A hand the wire cannot carry (a joint over 127 mm from its parent, a wrist out of
            # range): the pose and face still go.
            self.hands_dropped += 1
            with_hands = False
            log.debug("sent a STATE without its hands: %s", error)
            data = state_bytes(seq, timestamp, pose, face_block)
        self._held.append((data, face_block is not None, with_hands))

    def skip(self, error: Exception) -> None:
        """A STATE that could not be made: counted, warned about now and then, the stream goes on."""
        self.unsendable += 1
        if self.unsendable == 1 or self.unsendable % 1000 == 0:
            log.warning("a state could not be sent (%d so far): %s", self.unsendable, error)

    def _clamped(self, pose: Pose) -> Pose:
        if not self.clamped:
            log.warning("%s; sending it clamped to the edge (warned once)", position_problem(pose.position))
        self.clamped += 1
        return replace(pose, position=clamp_position(pose.position))

    def ping(self, now: float) -> Outgoing:
        seq = self.next_seq()
        self.pings_sent[seq] = stamp(now)
        if len(self.pings_sent) > PINGS_REMEMBERED:
            del self.pings_sent[next(iter(self.pings_sent))]
        return Outgoing(bytes(Ping(seq=seq, sender=0, timestamp=self.pings_sent[seq])), "ping")

    def visemes(self, timestamp_us: int, entries: tuple[VisemeEntry, ...]) -> Outgoing:
        message = Visemes(
            seq=self.next_seq(), sender=0, timestamp=wire_timestamp(timestamp_us), entries=entries
        )
        return Outgoing(bytes(message), "visemes")

    def answer(self, ping: Ping, received_us: int) -> None:
        self._pongs.append((ping, received_us))

    @property
    def ready(self) -> bool:
        """Whether `take` has a datagram to give now."""
        return len(self._held) >= self.settings.states_per_packet or bool(self._pongs and not self.pongs_ride)

    def take(self, now: float) -> list[Outgoing]:
        """The datagrams ready at `now`: the held STATEs once there are enough, with the waiting PONGs;
        or the PONGs alone when STATEs are not flowing steadily."""
        if len(self._held) >= self.settings.states_per_packet:
            held, self._held = self._held, []
            packets = self._packer.pack([data for data, _, _ in held] + self._pongs_now(now), stamp(now))
            if len(packets) == 1:  # the usual case: everything in one datagram
                return [self._states_out(packets[0], held)]
            out = []
            for packet in packets:  # the STATEs come first, in order; count each datagram's share
                count = sum(1 for _ in batch_entries(packet)) if is_batch(packet) else 1
                out.append(self._states_out(packet, held[:count]))
                held = held[count:]
            return out
        if self._pongs and not self.pongs_ride:
            return [
                Outgoing(packet, "pongs") for packet in self._packer.pack(self._pongs_now(now), stamp(now))
            ]
        return []

    @staticmethod
    def _states_out(packet: bytes, held: list[tuple[bytes, bool, bool]]) -> Outgoing:
        faces = hands = 0
        for _, with_face, with_hands in held:
            faces += with_face
            hands += with_hands
        return Outgoing(packet, "states", tuple(data for data, _, _ in held), faces, hands)

    def _pongs_now(self, now: float) -> list[bytes]:
        """The PONGs waiting, stamped `now`: the time each waited (from its PING's arrival to now) is
        what `clock_offset` takes out of the round trip, so riding along costs no accuracy."""
        waiting, self._pongs = self._pongs, []
        # A PONG goes to its asker only: a number of its own would be a gap, counted as a lost message,
        # at every other receiver (N − 2 a second per sender in a room of N). It repeats the latest.
        return [bytes(Pong.answer(ping, at, stamp(now), self.seq)) for ping, at in waiting]

    def sent(self, out: Outgoing, now: float) -> None:
        """`out` was handed to the channel at `now` (one it refused is not counted). The state bytes
        count STATE datagrams (with the PONGs riding in them) and VISEMES, not clock probes."""
        if out.kind == "visemes":
            self.bytes_sent += len(out.data)
        if out.kind != "states":
            return
        self.bytes_sent += len(out.data)
        self.packets_sent += 1
        if not out.states:
            return
        self.states_sent += len(out.states)
        self.faces_sent += out.faces
        self.hands_sent += out.hands
        self.last_sent_at = now
        if self.first_sent_at is None or now < self.first_sent_at + RATE_SETTLE_S:
            # Until the sender has been sending a while, restart the measure: a join stalls the
            # loop, and the states not sent meanwhile are start-up, not the rate it sends at.
            self.first_sent_at = self.first_sent_at or now
            self.rate_since, self.rate_since_count = now, self.states_sent

    # --- reporting ----------------------------------------------------------------------------

    def rate_hz(self) -> float | None:
        """States per second while sending, start-up apart (None: not sending long enough yet)."""
        if self.rate_since is None or self.last_sent_at is None:
            return None
        span = self.last_sent_at - self.rate_since
        sent = self.states_sent - self.rate_since_count
        return round(sent / span, 2) if span > 0 and sent > 0 else None
