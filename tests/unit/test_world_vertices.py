"""The CPU batch's world vertices without GL: a far skinned avatar's held frames are last frame's
vertices moved where it now stands, and they match skinning it again."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emulator.model.face import arkit_index
from emulator.model.pose import Pose, Quat, Vec3
from emulator.render.anim_lod import FAR_RATE_BELOW_PX
from emulator.render.avatar import Avatar, load_avatar
from emulator.render.avatar_gen import load_default_avatar
from emulator.render.lod import simplified
from emulator.render.scene import DrawItem, Scene
from emulator.render.world_vertices import WorldVertices
from tests.support.skinned import EYE_Y, write_skinned_avatar

STEP_US = 11_111  # 90 Hz


@pytest.fixture(scope="module")
def body(tmp_path_factory: pytest.TempPathFactory) -> Avatar:
    return load_avatar(write_skinned_avatar(tmp_path_factory.mktemp("world") / "body.glb", detail=0.2))


def _frames(avatar: Avatar, frames: int, size: float) -> list[DrawItem]:
    """Walking sideways, turning its head and talking: pose, placement and face change every frame."""
    scene = Scene(delay_us=0)
    scene.add("a", avatar)
    out = []
    for frame in range(frames):
        yaw = math.pi + math.radians(30.0) * math.sin(0.2 * frame)
        face = np.zeros(52, np.float32)
        face[arkit_index("jawOpen")] = 0.5 + 0.5 * math.sin(0.7 * frame)
        scene.update(
            "a", Pose(Vec3(0.01 * frame, EYE_Y, -3.0), Quat.from_euler(yaw)), face, time_us=frame * STEP_US
        )
        (item,) = scene.frame(frame * STEP_US, {"a": size})
        out.append(item)
    return out


def _fresh(item: DrawItem, mesh: Avatar) -> np.ndarray:
    out = np.zeros((mesh.vertex_count, 6), np.float32)
    WorldVertices().fill([(item, mesh)], out)
    return out


def test_a_far_avatar_moves_its_held_vertices_as_skinning_them_again_would(body: Avatar) -> None:
    world, out = WorldVertices(), np.zeros((body.vertex_count, 6), np.float32)
    items = _frames(body, 8, FAR_RATE_BELOW_PX - 10)
    held = [k for k in range(1, 8) if items[k].skin is items[k - 1].skin]
    assert held and all(items[k].weights is items[k - 1].weights for k in held), "the face is held too"
    for item in items:
        world.fill([(item, body)], out)
        np.testing.assert_allclose(out, _fresh(item, body), atol=2e-5)
    assert world.moved == len(held)
    steps = [items[k].model[0, 3] - items[k - 1].model[0, 3] for k in range(1, 8)]
    assert steps == pytest.approx([0.01] * 7), "placed where it stands on every frame, held or not"


def test_a_close_avatar_is_skinned_every_frame(body: Avatar) -> None:
    world, out = WorldVertices(), np.zeros((body.vertex_count, 6), np.float32)
    for item in _frames(body, 6, FAR_RATE_BELOW_PX + 10):
        world.fill([(item, body)], out)
    assert world.moved == 0


def test_a_new_level_of_detail_is_skinned_not_moved(body: Avatar) -> None:
    coarse = simplified(body, 0.016)
    items = _frames(body, 4, FAR_RATE_BELOW_PX - 10)
    k = next(k for k in range(1, 4) if items[k].skin is items[k - 1].skin)
    world = WorldVertices()
    world.fill([(items[k - 1], body)], np.zeros((body.vertex_count, 6), np.float32))
    out = np.zeros((coarse.vertex_count, 6), np.float32)
    world.fill([(items[k], coarse)], out)
    assert world.moved == 0
    np.testing.assert_allclose(out, _fresh(items[k], coarse), atol=2e-5)


def test_an_unskinned_head_is_turned_and_placed() -> None:
    head = load_default_avatar()
    model = np.eye(4)
    model[:3, :3] = [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]]  # a quarter turn about y
    model[:3, 3] = (1.0, 2.0, 3.0)
    item = DrawItem(
        "h",
        head,
        model,
        Pose(Vec3(1, 2, 3)),
        np.zeros(len(head.target_names), np.float32),
        (1, 1, 1),
        "h",
        0.0,
    )
    out = np.zeros((head.vertex_count, 6), np.float32)
    WorldVertices().fill([(item, head)], out)
    np.testing.assert_allclose(out[:, :3], head.positions @ model[:3, :3].T + model[:3, 3], atol=1e-5)
    np.testing.assert_allclose(out[:, 3:], head.normals @ model[:3, :3].T, atol=1e-5)
