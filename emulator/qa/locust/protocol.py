"""The lines between a Locust worker and its headset engine: one JSON object per line, both ways.

Commands (worker → engine): `join` with a key and the headset's settings, `leave` with a key.
Events (engine → worker): a `request` (what Locust counts: a type, a name, a time in milliseconds, a
length and, for a failure, its reason), or a change of a member's `state` (`joined`, `closed`).
Closing the engine's stdin tells it to leave every room and exit.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

MAX_LINE_BYTES = 64 * 1024


class ProtocolError(Exception):
    pass


@dataclass(frozen=True)
class Request:
    """One Locust request event: `error` None is a success."""

    key: int
    type: str
    name: str
    ms: float
    length: int = 0
    error: str | None = None


@dataclass(frozen=True)
class StateChange:
    """`joined`, or `closed` with the reason (`left` when asked to leave)."""

    key: int
    state: str
    reason: str = ""


Event = Request | StateChange


def encode(kind: str, payload: dict[str, Any]) -> bytes:
    return (json.dumps({"kind": kind, **payload}, separators=(",", ":")) + "\n").encode()


def encode_event(event: Event) -> bytes:
    return encode("request" if isinstance(event, Request) else "state", asdict(event))


def decode(line: bytes) -> dict[str, Any]:
    if len(line) > MAX_LINE_BYTES:
        raise ProtocolError(f"a line of {len(line)} bytes (at most {MAX_LINE_BYTES})")
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError) as error:
        raise ProtocolError(f"not JSON: {error}") from None
    if not isinstance(message, dict) or not isinstance(message.get("kind"), str):
        raise ProtocolError("not an object with a kind")
    if not isinstance(message.get("key", 0), int):
        raise ProtocolError("a key that is not an integer")
    return message


def decode_event(line: bytes) -> Event:
    message = decode(line)
    kind = message.pop("kind")
    try:
        if kind == "request":
            return Request(**message)
        if kind == "state":
            return StateChange(**message)
    except TypeError as error:
        raise ProtocolError(f"a {kind} event with other fields: {error}") from None
    raise ProtocolError(f"an event of unknown kind {kind!r}")
