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
        return self._closure(check_time(t))

    def _closure(self, t: float) -> float:
        """`closure` at a time already checked; most samples fall between blinks, with no events."""
        events = self._events.around(t, _BLINK_S)
        return max([blink_closure(t - e[0]) for e in events]) if events else 0.0

    def sample(self, t: float) -> Face:
        return Face.adopt(self.weights_at(t))

    def weights_at(self, t: float) -> FloatArray:
        """The weights at `t`, in a fresh array the caller may keep or change."""
        weights = self._base.copy()
        self.close_eyes(weights, check_time(t))
        return weights

    def close_eyes(self, weights: FloatArray, t: float) -> None:
        """Raise the lids' weights in `weights` to how closed they are at `t` (already checked)."""
        closed = self._closure(t)
        if closed > 0.0:
            for index in (self._left, self._right):
                assert index is not None
                weights[index] = max(float(weights[index]), closed)


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
        # The weight-wise maximum of the blink and the mouth shapes, all of them 0 or more (never -0.0,
        # never NaN), so in any order: the first shape is taken as it is, not maxed onto zeros.
        weights = None
        for start, length, depth, vowel, bilabial in self._syllables.around(t, 0.3):
            x = (t - start) / length
            if not 0.0 <= x < 1.0:
                continue
            # sin² rises and falls smoothly, so neighbouring syllables join without a jump.
            envelope = math.sin(math.pi * x) ** 2
            shape = _VOWELS[int(vowel)] * (depth * envelope)
            weights = shape if weights is None else np.maximum(weights, shape, out=weights)
            if bilabial and x < 0.3:
                np.maximum(weights, _LIPS_CLOSED * (1.0 - x / 0.3), out=weights)
        if weights is None:
            weights = np.zeros(ARKIT_COUNT, dtype=np.float32)
        self._blink.close_eyes(weights, t)
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


_FILE_KINDS = {
    "csv": (("once", "loop", "nohead"), "csv:FILE.csv"),
    "trace": (("once", "loop"), "trace:FILE.jsonl"),
}


@dataclass(frozen=True)
class FacePart:
    """One `+`-separated part of a face spec: a driver's name and options, or a file to play."""

    text: str
    name: str  # one of FACE_NAMES
    options: tuple[tuple[str, float], ...] = ()  # keyword arguments of Blink or Talk
    path: Path | None = None  # csv:FILE, trace:FILE
    flags: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, spec: str) -> FacePart:
        name, rest = split_spec(spec)
        what = f"face {spec.strip()!r}"
        if name in _FILE_KINDS:
            flags, example = _FILE_KINDS[name]
            path, found = split_flags(rest, flags)
            if not path:
                raise DriveError(f"{what}: expected {example}")
            return cls(spec, name, path=Path(path), flags=frozenset(found))
        if name in PRESETS:
            parse_params(rest, (), what=what)
            return cls(spec, name)
        if name == "blink":
            params = parse_params(rest, ("seed", "rate"), what=what)
            rate = param_float(params, "rate", 17.0, what=what, low=1.0, high=60.0)
            return cls(spec, name, (("seed", _seed(params, what)), ("rate_per_minute", rate)))
        if name == "talk":
            return cls(spec, name, (("seed", _seed(parse_params(rest, ("seed",), what=what), what)),))
        raise DriveError(f"unknown face {name!r}; choose one of {', '.join(FACE_NAMES)} (csv:FILE.csv)")

    def build(self) -> FaceDriver:
        loop = "once" not in self.flags
        if self.name == "csv" and self.path is not None:
            from emulator.drive.livelink import load_livelink_csv

            return load_livelink_csv(self.path, loop=loop, drive_head="nohead" not in self.flags)
        if self.name == "trace" and self.path is not None:
            from emulator.drive.trace_faces import load_trace_faces

            faces = load_trace_faces(self.path, loop=loop)
            if faces is None:
                what = f"face {self.text.strip()!r}"
                raise DriveError(f"{what}: no line of the trace carries a face (`drive` writes them)")
            return faces
        options = dict(self.options)
        if self.name == "blink":
            return Blink(int(options["seed"]), options["rate_per_minute"])
        if self.name == "talk":
            return Talk(int(options["seed"]))
        return HeldFace.preset(self.name)


@dataclass(frozen=True)
class FaceSpec:
    """A `--face` value, checked: its parts; `build()` makes the driver.

    A CSV or trace is named here and read by `build`, when a headset starts (it is opened then).
    """

    text: str  # as written: what reports and the control API show
    parts: tuple[FacePart, ...]

    @classmethod
    def parse(cls, text: str) -> FaceSpec:
        """The spec `text` names; a `DriveError` names the value and what is accepted."""
        parts: list[str] = []
        pieces = text.split("+")
        for i, piece in enumerate(pieces):
            if piece.strip().lower().startswith("csv:"):
                parts.append("+".join(pieces[i:]))  # a path may itself contain '+': it runs to the end
                break
            parts.append(piece)
        if any(not p.strip() for p in parts):
            raise DriveError(f"face {text!r}: empty part")
        return cls(text, tuple(FacePart.parse(p) for p in parts))

    def build(self) -> FaceDriver:
        """The driver; a file that cannot be played is a `DriveError` (or `FaceCsvError`, `TraceError`)."""
        if len(self.parts) == 1:
            return self.parts[0].build()
        return Combined([part.build() for part in self.parts])

    @property
    def neutral(self) -> bool:
        """Written as the default `neutral` (a `--motion trace:FILE` then brings its own faces)."""
        return self.text.strip() == "neutral"

    def __str__(self) -> str:
        return self.text


NEUTRAL = FaceSpec("neutral", (FacePart("neutral", "neutral"),))


def face_from_spec(spec: str) -> FaceDriver:
    """The face driver a spec string names; a `DriveError` (or `FaceCsvError`) names what is wrong."""
    return FaceSpec.parse(spec).build()
