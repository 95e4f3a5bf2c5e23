"""The uplink's STATE fast path gives the bytes the dataclass path gave: `FaceEncoder.encode` against
`update` (mode and block), `state_bytes` against `bytes(State(...))`, and `pack_orientation` and
`weight_levels` against their list-and-numpy forms from before (kept here as the reference)."""

from __future__ import annotations

import math
import random
import re

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.drive.hands import Hands, hands_from_spec
from emulator.model.pose import Pose, Quat, Vec3
from emulator.wire import FaceEncoder, FaceSet, State, WireError
from emulator.wire.messages import state_bytes
from emulator.wire.quantize import (
    _FROM_LEVEL,
    _MAX_LEVEL,
    _TIE_TOLERANCE,
    _TO_LEVEL,
    _ZERO_LEVEL,
    ORIENTATION_BITS,
    ORIENTATION_SIZE,
    WEIGHT_LEVELS,
    pack_orientation,
    weight_levels,
)


def _pack_orientation_before(q: Quat) -> bytes:
    if not q.is_finite():
        raise WireError("not finite")
    n = q.norm()
    if n < 1e-9:
        raise WireError("no direction")
    comps = [q.x / n, q.y / n, q.z / n, q.w / n]
    magnitudes = [abs(c) for c in comps]
    largest = magnitudes.index(max(magnitudes))
    scale = -_TO_LEVEL if comps[largest] < 0 else _TO_LEVEL
    del comps[largest]
    levels = [min(_MAX_LEVEL, max(0, _ZERO_LEVEL + round(c * scale))) for c in comps]
    for _ in range(3):
        small = [(level - _ZERO_LEVEL) * _FROM_LEVEL for level in levels]
        sizes = [abs(c) for c in small]
        biggest = sizes.index(max(sizes))
        if math.sqrt(max(0.0, 1.0 - sum(c * c for c in small))) >= sizes[biggest] - _TIE_TOLERANCE:
            break
        levels[biggest] += -1 if levels[biggest] > _ZERO_LEVEL else 1
    bits = largest
    for level in levels:
        bits = (bits << ORIENTATION_BITS) | level
    return (bits << 2).to_bytes(ORIENTATION_SIZE, "big")


