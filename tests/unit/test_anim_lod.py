"""Animation level of detail through the Scene, without GL: a close avatar is posed every frame, fingers
and all, exactly as `pose_skeleton` poses it; a far one at 30 Hz of the clock; a tiny one without fingers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emulator.model.hands import HandPose, HandSide, hand_pose
from emulator.model.pose import Pose, Quat, Vec3
from emulator.render import fingers
from emulator.render.anim_lod import FAR_POSE_INTERVAL_US, FAR_RATE_BELOW_PX, FINGERS_BELOW_PX, detail_for
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
    body: Avatar,
    frames: int,
    sizes: dict[str, float] | None,
    ids: tuple[str, ...] = ("a",),
    step_us: int = STEP_US,
) -> list[list[DrawItem]]:
    scene = Scene(delay_us=0)
    for pid in ids:
        scene.add(pid, body)
    out = []
    for frame in range(frames):
        now = frame * step_us
        for i, pid in enumerate(ids):
            head = _head(frame, x=float(i))
            scene.update(pid, head, time_us=now, left_hand=_wave(head, frame))
        out.append(scene.frame(now, sizes))
    return out


def test_the_detail_by_size_on_screen() -> None:
    assert detail_for(None) == detail_for(FAR_RATE_BELOW_PX) == (0, True)
    assert detail_for(FAR_RATE_BELOW_PX - 1) == (FAR_POSE_INTERVAL_US, True)
    assert detail_for(FINGERS_BELOW_PX - 1) == (FAR_POSE_INTERVAL_US, False)


@pytest.mark.parametrize("sizes", [None, {"a": 300.0}, {"a": FAR_RATE_BELOW_PX}])
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


def test_a_far_avatar_is_posed_at_30_hz_and_placed_every_frame(body: Avatar, finger_calls: list[int]) -> None:
    frames = _run(body, 10, {"a": FAR_RATE_BELOW_PX - 10})  # 90 fps
    skins = [items[0].skin for items in frames]
    posed = [k for k in range(1, 10) if not np.array_equal(skins[k], skins[k - 1])]
    assert posed == [3, 6, 9], "every third frame at 90 fps"
    assert len(finger_calls) == 4, "fingers still follow the joints on the frames it is posed on"
    for k in range(1, 10):  # the placement follows the walk on every frame, held skin or not
        step = frames[k][0].model[:3, 3] - frames[k - 1][0].model[:3, 3]
        assert step[0] == pytest.approx(0.01)
    for k in range(1, 10):  # a held frame draws exactly the frame before's skeleton
        if k not in posed:
            np.testing.assert_array_equal(skins[k], skins[k - 1])


@pytest.mark.parametrize(("fps", "posed_per_second"), [(30, 30), (45, 30), (144, 30), (20, 20)])
def test_a_far_avatar_poses_by_the_clock_not_by_frames(
    body: Avatar, finger_calls: list[int], fps: int, posed_per_second: int
) -> None:
    """The app draws at whatever rate the machine allows: 30 Hz however fast, every frame when slower."""
    _run(body, fps, {"a": FAR_RATE_BELOW_PX - 10}, step_us=round(1e6 / fps))
    assert len(finger_calls) == posed_per_second


def test_far_avatars_take_turns(body: Avatar) -> None:
    ids = ("a", "b", "c")
    frames = _run(body, 10, dict.fromkeys(ids, 70.0), ids=ids)
    for k in range(1, 10):
        changed = [not np.array_equal(frames[k][i].skin, frames[k - 1][i].skin) for i in range(3)]
        assert changed.count(True) == 1, f"frame {k}: one of the three posed, not more or none"


def test_a_tiny_avatar_moves_its_hand_but_not_its_fingers(body: Avatar, finger_calls: list[int]) -> None:
    assert body.skeleton is not None
    frames = _run(body, 7, {"a": FINGERS_BELOW_PX - 10})
    assert finger_calls == []
    (item,) = frames[-1]  # frame 6: posed (at 90 fps, frames 0, 3 and 6 are)
    head = _head(6)
    relaxed = pose_skeleton(body.skeleton, head, item_yaw(item))
    full = pose_skeleton(body.skeleton, head, item_yaw(item), _wave(head, 6))
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
