"""The JSON twin: every message as one JSON object, for SFUs and tools that only speak JSON.

It carries what the binary form carries, already quantized, in readable units (metres to the
millimetre, the decoded quaternion to 6 decimals, weights as level/255 to 4 decimals, names instead of
indices): a JSON receiver sees what a binary receiver decodes, to within 1e-6. PROTOCOL.md shows each
shape.
`from_json` is as strict as `parse`: any text that is not exactly one valid message raises WireError.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from emulator.model.errors import ModelError
from emulator.model.hands import HAND_JOINT_COUNT, HandPose, HandSide
from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.visemes import Viseme
from emulator.wire.errors import WireError
from emulator.wire.face import FaceSet, FaceUpdate
from emulator.wire.hands import RADIUS_SCALE_DIVISOR, QuantizedHand, quantize_hand
from emulator.wire.header import VERSION, MessageType, check_u16, check_u32
from emulator.wire.messages import Hello, Message, Ping, Pong, State, VisemeEntry, Visemes
from emulator.wire.quantize import (
    MM_PER_M,
    POSITION_LIMIT_MM,
    WEIGHT_LEVELS,
    pack_orientation,
    position_mm,
    unpack_orientation,
)

MAX_JSON_SIZE = 16384
POSITION_DECIMALS = 3
QUATERNION_DECIMALS = 6
WEIGHT_DECIMALS = 4
_TYPE_NAMES = {t: t.name.lower() for t in MessageType}
_TYPES_BY_NAME = {v: k for k, v in _TYPE_NAMES.items()}
_COMMON = frozenset({"v", "type", "seq", "sender", "t"})
_OPTIONAL_BY_TYPE: dict[MessageType, frozenset[str]] = {
    MessageType.STATE: frozenset({"pose", "face", "hands"}),
    MessageType.PONG: frozenset({"to"}),
}
_REQUIRED_BY_TYPE: dict[MessageType, frozenset[str]] = {
    MessageType.STATE: frozenset(),
    MessageType.VISEMES: frozenset({"visemes"}),
    MessageType.HELLO: frozenset({"name", "profile", "avatar", "face_set"}),
    MessageType.PING: frozenset(),
    MessageType.PONG: frozenset({"ping_seq", "t1", "t2"}),
}


# -- writing ---------------------------------------------------------------------------------------


def _position(v: Vec3 | list[float], what: str) -> list[float]:
    return [round(mm / MM_PER_M, POSITION_DECIMALS) for mm in position_mm(v, what)]


def _quaternion(q: Quat) -> list[float]:
    # The rotation a binary receiver would decode, so both kinds of receiver see the same thing.
    carried = unpack_orientation(pack_orientation(q), 0)
    return [round(c, QUATERNION_DECIMALS) for c in carried.as_tuple()]


def _weight(level: int) -> float:
    return round(level / WEIGHT_LEVELS, WEIGHT_DECIMALS)


def _face_json(face: FaceUpdate) -> dict[str, Any]:
    weights = face.weights()
    if face.full:
        values: Any = [round(weights[i], WEIGHT_DECIMALS) for i in range(face.face_set.count)]
    else:
        values = {face.face_set.names[i]: round(w, WEIGHT_DECIMALS) for i, w in weights.items()}
    return {"set": face.face_set.key, "full": face.full, "w": values}


def _hand_json(hand: HandPose) -> dict[str, Any]:
    q = quantize_hand(hand)
    return {
        "wrist_q": _quaternion(q.wrist_orientation),
        "radius_scale": q.radius_level / RADIUS_SCALE_DIVISOR,
        "joints": [[int(c) / MM_PER_M for c in joint] for joint in q.joints_mm],
    }


def message_dict(msg: Message) -> dict[str, Any]:
    """The JSON object of a message, before serialisation."""
    out: dict[str, Any] = {"v": VERSION, "type": _TYPE_NAMES[msg.TYPE], "seq": msg.seq, "sender": msg.sender,
                           "t": msg.timestamp}  # fmt: skip
    if isinstance(msg, State):
        if msg.pose is not None:
            out["pose"] = {
                "p": _position(msg.pose.position, "position"),
                "q": _quaternion(msg.pose.orientation),
            }
        if msg.face is not None:
            out["face"] = _face_json(msg.face)
        hands = {name: _hand_json(h) for name, h in (("left", msg.left_hand), ("right", msg.right_hand)) if h}
        if hands:
            out["hands"] = hands
    elif isinstance(msg, Visemes):
        out["visemes"] = [
            {
                "viseme": e.viseme.name,
                "weight": _weight(e.level),
                "offset_ms": e.offset_ms,
            }
            for e in msg.entries
        ]
    elif isinstance(msg, Hello):
        out.update(name=msg.display_name, profile=msg.profile, avatar=msg.avatar, face_set=msg.face_set.key)
    elif isinstance(msg, Pong):
        out.update(ping_seq=msg.ping_seq, t1=msg.ping_timestamp, t2=msg.receive_timestamp)
        if msg.to is not None:
            out["to"] = msg.to
    return out


def to_json(msg: Message) -> str:
    """One compact JSON object (no spaces); WireError for values the binary form could not carry either."""
    return json.dumps(message_dict(msg), separators=(",", ":"), ensure_ascii=False)


# -- reading ---------------------------------------------------------------------------------------


def _object(
    value: Any, what: str, required: set[str] | frozenset[str], optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireError(f"{what} must be an object")
    missing = required - value.keys()
    if missing:
        raise WireError(f"{what} is missing {sorted(missing)}")
    unknown = value.keys() - required - optional
    if unknown:
        raise WireError(f"{what} has unknown fields {sorted(unknown)}")
    return value


def _number(value: Any, what: str, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WireError(f"{what} must be a number")
    f = float(value)
    if not math.isfinite(f) or not low <= f <= high:
        raise WireError(f"{what} {value!r} is out of range")
    return f


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WireError(f"{what} must be an integer")
    return value


def _numbers(value: Any, n: int, what: str) -> list[float]:
    if not isinstance(value, list) or len(value) != n:
        raise WireError(f"{what} must be a list of {n} numbers")
    return [_number(v, what) for v in value]


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise WireError(f"{what} must be a string")
    return value


def _quat_from(value: Any, what: str) -> Quat:
    x, y, z, w = _numbers(value, 4, what)
    try:
        return Quat(x, y, z, w).normalized()
    except ModelError as e:
        raise WireError(f"{what}: {e}") from e


def _pose_from(value: Any) -> Pose:
    pose = _object(value, "pose", {"p", "q"})
    p = _numbers(pose["p"], 3, "pose position")
    position_mm(p, "pose position")  # the same range the binary form has
    return Pose(Vec3.of(p), _quat_from(pose["q"], "pose orientation"))


def _face_from(value: Any) -> FaceUpdate:
    face = _object(value, "face", {"set", "full", "w"})
    face_set = FaceSet.from_key(_text(face["set"], "face set"))
    if not isinstance(face["full"], bool):
        raise WireError("face full must be true or false")
    if face["full"]:
        weights = _numbers(face["w"], face_set.count, "face weight")
        return FaceUpdate.of_weights(face_set, [_number(w, "face weight", 0.0, 1.0) for w in weights])
    weights = face["w"]
    if not isinstance(weights, dict):
        raise WireError("changed face weights must be an object of name: weight")
    index = {n: i for i, n in enumerate(face_set.names)}
    changes = {}
    for name, weight in weights.items():
        if name not in index:
            raise WireError(f"{name!r} is not a {face_set.key} weight")
        changes[index[name]] = _number(weight, f"weight of {name}", 0.0, 1.0)
    return FaceUpdate.of_changes(face_set, changes)


def _hand_from(value: Any, side: HandSide) -> HandPose:
    what = f"{side.name.lower()} hand"
    hand = _object(value, what, {"wrist_q", "radius_scale", "joints"})
    joints = hand["joints"]
    if not isinstance(joints, list) or len(joints) != HAND_JOINT_COUNT:
        raise WireError(f"{what} joints must be a list of 26 positions")
    # Only the wrist has the ±32.767 m range; the others are offsets from it (QuantizedHand checks both).
    limit = 2 * POSITION_LIMIT_MM / MM_PER_M
    metres = [
        _number(c, f"{what} joint", -limit, limit) for j in joints for c in _numbers(j, 3, f"{what} joint")
    ]
    mm = np.rint(np.array(metres).reshape(HAND_JOINT_COUNT, 3) * MM_PER_M).astype(np.int64)
    scale = _number(hand["radius_scale"], f"{what} radius_scale", 0.0, 255 / RADIUS_SCALE_DIVISOR)
    quantized = QuantizedHand(side, mm, _quat_from(hand["wrist_q"], f"{what} wrist_q"),
                              round(scale * RADIUS_SCALE_DIVISOR))  # fmt: skip
    return quantized.to_hand_pose()


def _reject_constant(name: str) -> Any:
    raise WireError(f"{name} is not a number the wire carries")


def _load(text: str | bytes) -> Any:
    if not isinstance(text, str | bytes | bytearray):
        raise WireError(f"expected JSON text, got {type(text).__name__}")
    if len(text) > MAX_JSON_SIZE:
        raise WireError(f"oversized: {len(text)} characters of JSON is more than {MAX_JSON_SIZE}")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:  # JSONDecodeError, bad UTF-8, over-long integers
        if isinstance(e, WireError):
            raise
        raise WireError(f"not JSON: {e}") from e


def from_json(text: str | bytes) -> Message:
    """The message a JSON object stands for; WireError with a reason for anything else."""
    raw = _load(text)
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str) or raw["type"] not in _TYPES_BY_NAME:
        raise WireError('expected an object with a known "type"')
    kind = _TYPES_BY_NAME[raw["type"]]
    required = _COMMON | _REQUIRED_BY_TYPE[kind]
    obj = _object(raw, f"{raw['type']} message", required, _OPTIONAL_BY_TYPE.get(kind, frozenset()))
    if type(obj["v"]) is not int or obj["v"] != VERSION:
        raise WireError(f"unknown version {obj['v']!r} (this codec speaks {VERSION})")
    common = {
        "seq": check_u16(_integer(obj["seq"], "seq"), "seq"),
        "sender": check_u16(_integer(obj["sender"], "sender"), "sender"),
        "timestamp": check_u32(_integer(obj["t"], "t"), "t"),
    }
    try:
        return _build(kind, obj, common)
    except ModelError as e:
        raise WireError(str(e)) from e


def _build(kind: MessageType, obj: dict[str, Any], common: dict[str, int]) -> Message:
    if kind is MessageType.STATE:
        pose = _pose_from(obj["pose"]).with_timestamp(common["timestamp"]) if "pose" in obj else None
        face = _face_from(obj["face"]) if "face" in obj else None
        hands: dict[str, HandPose] = {}
        if "hands" in obj:
            raw_hands = _object(obj["hands"], "hands", set(), frozenset({"left", "right"}))
            if not raw_hands:
                raise WireError("hands must hold a left or a right hand")
            hands = {name: _hand_from(v, HandSide[name.upper()]) for name, v in raw_hands.items()}
        return State(
            **common, pose=pose, face=face, left_hand=hands.get("left"), right_hand=hands.get("right")
        )
    if kind is MessageType.VISEMES:
        entries = obj["visemes"]
        if not isinstance(entries, list):
            raise WireError("visemes must be a list")
        parsed = []
        for entry in entries:
            e = _object(entry, "viseme", {"viseme", "weight", "offset_ms"})
            name = _text(e["viseme"], "viseme")
            if name not in Viseme.__members__:
                raise WireError(f"unknown viseme {name!r}")
            weight = _number(e["weight"], "viseme weight", 0.0, 1.0)
            parsed.append(
                VisemeEntry(
                    Viseme[name], weight, check_u16(_integer(e["offset_ms"], "offset_ms"), "offset_ms")
                )
            )
        return Visemes(**common, entries=tuple(parsed))
    if kind is MessageType.HELLO:
        return Hello(
            **common,
            display_name=_text(obj["name"], "name"),
            profile=_text(obj["profile"], "profile"),
            avatar=_text(obj["avatar"], "avatar"),
            face_set=FaceSet.from_key(_text(obj["face_set"], "face_set")),
        )
    if kind is MessageType.PING:
        return Ping(**common)
    to = check_u16(_integer(obj["to"], "to"), "to") if "to" in obj else None
    return Pong(**common, ping_seq=check_u16(_integer(obj["ping_seq"], "ping_seq"), "ping_seq"),
                ping_timestamp=check_u32(_integer(obj["t1"], "t1"), "t1"),
                receive_timestamp=check_u32(_integer(obj["t2"], "t2"), "t2"), to=to)  # fmt: skip
