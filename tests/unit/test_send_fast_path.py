"""A talking headset's sending side gives what the straightforward forms gave: `weight_levels` on a
face's float32 weights (one searchsorted) against the clip form, `Talk` against the blink-then-max
form, and an uplink's STATEs against `bytes(State(...))` with a `FaceEncoder.update` face."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from emulator.drive.faces import _BLINK_S, _LIPS_CLOSED, _VOWELS, Blink, Talk, blink_closure
from emulator.drive.motions import MotionSpec
from emulator.headset.stream import StreamSettings
from emulator.headset.stream.uplink import Uplink
from emulator.model.meta_face import arkit_to_meta
from emulator.model.pose import Pose
from emulator.wire import FaceEncoder, FaceSet, State, WireError
from emulator.wire.quantize import WEIGHT_LEVELS, weight_levels


def _levels_reference(weights: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    w = np.asarray(weights, dtype=np.float64)
    if np.isnan(w).any():
        raise WireError("NaN")
    return np.rint(np.clip(w, 0.0, 1.0) * WEIGHT_LEVELS).astype(np.uint8)


def _near_steps() -> list[float]:
    """float32 weights either side of every point where the level steps up."""
    out = []
    for level in range(1, WEIGHT_LEVELS + 1):
        w = np.float32((level - 0.5) / WEIGHT_LEVELS)
        for _ in range(3):
            w = np.nextafter(w, np.float32(-1.0))
        for _ in range(7):
            out.append(float(w))
            w = np.nextafter(w, np.float32(2.0))
    return out


NEAR_STEPS = _near_steps()
float32s = st.one_of(
    st.floats(width=32, allow_nan=False),
    st.floats(-0.125, 1.125, width=32),
    st.sampled_from([*NEAR_STEPS, 0.0, -0.0, 1.0, math.inf, -math.inf]),
)


def test_float32_weights_either_side_of_every_step_get_the_clip_forms_levels() -> None:
    weights = np.array(NEAR_STEPS, dtype=np.float32)
    assert np.array_equal(weight_levels(weights), _levels_reference(weights))


@settings(max_examples=500, deadline=None)
@given(hnp.arrays(np.float32, st.integers(0, 80), elements=float32s))
def test_float32_weights_get_the_clip_forms_levels(weights: npt.NDArray[np.float32]) -> None:
    kept = weights.copy()
    levels = weight_levels(weights)
    assert levels.dtype == np.uint8
    assert np.array_equal(levels, _levels_reference(weights))
    assert np.array_equal(weights, kept)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float32, st.integers(1, 80), elements=float32s), st.data())
def test_a_nan_among_float32_weights_is_refused(
    weights: npt.NDArray[np.float32], data: st.DataObject
) -> None:
    weights[data.draw(st.integers(0, len(weights) - 1))] = np.nan
    with pytest.raises(WireError, match="is NaN"):
        weight_levels(weights, "face weight")


def _closure_reference(blink: Blink, t: float) -> float:
    return max((blink_closure(t - e[0]) for e in blink._events.around(t, _BLINK_S)), default=0.0)


def _talk_reference(talk: Talk, t: float) -> npt.NDArray[np.float32]:
    """The blink's weights first, then each syllable's mouth shapes maxed onto them."""
    t = max(0.0, t)
    weights = np.zeros(52, dtype=np.float32)
    closed = _closure_reference(talk._blink, t)
    for index in (talk._blink._left, talk._blink._right):
        assert index is not None
        weights[index] = max(float(weights[index]), closed)
    for start, length, depth, vowel, bilabial in talk._syllables.around(t, 0.3):
        x = (t - start) / length
        if not 0.0 <= x < 1.0:
            continue
        np.maximum(weights, _VOWELS[int(vowel)] * (depth * math.sin(math.pi * x) ** 2), out=weights)
        if bilabial and x < 0.3:
            np.maximum(weights, _LIPS_CLOSED * (1.0 - x / 0.3), out=weights)
    return weights


@pytest.mark.parametrize("seed", range(6))
def test_talk_gives_the_blink_then_max_forms_weights_bit_for_bit(seed: int) -> None:
    talk, reference = Talk(seed), Talk(seed)  # each keeps its own lazily drawn events
    rng = np.random.default_rng(seed)
    times = [k / 60 for k in range(1500)] + list(rng.uniform(-1.0, 300.0, 500))
    for t in times:
        weights = talk.sample(t).weights
        expected = _talk_reference(reference, t)
        assert weights.dtype == np.float32
        assert weights.tobytes() == expected.tobytes(), t
        assert talk._blink.closure(t) == _closure_reference(reference._blink, max(0.0, t))


@pytest.mark.parametrize("face_set", [FaceSet.ARKIT52, FaceSet.META70])
@pytest.mark.parametrize("motion", ["orbit", "look-around", "walk"])
def test_an_uplinks_states_are_the_state_dataclass_bytes(face_set: FaceSet, motion: str) -> None:
    """The uplink's own path (schedule, seq, stamp, face encoder, no hands) against State."""
    uplink = Uplink(StreamSettings(90.0, 60.0, 30.0, 2, face_set))
    reference = FaceEncoder(face_set)
    pose_driver, talk = MotionSpec.parse(motion).build(Pose.at(1.0, 1.6, -2.0, 40.0)), Talk(7)
    t0 = 4000.123
    uplink.start(t0)
    for _ in range(1200):
        now = uplink.next_state_at
        due = uplink.state_due(now)
        assert due is not None
        pose = pose_driver.sample(now - t0)
        face = talk.sample(now - t0) if due.face else None
        uplink.add_state(pose, face, None, now)
        update = None
        if face is not None:
            update = reference.update(arkit_to_meta(face) if face_set is FaceSet.META70 else face)
        timestamp = int(now * 1_000_000) & 0xFFFF_FFFF
        expected = bytes(State(seq=uplink.seq, sender=0, timestamp=timestamp, pose=pose, face=update))
        held = uplink._held.pop()
        assert held == (expected, update is not None, False)
