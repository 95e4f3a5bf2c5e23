"""Animation level of detail: a skinned avatar small on screen is posed less often and less finely.

Game engines do this (an update rate per on-screen size); here it is what is left of a far avatar's
cost once its mesh is coarse and flat (flat.py): with a waved hand, posing one took ~0.37 ms of CPU
(the fingers ~0.2 ms of it) and skinning its flat level ~0.08 ms (BENCHMARKS.md, render).
By the height of its head on screen, in pixels (what the renderer measured on the frame before):
- at least `FAR_RATE_BELOW_PX` (where it stops being drawn flat), or unknown: posed every frame,
  fingers and all, exactly as without this module;
- below it: re-posed once in each `FAR_POSE_INTERVAL_US` of the clock (30 Hz, the rate hands arrive
  at), never more often than frames are drawn; far participants take turns (three phases), so a third
  of them pose on a frame at 90 fps. In between, the skin matrices and the face of the frame before
  are drawn again, so the renderer moves last frame's skinned vertices instead of blending and
  skinning them again, while the placement (where the avatar stands and faces) stays per frame. A
  head turn, an arm, a wave or the mouth then steps at 30 Hz. By the clock, not by frames: the app
  draws at whatever rate llvmpipe allows, and at 30 fps or less this poses every frame;
- below `FINGERS_BELOW_PX`: the fingers keep their rest shape on the hand instead of following the
  received joints (the hand itself still follows the received wrist and palm); a hand is then under
  ~35 px tall and a finger 2-3 px wide, on a mesh whose hand cells are 3.2 cm (lod.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from emulator.model.hands import HandPose
from emulator.model.pose import Pose
from emulator.render.flat import FLAT_BELOW_PX
from emulator.render.posing import Posed, placement, pose_skeleton
from emulator.render.skeleton import Skeleton

FAR_RATE_BELOW_PX = FLAT_BELOW_PX
FINGERS_BELOW_PX = 50.0
FAR_POSE_INTERVAL_US = 33_333  # 30 Hz
PHASES = 3  # far participants pose at three offsets within the interval, so a frame poses a third


class Detail(NamedTuple):
    interval_us: int  # re-posed once per this much of the clock; 0: every frame
    fingers: bool  # finger bones follow the received joints


FULL = Detail(interval_us=0, fingers=True)


def detail_for(head_pixels: float | None) -> Detail:
    """How finely to pose an avatar whose head is `head_pixels` tall on screen (None: not measured)."""
    if head_pixels is None or head_pixels >= FAR_RATE_BELOW_PX:
        return FULL
    return Detail(FAR_POSE_INTERVAL_US, fingers=head_pixels >= FINGERS_BELOW_PX)


def head_pixels_of(sizes: Mapping[str, float] | None, participant_id: str) -> float | None:
    return None if sizes is None else sizes.get(participant_id)


@dataclass
class Cadence:
    """One participant's posing over frames: when to pose again, and the pose to draw in between."""

    phase: int = 0  # 0 to PHASES - 1: where in each interval this participant poses when far
    slot: int | None = None  # which interval `last` was posed in (None: posed for a near size)
    skeleton: Skeleton | None = None  # what `last` was posed for, and how finely
    detail: Detail = FULL
    last: Posed | None = None
    posed_frames: int = 0  # frames this participant was posed on (the rest drew `last` again)
    held: bool = False  # the last `pose` drew `last` again: the face may be held too

    def pose(
        self,
        now_us: int,
        skeleton: Skeleton,
        head: Pose,
        body_yaw: float,
        hands: tuple[HandPose | None, HandPose | None],
        head_pixels: float | None,
    ) -> Posed | None:
        """The skeleton's placement and skin matrices for a frame drawn at `now_us` (the scene's clock)."""
        detail = detail_for(head_pixels)
        slot = None
        if detail.interval_us:
            slot = (now_us + self.phase * detail.interval_us // PHASES) // detail.interval_us
        same = self.last is not None and self.skeleton is skeleton and self.detail == detail
        if same and slot is not None and slot == self.slot and self.last is not None:
            self.held = True
            return Posed(placement(head, body_yaw), self.last.skin)
        self.held = False
        posed = pose_skeleton(skeleton, head, body_yaw, *hands, fingers=detail.fingers)
        self.last, self.skeleton, self.detail, self.slot = posed, skeleton, detail, slot
        self.posed_frames += 1
        return posed
