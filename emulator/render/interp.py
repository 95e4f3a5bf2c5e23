"""Smooth remote motion: a small buffer of timed states per participant, sampled a little in the past.

States arrive at the sender's rate (30–120 Hz) and with network jitter; the display runs at 60–120 Hz.
Drawing the newest state as it lands makes motion step and stutter. Instead each participant keeps its
last few states stamped with their capture time (the sender's clock mapped onto ours by the caller),
and the renderer samples at `now - delay`: between two states it interpolates (position linearly,
orientation by slerp, weights and hand joints linearly), so as long as the delay covers one state
interval plus the jitter, there is always a state on each side and the motion is as smooth as the
display. Past the newest state it holds the newest one rather than guessing. Pure numpy and Pose:
no GL, no clock.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from emulator.model.hands import HandPose
from emulator.model.pose import Pose

F32 = npt.NDArray[np.float32]
DEFAULT_DELAY_US = 100_000  # three 30 Hz intervals: covers one interval plus ~60 ms of jitter


@dataclass(frozen=True)
class State:
    """What a participant looked like at `time_us` (on the receiver's clock)."""

    time_us: int
    pose: Pose
    face: F32 | None = None  # 52 ARKit weights
    visemes: F32 | None = None  # 15 viseme weights
    left_hand: HandPose | None = None  # 26 joints in the room frame
    right_hand: HandPose | None = None


def _lerp(a: F32 | None, b: F32 | None, t: float) -> F32 | None:
    if a is None or b is None:
        return b if t >= 0.5 else a
    return np.asarray(a + (b - a) * np.float32(t), dtype=np.float32)


def _lerp_hand(a: HandPose | None, b: HandPose | None, t: float) -> HandPose | None:
    """Joints moved linearly, orientations by normalised lerp: at 30-90 Hz a joint turns a few degrees
    between states, where nlerp and slerp agree. A hand that appears or vanishes switches halfway."""
    if a is None or b is None or a.side is not b.side:
        return b if t >= 0.5 else a
    qa, qb = a.orientations, b.orientations
    qb = np.where((np.sum(qa * qb, axis=1) < 0)[:, None], -qb, qb)
    return HandPose(
        a.side,
        a.positions + (b.positions - a.positions) * t,
        qa + (qb - qa) * t,
        a.radii + (b.radii - a.radii) * t,
    )


class StateBuffer:
    """The last `capacity` states of one participant, ordered by time. Not thread-safe: one owner."""

    def __init__(self, capacity: int = 16) -> None:
        self._times: list[int] = []
        self._states: list[State] = []
        self._capacity = capacity

    def __len__(self) -> int:
        return len(self._states)

    def push(self, state: State) -> None:
        """Add a state; a late one is slotted into place, a duplicate time replaces the old state."""
        i = bisect.bisect_left(self._times, state.time_us)
        if i < len(self._times) and self._times[i] == state.time_us:
            self._states[i] = state
            return
        if len(self._states) >= self._capacity and i == 0:
            return  # older than everything we keep: too late to matter
        self._times.insert(i, state.time_us)
        self._states.insert(i, state)
        if len(self._states) > self._capacity:
            del self._times[0], self._states[0]

    def latest(self) -> State | None:
        return self._states[-1] if self._states else None

    def sample(self, time_us: int) -> State | None:
        """The state at `time_us`: interpolated between neighbours, clamped to the oldest/newest."""
        if not self._states:
            return None
        i = bisect.bisect_right(self._times, time_us)
        if i == 0:
            return self._states[0]
        if i == len(self._states):
            return self._states[-1]
        a, b = self._states[i - 1], self._states[i]
        t = (time_us - a.time_us) / (b.time_us - a.time_us)
        pose = a.pose.interpolate(b.pose, t)
        return State(
            time_us,
            pose,
            _lerp(a.face, b.face, t),
            _lerp(a.visemes, b.visemes, t),
            _lerp_hand(a.left_hand, b.left_hand, t),
            _lerp_hand(a.right_hand, b.right_hand, t),
        )
