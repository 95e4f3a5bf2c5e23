"""Replaying recorded hands from a JSONL trace (`--hands trace:FILE.jsonl[,once][,absolute]`).

One JSON object per line: `t` in seconds (strictly increasing; it need not start at 0), and a `left`
and/or `right` hand, each with its 26 joint positions in OpenXR joint order (metres) and its wrist
orientation (unit quaternion x, y, z, w)::

    {"t": 0.0, "right": {"joints": [[0.18, -0.6, -0.2], ...26 in all], "wrist_q": [0, 0, 0, 1]}}
    {"t": 0.033, "left": {...}, "right": {...}}

These are the keys of a hand in the state stream's JSON twin (`emulator/wire/PROTOCOL.md`), so a hand
copied out of a `--record-dir` states log fits (with `,absolute`). A side missing from a line is not
tracked at that moment; `null` says the same. Other keys are ignored; blank lines are skipped.

By default positions and orientations are in the head's level frame (x right, y up, -z ahead of the
head, its pitch and roll left out), so a trace follows whatever motion the head makes; `,absolute`
takes them as room coordinates. Between samples joint positions are interpolated linearly and the
wrist orientation spherically; the other joints' orientations are rebuilt from the bones, as a
receiver does. The trace loops unless `,once` (then the last hands are held).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emulator.drive.errors import TraceError
from emulator.drive.spec import check_time, level
from emulator.drive.trace import _numbers, jsonl_records, read_trace_text
from emulator.model.errors import ModelError
from emulator.model.hands import (
    HAND_JOINT_COUNT,
    NO_HANDS,
    HandPose,
    Hands,
    HandSide,
    orientations_from_positions,
)
from emulator.model.pose import Pose, Quat
from emulator.model.quat_array import qmul, qrotate

_Sample = tuple[float, dict[HandSide, tuple[np.ndarray, Quat]]]


def _hand(value: Any, side: HandSide, where: str) -> tuple[np.ndarray, Quat]:
    name = side.name.lower()
    if not isinstance(value, dict) or "joints" not in value or "wrist_q" not in value:
        raise TraceError(f"{where}: {name!r} must be an object with joints and wrist_q")
    joints = value["joints"]
    if not isinstance(joints, list) or len(joints) != HAND_JOINT_COUNT:
        raise TraceError(f"{where}: {name} joints must be a list of {HAND_JOINT_COUNT} [x, y, z]")
    rows = [_numbers(joint, 3, f"{name} joints", where) for joint in joints]
    q = _numbers(value["wrist_q"], 4, f"{name} wrist_q", where)
    try:
        wrist_q = Quat.of(q).normalized()
    except ModelError as error:
        raise TraceError(f"{where}: {name} wrist_q: {error}") from None
    return np.array(rows), wrist_q


def parse_hand_trace(text: str, source: str = "<hand trace>") -> list[_Sample]:
    """(t, {side: (joints, wrist_q)}) from JSONL text; a `TraceError` names `source` and the line."""
    samples: list[_Sample] = []
    for where, record in jsonl_records(text, source):
        if not isinstance(record, dict):
            raise TraceError(f"{where}: expected an object with t and left and/or right")
        if "t" not in record:
            raise TraceError(f"{where}: missing t")
        (t,) = _numbers([record["t"]], 1, "t", where)
        if samples and t <= samples[-1][0]:
            raise TraceError(f"{where}: t={t:g} does not come after the previous t={samples[-1][0]:g}")
        hands = {
            side: _hand(record[side.name.lower()], side, where)
            for side in HandSide
            if record.get(side.name.lower()) is not None
        }
        samples.append((t, hands))
    if not samples:
        raise TraceError(f"{source}: the trace holds no samples")
    return samples


@dataclass(frozen=True)
class HandTrace:
    """Recorded hands at strictly increasing times (seconds since the first sample)."""

    times: tuple[float, ...]
    hands: tuple[dict[HandSide, tuple[np.ndarray, Quat]], ...]
    loop: bool = True
    absolute: bool = False

    @property
    def duration(self) -> float:
        return self.times[-1]

    def _at(self, side: HandSide, u: float) -> tuple[np.ndarray, Quat] | None:
        i = bisect.bisect_right(self.times, u)
        if i >= len(self.times):
            return self.hands[-1].get(side)
        if i == 0:
            return self.hands[0].get(side)
        before, after = self.hands[i - 1].get(side), self.hands[i].get(side)
        if before is None or after is None:
            return before
        f = (u - self.times[i - 1]) / (self.times[i] - self.times[i - 1])
        return before[0] + (after[0] - before[0]) * f, before[1].slerp(after[1], f)

    def sample(self, t: float, head: Pose) -> Hands:
        t = check_time(t)
        u = t % self.duration if self.loop and self.duration > 0 else t
        frame = None if self.absolute else level(head)
        out: dict[HandSide, HandPose] = {}
        for side in HandSide:
            found = self._at(side, u)
            if found is None:
                continue
            joints, wrist_q = found
            wq = np.array(wrist_q.as_tuple())
            if frame is not None:
                fq = np.array(frame.orientation.as_tuple())
                joints = qrotate(fq, joints) + np.array(frame.position.as_tuple())
                wq = qmul(fq, wq)
            out[side] = HandPose(side, joints, orientations_from_positions(side, joints, wq))
        if not out:
            return NO_HANDS
        return Hands(out.get(HandSide.LEFT), out.get(HandSide.RIGHT))


def hand_trace_record(hands: Hands, head: Pose) -> dict[str, Any]:
    """Both hands as a trace line holds them (without `t`): in the head's level frame, micrometres."""
    frame = level(head).inverse()
    fq = np.array(frame.orientation.as_tuple())
    out: dict[str, Any] = {}
    for side, hand in ((HandSide.LEFT, hands.left), (HandSide.RIGHT, hands.right)):
        if hand is None:
            continue
        joints = qrotate(fq, hand.positions) + np.array(frame.position.as_tuple())
        wq = qmul(fq, hand.orientations[1])
        out[side.name.lower()] = {
            "joints": np.round(joints, 6).tolist(),
            "wrist_q": [round(float(c), 7) for c in wq],
        }
    return out


def load_hand_trace(path: Path, *, loop: bool = True, absolute: bool = False) -> HandTrace:
    samples = parse_hand_trace(read_trace_text(path), str(path))
    t0 = samples[0][0]
    return HandTrace(
        tuple(t - t0 for t, _ in samples), tuple(h for _, h in samples), loop=loop, absolute=absolute
    )
