"""The app's hands without a window: raise keys, gamepad buttons, the mouse and the shape presets."""

from __future__ import annotations

import numpy as np
import pytest

from emulator.drive.controls import Bindings, Controller
from emulator.drive.errors import DriveError
from emulator.drive.gamepad import DEFAULT_BUTTONS, GamepadFrame
from emulator.drive.hand_controls import HandControl
from emulator.drive.hands import NoHands
from emulator.model.hands import HandJoint, HandSide
from emulator.model.pose import Pose, Vec3

HEAD = Pose(Vec3(0.0, 1.6, 0.0))


def wrist(control: HandControl, side: HandSide) -> np.ndarray:
    hand = control.sample(0.0, HEAD)[side]
    assert hand is not None
    return hand.positions[HandJoint.WRIST]


def test_h_raises_the_right_hand_and_lowers_it_again() -> None:
    controller = Controller(HEAD)
    assert wrist(controller.hands, HandSide.RIGHT)[1] < 1.0  # relaxed, at the waist
    assert controller.key_down("h")
    controller.key_up("h")
    assert controller.hands.raised[HandSide.RIGHT] and not controller.hands.raised[HandSide.LEFT]
    assert wrist(controller.hands, HandSide.RIGHT)[1] > 1.4  # beside the face
    assert wrist(controller.hands, HandSide.LEFT)[1] < 1.0
    assert controller.hands.describe() == "hands: right raised (open)"
    controller.key_down("G")
    assert controller.hands.describe() == "hands: both raised (open)"
    controller.key_down("H")
    controller.key_down("G")
    assert controller.hands.describe() == "hands: down"
    assert wrist(controller.hands, HandSide.RIGHT)[1] < 1.0


def test_the_mouse_moves_the_last_raised_hand_within_reach() -> None:
    control = HandControl()
    control.move(100, 0)  # nothing raised: nothing moves
    assert control.offset == (0.0, 0.0)
    control.toggle(HandSide.LEFT)
    start = wrist(control, HandSide.LEFT).copy()
    control.move(50, -50)  # right and up on the screen
    moved = wrist(control, HandSide.LEFT)
    assert moved[0] - start[0] == pytest.approx(0.1) and moved[1] - start[1] == pytest.approx(0.1)
    control.move(10_000, float("nan"))
    control.move(10_000, 0)
    assert wrist(control, HandSide.LEFT)[0] - start[0] == pytest.approx(0.35)  # held within reach
    control.toggle(HandSide.LEFT)
    control.toggle(HandSide.LEFT)
    assert np.allclose(wrist(control, HandSide.LEFT), start)  # raised again where it starts


def test_shape_presets_point_and_pinch_the_raised_hand() -> None:
    control = HandControl()
    control.toggle(HandSide.RIGHT)
    control.set_shape("pinch")
    hand = control.sample(0.0, HEAD).right
    assert hand is not None
    assert np.linalg.norm(hand.positions[HandJoint.THUMB_TIP] - hand.positions[HandJoint.INDEX_TIP]) < 0.015
    control.set_shape("point")
    hand = control.sample(0.0, HEAD).right
    assert hand is not None
    index = np.linalg.norm(hand.positions[HandJoint.INDEX_TIP] - hand.positions[HandJoint.WRIST])
    middle = np.linalg.norm(hand.positions[HandJoint.MIDDLE_TIP] - hand.positions[HandJoint.WRIST])
    assert index > middle + 0.06
    with pytest.raises(DriveError, match="hand shape 'fist'"):
        control.set_shape("fist")


def test_with_no_base_hands_only_a_raised_hand_is_sent() -> None:
    control = HandControl(NoHands())
    assert control.sample(0.0, HEAD) == (None, None)
    control.toggle(HandSide.RIGHT)
    left, right = control.sample(0.0, HEAD)
    assert left is None and right is not None


def test_shoulder_buttons_raise_hands() -> None:
    assert DEFAULT_BUTTONS["rightshoulder"] == "hand:right"
    controller = Controller(HEAD)
    GamepadFrame(actions=("hand:left",)).apply_to(controller)
    assert controller.hands.raised[HandSide.LEFT]
    GamepadFrame(actions=("hand:left", "hand:right")).apply_to(controller)
    assert controller.hands.raised == {HandSide.LEFT: False, HandSide.RIGHT: True}


def test_bindings_saved_before_the_raise_keys_existed_still_get_them() -> None:
    saved = '{"forward": ["Z"], "reset": ["R"]}'
    bindings = Bindings.from_json(saved)
    assert bindings.keys("forward") == ("Z",)
    assert bindings.keys("raise_right") == ("H",) and bindings.keys("raise_left") == ("G",)
    assert bindings.keys("back") == ("S",)
