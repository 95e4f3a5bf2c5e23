"""Every remote avatar's mouth, as this receiver shows it: from visemes, from its own face, or from its voice.

Three kinds of participant talk in a room, and each gives the mouth a different way:

- A talking agent sends VISEMES (`emulator.headset.agent`). Its mouth follows them, placed on this
  receiver's clock at the moment the matching audio is *played* here (not when the message arrived,
  which is a playout delay early). Its STATE face still gives the rest (eyes, brows).
- A headset with face tracking sends STATE faces whose mouth moves. That is the real thing: it wins.
- A voice with no face of its own (a plain headset's microphone, a browser) gets a mouth estimated
  from the audio this receiver plays (`LipSync`, one per speaker), laid over whatever face it sends
  (a held smile still smiles while it talks).

Alignment (PROTOCOL.md, VISEMES): a sender stamps each message with the time of its frame's first
sample on the audio's own schedule (first frame's time + 20 ms per frame), exactly as the audio's RTP
timestamps advance, and sends it together with that frame. So `RTP time − viseme time` is constant per
sender, and this receiver learns it without pairing single messages to packets: for each message,
(arrival − timestamp) plus (RTP time − arrival) of the least delayed audio packet of the 200 ms around
its arrival, and the least of these estimates over the last 50 messages (the one-way delay and the
clocks' offset cancel; taking both from the same moment cancels the steps a stalled sender puts in its
schedule, and the least is the message that waited least in a queue or behind a busy loop).
A key then sits at a point of the speaker's media timeline and is placed on this receiver's clock
from the audio block being played: `pull time + (key's media time − media time of the block's first
sample)`. That holds through playout
delay changes, dropped or concealed frames and late pulls. Without audio from that sender (yet) the
keys are placed at arrival + the least delay.

Runs on the loop's thread: the state link calls `on_visemes`/`on_state_face` as messages arrive and the
voice calls `update` every 20 ms after pulling the audio.
"""

from __future__ import annotations

import collections
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from emulator.audio.source import SAMPLE_RATE, MonoBlock
from emulator.drive.lipsync import LipSync
from emulator.drive.visemes import VisemeFaceDriver
from emulator.model.face import ARKIT_NAMES, Face
from emulator.model.viseme_timeline import VisemeKey
from emulator.wire import Visemes, wire_timestamp, wrapped_difference

if TYPE_CHECKING:
    from emulator.model.room_state import RemoteParticipant, RoomState
    from emulator.net.media.playout import PlayoutBuffer

log = logging.getLogger(__name__)

MOUTH_INDICES = np.array(
    [i for i, name in enumerate(ARKIT_NAMES) if name.startswith(("jaw", "mouth")) or name == "tongueOut"]
)
"""The blendshapes a mouth source owns; the rest of a face (eyes, brows, cheeks) stays the sender's."""

VISEMES_HOLD_S = 1.0  # visemes drive the mouth while the last message is at most this old …
FACE_LIVE_S = 10.0  # … else a STATE face whose mouth moved this recently (pauses included) …
FACE_MOVE = 0.02  # … by more than this in some mouth weight; else the voice drives it.
WINDOW = 50  # VISEMES messages (two to five seconds) over which the least lag is taken
PAIRING_S = 0.2  # audio packets that arrived this recently count as sent with a VISEMES message
HORIZON_S = 0.2  # keys are placed this far ahead of the block being played (the driver looks ahead)
HISTORY = 4000  # received viseme keys kept per speaker for reports and checks


def now_us() -> int:
    return wire_timestamp(time.monotonic_ns() // 1000)


@dataclass
class RemoteMouth:
    """What this receiver knows about one participant's mouth."""

    participant_id: str
    source: str = "none"  # "visemes", "face", "audio" or "none": what drives the mouth now
    base: Face | None = None  # the last STATE face as received
    last_state_mouth: npt.NDArray[np.float32] | None = None
    face_moved_at: float = -math.inf
    visemes_at: float = -math.inf
    visemes_received: int = 0
    driver: VisemeFaceDriver = field(default_factory=VisemeFaceDriver)
    lag: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=WINDOW))
    """arrival − timestamp of recent VISEMES messages (their clock offset + one-way delay), seconds."""
    unmatched: list[tuple[float, float]] = field(default_factory=list)
    """(arrival, lag) of messages not yet set against the audio that came with them."""
    offsets: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=WINDOW))
    """Estimates of (media time − timestamp), one per message; the least is used."""
    pending: list[VisemeKey] = field(default_factory=list)
    """Keys received, times on the sender's schedule lifted to our clock (timestamp + offset)."""
    lipsync: LipSync | None = None
    overlay: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(len(MOUTH_INDICES), np.float32))
    keys: collections.deque[VisemeKey] = field(default_factory=lambda: collections.deque(maxlen=HISTORY))
    """Received keys, times on this receiver's monotonic clock when their audio plays."""

    def least_lag(self) -> float:
        return min(self.lag) if self.lag else 0.0


