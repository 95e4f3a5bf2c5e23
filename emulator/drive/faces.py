"""Face drivers: `driver.sample(t) -> Face` for `t` seconds since the driver started.

- `neutral`: all weights zero.
- `smile`, `surprise`: held expressions (`PRESETS`, which the app's face dock also reads).
- `blink[:seed=N,rate=17]`: a still face that blinks at a natural rhythm: `rate` blinks a minute on
  average (people manage 15-20), intervals drawn at random but never shorter than 1.2 s, one blink in
  eight a double blink, each closing in ~80 ms and opening more slowly (~150 ms), as lids do.
- `talk[:seed=N]`: a speaking face: phrases of 1-4 s made of 4-6 syllables a second, separated by
  pauses; each syllable opens the jaw to its own depth with a vowel-like mouth shape (open, spread,
  rounded) and some start with the lips closed (p/b/m). It blinks as well, since a talking face
  that never blinks looks dead.
- `csv:FILE[,once][,nohead]`: a Live Link Face recording (`emulator.drive.livelink`).
- Any of these joined with `+` (`smile+blink`): the weight-wise maximum of the parts.

Everything random is drawn from `numpy.random.default_rng(seed)`, so the same seed gives the same face
at the same `t`, in any order of sampling: events are generated lazily, in time order, and cached.
That cache makes a driver single-threaded: sample each one from one thread.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from emulator.drive.errors import DriveError
from emulator.drive.spec import check_time, param_float, parse_params, split_flags, split_spec
from emulator.model.face import ARKIT_COUNT, Face, FloatArray, arkit_index

FACE_NAMES = ("neutral", "smile", "surprise", "blink", "talk", "csv", "trace")

PRESETS: Mapping[str, Mapping[str, float]] = {
    "neutral": {},
    "smile": {
        "mouthSmileLeft": 0.8, "mouthSmileRight": 0.8, "cheekSquintLeft": 0.45, "cheekSquintRight": 0.45,
        "eyeSquintLeft": 0.25, "eyeSquintRight": 0.25, "mouthDimpleLeft": 0.2, "mouthDimpleRight": 0.2,
        "jawOpen": 0.08, "mouthUpperUpLeft": 0.15, "mouthUpperUpRight": 0.15,
    },
    "surprise": {
        "browInnerUp": 0.9, "browOuterUpLeft": 0.8, "browOuterUpRight": 0.8, "eyeWideLeft": 0.75,
        "eyeWideRight": 0.75, "jawOpen": 0.45, "mouthFunnel": 0.25, "mouthLowerDownLeft": 0.2,
        "mouthLowerDownRight": 0.2,
    },
}  # fmt: skip


class FaceDriver(Protocol):
    """Anything that says what the face looks like `t` seconds after it started."""

    def sample(self, t: float) -> Face: ...


def _weights(values: Mapping[str, float]) -> FloatArray:
    out = np.zeros(ARKIT_COUNT, dtype=np.float32)
    for name, value in values.items():
        index = arkit_index(name)
        assert index is not None, name  # the tables in this module only name real blendshapes
        out[index] = value
    return out


@dataclass(frozen=True)
class HeldFace:
    """A constant expression (neutral or a preset)."""

    weights: FloatArray

    @staticmethod
    def preset(name: str) -> HeldFace:
        return HeldFace(_weights(PRESETS[name]))

    def sample(self, t: float) -> Face:
        check_time(t)
        return Face(self.weights)


class _LazyEvents:
    """Random events (start, *params) generated in time order on demand and cached for random access."""

    def __init__(self, seed: int, make: Callable[[np.random.Generator, float], list[tuple[float, ...]]]):
        self._rng = np.random.default_rng(seed)
        self._make = make
        self._starts: list[float] = []
        self._events: list[tuple[float, ...]] = []
        self._horizon = 0.0

    def around(self, t: float, lookback: float) -> list[tuple[float, ...]]:
        """Events starting within [t - lookback, t]."""
        while self._horizon <= t:
            batch = self._make(self._rng, self._horizon)
            for event in batch:
                self._starts.append(event[0])
                self._events.append(event)
            self._horizon = batch[-1][0] + 1e-9 if batch else self._horizon + 1.0
        lo = bisect.bisect_left(self._starts, t - lookback)
        hi = bisect.bisect_right(self._starts, t)
        return self._events[lo:hi]


_BLINK_CLOSE_S = 0.08
_BLINK_HOLD_S = 0.03
_BLINK_OPEN_S = 0.15
_BLINK_S = _BLINK_CLOSE_S + _BLINK_HOLD_S + _BLINK_OPEN_S
_MIN_BLINK_GAP_S = 1.2


def blink_closure(since_start: float) -> float:
    """How closed the lids are (0..1) `since_start` seconds into one blink."""
    if since_start < 0 or since_start >= _BLINK_S:
        return 0.0
    if since_start < _BLINK_CLOSE_S:
        return math.sin(0.5 * math.pi * since_start / _BLINK_CLOSE_S)
    if since_start < _BLINK_CLOSE_S + _BLINK_HOLD_S:
        return 1.0
    opening = (since_start - _BLINK_CLOSE_S - _BLINK_HOLD_S) / _BLINK_OPEN_S
    return 0.5 * (1.0 + math.cos(math.pi * opening))


class Blink:
    """Natural blinking on an otherwise still (or `base`) face."""

    def __init__(self, seed: int = 0, rate_per_minute: float = 17.0, base: FloatArray | None = None) -> None:
        mean_gap = 60.0 / rate_per_minute
        # Checked once here (as a Face would), so that `sample` can adopt its copies unchecked.
        self._base = Face(base).weights if base is not None else np.zeros(ARKIT_COUNT, dtype=np.float32)
        self._left = arkit_index("eyeBlinkLeft")
        self._right = arkit_index("eyeBlinkRight")

        def make(rng: np.random.Generator, after: float) -> list[tuple[float, ...]]:
            # A gamma-distributed gap (shape 3) is skewed like measured blink intervals: mostly a few
            # seconds, now and then a long stare; the floor keeps blinks from running together.
            gap = max(_MIN_BLINK_GAP_S, float(rng.gamma(3.0, mean_gap / 3.0)))
            start = after + gap
            events: list[tuple[float, ...]] = [(start,)]
            if rng.random() < 0.125:
                events.append((start + _BLINK_S + 0.08,))
            return events

        self._events = _LazyEvents(seed, make)

    def closure(self, t: float) -> float:
        t = check_time(t)
        return max((blink_closure(t - e[0]) for e in self._events.around(t, _BLINK_S)), default=0.0)

    def sample(self, t: float) -> Face:
        return Face.adopt(self.weights_at(t))

    def weights_at(self, t: float) -> FloatArray:
        """The weights at `t`, in a fresh array the caller may keep or change."""
        weights = self._base.copy()
        closed = self.closure(t)
        if closed > 0.0:
            for index in (self._left, self._right):
                assert index is not None
                weights[index] = max(float(weights[index]), closed)
        return weights


# Mouth shapes a syllable can take, at full openness; jawOpen is scaled by the syllable's depth.
_VOWELS: Sequence[FloatArray] = tuple(
    _weights(shape)
    for shape in (
        {"jawOpen": 1.0, "mouthLowerDownLeft": 0.3, "mouthLowerDownRight": 0.3},  # "ah"
        {"jawOpen": 0.6, "mouthStretchLeft": 0.35, "mouthStretchRight": 0.35, "mouthSmileLeft": 0.15,
         "mouthSmileRight": 0.15},  # "ee"
        {"jawOpen": 0.7, "mouthFunnel": 0.55, "mouthPucker": 0.2},  # "oh"
        {"jawOpen": 0.35, "mouthPucker": 0.65, "mouthFunnel": 0.3},  # "oo"
        {"jawOpen": 0.75, "mouthUpperUpLeft": 0.2, "mouthUpperUpRight": 0.2},  # "eh"
    )
)  # fmt: skip
_LIPS_CLOSED = _weights({"mouthClose": 0.6, "mouthPressLeft": 0.3, "mouthPressRight": 0.3})


class Talk:
    """Plausible speech motion: phrases of syllables, each a jaw opening with a vowel-like shape."""

    def __init__(self, seed: int = 0) -> None:
        def make(rng: np.random.Generator, after: float) -> list[tuple[float, ...]]:
            # One phrase per batch: a pause, then syllables back to back.
            t = after + float(rng.uniform(0.25, 1.0))
            phrase_end = t + float(rng.uniform(1.0, 4.0))
            events: list[tuple[float, ...]] = []
            while t < phrase_end:
                length = 1.0 / float(rng.uniform(4.0, 6.0))
                depth = float(rng.uniform(0.25, 0.75))
                vowel = float(rng.integers(len(_VOWELS)))
                bilabial = float(rng.random() < 0.2)
                events.append((t, length, depth, vowel, bilabial))
                t += length
            return events

        self._syllables = _LazyEvents(seed, make)
        self._blink = Blink(seed + 1_000_003)

    def sample(self, t: float) -> Face:
        t = check_time(t)
        weights = self._blink.weights_at(t)
        for start, length, depth, vowel, bilabial in self._syllables.around(t, 0.3):
            x = (t - start) / length
            if not 0.0 <= x < 1.0:
                continue
            # sin² rises and falls smoothly, so neighbouring syllables join without a jump.
            envelope = math.sin(math.pi * x) ** 2
            np.maximum(weights, _VOWELS[int(vowel)] * (depth * envelope), out=weights)
            if bilabial and x < 0.3:
                np.maximum(weights, _LIPS_CLOSED * (1.0 - x / 0.3), out=weights)
        # Every term is a product of weights in 0..1: the sum stays a valid face without a check.
        return Face.adopt(weights)


@dataclass
class Combined:
    """The weight-wise maximum of several drivers (`smile+blink`)."""

    parts: list[FaceDriver] = field(default_factory=list)

    def sample(self, t: float) -> Face:
        weights = np.zeros(ARKIT_COUNT, dtype=np.float32)
        for part in self.parts:
            weights = np.maximum(weights, part.sample(t).weights)
        return Face(weights)


def _seed(params: dict[str, str], what: str) -> int:
    return int(param_float(params, "seed", 0, what=what, low=0, high=2**32 - 1))


def _one_face(spec: str) -> FaceDriver:
    name, rest = split_spec(spec)
    what = f"face {spec.strip()!r}"
    if name == "csv":
        from emulator.drive.livelink import load_livelink_csv

        path, flags = split_flags(rest, ("once", "loop", "nohead"))
        if not path:
            raise DriveError(f"{what}: expected csv:FILE.csv")
        return load_livelink_csv(Path(path), loop="once" not in flags, drive_head="nohead" not in flags)
    if name == "trace":
        from emulator.drive.trace_faces import load_trace_faces

        path, flags = split_flags(rest, ("once", "loop"))
        if not path:
            raise DriveError(f"{what}: expected trace:FILE.jsonl")
        faces = load_trace_faces(Path(path), loop="once" not in flags)
        if faces is None:
            raise DriveError(f"{what}: no line of the trace carries a face (`drive` writes them)")
        return faces
    if name in PRESETS:
        parse_params(rest, (), what=what)
        return HeldFace.preset(name)
    if name == "blink":
        params = parse_params(rest, ("seed", "rate"), what=what)
        return Blink(_seed(params, what), param_float(params, "rate", 17.0, what=what, low=1.0, high=60.0))
    if name == "talk":
        return Talk(_seed(parse_params(rest, ("seed",), what=what), what))
    raise DriveError(f"unknown face {name!r}; choose one of {', '.join(FACE_NAMES)} (csv:FILE.csv)")


def face_from_spec(spec: str) -> FaceDriver:
    """The face driver a `--face` string names; a `DriveError` (or `FaceCsvError`) names what is wrong."""
    parts: list[str] = []
    pieces = spec.split("+")
    for i, piece in enumerate(pieces):
        if piece.strip().lower().startswith("csv:"):
            parts.append("+".join(pieces[i:]))  # a path may itself contain '+': it runs to the end
            break
        parts.append(piece)
    if any(not p.strip() for p in parts):
        raise DriveError(f"face {spec!r}: empty part")
    if len(parts) == 1:
        return _one_face(parts[0])
    return Combined([_one_face(p) for p in parts])
