"""The bundled room's signaling messages: JSON objects over one WebSocket per participant.

Each message is a dataclass with `to_json()` and `parse_signaling(text)`; the field names are the
JSON keys. `emulator/room/SIGNALING.md` documents the exchange. Anything malformed raises
`SignalingError` with a reason, which the room answers with an `error` message instead of crashing.
"""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar

from emulator.wire.bounded_json import JsonBoundsError, loads_bounded

MAX_SIGNALING_BYTES = 256 * 1024  # an SDP with dozens of transceivers stays far below this
# WebSocket pings: aiohttp drops a peer that misses a pong within half of this, so a loaded machine
# needs slack; a dead peer is found sooner anyway (closed TCP, ICE failure, 4 s of data silence).
HEARTBEAT_S = 10.0
# Before a peer has joined it can only send `join`: a 4 KiB token and a few short strings.
MAX_PREJOIN_BYTES = 16 * 1024
MAX_NAME_LENGTH = 64
# The one rule for room names (the browser page and `/token` use it too): safe in logs, URLs, labels.
ROOM_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class SignalingError(ValueError):
    """A signaling message that cannot be understood; the message says why."""


class RoomMode(StrEnum):
    """How a room sends voices: each speaker's own track, spatialized by the listener (`forward`), or
    one binaural mix per listener, made by the room (`binaural`)."""

    FORWARD = "forward"
    BINAURAL = "binaural"


class CloseReason(StrEnum):
    """Why a participant left (a `left` message's `reason`) or a session ended (its `close_reason`)."""

    LEFT = "left"  # asked to
    DISCONNECTED = "disconnected"  # its WebSocket closed
    REPLACED = "replaced"  # the same identity joined again
    TRANSPORT_LOST = "transport-lost"  # its data stopped
    TRANSPORT_FAILED = "transport-failed"  # ICE or DTLS failed
    MEDIA_TIMEOUT = "media-timeout"  # admitted, but its data channels never opened
    NEGOTIATION_TIMEOUT = "negotiation-timeout"
    RATE_LIMITED = "rate-limited"
    KICKED = "kicked"
    # A client's own, never sent by the room:
    CONNECT_TIMEOUT = "connect-timeout"
    UNREACHABLE = "unreachable"
    REFUSED = "refused"
    SIGNALING_LOST = "signaling-lost"


@dataclass(frozen=True, slots=True)
class ParticipantInfo:
    """Who a participant is, as everyone in the room sees it."""

    id: str
    number: int
    name: str
    profile: str
    avatar: str = "default"
    face_set: str = "arkit52"
    may_publish: bool = True

    @staticmethod
    def from_obj(obj: Any) -> ParticipantInfo:
        if not isinstance(obj, dict):
            raise SignalingError("a participant must be an object")
        try:
            info = ParticipantInfo(
                id=_str(obj, "id"),
                number=_int(obj, "number", 1, 65535),
                name=_str(obj, "name"),
                profile=_str(obj, "profile"),
                avatar=_str(obj, "avatar", "default"),
                face_set=_str(obj, "face_set", "arkit52"),
                may_publish=bool(obj.get("may_publish", True)),
            )
        except SignalingError as error:
            raise SignalingError(f"participant: {error}") from None
        return info


def _str(obj: dict[str, Any], key: str, default: str | None = None, limit: int = 4096) -> str:
    value = obj.get(key, default)
    if not isinstance(value, str):
        raise SignalingError(f"field {key!r} must be a string")
    if len(value) > limit:
        raise SignalingError(f"field {key!r} is longer than {limit} characters")
    return value


def _int(obj: dict[str, Any], key: str, low: int, high: int) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SignalingError(f"field {key!r} must be a whole number in {low}..{high}")
    return value


@dataclass(frozen=True, slots=True)
class Join:
    """First message from a client: who it is and the token that admits it."""

    TYPE: ClassVar[str] = "join"
    room: str
    token: str
    name: str
    profile: str = "visionpro"
    avatar: str = "default"
    face_set: str = "arkit52"


@dataclass(frozen=True, slots=True)
class Welcome:
    """The room admitted the client: its own identity, the room's mode and who is already there."""

    TYPE: ClassVar[str] = "welcome"
    you: ParticipantInfo
    mode: RoomMode
    participants: list[ParticipantInfo] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Offer:
    TYPE: ClassVar[str] = "offer"
    sdp: str


