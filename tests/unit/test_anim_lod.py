"""Animation level of detail through the Scene, without GL: a close avatar is posed every frame, fingers
and all, exactly as `pose_skeleton` poses it; a far one every other frame; a tiny one without fingers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emulator.model.hands import HandPose, HandSide, hand_pose
from emulator.model.pose import Pose, Quat, Vec3
from emulator.render import fingers
from emulator.render.anim_lod import FINGERS_BELOW_PX, HALF_RATE_BELOW_PX, detail_for
from emulator.render.avatar import Avatar, load_avatar
from emulator.render.posing import pose_skeleton
from emulator.render.scene import DrawItem, Scene
from tests.support.skinned import EYE_Y, write_skinned_avatar

STEP_US = 11_111  # 90 Hz


@pytest.fixture(scope="module")
def body(tmp_path_factory: pytest.TempPathFactory) -> Avatar:
    return load_avatar(write_skinned_avatar(tmp_path_factory.mktemp("anim") / "body.glb", detail=0.2))


@pytest.fixture
def finger_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per hand whose fingers were posed from its received joints."""
    calls: list[int] = []
    real = fingers.pose_fingers

    def counted(*args: object) -> None:
        calls.append(1)
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(fingers, "pose_fingers", counted)
    return calls


def _head(frame: int, x: float = 0.0) -> Pose:
    """Walking sideways and turning the head: both change every frame."""
    yaw = math.pi + math.radians(30.0) * math.sin(0.2 * frame)
    return Pose(Vec3(x + 0.01 * frame, EYE_Y, -3.0), Quat.from_euler(yaw))


def _wave(head: Pose, frame: int) -> HandPose:
    local = Pose(Vec3(-0.35, 0.1 + 0.05 * math.sin(0.5 * frame), -0.1), Quat.from_euler(0.0, 1.2))
    return hand_pose(HandSide.LEFT, head.compose(local), curl=0.3 + 0.3 * math.sin(0.4 * frame))


def _run(
    body: Avatar, frames: int, sizes: dict[str, float] | None, ids: tuple[str, ...] = ("a",)
) -> list[list[DrawItem]]:
    scene = Scene(delay_us=0)
    for pid in ids:
        scene.add(pid, body)
    out = []
    for frame in range(frames):
        now = frame * STEP_US
        for i, pid in enumerate(ids):
            head = _head(frame, x=float(i))
            scene.update(pid, head, time_us=now, left_hand=_wave(head, frame))
        out.append(scene.frame(now, sizes))
    return out


def test_the_detail_by_size_on_screen() -> None:
    assert detail_for(None) == detail_for(HALF_RATE_BELOW_PX) == (1, True)
    assert detail_for(HALF_RATE_BELOW_PX - 1) == (2, True)
    assert detail_for(FINGERS_BELOW_PX - 1) == (2, False)


@pytest.mark.parametrize("sizes", [None, {"a": 300.0}, {"a": HALF_RATE_BELOW_PX}])
def test_a_close_avatar_poses_its_fingers_every_frame_exactly_as_before(
    body: Avatar, finger_calls: list[int], sizes: dict[str, float] | None
) -> None:
    assert body.skeleton is not None and body.draws_own_hands
    frames = _run(body, 8, sizes)
    assert len(finger_calls) == 8, "the waving hand's fingers, once per frame"
    for frame, (item,) in enumerate(frames):
        head = _head(frame)
        posed = pose_skeleton(body.skeleton, head, item_yaw(item), _wave(head, frame))
        assert posed is not None and item.skin is not None
        np.testing.assert_array_equal(item.skin, posed.skin)
        np.testing.assert_array_equal(item.model, posed.model)


def item_yaw(item: DrawItem) -> float:
    return math.atan2(item.model[0, 2], item.model[2, 2])


def test_a_far_avatar_is_posed_every_other_frame_and_placed_every_frame(
    body: Avatar, finger_calls: list[int]
) -> None:
    frames = _run(body, 8, {"a": HALF_RATE_BELOW_PX - 10})
    skins = [items[0].skin for items in frames]
    posed = [k for k in range(1, 8) if not np.array_equal(skins[k], skins[k - 1])]
    assert len(posed) == 4 and posed == [1, 3, 5, 7]
    assert len(finger_calls) == 5, "fingers still follow the joints on the frames it is posed on"
    for k in range(1, 8):  # the placement follows the walk on every frame, held skin or not
        step = frames[k][0].model[:3, 3] - frames[k - 1][0].model[:3, 3]
        assert step[0] == pytest.approx(0.01)
    for k in range(1, 8):  # a held frame draws exactly the frame before's skeleton
        if k not in posed:
            np.testing.assert_array_equal(skins[k], skins[k - 1])


def test_two_far_avatars_take_turns(body: Avatar) -> None:
    frames = _run(body, 7, {"a": 70.0, "b": 70.0}, ids=("a", "b"))
    for k in range(1, 7):
        changed = [not np.array_equal(frames[k][i].skin, frames[k - 1][i].skin) for i in range(2)]
        assert changed.count(True) == 1, f"frame {k}: one of the two posed, not both or neither"


def test_a_tiny_avatar_moves_its_hand_but_not_its_fingers(body: Avatar, finger_calls: list[int]) -> None:
    assert body.skeleton is not None
    frames = _run(body, 6, {"a": FINGERS_BELOW_PX - 10})
    assert finger_calls == []
    (item,) = frames[-1]
    head = _head(5)
    relaxed = pose_skeleton(body.skeleton, head, item_yaw(item))
    full = pose_skeleton(body.skeleton, head, item_yaw(item), _wave(head, 5))
    assert relaxed is not None and full is not None and item.skin is not None
    wrist = body.skeleton.bone("leftHand")
    assert wrist is not None
    slot = _slot_of(body, wrist)
    # The hand bone is where the fully posed one is (the wave reads), not hanging at the side.
    np.testing.assert_allclose(item.skin[slot], full.skin[slot], atol=1e-6)
    assert np.abs(item.skin[slot] - relaxed.skin[slot]).max() > 0.05
    tip = _slot_of(body, _bone(body, "leftIndexDistal"))
    assert np.abs(item.skin[tip] - full.skin[tip]).max() > 1e-3, "the curl is not followed"


def _bone(body: Avatar, name: str) -> int:
    assert body.skeleton is not None
    bone = body.skeleton.bone(name)
    assert bone is not None, name
    return bone


def _slot_of(body: Avatar, bone: int) -> int:
    assert body.skeleton is not None
    found = np.flatnonzero(body.skeleton.slot_bones == bone)
    assert len(found), "the bone skins vertices"
    return int(found[0])
