"""The five v1 messages as dataclasses with `__bytes__` and `parse()`, in the style of aiortc's rtp.py.

Every message shares the header fields `seq`, `sender` and `timestamp` (see header.py); PROTOCOL.md
has each byte layout as a table. `parse` raises only WireError, whatever it is given.
"""

from __future__ import annotations

import re
import struct
import unicodedata
from dataclasses import dataclass
from typing import ClassVar, Self

from emulator.model.errors import ModelError
from emulator.model.hands import HandPose, HandSide
from emulator.model.pose import Pose
from emulator.model.visemes import Viseme
from emulator.wire.errors import WireError
from emulator.wire.face import FaceSet, FaceUpdate
from emulator.wire.hands import HAND_MASK_LEFT, HAND_MASK_RIGHT, decode_hand_block, quantize_hand
from emulator.wire.header import (
    HEADER_FORMAT,
    HEADER_SIZE,
    MAX_MESSAGE_SIZE,
    VERSION,
    Header,
    MessageType,
    check_u16,
    check_u32,
    first_byte,
    peek_header,
)
from emulator.wire.quantize import (
    MM_PER_M,
    POSE_SIZE,
    POSITION_LIMIT_MM,
    POSITION_SIZE,
    WEIGHT_LEVELS,
    pack_orientation,
    pack_position,
    position_mm,
    unpack_orientation,
    unpack_position_mm,
    vec_from_mm,
)

STATE_FLAG_POSE = 0b001
STATE_FACE_SHIFT = 1
VISEME_ENTRY_FORMAT = "!BBH"
VISEME_ENTRY_SIZE = struct.calcsize(VISEME_ENTRY_FORMAT)
MAX_VISEMES = 255
PONG_FORMAT = "!HII"
PONG_SIZE = struct.calcsize(PONG_FORMAT)
MAX_NAME_BYTES = 64
MAX_PROFILE_BYTES = 32
MAX_AVATAR_BYTES = 255
PROFILE_KEY = re.compile(r"[a-z0-9][a-z0-9._-]*")

_viseme_entry = struct.Struct(VISEME_ENTRY_FORMAT)
_pong = struct.Struct(PONG_FORMAT)
_pong_to = struct.Struct("!H")  # the optional trailing u16: whom the PONG answers
PONG_TO_SIZE = _pong_to.size


def _finish(parts: list[bytes]) -> bytes:
    return _sized(b"".join(parts))


def _sized(data: bytes) -> bytes:
    if len(data) > MAX_MESSAGE_SIZE:
        raise WireError(f"message of {len(data)} bytes is more than {MAX_MESSAGE_SIZE}")
    return data


def _header_of(data: bytes, kind: MessageType) -> Header:
    header = peek_header(data)
    if header.type is not kind:
        raise WireError(f"expected a {kind.name} message, got {header.type.name}")
    return header


def _exact_length(data: bytes, expected: int, what: str) -> None:
    if len(data) < expected:
        raise WireError(f"truncated: {what} needs {expected} bytes, got {len(data)}")
    if len(data) > expected:
        raise WireError(f"trailing garbage: {len(data) - expected} bytes after the {what}")