@dataclass(frozen=True, slots=True)
class Answer:
    TYPE: ClassVar[str] = "answer"
    sdp: str


@dataclass(frozen=True, slots=True)
class Joined:
    TYPE: ClassVar[str] = "joined"
    participant: ParticipantInfo


@dataclass(frozen=True, slots=True)
class Left:
    TYPE: ClassVar[str] = "left"
    id: str
    number: int
    reason: str = CloseReason.LEFT  # a CloseReason, or a newer room's own


@dataclass(frozen=True, slots=True)
class Tracks:
    """Which incoming audio track (by SDP mid) carries which participant's voice; "" when mixed."""

    TYPE: ClassVar[str] = "tracks"
    mids: dict[str, str]


MIX_OWNER = ""  # the owner `tracks` gives the room's binaural mix (`welcome.mode` "binaural")


@dataclass(frozen=True, slots=True)
class Leave:
    TYPE: ClassVar[str] = "leave"


@dataclass(frozen=True, slots=True)
class Error:
    """A refusal or failure the client should show; `code` is stable, `reason` is for people."""

    TYPE: ClassVar[str] = "error"
    code: str
    reason: str


SignalingMessage = Join | Welcome | Offer | Answer | Joined | Left | Tracks | Leave | Error
_TYPES: dict[str, type[Any]] = {
    cls.TYPE: cls for cls in (Join, Welcome, Offer, Answer, Joined, Left, Tracks, Leave, Error)
}


def to_json(message: SignalingMessage) -> str:
    body = asdict(message)
    body["type"] = message.TYPE
    return json.dumps(body, separators=(",", ":"))


def _mode(obj: dict[str, Any]) -> RoomMode:
    mode = _str(obj, "mode")
    try:
        return RoomMode(mode)
    except ValueError:
        raise SignalingError(f"unknown room mode {mode!r}") from None


def parse_signaling(text: str | bytes, *, max_bytes: int = MAX_SIGNALING_BYTES) -> SignalingMessage:
    """The message in `text`; SignalingError for anything malformed, too large or nested too deep."""
    try:
        obj = loads_bounded(text, max_bytes=max_bytes)
    except JsonBoundsError as error:
        raise SignalingError(f"signaling message {error}") from None
    except ValueError as error:  # UnicodeDecodeError is a ValueError too
        raise SignalingError(f"not JSON: {error}") from None
    if not isinstance(obj, dict):
        raise SignalingError("a signaling message must be a JSON object")
    kind = obj.get("type")
    cls = _TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise SignalingError(f"unknown signaling message type {kind!r}")
    if cls is Welcome:
        participants = obj.get("participants", [])
        if not isinstance(participants, list):
            raise SignalingError("field 'participants' must be a list")
        return Welcome(
            you=ParticipantInfo.from_obj(obj.get("you")),
            mode=_mode(obj),
            participants=[ParticipantInfo.from_obj(p) for p in participants],
        )
    if cls is Joined:
        return Joined(ParticipantInfo.from_obj(obj.get("participant")))
    if cls is Tracks:
        mids = obj.get("mids")
        if not isinstance(mids, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mids.items()
        ):
            raise SignalingError("field 'mids' must map strings to strings")
        return Tracks(dict(mids))
    if cls is Left:
        return Left(_str(obj, "id"), _int(obj, "number", 1, 65535), _str(obj, "reason", CloseReason.LEFT))
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in obj:
            kwargs[f.name] = _str(obj, f.name, limit=MAX_SIGNALING_BYTES if f.name == "sdp" else 4096)
        elif f.default is MISSING:
            raise SignalingError(f"{kind}: field {f.name!r} is missing")
    message: SignalingMessage = cls(**kwargs)
    if isinstance(message, Join):
        if not 0 < len(message.name) <= MAX_NAME_LENGTH:
            raise SignalingError(f"join: a name must have 1 to {MAX_NAME_LENGTH} characters")
        if not ROOM_NAME.fullmatch(message.room):
            raise SignalingError(
                f"join: a room name is 1 to 64 of A-Z a-z 0-9 _ . - (got {message.room[:80]!r})"
            )
    return message
