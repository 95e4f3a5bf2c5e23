"""One line of `--record-dir`'s `ID.states.jsonl`: everything a STATE or VISEMES message carried.

The parts are written in the state stream's JSON twin terms (`emulator/wire/json_twin.py`), so a
listener's log can be checked against what the sender's drivers produced:

    {"type": "state", "seq": 7, "sender_us": 123, "received_us": 456, "p": [x, y, z], "q": [x, y, z, w],
     "face": {"set": "arkit52", "full": true, "w": {"jawOpen": 0.4, ...}},
     "hands": {"left": {"wrist_q": [...], "radius_scale": 1.0, "joints": [[x, y, z], ...26]}, "right": ...}}
    {"type": "visemes", "seq": 8, "sender_us": 130, "received_us": 470,
     "visemes": [{"viseme": "AA", "weight": 0.8, "offset_ms": 0}, ...]}

`p` and `q` (the pose) stay top-level, as before hands and faces were kept; a part that the message
did not carry is left out. Face weights are by name in the sender's set (ARKit for a Vision Pro,
Meta's for a Quest), only those the message carried (a delta update carries the ones that changed);
for a Quest, `arkit` adds the whole face the listener shows after it, by ARKit name (non-zero weights).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, TextIO

from emulator.headset.stream.events import StateReceived, VisemesReceived
from emulator.model.face import Face
from emulator.wire import State, Visemes, WireError
from emulator.wire.json_twin import WEIGHT_DECIMALS, message_dict

log = logging.getLogger(__name__)


def record_entry(message: State | Visemes, received_us: int, shown: Face | None = None) -> dict[str, Any]:
    """The JSON object of one received message; WireError only for what the wire could not carry.

    `shown`: the ARKit face the listener shows after a STATE with a face in another set (a Quest's
    Meta weights), logged as `arkit` by name (non-zero weights)."""
    twin = message_dict(message)
    entry: dict[str, Any] = {
        "type": twin["type"],
        "seq": message.seq,
        "sender_us": message.timestamp,
        "received_us": received_us,
    }
    if isinstance(message, Visemes):
        entry["visemes"] = twin["visemes"]
        return entry
    if "pose" in twin:
        entry["p"] = twin["pose"]["p"]
        entry["q"] = twin["pose"]["q"]
    if message.face is not None:
        names = message.face.face_set.names
        carried = sorted(message.face.weights().items())
        entry["face"] = {
            "set": twin["face"]["set"],
            "full": message.face.full,
            "w": {names[i]: round(w, WEIGHT_DECIMALS) for i, w in carried},
        }
    if shown is not None:
        entry["arkit"] = {k: round(v, WEIGHT_DECIMALS) for k, v in shown.as_dict(nonzero_only=True).items()}
    if "hands" in twin:
        entry["hands"] = twin["hands"]
    return entry


class StatesLog:
    """`--record-dir`'s `ID.states.jsonl` files: one per sender, a line per STATE or VISEMES received.

    Subscribed to the state stream's `StateReceived` and `VisemesReceived` events."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: dict[str, TextIO] = {}

    def on_state(self, event: StateReceived) -> None:
        self._write(event.participant.id, event.message, event.received_us, event.shown)

    def on_visemes(self, event: VisemesReceived) -> None:
        self._write(event.participant_id, event.message, event.received_us, None)

    def _write(
        self, participant_id: str, message: State | Visemes, received_us: int, shown: Face | None
    ) -> None:
        log_file = self._files.get(participant_id)
        if log_file is None:
            path = self.directory / f"{participant_id}.states.jsonl"
            log_file = self._files[participant_id] = path.open("a", encoding="utf-8")
        try:
            log_file.write(json.dumps(record_entry(message, received_us, shown)) + "\n")
        except WireError as error:  # not expected from a parsed message; the log must not stop the stream
            log.debug("could not record a state-stream message: %s", error)

    def close(self) -> None:
        for log_file in self._files.values():
            log_file.close()
        self._files.clear()
