"""Pure parts of the renderer: target-name matching, pose interpolation, the scene, cameras, PNG."""

from __future__ import annotations

import logging
import math
import random

import numpy as np
import pytest

from emulator.model.face import ARKIT_COUNT, arkit_index
from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.profiles import load_profile
from emulator.model.visemes import VISEME_COUNT
from emulator.render.camera import Camera, headset_eyes, orbit_camera
from emulator.render.faces import map_targets, strip_prefix, viseme_index, visemes_from_mapping
from emulator.render.font import LabelFont, label_font
from emulator.render.interp import State, StateBuffer
from emulator.render.png import decode_png, encode_png


@pytest.mark.parametrize(
    ("raw", "name"),
    [("blendShape1.jawOpen", "jawOpen"), ("ARKit_eyeBlinkLeft", "eyeBlinkLeft"),
     ("mesh|BS_mouthSmileLeft", "mouthSmileLeft"), ("JawOpen", "JawOpen"), ("Head:viseme_aa", "viseme_aa")],
)  # fmt: skip
def test_prefixes_are_stripped(raw: str, name: str) -> None:
    assert strip_prefix(raw) == name


def test_target_map_matches_dialects_and_lists_the_missing() -> None:
    names = [
        "blendShape1.JawOpen",
        "eyeBlink_L",
        "ARKit_eyeBlinkRight",
        "viseme_aa",
        "viseme_PP",
        "somethingElse",
    ]
    targets = map_targets(names)
    assert targets.arkit[arkit_index("jawOpen")] == 0
    assert targets.arkit[arkit_index("eyeBlinkLeft")] == 1
    assert targets.arkit[arkit_index("eyeBlinkRight")] == 2
    assert targets.visemes[viseme_index("viseme_aa")] == 3 and targets.visemes[viseme_index("PP")] == 4
    assert "jawOpen" not in targets.missing_arkit and "mouthClose" in targets.missing_arkit
    assert len(targets.missing_arkit) == ARKIT_COUNT - 3
    face = np.zeros(ARKIT_COUNT, np.float32)
    face[arkit_index("jawOpen")] = 0.7
    face[arkit_index("mouthClose")] = 1.0  # no target: ignored
    weights = targets.weights(face, visemes_from_mapping({"viseme_aa": 0.5, "nonsense": 1.0}))
    np.testing.assert_allclose(weights, [0.7, 0, 0, 0.5, 0, 0])


def test_visemes_are_ignored_by_avatars_without_them() -> None:
    targets = map_targets(["jawOpen"])
    assert not targets.has_visemes
    weights = targets.weights(np.zeros(ARKIT_COUNT, np.float32), np.ones(VISEME_COUNT, np.float32))
    np.testing.assert_array_equal(weights, [0.0])


def _pose(t_s: float) -> Pose:
    """A head moving at 1 m/s along x and turning at 90 deg/s."""
    return Pose(Vec3(t_s, 1.6, -2.0), Quat.from_euler(math.radians(90 * t_s)))


def test_interpolation_is_smooth_at_display_rate_with_30hz_jittery_states() -> None:
    rng = random.Random(5)
    buffer = StateBuffer()
    period_us, delay_us = 33_333, 100_000
    arrivals = []
    for k in range(60):
        capture = k * period_us
        arrivals.append((capture + rng.randint(0, 40_000), capture))  # up to 40 ms of network jitter
    arrivals.sort()
    positions, yaws = [], []
    frame_us = 11_111  # 90 Hz display
    now = delay_us
    pending = list(arrivals)
    while now < 58 * period_us:
        while pending and pending[0][0] <= now:
            _, capture = pending.pop(0)
            buffer.push(State(capture, _pose(capture / 1e6)))
        state = buffer.sample(now - delay_us)
        assert state is not None
        positions.append(state.pose.position.x)
        yaws.append(state.pose.yaw_pitch_roll()[0])
        now += frame_us
    steps = np.diff(positions)
    # Constant velocity in, constant steps out: every frame advances 11.1 mm, none stalls or jumps.
    np.testing.assert_allclose(steps, frame_us / 1e6, atol=1e-6)
    np.testing.assert_allclose(np.diff(yaws), math.radians(90) * frame_us / 1e6, atol=1e-5)


def test_buffer_holds_the_newest_state_past_the_end_and_takes_late_states_in_order() -> None:
    buffer = StateBuffer(capacity=4)
    assert buffer.sample(0) is None
    for t in (0, 200, 100):  # 100 arrives late
        buffer.push(State(t, _pose(t / 1000)))
    assert buffer.sample(150).pose.position.x == pytest.approx(0.15)
    assert buffer.sample(10_000).pose.position.x == pytest.approx(0.2)
    assert buffer.sample(-5).pose.position.x == pytest.approx(0.0)
    for t in (300, 400, 500):
        buffer.push(State(t, _pose(t / 1000)))
    assert len(buffer) == 4
    buffer.push(State(0, _pose(0)))  # older than all kept: dropped
    assert len(buffer) == 4 and buffer.sample(-1).time_us == 200