@dataclass(frozen=True, kw_only=True)
class _Message:
    TYPE: ClassVar[MessageType]

    seq: int = 0
    sender: int = 0
    timestamp: int = 0

    def __post_init__(self) -> None:
        check_u16(self.seq, "seq")
        check_u16(self.sender, "sender")
        check_u32(self.timestamp, "timestamp")

    def _header(self, flags: int = 0) -> bytes:
        return bytes(Header(self.TYPE, flags, self.seq, self.sender, self.timestamp))

    @classmethod
    def parse(cls, data: bytes) -> Self:
        try:
            return cls._parse(_header_of(data, cls.TYPE), bytes(data))
        except ModelError as e:
            raise WireError(str(e)) from e

    @classmethod
    def _parse(cls, header: Header, data: bytes) -> Self:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class State(_Message):
    """Pose, face and hands of one participant at `timestamp`; every part optional.

    A decoded pose carries the header timestamp as its `timestamp_us` (the pose's own is not sent).
    """

    TYPE: ClassVar[MessageType] = MessageType.STATE

    pose: Pose | None = None
    face: FaceUpdate | None = None
    left_hand: HandPose | None = None
    right_hand: HandPose | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pose is not None and not isinstance(self.pose, Pose):
            raise WireError(f"pose must be a Pose, got {type(self.pose).__name__}")
        if self.face is not None and not isinstance(self.face, FaceUpdate):
            raise WireError(f"face must be a FaceUpdate, got {type(self.face).__name__}")
        check_hands(self.left_hand, self.right_hand)

    def __bytes__(self) -> bytes:
        flags = 0
        parts = [b""]
        if self.pose is not None:
            flags |= STATE_FLAG_POSE
            parts += [pack_position(self.pose.position), pack_orientation(self.pose.orientation)]
        if self.face is not None:
            flags |= self.face.mode() << STATE_FACE_SHIFT
            parts.append(self.face.encode_block())
        if self.left_hand is not None or self.right_hand is not None:
            parts += _hand_blocks(self.left_hand, self.right_hand)
        parts[0] = self._header(flags)
        return _finish(parts)

    @classmethod
    def _parse(cls, header: Header, data: bytes) -> State:
        offset = HEADER_SIZE
        pose = None
        if header.flags & STATE_FLAG_POSE:
            if len(data) < offset + POSE_SIZE:
                raise WireError("truncated: pose")
            position = vec_from_mm(unpack_position_mm(data, offset))
            orientation = unpack_orientation(data, offset + POSITION_SIZE)
            pose = Pose(position, orientation, header.timestamp)
            offset += POSE_SIZE
        face = None
        face_mode = header.flags >> STATE_FACE_SHIFT
        if face_mode:
            face, offset = FaceUpdate.decode_block(face_mode, data, offset)
        hands: dict[HandSide, HandPose] = {}
        if offset < len(data):
            mask = data[offset]
            offset += 1
            if mask == 0 or mask & ~(HAND_MASK_LEFT | HAND_MASK_RIGHT):
                raise WireError(f"hand mask {mask:#04x} is not 1, 2 or 3")
            for side, bit in ((HandSide.LEFT, HAND_MASK_LEFT), (HandSide.RIGHT, HAND_MASK_RIGHT)):
                if mask & bit:
                    quantized, offset = decode_hand_block(side, data, offset)
                    hands[side] = quantized.to_hand_pose()
            if offset != len(data):
                raise WireError(f"trailing garbage: {len(data) - offset} bytes after the hands")
        return cls(
            seq=header.seq, sender=header.sender, timestamp=header.timestamp, pose=pose, face=face,
            left_hand=hands.get(HandSide.LEFT), right_hand=hands.get(HandSide.RIGHT),
        )  # fmt: skip


def check_hands(left: HandPose | None, right: HandPose | None) -> None:
    """A STATE's hands: each None or a HandPose of its own side (WireError otherwise)."""
    for hand, side in ((left, HandSide.LEFT), (right, HandSide.RIGHT)):
        if hand is not None and (not isinstance(hand, HandPose) or hand.side is not side):
            raise WireError(f"{side.name.lower()}_hand must be a {side.name.lower()} HandPose")


def _hand_blocks(left: HandPose | None, right: HandPose | None) -> list[bytes]:
    mask = (HAND_MASK_LEFT if left else 0) | (HAND_MASK_RIGHT if right else 0)
    return [bytes((mask,))] + [quantize_hand(h).encode_block() for h in (left, right) if h]


_STATE_FIRST_BYTE = first_byte(MessageType.STATE, 0)
_state_header = struct.Struct(HEADER_FORMAT)
_state_head = struct.Struct(HEADER_FORMAT + "hhh")  # the header, then a pose's position in mm
_MM_BOUND = POSITION_LIMIT_MM + 0.5  # position_mm's bound on a coordinate scaled to millimetres


def state_bytes(
    seq: int,
    timestamp: int,
    pose: Pose | None,
    face: tuple[int, bytes] | None,
    left_hand: HandPose | None = None,
    right_hand: HandPose | None = None,
) -> bytes:
    """`bytes(State(...))` of a client's STATE (sender 0) from `seq` and `timestamp` already in range
    and a face already encoded (`FaceEncoder.encode`): the same bytes without the State, Header and
    FaceUpdate objects, which cost a headset's uplink more than the encoding (90 STATEs a second)."""
    with_hands = left_hand is not None or right_hand is not None
    if with_hands:
        check_hands(left_hand, right_hand)
    flags = 0 if face is None else face[0] << STATE_FACE_SHIFT
    if pose is None:
        data = _state_header.pack(_STATE_FIRST_BYTE | flags, seq, 0, timestamp)
    else:
        p = pose.position
        x, y, z = p.x * MM_PER_M, p.y * MM_PER_M, p.z * MM_PER_M
        if not (-_MM_BOUND < x < _MM_BOUND and -_MM_BOUND < y < _MM_BOUND and -_MM_BOUND < z < _MM_BOUND):
            position_mm(p)  # not finite or out of range (NaN fails every comparison): it says which
        head = _state_head.pack(
            _STATE_FIRST_BYTE | flags | STATE_FLAG_POSE, seq, 0, timestamp, round(x), round(y), round(z)
        )
        data = head + pack_orientation(pose.orientation)
    if face is not None:
        data += face[1]
    if with_hands:
        data = b"".join([data, *_hand_blocks(left_hand, right_hand)])
    return _sized(data)


