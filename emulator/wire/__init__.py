"""The state-stream codec v1: binary messages (header.py, messages.py) and their JSON twin.

Pure: no sockets, no asyncio. PROTOCOL.md in this directory is the specification.
"""

from emulator.model.visemes import Viseme
from emulator.wire.batch import (
    Batch,
    BatchPacker,
    batch_entries,
    is_batch,
    messages_in,
    split_batch,
    stamp_datagram,
)
from emulator.wire.clock import ClockSample, clock_offset, wrapped_difference
from emulator.wire.errors import WireError
from emulator.wire.face import FaceAccumulator, FaceEncoder, FaceSet, FaceUpdate
from emulator.wire.header import (
    HEADER_SIZE,
    MAX_MESSAGE_SIZE,
    VERSION,
    Header,
    MessageType,
    peek_header,
    stamp_sender,
    wire_timestamp,
)
from emulator.wire.json_twin import from_json, to_json
from emulator.wire.messages import (
    Hello,
    Message,
    Ping,
    Pong,
    State,
    VisemeEntry,
    Visemes,
    parse_message,
    pong_recipient,
)

__all__ = [
    "HEADER_SIZE",
    "MAX_MESSAGE_SIZE",
    "VERSION",
    "Batch",
    "BatchPacker",
    "ClockSample",
    "FaceAccumulator",
    "FaceEncoder",
    "FaceSet",
    "FaceUpdate",
    "Header",
    "Hello",
    "Message",
    "MessageType",
    "Ping",
    "Pong",
    "State",
    "Viseme",
    "VisemeEntry",
    "Visemes",
    "WireError",
    "batch_entries",
    "clock_offset",
    "from_json",
    "is_batch",
    "messages_in",
    "parse_message",
    "peek_header",
    "pong_recipient",
    "split_batch",
    "stamp_datagram",
    "stamp_sender",
    "to_json",
    "wire_timestamp",
    "wrapped_difference",
]
