"""The binaural renderer does what a listener would check: direction, distance, no clicks, exactness."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import maximum_filter1d
from scipy.signal import welch

from emulator.audio.geometry import distance_gain, head_direction, head_frame_points
from emulator.audio.hrtf import load_hrtf, load_kemar
from emulator.audio.renderer import BinauralRenderer
from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.profiles import load_profile
from tests.support.sofa import sphere_grid, write_sofa

RATE = 48_000
BLOCK = 480


def noise(seconds: float, seed: int = 7) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(RATE * seconds)) * 0.1).astype(np.float32)


def render(renderer: BinauralRenderer, signals: dict[object, np.ndarray]) -> np.ndarray:
    length = len(next(iter(signals.values())))
    blocks = []
    for start in range(0, length - length % renderer.block, renderer.block):
        blocks.append(renderer.render({k: v[start : start + renderer.block] for k, v in signals.items()}))
    return np.concatenate(blocks)


def place(position: Vec3, listener: Pose | None = None, seconds: float = 1.0) -> np.ndarray:
    renderer = BinauralRenderer()
    renderer.set_listener(listener or Pose())
    renderer.set_source("voice", position)
    return render(renderer, {"voice": noise(seconds)})[2400:]


def level_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2)))


def right_lead_ms(out: np.ndarray) -> float:
    """How much earlier the right ear hears it than the left, from the cross-correlation peak."""
    left, right = out[:, 0].astype(np.float64), out[:, 1].astype(np.float64)
    corr = np.correlate(left, right, mode="full")
    lag = int(np.argmax(corr)) - (len(right) - 1)
    return lag / RATE * 1000


def test_source_on_the_right_is_louder_and_earlier_in_the_right_ear() -> None:
    out = place(Vec3(1.0, 0.0, 0.0))
    assert level_db(out[:, 1]) - level_db(out[:, 0]) >= 6
    assert 0.4 <= right_lead_ms(out) <= 0.9


def test_source_on_the_left_is_the_mirror_image() -> None:
    out = place(Vec3(-1.0, 0.0, 0.0))
    assert level_db(out[:, 0]) - level_db(out[:, 1]) >= 6
    assert 0.4 <= -right_lead_ms(out) <= 0.9


def test_straight_ahead_the_ears_match() -> None:
    out = place(Vec3(0.0, 0.0, -1.5))
    assert abs(level_db(out[:, 0]) - level_db(out[:, 1])) <= 1.5
    assert abs(right_lead_ms(out)) < 0.05


def test_turning_the_head_moves_the_source() -> None:
    # The listener turns 90° left (positive yaw): a voice straight ahead in the room is now on the right.
    out = place(Vec3(0.0, 0.0, -1.0), listener=Pose(Vec3(), Quat.from_yaw_degrees(90)))
    assert level_db(out[:, 1]) - level_db(out[:, 0]) >= 6


def band_spectrum_db(x: np.ndarray) -> np.ndarray:
    freqs, power = welch(x.astype(np.float64), fs=RATE, nperseg=1024)
    edges = 2000 * 2 ** (np.arange(0, 10) / 3)  # third-octave bands from 2 kHz to ~16 kHz
    bands = np.array(
        [10 * np.log10(power[(freqs >= lo) & (freqs < hi)].mean()) for lo, hi in itertools.pairwise(edges)]
    )
    return bands - bands.mean()  # the shape of the spectrum, whatever the distance


def test_above_and_below_are_told_apart_by_spectrum() -> None:
    """Rendered at ±35° (between measured rings), each matches the measured ±40° ear spectrum it is near."""
    kemar = load_kemar()

    def measured(elevation: float) -> np.ndarray:
        row = int(np.flatnonzero((kemar.azimuth_deg == 0) & (kemar.elevation_deg == elevation))[0])
        response = np.convolve(noise(1.0), kemar.hrir[row, 0])
        return band_spectrum_db(response)

    templates = {"up": measured(40.0), "down": measured(-40.0)}
    for name, elevation in (("up", 35.0), ("down", -35.0)):
        e = math.radians(elevation)
        heard = band_spectrum_db(place(Vec3(0.0, 1.5 * math.sin(e), -1.5 * math.cos(e)))[:, 0])
        distances = {k: float(np.sqrt(np.mean((heard - t) ** 2))) for k, t in templates.items()}
        assert min(distances, key=distances.__getitem__) == name, distances
    assert float(np.sqrt(np.mean((templates["up"] - templates["down"]) ** 2))) > 3.0


def test_twice_the_distance_is_about_6_db_quieter() -> None:
    near = place(Vec3(0.6, 0.0, -0.8))
    far = place(Vec3(1.2, 0.0, -1.6))
    assert level_db(near) - level_db(far) == pytest.approx(6.02, abs=0.3)


def test_profile_rolloff_and_min_distance() -> None:
    profile = load_profile("quest3")
    renderer = BinauralRenderer.for_profile(profile)
    assert renderer.rolloff == profile.rolloff and renderer.min_distance_m == profile.min_distance_m
    assert distance_gain(0.1, 0.3, 1.0) == 1.0
    assert distance_gain([0.6, 1.2], 0.3, 2.0) == pytest.approx([0.25, 0.0625])


def test_head_frame_batch_matches_pose_inverse_transform() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        q = rng.standard_normal(4)
        listener = Pose(Vec3.of(list(rng.standard_normal(3))), Quat.of(list(q)))
        points = rng.standard_normal((5, 3))
        batch = head_frame_points(listener, points)
        for p, local in zip(points, batch, strict=True):
            expected = listener.inverse_transform_point(Vec3.of(list(p)))
            np.testing.assert_allclose(local, expected.as_tuple(), atol=1e-9)
    assert head_direction(Pose(), Vec3(1, 0, 0))[:2] == pytest.approx((-90.0, 0.0))
    assert head_direction(Pose(), Vec3(0, 2, 0)) == pytest.approx((0.0, 90.0, 2.0))


def clicks(out: np.ndarray, frequency: float) -> tuple[float, float]:
    """Worst first and second differences, relative to what a clean tone of the local level allows."""
    worst_step, worst_bend = 0.0, 0.0
    period = int(RATE / frequency) + 1
    for ear in range(2):
        y = out[:, ear].astype(np.float64)
        local = maximum_filter1d(np.abs(y), size=2 * period + 1)[1:-1]
        step = np.abs(np.diff(y))[1:] / (local * 2 * math.sin(math.pi * frequency / RATE))
        bend = np.abs(np.diff(y, 2)) / (local * 4 * math.sin(math.pi * frequency / RATE) ** 2)
        worst_step, worst_bend = max(worst_step, float(step.max())), max(worst_bend, float(bend.max()))
    return worst_step, worst_bend


def turning_head_render(renderer: BinauralRenderer, frequency: float = 500.0) -> np.ndarray:
    """A tone 1 m in front while the listener turns 360° in 2 s, pose updated every block."""
    t = np.arange(int(2.2 * RATE)) / RATE
    tone = (0.5 * np.sin(2 * np.pi * frequency * t) * np.minimum(1.0, t / 0.05)).astype(np.float32)
    renderer.set_source("tone", Vec3(0.0, 0.0, -1.0))
    blocks = []
    for i, start in enumerate(range(0, len(tone), BLOCK)):
        renderer.set_listener(Pose(Vec3(), Quat.from_yaw_degrees(min(360.0, 180.0 * i * BLOCK / RATE))))
        blocks.append(renderer.render({"tone": tone[start : start + BLOCK]}))
    return np.concatenate(blocks)[int(0.1 * RATE) :]


def test_turning_head_does_not_click() -> None:
    step, bend = clicks(turning_head_render(BinauralRenderer()), 500.0)
    assert step <= 1.1  # no sample-to-sample jump beyond the tone's own
    assert bend <= 1.5  # nor a kink: a switch without crossfade shows here first


def test_click_detector_catches_a_filter_switch_without_crossfade() -> None:
    renderer = BinauralRenderer()
    renderer._fade_out[:] = 0.0  # the new filter at once: what the crossfade exists to prevent
    _, bend = clicks(turning_head_render(renderer), 500.0)
    assert bend > 3.0


def test_sofa_impulse_per_direction_renders_exactly(tmp_path: Path) -> None:
    grid = sphere_grid()
    rng = np.random.default_rng(11)
    taps = 96
    ir = np.zeros((len(grid), 2, taps))
    delays = rng.integers(0, 40, size=(len(grid), 2))
    gains = rng.uniform(0.2, 1.0, size=(len(grid), 2))
    for m, ear in np.ndindex(len(grid), 2):
        ir[m, ear, delays[m, ear]] = gains[m, ear]
    hrtf = load_hrtf(write_sofa(tmp_path / "impulses.sofa", ir, grid))
    signal = noise(0.2, seed=5)
    for m in (0, 1, 7, 20, 45, len(grid) - 1):
        az, el = np.radians(grid[m])
        renderer = BinauralRenderer(hrtf, min_distance_m=1.0)
        # 1 m away at the measured direction (gain 1): x right, y up, -z forward; azimuth 90° is left.
        direction = Vec3(-math.sin(az) * math.cos(el), math.sin(el), -math.cos(az) * math.cos(el))
        renderer.set_source("s", direction)
        out = render(renderer, {"s": signal})
        for ear in range(2):
            expected = np.convolve(signal, ir[m, ear])[: len(out)]
            np.testing.assert_allclose(out[:, ear], expected, atol=2e-6)


def test_partitioned_blocks_match_one_partition() -> None:
    """Small blocks (several partitions per filter) give the same sound as 10 ms blocks."""
    signal = noise(0.3)
    outs = []
    for block in (480, 96):
        renderer = BinauralRenderer(block=block)
        renderer.set_source("a", Vec3(0.7, 0.2, -0.4))
        outs.append(render(renderer, {"a": signal}))
    assert BinauralRenderer(block=96).partitions > 1
    n = min(len(o) for o in outs)
    error_db = level_db(outs[0][:n] - outs[1][:n]) - level_db(outs[0][:n])
    assert error_db < -50  # the same up to how each path trims a fractional delay's sinc tail


def test_many_sources_mix_as_the_sum_of_each_alone() -> None:
    positions = {i: Vec3(math.cos(i), 0.3 * math.sin(2 * i), math.sin(i) - 0.5) for i in range(6)}
    signals = {i: noise(0.2, seed=i) for i in positions}
    together = BinauralRenderer()
    for i, p in positions.items():
        together.set_source(i, p)
    mixed = render(together, signals)
    alone = []
    for i, p in positions.items():
        r = BinauralRenderer()
        r.set_source(i, p)
        alone.append(render(r, {i: signals[i]}))
    np.testing.assert_allclose(mixed, np.sum(alone, axis=0), atol=1e-5)


def test_sources_come_and_go() -> None:
    renderer = BinauralRenderer()
    assert np.all(renderer.render({}) == 0)
    renderer.set_source("a", Vec3(1, 0, 0))
    renderer.set_source("b", Vec3(-1, 0, 0))
    renderer.remove_source("a")
    renderer.remove_source("never-added")
    assert renderer.sources == ("b",)
    out = renderer.render({"b": np.ones(BLOCK, np.float32) * 0.1, "unknown": np.ones(BLOCK)})
    assert out.shape == (BLOCK, 2) and out.dtype == np.float32
    assert level_db(out[:, 0]) > level_db(out[:, 1])
    with pytest.raises(ValueError, match="expected 480"):
        renderer.render({"b": np.ones(100, np.float32)})
    with pytest.raises(ValueError, match="not finite"):
        renderer.set_source("c", Vec3(math.nan, 0, 0))
    with pytest.raises(ValueError, match="block must be"):
        BinauralRenderer(block=960)


def test_a_source_at_the_listener_plays_from_the_front() -> None:
    out = place(Vec3(0.0, 0.0, 0.0))
    assert np.all(np.isfinite(out))
    assert abs(level_db(out[:, 0]) - level_db(out[:, 1])) <= 1.5
