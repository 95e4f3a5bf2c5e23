"""BATCH: several state-stream messages in one datagram.

Why: every data-channel message costs a DTLS record, an SCTP packet, a SACK and a pass through both
Python stacks. A room of N headsets at 90 Hz forwards N × (N − 1) × 90 messages a second; gathering
what is due to one receiver over a few milliseconds turns that into one datagram per window per
receiver (the room's window: `emulator.room.server.batch_window_s`). A headset packs its own STATEs
the same way (`HeadsetConfig.states_per_packet`); the room splits those and stamps each message.
A BATCH never holds another BATCH.

    header (9 bytes)   type 5, flags 0, seq = the packer's batch counter, sender 0,
                       timestamp = the packer's clock
    then, repeated:    u16 length, then that many bytes: one complete v1 message (not a BATCH)

A BATCH is at most MAX_MESSAGE_SIZE bytes like any message, so it stays one datagram.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from emulator.wire.errors import WireError
from emulator.wire.header import (
    HEADER_SIZE,
    MAX_MESSAGE_SIZE,
    VERSION,
    check_u16,
    check_u32,
    peek_header,
    stamp_sender,
)

BATCH_TYPE = 5
BATCH_FIRST_BYTE = (VERSION << 6) | (BATCH_TYPE << 3)
_length = struct.Struct("!H")
_batch_header = struct.Struct("!BHHI")
ENTRY_AND_HEADER = struct.Struct("!HBHHI")  # an entry's length, then its message's header
ENTRY_OVERHEAD = _length.size


def is_batch(data: bytes) -> bool:
    return len(data) > 0 and data[0] == BATCH_FIRST_BYTE


@dataclass(frozen=True, slots=True)
class Batch:
    seq: int
    timestamp: int
    messages: tuple[bytes, ...]

    def __bytes__(self) -> bytes:
        check_u16(self.seq, "seq")
        check_u32(self.timestamp, "timestamp")
        parts = [_batch_header.pack(BATCH_FIRST_BYTE, self.seq, 0, self.timestamp)]
        for message in self.messages:
            if is_batch(message):
                raise WireError("a BATCH cannot hold another BATCH")
            peek_header(message)
            parts += [_length.pack(len(message)), bytes(message)]
        data = b"".join(parts)
        if len(data) > MAX_MESSAGE_SIZE:
            raise WireError(f"oversized: a {len(data)}-byte BATCH is more than {MAX_MESSAGE_SIZE}")
        return data

    @classmethod
    def parse(cls, data: bytes) -> Batch:
        if not is_batch(data):
            raise WireError("not a BATCH")
        if len(data) > MAX_MESSAGE_SIZE:
            raise WireError(f"oversized: {len(data)} bytes is more than {MAX_MESSAGE_SIZE}")
        if len(data) < HEADER_SIZE:
            raise WireError(f"truncated: {len(data)} bytes is shorter than the {HEADER_SIZE}-byte header")
        _, seq, sender, timestamp = _batch_header.unpack_from(data)
        if sender != 0:
            raise WireError("a BATCH comes from the room: its sender field must be 0")
        return cls(seq, timestamp, tuple(split_batch(data)))


def batch_entries(data: bytes) -> Iterator[tuple[int, int, int, int, int, int]]:
    """Each entry of a BATCH where it lies, without copying it out: (first byte, seq, sender,
    timestamp, start, end) of its message, so `data[start:end]` is the message. Only the lengths are
    checked (a WireError for one that runs past the end); `split_batch` checks each header too."""
    offset = HEADER_SIZE
    end = len(data)
    while offset < end:
        if offset + ENTRY_OVERHEAD > end:
            raise WireError("truncated BATCH entry length")
        if offset + ENTRY_AND_HEADER.size > end:
            raise WireError("BATCH entry too short for a message header")
        length, first, seq, sender, timestamp = ENTRY_AND_HEADER.unpack_from(data, offset)
        start = offset + ENTRY_OVERHEAD
        offset = start + length
        if length < HEADER_SIZE or offset > end:
            raise WireError(f"BATCH entry of {length} bytes does not fit")
        yield first, seq, sender, timestamp, start, offset


def split_batch(data: bytes) -> Iterator[bytes]:
    """The messages inside a BATCH, each header-checked; a WireError for anything malformed."""
    for *_, start, end in batch_entries(data):
        message = bytes(data[start:end])
        if is_batch(message):
            raise WireError("a BATCH cannot hold another BATCH")
        peek_header(message)
        yield message


def messages_in(data: bytes) -> list[bytes]:
    """The messages one datagram carries: a BATCH's, or the datagram itself; WireError if malformed."""
    return list(split_batch(data)) if is_batch(data) else [data]


def stamp_datagram(data: bytes, sender: int) -> list[bytes]:
    """What a relay does with a datagram from one sender: each message in it, stamped with `sender`
    (a client may pack its own messages into a BATCH). WireError if any of it is malformed."""
    return [stamp_sender(message, sender) for message in messages_in(data)]


class BatchPacker:
    """Packs messages for one receiver into as few BATCHes as fit; a lone message goes as it is."""

    def __init__(self) -> None:
        self._seq = 0

    def pack(self, messages: Sequence[bytes], timestamp: int) -> list[bytes]:
        if len(messages) == 1:
            return [bytes(messages[0])]
        out: list[bytes] = []
        current: list[bytes] = []
        size = HEADER_SIZE
        for message in messages:
            need = ENTRY_OVERHEAD + len(message)
            if current and size + need > MAX_MESSAGE_SIZE:
                out.append(self._one(current, timestamp))
                current, size = [], HEADER_SIZE
            current.append(message)
            size += need
        if current:
            out.append(self._one(current, timestamp) if len(current) > 1 else current[0])
        return out

    def _one(self, messages: list[bytes], timestamp: int) -> bytes:
        self._seq = (self._seq + 1) & 0xFFFF
        parts = [_batch_header.pack(BATCH_FIRST_BYTE, self._seq, 0, timestamp & 0xFFFF_FFFF)]
        for message in messages:
            parts += [_length.pack(len(message)), message]
        return b"".join(parts)
