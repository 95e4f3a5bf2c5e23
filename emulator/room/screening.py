"""What the room refuses to relay without parsing payloads: messages that cannot be what they claim.

PROTOCOL.md's rule stands: the room checks headers, so a face set or a STATE part added later passes
through. Only lengths that contradict the header are refused here: a PING or PONG of the wrong size,
VISEMES whose entry count does not match, a STATE that says it carries a pose and is too short for one.
Unknown versions and types are refused earlier, by `stamp_sender`'s header check.
"""

from __future__ import annotations

from emulator.wire.header import HEADER_SIZE, VERSION, MessageType
from emulator.wire.messages import PONG_SIZE, PONG_TO_SIZE, STATE_FLAG_POSE, VISEME_ENTRY_SIZE
from emulator.wire.quantize import POSE_SIZE


def _first(kind: MessageType) -> int:
    return (VERSION << 6) | (int(kind) << 3)


PING_FIRST_BYTE = _first(MessageType.PING)
PONG_FIRST_BYTE = _first(MessageType.PONG)
VISEMES_FIRST_BYTE = _first(MessageType.VISEMES)
STATE_FIRST_BYTE = _first(MessageType.STATE)
TYPE_BITS = 0xF8  # version and type; the low three bits are flags
_PONG_SIZES = (HEADER_SIZE + PONG_SIZE, HEADER_SIZE + PONG_SIZE + PONG_TO_SIZE)


def impossible(message: bytes) -> str | None:
    """Why `message` (header already checked) cannot be a well-formed v1 message, or None."""
    first = message[0]
    size = len(message)
    if first == PING_FIRST_BYTE:
        return None if size == HEADER_SIZE else f"PING of {size} bytes"
    if first == PONG_FIRST_BYTE:
        return None if size in _PONG_SIZES else f"PONG of {size} bytes"
    if first == VISEMES_FIRST_BYTE:
        if size <= HEADER_SIZE or size != HEADER_SIZE + 1 + message[HEADER_SIZE] * VISEME_ENTRY_SIZE:
            return f"VISEMES of {size} bytes contradicts its entry count"
        return None
    if first & TYPE_BITS == STATE_FIRST_BYTE and first & STATE_FLAG_POSE and size < HEADER_SIZE + POSE_SIZE:
        return f"STATE with a pose in {size} bytes"
    return None