@dataclass(frozen=True, slots=True)
class VisemeEntry:
    """One viseme at `weight` (0..1), `offset_ms` after the message's timestamp.

    The weight is kept at the 1/255 step the wire carries, so an entry reads back equal to itself.
    """

    viseme: Viseme
    weight: float
    offset_ms: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.viseme, Viseme):
            raise WireError(f"viseme must be a Viseme, got {self.viseme!r}")
        if (
            isinstance(self.weight, bool)
            or not isinstance(self.weight, int | float)
            or not 0.0 <= self.weight <= 1.0
        ):
            raise WireError(f"viseme weight {self.weight!r} is not in 0..1")
        check_u16(self.offset_ms, "viseme offset_ms")
        object.__setattr__(self, "weight", self.level / WEIGHT_LEVELS)

    @property
    def level(self) -> int:
        return round(self.weight * WEIGHT_LEVELS)


@dataclass(frozen=True, kw_only=True)
class Visemes(_Message):
    """What a talking agent's mouth does next: visemes timed relative to the header timestamp."""

    TYPE: ClassVar[MessageType] = MessageType.VISEMES

    entries: tuple[VisemeEntry, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.entries) > MAX_VISEMES:
            raise WireError(f"at most {MAX_VISEMES} visemes per message, got {len(self.entries)}")
        for entry in self.entries:
            if not isinstance(entry, VisemeEntry):
                raise WireError(f"entries must be VisemeEntry, got {type(entry).__name__}")

    def __bytes__(self) -> bytes:
        parts = [self._header(), bytes((len(self.entries),))]
        parts += [_viseme_entry.pack(int(e.viseme), e.level, e.offset_ms) for e in self.entries]
        return _finish(parts)

    @classmethod
    def _parse(cls, header: Header, data: bytes) -> Visemes:
        if len(data) < HEADER_SIZE + 1:
            raise WireError("truncated: viseme count")
        count = data[HEADER_SIZE]
        _exact_length(data, HEADER_SIZE + 1 + count * VISEME_ENTRY_SIZE, f"{count} visemes")
        entries = []
        for i in range(count):
            vid, level, offset_ms = _viseme_entry.unpack_from(data, HEADER_SIZE + 1 + i * VISEME_ENTRY_SIZE)
            if vid >= len(Viseme):
                raise WireError(f"unknown viseme id {vid}")
            entries.append(VisemeEntry(Viseme(vid), level / WEIGHT_LEVELS, offset_ms))
        return cls(seq=header.seq, sender=header.sender, timestamp=header.timestamp, entries=tuple(entries))


def _check_text(value: str, what: str, limit: int) -> bytes:
    if not isinstance(value, str):
        raise WireError(f"{what} must be text, got {type(value).__name__}")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise WireError(f"{what} contains control characters")
    encoded = value.encode("utf-8")
    if len(encoded) > limit:
        raise WireError(f"{what} is {len(encoded)} bytes of UTF-8, more than {limit}")
    return encoded


@dataclass(frozen=True, kw_only=True)
class Hello(_Message):
    """Who a participant is: sent on joining and whenever it changes."""

    TYPE: ClassVar[MessageType] = MessageType.HELLO

    display_name: str = ""
    profile: str = "visionpro"
    avatar: str = ""
    face_set: FaceSet = FaceSet.ARKIT52

    def __post_init__(self) -> None:
        super().__post_init__()
        self._fields()

    def _fields(self) -> list[bytes]:
        if not isinstance(self.face_set, FaceSet):
            raise WireError(f"face_set must be a FaceSet, got {self.face_set!r}")
        profile = _check_text(self.profile, "profile", MAX_PROFILE_BYTES)
        if not PROFILE_KEY.fullmatch(self.profile):
            raise WireError(
                f"profile {self.profile!r} is not a profile key (lower-case letters, digits, . _ -)"
            )
        return [
            _check_text(self.display_name, "display name", MAX_NAME_BYTES),
            profile,
            _check_text(self.avatar, "avatar", MAX_AVATAR_BYTES),
            self.face_set.key.encode("ascii"),
        ]

    def __bytes__(self) -> bytes:
        parts = [self._header()]
        for field in self._fields():
            parts += [bytes((len(field),)), field]
        return _finish(parts)

    @classmethod
    def _parse(cls, header: Header, data: bytes) -> Hello:
        offset = HEADER_SIZE
        texts = []
        for what in ("display name", "profile", "avatar", "face set"):
            if len(data) < offset + 1:
                raise WireError(f"truncated: {what} length")
            n = data[offset]
            if len(data) < offset + 1 + n:
                raise WireError(f"truncated: {what}")
            try:
                texts.append(data[offset + 1 : offset + 1 + n].decode("utf-8"))
            except UnicodeDecodeError as e:
                raise WireError(f"{what} is not UTF-8") from e
            offset += 1 + n
        if offset != len(data):
            raise WireError(f"trailing garbage: {len(data) - offset} bytes after HELLO")
        return cls(
            seq=header.seq, sender=header.sender, timestamp=header.timestamp, display_name=texts[0],
            profile=texts[1], avatar=texts[2], face_set=FaceSet.from_key(texts[3]),
        )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Ping(_Message):
    """Asks for a PONG; its `timestamp` is t1 of the clock exchange (see clock.py)."""

    TYPE: ClassVar[MessageType] = MessageType.PING

    def __bytes__(self) -> bytes:
        return self._header()

    @classmethod
    def _parse(cls, header: Header, data: bytes) -> Ping:
        _exact_length(data, HEADER_SIZE, "PING")
        return cls(seq=header.seq, sender=header.sender, timestamp=header.timestamp)


