"""The 9-byte header every state-stream message starts with, and the room's cheap operations on it.

    byte 0     version (2 bits, v1 = 1) | type (3 bits) | flags (3 bits, type-specific)
    bytes 1-2  u16 sequence number, per sender, wrapping
    bytes 3-4  u16 sender: 0 from clients; the room writes the sender's participant number
    bytes 5-8  u32 timestamp: the sender's monotonic clock in microseconds, mod 2^32

All fields are network byte order. The room forwards every state message after `stamp_sender`, so
that function checks only what it must (size, version, type, reserved flags) and copies once.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from emulator.wire.errors import WireError

VERSION = 1
HEADER_FORMAT = "!BHHI"
HEADER_SIZE = struct.calcsize(HEADER_FORMAT)
assert HEADER_SIZE == 9
MAX_MESSAGE_SIZE = 1200  # fits one SCTP/DTLS datagram on a 1280-byte path MTU without fragmenting
U16_MAX = 0xFFFF
U32_MAX = 0xFFFF_FFFF
SENDER_OFFSET = 3

_header = struct.Struct(HEADER_FORMAT)


class MessageType(IntEnum):
    STATE = 0
    VISEMES = 1
    HELLO = 2
    PING = 3
    PONG = 4


# Which flag bits each type may set; any other bit is reserved and must be 0.
FLAG_MASKS: dict[MessageType, int] = {
    MessageType.STATE: 0b111,
    MessageType.VISEMES: 0,
    MessageType.HELLO: 0,
    MessageType.PING: 0,
    MessageType.PONG: 0,
}


def first_byte(kind: MessageType, flags: int) -> int:
    return (VERSION << 6) | (int(kind) << 3) | flags


# Every acceptable first byte, so the room's per-message check is one set look-up.
_VALID_FIRST_BYTES = frozenset(
    first_byte(kind, flags) for kind, mask in FLAG_MASKS.items() for flags in range(8) if flags & ~mask == 0
)


def wire_timestamp(monotonic_us: int) -> int:
    """A monotonic clock reading in microseconds, as the header carries it (mod 2^32, ~71.6 min)."""
    return monotonic_us & U32_MAX


def check_u16(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U16_MAX:
        raise WireError(f"{name} must be an integer 0..65535, got {value!r}")
    return value


def check_u32(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U32_MAX:
        raise WireError(f"{name} must be an integer 0..2^32-1, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Header:
    type: MessageType
    flags: int
    seq: int
    sender: int
    timestamp: int

    def __bytes__(self) -> bytes:
        return _header.pack(first_byte(self.type, self.flags), self.seq, self.sender, self.timestamp)

    @classmethod
    def parse(cls, data: bytes) -> Header:
        return peek_header(data)


def _check_size(data: bytes) -> None:
    if len(data) < HEADER_SIZE:
        raise WireError(f"truncated: {len(data)} bytes is shorter than the {HEADER_SIZE}-byte header")
    if len(data) > MAX_MESSAGE_SIZE:
        raise WireError(f"oversized: {len(data)} bytes is more than {MAX_MESSAGE_SIZE}")


def _explain_first_byte(b: int) -> WireError:
    version, kind, flags = b >> 6, (b >> 3) & 0b111, b & 0b111
    if version != VERSION:
        return WireError(f"unknown version {version} (this codec speaks {VERSION})")
    if kind not in MessageType._value2member_map_:
        return WireError(f"unknown message type {kind}")
    return WireError(f"reserved flag bits set for {MessageType(kind).name}: {flags:#05b}")


def peek_header(data: bytes) -> Header:
    """The header of any message, checked (size, version, type, reserved flags); the payload is not read."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise WireError(f"expected bytes, got {type(data).__name__}")
    _check_size(data)
    b, seq, sender, timestamp = _header.unpack_from(data)
    if b not in _VALID_FIRST_BYTES:
        raise _explain_first_byte(b)
    return Header(MessageType((b >> 3) & 0b111), b & 0b111, seq, sender, timestamp)


def stamp_sender(data: bytes, sender: int) -> bytes:
    """`data` with its sender field set to `sender`: what the room does to every message it forwards.

    Checks the header (not the payload: receivers parse that themselves) so that the room never relays
    something that is not a v1 message at all.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise WireError(f"expected bytes, got {type(data).__name__}")
    _check_size(data)
    if data[0] not in _VALID_FIRST_BYTES:
        raise _explain_first_byte(data[0])
    check_u16(sender, "sender")
    return b"".join((data[:SENDER_OFFSET], sender.to_bytes(2, "big"), data[SENDER_OFFSET + 2 :]))
