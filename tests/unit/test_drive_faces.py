import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.drive.errors import DriveError
from emulator.drive.faces import PRESETS, Blink, Combined, HeldFace, Talk, blink_closure, face_from_spec
from emulator.model.face import Face

RATE = 60


def series(driver: object, name: str, seconds: float, start: float = 0.0) -> np.ndarray:
    sample = driver.sample  # type: ignore[attr-defined]
    return np.array([sample(start + i / RATE)[name] for i in range(int(seconds * RATE))])


def test_neutral_and_presets_hold_their_expression() -> None:
    assert face_from_spec("neutral").sample(3.0) == Face()
    smile = face_from_spec("smile").sample(10.0)
    assert smile["mouthSmileLeft"] > 0.5 and smile["mouthSmileRight"] > 0.5 and smile["jawOpen"] < 0.2
    surprise = face_from_spec("Surprise").sample(0.0)
    assert surprise["browInnerUp"] > 0.5 and surprise["eyeWideLeft"] > 0.5 and surprise["jawOpen"] > 0.3
    assert set(PRESETS) == {"neutral", "smile", "surprise"}
    assert isinstance(face_from_spec("smile"), HeldFace)


def test_one_blink_closes_fast_and_opens_slower() -> None:
    shape = [blink_closure(i / 1000) for i in range(300)]
    closed = [i for i, v in enumerate(shape) if v >= 0.999]
    assert closed, "the lids close fully"
    first_closed, last_closed = closed[0], closed[-1]
    reopened = next(i for i in range(last_closed, 300) if shape[i] < 0.01)
    assert first_closed < reopened - last_closed  # closing is quicker than opening
    assert shape[-1] == 0.0


def test_blink_rate_and_timing_look_natural() -> None:
    lids = series(Blink(seed=4), "eyeBlinkLeft", 600.0)
    starts = np.flatnonzero((lids[1:] >= 0.5) & (lids[:-1] < 0.5))
    per_minute = len(starts) / 10
    assert 10 <= per_minute <= 25
    assert (lids < 0.05).mean() > 0.9  # eyes are open nearly all the time
    gaps = np.diff(starts) / RATE
    assert (gaps > 0.2).mean() > 0.8  # mostly separate blinks, a few doubles
    assert np.array_equal(lids, series(Blink(seed=4), "eyeBlinkRight", 600.0))  # both eyes together


def test_same_seed_same_face_in_any_sampling_order() -> None:
    forward = [Talk(seed=9).sample(t)["jawOpen"] for t in (0.5, 1.0, 30.0, 31.25)]
    jumper = Talk(seed=9)
    late = jumper.sample(31.25)["jawOpen"]
    assert late == forward[3]
    assert [jumper.sample(t)["jawOpen"] for t in (0.5, 1.0, 30.0)] == forward[:3]
    assert not np.array_equal(series(Talk(seed=1), "jawOpen", 5.0), series(Talk(seed=2), "jawOpen", 5.0))


def test_talk_moves_the_jaw_in_syllables_and_phrases() -> None:
    talk = face_from_spec("talk:seed=5")
    jaw = series(talk, "jawOpen", 60.0)
    assert jaw.max() > 0.4
    peaks = np.flatnonzero((jaw[1:-1] > jaw[:-2]) & (jaw[1:-1] >= jaw[2:]) & (jaw[1:-1] > 0.05))
    speaking_seconds = (jaw > 0.01).mean() * 60
    syllable_rate = len(peaks) / speaking_seconds
    assert 3.0 < syllable_rate < 8.0
    # Pauses between phrases: stretches of at least 0.25 s with the jaw shut.
    shut = np.concatenate(([0], (jaw < 1e-3).astype(int), [0]))
    edges = np.flatnonzero(np.diff(shut))
    pauses = (edges[1::2] - edges[0::2]) / RATE
    assert (pauses >= 0.25).sum() >= 10
    shapes = {name: series(talk, name, 60.0).max() for name in ("mouthFunnel", "mouthPucker", "mouthClose")}
    assert all(v > 0.1 for v in shapes.values()), shapes  # rounded vowels and closed lips appear
    assert series(talk, "eyeBlinkLeft", 60.0).max() > 0.99  # and it blinks


def test_plus_combines_drivers() -> None:
    both = face_from_spec("smile+blink:seed=2")
    assert isinstance(both, Combined)
    assert series(both, "mouthSmileLeft", 10.0).min() > 0.5
    assert series(both, "eyeBlinkLeft", 30.0).max() > 0.99


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("grin", "unknown face 'grin'"),
        ("blink:rate=0", "rate"),
        ("talk:speed=2", "unknown option"),
        ("smile+", "empty part"),
        ("csv:", "expected csv:FILE"),
        ("csv:/nonexistent.csv", "cannot read face CSV"),
    ],
)
def test_bad_face_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(DriveError, match=message):
        face_from_spec(spec)


@settings(max_examples=200)
@given(st.text(max_size=30))
def test_any_face_spec_either_works_or_raises_drive_error(spec: str) -> None:
    try:
        driver = face_from_spec(spec)
    except DriveError:
        return
    weights = driver.sample(2.0).weights
    assert ((weights >= 0) & (weights <= 1)).all()