def _weight_levels_before(weights: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    w = np.asarray(weights, dtype=np.float64)
    if np.isnan(w).any():
        raise WireError("NaN")
    return np.rint(np.clip(w, 0.0, 1.0) * WEIGHT_LEVELS).astype(np.uint8)


components = st.floats(-1.0, 1.0, allow_nan=False)
# Ties and near-ties between the largest components are where the pull-in loop runs.
near_ties = st.sampled_from([0.5, 0.5 + 1e-12, 1 / math.sqrt(2), 1 / math.sqrt(2) - 3e-4, 0.0, -0.0, 1.0])


@settings(max_examples=3000, deadline=None)
@given(st.tuples(st.one_of(components, near_ties), st.one_of(components, near_ties),
                 st.one_of(components, near_ties), st.one_of(components, near_ties)))  # fmt: skip
def test_pack_orientation_matches_the_list_form(xyzw: tuple[float, float, float, float]) -> None:
    q = Quat(*xyzw)
    try:
        expected = _pack_orientation_before(q)
    except WireError:
        with pytest.raises(WireError):
            pack_orientation(q)
        return
    assert pack_orientation(q) == expected


@pytest.mark.parametrize("seed", range(10))
def test_weight_levels_match_the_clip_form(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        w = rng.uniform(-0.2, 1.2, 52).astype(rng.choice([np.float32, np.float64]))
        w[rng.integers(0, 52, 5)] = rng.choice([0.5 / 255, 1.5 / 255, 254.5 / 255, np.inf, -np.inf], 5)
        kept = w.copy()
        assert np.array_equal(weight_levels(w), _weight_levels_before(w))
        assert np.array_equal(w, kept)  # the caller's weights are left alone
    for other in (0.5, np.float32(1.7), [], [0.1, -3.0, 0.996], np.full((2, 3), 0.3), [1e300, -1e300]):
        assert np.array_equal(weight_levels(other), _weight_levels_before(other))
        assert np.shape(weight_levels(other)) == np.shape(_weight_levels_before(other))
    for bad in (np.array([0.2, np.nan, 0.3]), float("nan"), [[0.1], [np.nan]]):
        with pytest.raises(WireError):
            weight_levels(bad)


def _faces(rng: random.Random, count: int, n: int) -> list[npt.NDArray[np.float32]]:
    """Talking-like faces: mostly a few weights moving, now and then none or all."""
    face = np.zeros(n, dtype=np.float32)
    out = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.1:
            pass  # unchanged: no update at all
        elif kind < 0.2:
            face = np.array([rng.random() for _ in range(n)], dtype=np.float32)
        else:
            for i in rng.sample(range(n), rng.randint(1, 12)):
                face[i] = rng.random()
        out.append(face.copy())
    return out


@pytest.mark.parametrize("face_set", [FaceSet.ARKIT52, FaceSet.META70])
@pytest.mark.parametrize("seed", range(5))
def test_face_encoder_encode_gives_what_update_encodes(face_set: FaceSet, seed: int) -> None:
    rng = random.Random(seed)
    fast, slow = FaceEncoder(face_set, full_every=rng.choice([1, 5, 30])), FaceEncoder(face_set, 30)
    slow.full_every = fast.full_every
    for i, weights in enumerate(_faces(rng, 400, face_set.count)):
        if i % 97 == 0:
            fast.force_full()
            slow.force_full()
        update = slow.update(weights)
        encoded = fast.encode(weights)
        assert encoded == (None if update is None else (update.mode(), update.encode_block()))


def _pose(rng: random.Random) -> Pose:
    position = Vec3(
        *(rng.choice([rng.uniform(-5, 5), rng.uniform(-32.7675, 32.7675), 0.0005]) for _ in "xyz")
    )
    return Pose(position, Quat(*(rng.uniform(-1, 1) for _ in "xyzw")), rng.randrange(1 << 40))


def _hands(rng: random.Random, t: float, pose: Pose) -> Hands:
    return hands_from_spec("wave").sample(t, pose) if rng.random() < 0.3 else (None, None)


@pytest.mark.parametrize("seed", range(10))
def test_state_bytes_are_the_state_dataclass_bytes(seed: int) -> None:
    rng = random.Random(seed)
    fast, slow = FaceEncoder(), FaceEncoder()
    faces = _faces(rng, 300, 52)
    for i, weights in enumerate(faces):
        seq, timestamp = rng.randrange(1 << 16), rng.randrange(1 << 32)
        pose = _pose(rng) if rng.random() < 0.9 else None
        with_face = rng.random() < 0.7
        update = slow.update(weights) if with_face else None
        block = fast.encode(weights) if with_face else None
        left, right = _hands(rng, i / 90, pose or Pose())
        state = State(seq=seq, sender=0, timestamp=timestamp, pose=pose, face=update, left_hand=left,
                      right_hand=right)  # fmt: skip
        try:
            expected = bytes(state)
        except WireError as error:  # a hand beyond the wire's range (a pose near its edge)
            with pytest.raises(WireError, match=re.escape(str(error))):
                state_bytes(seq, timestamp, pose, block, left, right)
            continue
        assert state_bytes(seq, timestamp, pose, block, left, right) == expected


@pytest.mark.parametrize(
    "bad", [(40.0, 0.0, 0.0), (0.0, math.nan, 0.0), (0.0, 0.0, -math.inf), (1e308, 0, 0)]
)
def test_state_bytes_refuse_what_the_dataclass_refused(bad: tuple[float, float, float]) -> None:
    pose = Pose(Vec3(1.0, 1.6, 0.0))
    object.__setattr__(pose, "position", Vec3(*bad))  # past Pose's own check, as a bug would get it
    with pytest.raises(WireError) as fast:
        state_bytes(1, 2, pose, None)
    with pytest.raises(WireError) as slow:
        bytes(State(seq=1, timestamp=2, pose=pose))
    assert str(fast.value) == str(slow.value)
