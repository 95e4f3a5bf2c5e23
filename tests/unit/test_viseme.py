import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.drive.faces import Blink, Combined
from emulator.drive.visemes import VisemeFaceDriver
from emulator.model.errors import ModelError
from emulator.model.face import Face
from emulator.model.viseme_timeline import (
    SIL,
    VISEME_COUNT,
    VISEMES,
    VisemeKey,
    VisemeTimeline,
    ipa_to_visemes,
    viseme_face,
    viseme_index,
)


def test_the_fifteen_oculus_visemes_in_their_wire_order() -> None:
    assert VISEMES == ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "I", "O", "U")
    assert viseme_index("viseme_aa") == viseme_index("AA") == 10
    with pytest.raises(ModelError, match="not one of the 15 visemes"):
        viseme_index("zz")


@pytest.mark.parametrize(
    ("ipa", "visemes"),
    [
        ("p", ("PP",)),
        ("m", ("PP",)),
        ("v", ("FF",)),
        ("ð", ("TH",)),
        ("t", ("DD",)),
        ("ɡ", ("kk",)),
        ("tʃ", ("CH",)),
        ("dʒ", ("CH",)),
        ("ʒ", ("CH",)),
        ("ç", ("CH",)),
        ("z", ("SS",)),
        ("ts", ("SS",)),
        ("l", ("nn",)),
        ("ɹ", ("RR",)),
        ("ˈɑː", ("aa",)),
        ("ɛ", ("E",)),
        ("iː", ("I",)),
        ("ɔ̃", ("O",)),
        ("uː", ("U",)),
        ("aʊ", ("aa", "U")),
        ("eɪ", ("E", "I")),
        ("ɔːɹ", ("O", "RR")),
        ("", ()),
        ("h", None),
        ("ʔ", None),
        ("(en)", ()),
    ],
)
def test_ipa_maps_by_what_the_lips_show(ipa: str, visemes: tuple[str, ...] | None) -> None:
    assert ipa_to_visemes(ipa) == visemes


def test_timeline_from_phonemes_splits_diphthongs_and_lends_h_the_next_shape() -> None:
    timeline = VisemeTimeline.from_phonemes([(0.0, ""), (0.1, "h"), (0.2, "aʊ"), (0.4, "s")], end=0.5)
    assert [(round(k.time, 3), k.name) for k in timeline] == [
        (0.0, "sil"),
        (0.1, "aa"),
        (0.2, "aa"),
        (0.31, "U"),
        (0.4, "SS"),
        (0.5, "sil"),
    ]
    assert timeline.speech_onsets() == [0.1]
    assert [k.name for k in timeline.between(0.2, 0.4)] == ["aa", "U"]
    assert timeline.shifted(1.0).keys[0].time == 1.0
    assert timeline.at(0.35) is not None and timeline.at(0.35).name == "U"  # type: ignore[union-attr]
    assert timeline.at(-1) is None


def test_speech_onsets_need_a_real_silence_before_them() -> None:
    keys = [VisemeKey(0.0, SIL), VisemeKey(0.5, 10), VisemeKey(0.8, SIL), VisemeKey(0.85, 11)]
    keys += [VisemeKey(1.0, SIL), VisemeKey(1.5, 12)]
    assert VisemeTimeline(keys).speech_onsets(min_silence=0.1) == [0.5, 1.5]


@pytest.mark.parametrize(
    "bad", [dict(time=math.nan, viseme=0), dict(time=0, viseme=15), dict(time=0, viseme=1, weight=1.5)]
)
def test_a_bad_key_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ModelError):
        VisemeKey(**bad)  # type: ignore[arg-type]


def test_viseme_faces_are_the_mouth_shapes_one_expects() -> None:
    def face(name: str) -> Face:
        act = np.zeros(VISEME_COUNT)
        act[viseme_index(name)] = 1.0
        return viseme_face(act)

    assert face("aa")["jawOpen"] > 0.5 > face("PP")["jawOpen"]
    assert face("U")["mouthPucker"] > 0.5 and face("I")["mouthPucker"] == 0
    assert face("O")["mouthFunnel"] > 0.5
    assert face("I")["mouthSmileLeft"] > 0.3 and face("I")["mouthSmileRight"] > 0.3
    assert face("PP")["mouthPressLeft"] > 0.3
    assert face("sil") == Face()
    half = np.zeros(VISEME_COUNT)
    half[viseme_index("aa")] = half[viseme_index("U")] = 0.5
    blended = viseme_face(half)
    assert blended["jawOpen"] == pytest.approx((face("aa")["jawOpen"] + face("U")["jawOpen"]) / 2)


