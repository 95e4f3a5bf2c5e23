"""The app's hands: each hand hangs relaxed (or does what `--hands` says) until a key or a gamepad
button raises it in front of the face; the mouse with Ctrl moves the raised hand and the Controls
dock's presets shape it (open, point, pinch).

Like the head controller this holds no Qt and is sampled, not scheduled: the headset asks
`sample(t, head)` at the profile's hand rate. GUI thread only; the headset's loop runs on the same
thread in the app (qasync).
"""

from __future__ import annotations

import math

from emulator.drive.errors import DriveError
from emulator.drive.hands import OPEN, PINCHED, POINTING, Hands, HandsDriver, Relaxed, hand_at
from emulator.model.hands import HandPose, HandSide
from emulator.model.pose import Pose

HAND_SHAPES: dict[str, tuple[float, ...]] = {"open": OPEN, "point": POINTING, "pinch": PINCHED}

# A raised right hand: beside the face, a little ahead, fingers up and forward (metres, head frame).
RAISED_AT = (0.22, -0.12, -0.38)
METRES_PER_PIXEL = 0.002
REACH_X = 0.35  # how far the mouse may move a raised hand sideways from where it was raised
REACH_Y = 0.4


class HandControl:
    """Which hands are raised, how they are shaped and where the mouse has moved them."""

    def __init__(self, base: HandsDriver | None = None) -> None:
        self.base: HandsDriver = base or Relaxed()  # what the hands do when not raised
        self.raised: dict[HandSide, bool] = {HandSide.LEFT: False, HandSide.RIGHT: False}
        self.shape = "open"
        self.offset = (0.0, 0.0)  # metres right and up from RAISED_AT, moved by the mouse
        self.moving = HandSide.RIGHT  # the raised hand the mouse moves: the last one raised

    @property
    def any_raised(self) -> bool:
        return any(self.raised.values())

    def set_raised(self, side: HandSide, raised: bool) -> None:
        self.raised[side] = raised
        if raised:
            self.moving = side
        elif self.raised[HandSide(1 - side)]:
            self.moving = HandSide(1 - side)
        if not self.any_raised:
            self.offset = (0.0, 0.0)

    def toggle(self, side: HandSide) -> bool:
        """Raise the hand if it is down, lower it if it is up; True when it is now raised."""
        self.set_raised(side, not self.raised[side])
        return self.raised[side]

    def set_shape(self, name: str) -> None:
        if name not in HAND_SHAPES:
            raise DriveError(f"hand shape {name!r} is not one of {', '.join(HAND_SHAPES)}")
        self.shape = name

    def move(self, dx_pixels: float, dy_pixels: float) -> None:
        """Move the raised hand by a mouse movement (screen y grows downwards); nothing if none is up."""
        if not self.any_raised or not (math.isfinite(dx_pixels) and math.isfinite(dy_pixels)):
            return
        x = self.offset[0] + dx_pixels * METRES_PER_PIXEL
        y = self.offset[1] - dy_pixels * METRES_PER_PIXEL
        self.offset = (max(-REACH_X, min(REACH_X, x)), max(-REACH_Y, min(REACH_Y, y)))

    def _raised(self, side: HandSide, head: Pose) -> HandPose:
        dx, dy = self.offset if side is self.moving else (0.0, 0.0)
        # hand_at mirrors x for the left hand; the mouse's right is right for either hand.
        x = RAISED_AT[0] + (dx if side is HandSide.RIGHT else -dx)
        offset = (x, RAISED_AT[1] + dy, RAISED_AT[2])
        return hand_at(side, head, offset, pitch=60.0, roll=-20.0, curls=HAND_SHAPES[self.shape])

    def sample(self, t: float, head: Pose) -> Hands:
        base = self.base.sample(t, head) if not all(self.raised.values()) else Hands(None, None)
        left = self._raised(HandSide.LEFT, head) if self.raised[HandSide.LEFT] else base.left
        right = self._raised(HandSide.RIGHT, head) if self.raised[HandSide.RIGHT] else base.right
        return Hands(left, right)

    def describe(self) -> str:
        """For the HUD: `hands: right raised (open)`, `hands: both raised (pinch)` or `hands: down`."""
        up = [side.name.lower() for side in (HandSide.RIGHT, HandSide.LEFT) if self.raised[side]]
        if not up:
            return "hands: down"
        which = "both" if len(up) == 2 else up[0]
        return f"hands: {which} raised ({self.shape})"