class RemoteMouths:
    """Sets `participant.face`'s mouth for every remote in `room_state`; see the module docstring."""

    def __init__(self, room_state: RoomState, *, lipsync: bool = True) -> None:
        self.room_state = room_state
        self.lipsync_enabled = lipsync
        self.mouths: dict[str, RemoteMouth] = {}

    def mouth(self, participant_id: str) -> RemoteMouth:
        mouth = self.mouths.get(participant_id)
        if mouth is None:
            mouth = self.mouths[participant_id] = RemoteMouth(participant_id)
        return mouth

    # --- messages ---------------------------------------------------------------------------------

    def on_visemes(self, participant_id: str, message: Visemes, now: float | None = None) -> None:
        """Queue the message's keys; `update` places them when the audio they go with is played."""
        arrived = time.monotonic() if now is None else now
        mouth = self.mouth(participant_id)
        stamp = now_us() if now is None else wire_timestamp(int(now * 1e6))
        lag = wrapped_difference(stamp, message.timestamp) / 1e6
        mouth.lag.append(lag)
        mouth.unmatched.append((arrived, lag))
        mouth.visemes_at = arrived
        mouth.visemes_received += 1
        frame_start = arrived - lag  # the message's timestamp, as a time near ours
        mouth.pending.extend(
            VisemeKey(frame_start + e.offset_ms / 1000, int(e.viseme), e.weight) for e in message.entries
        )

    def on_state_face(self, participant: RemoteParticipant, now: float | None = None) -> None:
        """A STATE face just replaced `participant.face`: note whether its mouth moves, re-apply ours."""
        at = time.monotonic() if now is None else now
        mouth = self.mouth(participant.id)
        mouth.base = participant.face.copy()
        state_mouth = participant.face.weights[MOUTH_INDICES].copy()
        last = mouth.last_state_mouth
        if last is not None and float(np.abs(state_mouth - last).max()) > FACE_MOVE:
            mouth.face_moved_at = at
        mouth.last_state_mouth = state_mouth
        if mouth.face_moved_at == at and mouth.source == "audio":
            mouth.source = "face"  # its own mouth moves: it wins from this message on
        self._apply(participant, mouth)

    # --- every 20 ms --------------------------------------------------------------------------------

    def update(
        self, now: float, blocks: Mapping[str, MonoBlock], playouts: Mapping[str, PlayoutBuffer]
    ) -> None:
        """After the voice pulled `blocks` (by participant id) from `playouts` at `now`."""
        for participant in self.room_state:
            mouth = self.mouth(participant.id)
            if mouth.pending:
                self._place(mouth, now, playouts.get(participant.id), blocks.get(participant.id))
            block = blocks.get(participant.id)
            if now - mouth.visemes_at <= VISEMES_HOLD_S:
                mouth.source = "visemes"
                mouth.overlay = mouth.driver.face_at(now).weights[MOUTH_INDICES]
                mouth.driver.forget_before(now)
            elif now - mouth.face_moved_at <= FACE_LIVE_S:
                mouth.source = "face"
            elif block is not None and self.lipsync_enabled:
                mouth.source = "audio"
                if mouth.lipsync is None:
                    mouth.lipsync = LipSync()
                mouth.overlay = mouth.lipsync.push(block).weights[MOUTH_INDICES].copy()
            else:
                mouth.source = "none"
            self._apply(participant, mouth)
        for gone in set(self.mouths) - {p.id for p in self.room_state}:
            del self.mouths[gone]

    def _place(
        self, mouth: RemoteMouth, now: float, playout: PlayoutBuffer | None, block: MonoBlock | None
    ) -> None:
        """Move due pending keys onto the driver, at the receiver time their audio plays."""
        media_end = playout.media_end if playout is not None else None
        if playout is not None and mouth.unmatched:
            # The audio that arrived with these messages: the packets of the last 200 ms.
            lead = playout.media_minus_arrival(since=now - PAIRING_S)
            if lead is not None:
                mouth.offsets.extend(lead + lag for at, lag in mouth.unmatched if at >= now - PAIRING_S)
                mouth.unmatched.clear()
        if media_end is None or not mouth.offsets or block is None:
            placed = [VisemeKey(k.time + mouth.least_lag(), k.viseme, k.weight) for k in mouth.pending]
            mouth.pending.clear()
        else:
            to_media = min(mouth.offsets)  # sender time (lifted) → the speaker's media time
            block_start = media_end - len(block) / SAMPLE_RATE
            due = [k for k in mouth.pending if k.time + to_media < media_end + HORIZON_S]
            mouth.pending = [k for k in mouth.pending if k.time + to_media >= media_end + HORIZON_S]
            placed = [VisemeKey(now + (k.time + to_media - block_start), k.viseme, k.weight) for k in due]
        mouth.driver.add(placed)
        mouth.keys.extend(placed)

    def _apply(self, participant: RemoteParticipant, mouth: RemoteMouth) -> None:
        if mouth.source in ("face", "none"):
            if mouth.base is not None:
                participant.face = mouth.base.copy()  # as sent, without a mouth laid over it earlier
            return
        face = mouth.base.copy() if mouth.base is not None else Face()
        weights = face.weights
        if mouth.source == "visemes":
            weights[MOUTH_INDICES] = mouth.overlay
        else:
            weights[MOUTH_INDICES] = np.maximum(weights[MOUTH_INDICES], mouth.overlay)
        participant.face = face

    def report(self) -> dict[str, dict[str, object]]:
        return {
            pid: {
                "mouth_source": m.source,
                "visemes_received": m.visemes_received,
                "viseme_lag_ms": round(m.least_lag() * 1000, 1) if m.lag else None,
            }
            for pid, m in self.mouths.items()
        }