def test_the_driven_mouth_glides_between_visemes() -> None:
    driver = VisemeFaceDriver([VisemeKey(0.0, SIL), VisemeKey(1.0, viseme_index("aa")), VisemeKey(2.0, SIL)])
    assert driver.face_at(0.5)["jawOpen"] == 0
    assert driver.face_at(1.5)["jawOpen"] == pytest.approx(0.65, abs=1e-6)
    # The mouth starts opening before the sound (lead) and is only part way open at the onset.
    assert 0 < driver.face_at(1.0)["jawOpen"] < 0.65
    assert driver.face_at(2.5)["jawOpen"] == 0
    jaw = [driver.face_at(t)["jawOpen"] for t in np.arange(0.9, 1.1, 0.005)]
    assert max(np.abs(np.diff(jaw))) < 0.1, "a snap rather than a glide"


def test_repeated_visemes_do_not_flicker() -> None:
    aa = viseme_index("aa")
    driver = VisemeFaceDriver(
        [VisemeKey(0.0, aa), VisemeKey(0.1, aa), VisemeKey(0.2, aa), VisemeKey(0.4, SIL)]
    )
    jaw = [driver.face_at(t)["jawOpen"] for t in np.arange(0.08, 0.3, 0.005)]
    assert min(jaw) == pytest.approx(0.65, abs=1e-6)


def test_keys_streamed_in_any_order_give_the_same_face_and_old_ones_are_forgotten() -> None:
    keys = [VisemeKey(i * 0.07, (i * 7) % VISEME_COUNT) for i in range(60)]
    whole = VisemeFaceDriver(keys)
    streamed = VisemeFaceDriver()
    streamed.add(reversed(keys))
    for t in np.arange(0, 4.2, 0.013):
        assert whole.face_at(t) == streamed.face_at(t)
    streamed.forget_before(3.0)
    assert len(streamed) < len(keys)
    for t in np.arange(3.0, 4.2, 0.013):
        assert whole.face_at(t) == streamed.face_at(t)


timelines = st.lists(
    st.tuples(
        st.floats(0, 5, allow_nan=False), st.integers(0, VISEME_COUNT - 1), st.floats(0, 1, allow_nan=False)
    ),
    max_size=40,
)


@given(timelines, st.floats(-1, 6, allow_nan=False))
def test_activations_stay_a_blend_at_any_time(raw: list[tuple[float, int, float]], t: float) -> None:
    driver = VisemeFaceDriver([VisemeKey(*k) for k in raw])
    act = driver.activations(t)
    assert act.min() >= 0 and act.sum() <= 1 + 1e-5
    face = driver.face_at(t)
    assert np.all((face.weights >= 0) & (face.weights <= 1))
    # Continuity: a millisecond later the mouth has moved by a bounded amount.
    later = driver.activations(t + 0.001)
    assert np.abs(later - act).sum() < 0.2


def test_a_looping_timeline_repeats_and_the_driver_is_a_face_driver() -> None:
    aa = viseme_index("aa")
    keys = [VisemeKey(0.0, SIL), VisemeKey(0.5, aa), VisemeKey(1.0, SIL)]
    looping = VisemeFaceDriver(keys, period=2.0)
    blinking = Combined([looping, Blink(seed=1)])
    for t in (0.75, 2.75, 10.75):
        assert looping.face_at(t)["jawOpen"] == pytest.approx(0.65, abs=1e-6)
        assert blinking.sample(t)["jawOpen"] == pytest.approx(0.65, abs=1e-6)
    assert looping.sample(3.5)["jawOpen"] == 0
    with pytest.raises(ValueError, match="period"):
        VisemeFaceDriver(keys, period=0)


def test_language_switch_markers_are_not_pauses() -> None:
    timeline = VisemeTimeline.from_phonemes([(0.0, "w"), (0.1, "(en)"), (0.1, "ɪ"), (0.2, "(fr)")], end=0.3)
    assert [k.name for k in timeline] == ["U", "I", "sil"]
