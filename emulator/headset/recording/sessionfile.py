"""The session file: one chunked binary file holding what one headset sent, heard and saw.

The format is described in `emulator/headset/recording/RECORDING.md` (version 1). In short: an 8-byte magic, a
version, a JSON header, then records of (kind, stream, time, payload). State records carry the state
stream's own binary messages unchanged and audio records carry 20 ms Opus packets, so a file is
compact (about 5 kB/s per participant with voice) and needs no codec of its own. Records are
appended while the session runs; a file cut short by a crash still reads up to its last whole
record (`Recording.truncated` says so).

Nothing here touches the network: the writer takes bytes, the reader gives bytes back.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any, BinaryIO

MAGIC = b"HEMUREC\n"
VERSION = 1
FORMAT_NAME = "headset-emulator-recording"
_PREAMBLE = struct.Struct(">8sHI")  # magic, version, header length
_RECORD = struct.Struct(">BHQI")  # kind, stream, time in µs since the recording started, length
MAX_HEADER_BYTES = 1 << 20
MAX_RECORD_BYTES = 1 << 20


class RecordKind(IntEnum):
    STREAM = 1  # JSON: declares a stream number (whose, which kind)
    STATE = 2  # one state-stream message, binary wire format v1
    AUDIO = 3  # one 20 ms Opus packet, 48 kHz mono
    EVENT = 4  # JSON: a room event (joined, left)


class RecordingError(Exception):
    """The file is not a session recording this version can read; says what is wrong."""


@dataclass
class StreamInfo:
    """Who a stream belongs to: `participant` is the room's id (for the local headset, its own)."""

    number: int
    kind: str  # "state" or "audio"
    participant: str
    name: str
    local: bool = False
    profile: str = ""
    avatar: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "stream": self.number,
            "kind": self.kind,
            "participant": self.participant,
            "name": self.name,
            "local": self.local,
            "profile": self.profile,
            "avatar": self.avatar,
        }


@dataclass
class Participant:
    """Everything a recording holds about one participant, times in seconds since it started."""

    id: str
    name: str
    local: bool
    profile: str
    avatar: str
    states: list[tuple[float, bytes]] = field(default_factory=list)
    audio: list[tuple[float, bytes]] = field(default_factory=list)

    @property
    def start(self) -> float | None:
        """When this participant's first state or audio was recorded."""
        firsts = [items[0][0] for items in (self.states, self.audio) if items]
        return min(firsts) if firsts else None


@dataclass
class Recording:
    header: dict[str, Any]
    participants: dict[str, Participant]  # by participant id
    events: list[dict[str, Any]]
    truncated: bool = False
    skipped_records: int = 0  # records of a kind or stream this reader does not know

    def find(self, who: str) -> Participant:
        """A participant by display name or id (the name is what a user typed with `--as`)."""
        if who in self.participants:
            return self.participants[who]
        named = [p for p in self.participants.values() if p.name == who]
        if len(named) == 1:
            return named[0]
        known = ", ".join(sorted(p.name for p in self.participants.values())) or "nobody"
        if named:
            raise RecordingError(f"{len(named)} participants are called {who!r}; use the id instead")
        raise RecordingError(f"no participant {who!r} in this recording (it holds: {known})")


class RecordingWriter:
    """Appends records to an open binary file. Runs on one thread (the headset's loop)."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        body = json.dumps({"format": FORMAT_NAME, "version": VERSION, **header}).encode()
        if len(body) > MAX_HEADER_BYTES:
            raise RecordingError("the recording header is too large")
        try:
            self._file: BinaryIO | None = path.open("wb")
        except OSError as error:
            raise RecordingError(f"cannot write {path}: {error.strerror or error}") from None
        self._file.write(_PREAMBLE.pack(MAGIC, VERSION, len(body)) + body)
        self._streams = 0
        self.records = 0
        self.bytes_written = _PREAMBLE.size + len(body)

    def declare(
        self,
        kind: str,
        participant: str,
        name: str,
        *,
        local: bool = False,
        profile: str = "",
        avatar: str = "",
    ) -> int:
        """A new stream number for one participant's states or audio."""
        self._streams += 1
        info = StreamInfo(self._streams, kind, participant, name, local, profile, avatar)
        self._write(RecordKind.STREAM, info.number, 0, json.dumps(info.as_json()).encode())
        return info.number

    def state(self, stream: int, t_us: int, message: bytes) -> None:
        self._write(RecordKind.STATE, stream, t_us, message)

    def audio(self, stream: int, t_us: int, packet: bytes) -> None:
        self._write(RecordKind.AUDIO, stream, t_us, packet)

    def event(self, t_us: int, event: dict[str, Any]) -> None:
        self._write(RecordKind.EVENT, 0, t_us, json.dumps(event).encode())

    def _write(self, kind: RecordKind, stream: int, t_us: int, payload: bytes) -> None:
        if self._file is None or len(payload) > MAX_RECORD_BYTES:
            return
        self._file.write(_RECORD.pack(kind, stream, max(0, t_us), len(payload)) + payload)
        self.records += 1
        self.bytes_written += _RECORD.size + len(payload)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RecordingError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise RecordingError(f"{what} is not a JSON object")
    return value