def test_face_weights_interpolate_too() -> None:
    buffer = StateBuffer()
    buffer.push(State(0, Pose(), np.zeros(ARKIT_COUNT, np.float32)))
    buffer.push(State(100, Pose(), np.ones(ARKIT_COUNT, np.float32)))
    state = buffer.sample(25)
    assert state is not None and state.face is not None
    np.testing.assert_allclose(state.face, 0.25)


def _ndc(camera: Camera, point: Vec3, aspect: float = 16 / 9) -> np.ndarray:
    clip = camera.view_projection(aspect) @ np.array([*point.as_tuple(), 1.0])
    return clip


def test_headset_camera_sees_ahead_centre_right_right_and_not_behind() -> None:
    profile = load_profile("quest3")
    head = Pose(Vec3(0, 1.6, 0))
    (camera,) = headset_eyes(head, profile)
    ahead = _ndc(camera, Vec3(0, 1.6, -2))
    assert ahead[3] > 0 and abs(ahead[0] / ahead[3]) < 1e-9
    right = _ndc(camera, Vec3(1, 1.6, -2))
    assert right[0] / right[3] > 0.1
    assert _ndc(camera, Vec3(0, 1.6, 2))[3] < 0
    # Turning the head left (positive yaw) puts what was ahead on the right.
    turned = headset_eyes(Pose(Vec3(0, 1.6, 0), Quat.from_euler(math.radians(20))), profile)[0]
    p = _ndc(turned, Vec3(0, 1.6, -2))
    assert p[0] / p[3] > 0.1
    # The profile's horizontal field of view reaches the viewport's edges.
    edge = Vec3(2 * math.tan(math.radians(profile.fov_horizontal_deg / 2)), 1.6, -2)
    assert _ndc(camera, edge)[0] / _ndc(camera, edge)[3] == pytest.approx(1.0)


def test_stereo_eyes_sit_half_an_ipd_either_side_along_the_heads_own_x() -> None:
    profile = load_profile("visionpro")
    head = Pose(Vec3(0, 1.6, 0), Quat.from_euler(math.radians(90)))  # facing -x: its right is -z
    left, right = headset_eyes(head, profile, stereo=True)
    gap = right.eye.position - left.eye.position
    assert gap.length() == pytest.approx(profile.ipd_mm / 1000)
    assert gap.z == pytest.approx(-profile.ipd_mm / 1000)
    near = Vec3(-0.5, 1.6, 0)  # half a metre ahead of the head
    # A near point appears further right in the left eye than in the right eye (crossed disparity).
    assert _ndc(left, near)[0] / _ndc(left, near)[3] > _ndc(right, near)[0] / _ndc(right, near)[3]


def test_orbit_camera_looks_at_its_target() -> None:
    target = Vec3(1, 1.5, -3)
    for azimuth in (0, 90, 200):
        camera = orbit_camera(target, 3.0, azimuth, 20.0)
        assert (camera.eye.position - target).length() == pytest.approx(3.0)
        c = _ndc(camera, target)
        assert abs(c[0] / c[3]) < 1e-9 and abs(c[1] / c[3]) < 1e-9


def test_png_round_trip() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (7, 11, 3), dtype=np.uint8)
    assert np.array_equal(decode_png(encode_png(image)), image)
    rgba = rng.integers(0, 256, (3, 4, 4), dtype=np.uint8)
    assert np.array_equal(decode_png(encode_png(rgba)), rgba)


def test_label_font_draws_every_character_of_a_mixed_script_name_as_its_own_glyph() -> None:
    font = label_font()
    for char in "José李":
        assert font.font_for(char) is not None, f"no font has {char!r}: it would show as a box"
    glyphs = [font.render(c) for c in "Jos李木"]
    for i, a in enumerate(glyphs):
        assert a.any()
        for b in glyphs[i + 1 :]:
            assert a.shape != b.shape or not np.array_equal(a, b), "two characters drew the same glyph"
    assert font.render("li").shape[1] < font.render("WM").shape[1], "a proportional font"


def test_label_font_falls_back_with_one_warning_when_no_font_file_exists(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="emulator.render.font"):
        font = LabelFont(files=["/nonexistent/font.ttf"])
    assert len(caplog.records) == 1 and "fonts-droid-fallback" in caplog.records[0].getMessage()
    assert font.render("Bob").any()