@dataclass(frozen=True, kw_only=True)
class Pong(_Message):
    """The answer to a PING: echoes its seq and t1, adds t2 (when it arrived); `timestamp` is t3.

    `to` is the participant number of the PING's sender, so a room hands the PONG to that one
    participant only: broadcast, every participant would receive N − 1 answers to every other's PING,
    N³ messages a second in a room of N. None (the 19-byte form) for a PING with no sender number.
    """

    TYPE: ClassVar[MessageType] = MessageType.PONG

    ping_seq: int = 0
    ping_timestamp: int = 0
    receive_timestamp: int = 0
    to: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_u16(self.ping_seq, "ping_seq")
        check_u32(self.ping_timestamp, "ping_timestamp")
        check_u32(self.receive_timestamp, "receive_timestamp")
        if self.to is not None and check_u16(self.to, "to") == 0:
            raise WireError("a PONG's `to` is a participant number, 1..65535")

    @classmethod
    def answer(cls, ping: Ping, received_at: int, sent_at: int, seq: int = 0) -> Pong:
        """The PONG for `ping`, which arrived at `received_at` and leaves at `sent_at` (u32 µs)."""
        return cls(seq=seq, timestamp=sent_at, ping_seq=ping.seq, ping_timestamp=ping.timestamp,
                   receive_timestamp=received_at, to=ping.sender or None)  # fmt: skip

    def __bytes__(self) -> bytes:
        body = _pong.pack(self.ping_seq, self.ping_timestamp, self.receive_timestamp)
        return self._header() + body + (b"" if self.to is None else _pong_to.pack(self.to))

    @classmethod
    def _parse(cls, header: Header, data: bytes) -> Pong:
        addressed = len(data) > HEADER_SIZE + PONG_SIZE
        _exact_length(data, HEADER_SIZE + PONG_SIZE + (PONG_TO_SIZE if addressed else 0), "PONG")
        ping_seq, t1, t2 = _pong.unpack_from(data, HEADER_SIZE)
        to = _pong_to.unpack_from(data, HEADER_SIZE + PONG_SIZE)[0] if addressed else None
        return cls(seq=header.seq, sender=header.sender, timestamp=header.timestamp, ping_seq=ping_seq,
                   ping_timestamp=t1, receive_timestamp=t2, to=to)  # fmt: skip


_PONG_FIRST_BYTE = (VERSION << 6) | (MessageType.PONG << 3)


def pong_recipient(data: bytes) -> int | None:
    """Whom a message is addressed to, if it is an addressed PONG, read without parsing it (relays,
    for messages whose header they have checked); None for anything else, which goes to everyone."""
    if len(data) != HEADER_SIZE + PONG_SIZE + PONG_TO_SIZE or data[0] != _PONG_FIRST_BYTE:
        return None
    to: int = _pong_to.unpack_from(data, HEADER_SIZE + PONG_SIZE)[0]
    return to or None


Message = State | Visemes | Hello | Ping | Pong
MESSAGE_CLASSES: dict[MessageType, type[State | Visemes | Hello | Ping | Pong]] = {
    MessageType.STATE: State,
    MessageType.VISEMES: Visemes,
    MessageType.HELLO: Hello,
    MessageType.PING: Ping,
    MessageType.PONG: Pong,
}


def parse_message(data: bytes) -> Message:
    """Any v1 message; WireError (with a reason) for anything that is not exactly one."""
    return MESSAGE_CLASSES[peek_header(data).type].parse(data)