def parse_recording(data: bytes, source: str = "recording") -> Recording:
    """A Recording from a file's bytes; RecordingError names the first thing that is wrong."""
    if len(data) < _PREAMBLE.size or not data.startswith(MAGIC):
        raise RecordingError(f"{source}: not a headset-emulator session recording")
    _, version, header_length = _PREAMBLE.unpack_from(data)
    if version != VERSION:
        raise RecordingError(f"{source}: recording version {version}; this program reads {VERSION}")
    if header_length > MAX_HEADER_BYTES or _PREAMBLE.size + header_length > len(data):
        raise RecordingError(f"{source}: the header is cut short")
    offset = _PREAMBLE.size + header_length
    header = _json_object(data[_PREAMBLE.size : offset], f"{source}: the header")
    streams: dict[int, StreamInfo] = {}
    recording = Recording(header, {}, [])
    while offset < len(data):
        if offset + _RECORD.size > len(data):
            recording.truncated = True
            break
        kind, stream, t_us, length = _RECORD.unpack_from(data, offset)
        start = offset + _RECORD.size
        if length > MAX_RECORD_BYTES:
            raise RecordingError(f"{source}: a record at byte {offset} claims {length} bytes")
        if start + length > len(data):
            recording.truncated = True
            break
        payload = data[start : start + length]
        offset = start + length
        _apply(recording, streams, kind, stream, t_us / 1e6, payload, source)
    return recording


def _apply(
    recording: Recording,
    streams: dict[int, StreamInfo],
    kind: int,
    stream: int,
    t: float,
    payload: bytes,
    source: str,
) -> None:
    if kind == RecordKind.STREAM:
        info = _stream_info(_json_object(payload, f"{source}: a stream declaration"), source)
        streams[info.number] = info
        if info.participant not in recording.participants:
            recording.participants[info.participant] = Participant(
                info.participant, info.name, info.local, info.profile, info.avatar
            )
    elif kind == RecordKind.EVENT:
        event = _json_object(payload, f"{source}: an event")
        recording.events.append({**event, "t": t})
    elif kind in (RecordKind.STATE, RecordKind.AUDIO) and stream in streams:
        owner = recording.participants[streams[stream].participant]
        (owner.states if kind == RecordKind.STATE else owner.audio).append((t, payload))
    else:
        recording.skipped_records += 1


def _stream_info(value: dict[str, Any], source: str) -> StreamInfo:
    try:
        number, kind, participant, name = (
            value["stream"],
            value["kind"],
            value["participant"],
            value["name"],
        )
    except KeyError as missing:
        raise RecordingError(f"{source}: a stream declaration lacks {missing}") from None
    if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 65536:
        raise RecordingError(f"{source}: a stream number must be 1..65535, got {number!r}")
    if kind not in ("state", "audio") or not isinstance(participant, str) or not isinstance(name, str):
        raise RecordingError(f"{source}: stream {number} is declared with bad fields")
    texts = {k: value.get(k, "") for k in ("profile", "avatar")}
    if not all(isinstance(v, str) for v in texts.values()):
        raise RecordingError(f"{source}: stream {number} has a non-text profile or avatar")
    return StreamInfo(number, kind, participant, name, bool(value.get("local", False)), **texts)


def read_recording(path: Path) -> Recording:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RecordingError(f"cannot read {path}: {error.strerror or error}") from None
    return parse_recording(data, str(path))
