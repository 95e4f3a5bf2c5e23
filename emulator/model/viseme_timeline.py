"""Visemes: the 15 Oculus mouth shapes, the timeline that says when each starts, and their ARKit faces.

A talking agent sends visemes rather than 52 blendshapes because a viseme stream is tiny (one id per
phoneme) and language neutral; every receiver turns it back into ARKit weights for its own avatar.
Avatars with `viseme_*` morph targets (Ready Player Me style) could use the ids directly; the ARKit
shapes here serve every avatar that has only the 52.

The ids are positions in `VISEMES` (Oculus' order); the wire codec carries those numbers, so the order
never changes (the wire branch's `Viseme` enum has the same order; once both are on main, `VISEMES`
should be read from it). Phonemes arrive as IPA strings (espeak-ng reports IPA when asked, and IPA is
the same for every language, unlike espeak's per-language mnemonics); `ipa_to_visemes` maps them.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from emulator.model.errors import ModelError
from emulator.model.face import ARKIT_COUNT, Face, arkit_index

VISEMES: tuple[str, ...] = (
    "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "I", "O", "U",
)  # fmt: skip
VISEME_COUNT = len(VISEMES)
SIL = 0
_INDEX = {name.lower(): i for i, name in enumerate(VISEMES)}


def viseme_index(name: str) -> int:
    """Id of a viseme by name (`aa`, `viseme_aa`, any case); an unknown name is a ModelError."""
    key = name.lower().removeprefix("viseme_")
    try:
        return _INDEX[key]
    except KeyError:
        raise ModelError(f"{name!r} is not one of the 15 visemes {', '.join(VISEMES)}") from None


# --- phonemes (IPA) to visemes -------------------------------------------------------------------------

# One IPA letter → viseme. Chosen by where the lips, teeth and tongue tip are, because that is all an
# avatar shows; sounds made further back (h, glottal stop) have no shape of their own and borrow the
# next sound's (they map to None).
_IPA_LETTER: dict[str, str | None] = {}
for _letters, _viseme in (
    ("pbmʙɓ", "PP"),
    ("fvɱʋɸβ", "FF"),
    ("θð", "TH"),
    ("tdʈɖɾɽɗ", "DD"),
    ("kgɡŋqɢcɟxɣχɰ", "kk"),
    ("ʃʒɕʑʂʐç", "CH"),
    ("szʝ", "SS"),
    ("nlɲɳɫʎɬɮɭʟɺ", "nn"),
    ("ɹrʀʁɻɚɝ", "RR"),
    ("aɑɐæʌäɶ", "aa"),
    ("eɛəɜɘɞ", "E"),
    ("iɪɨj", "I"),
    ("oɔɒɵøœɤ", "O"),
    ("uʊɯwʉɥyʏ", "U"),
):
    for _letter in _letters:
        _IPA_LETTER[_letter] = _viseme
for _letter in "hɦʔħʕʜʢ":
    _IPA_LETTER[_letter] = None

_LANGUAGE_SWITCH = re.compile(r"\([^)]*\)")
_VOWEL_VISEMES = frozenset({"aa", "E", "I", "O", "U", "RR"})
_AFFRICATE_TAILS = frozenset("ʃʒɕʑʂʐszθð")


def _base_letters(ipa: str) -> str:
    """The letters of an IPA string without stress, length, tie bars and other diacritics."""
    out = []
    for ch in re.sub(r"\([^)]*\)", "", ipa):  # espeak's language switches, e.g. "(en)"
        if unicodedata.category(ch) in {"Mn", "Lm", "Sk", "Zs", "Po"} or ch in "ˈˌːˑ‿|‖":
            continue
        out.append(ch)
    return "".join(out)


def ipa_to_visemes(ipa: str) -> tuple[str, ...] | None:
    """The visemes of one phoneme: `()` for a pause, `None` for a sound that borrows its neighbour's.

    A diphthong gives two visemes (`aʊ` → aa, U) so the mouth travels through both; an affricate gives
    its release (`tʃ` → CH), which is what the lips show longest. Letters outside the table are
    treated like `h`: better a borrowed shape than a wrong one.
    """
    letters = _base_letters(ipa)
    if not letters:
        return ()
    if len(letters) >= 2 and letters[0] in "tdʈɖ" and letters[1] in _AFFRICATE_TAILS:
        letters = letters[1:]
    visemes = [_IPA_LETTER.get(ch) for ch in letters]
    first = visemes[0]
    if first is None or first not in _VOWEL_VISEMES:
        return None if first is None else (first,)
    # A vowel followed by vowel-like letters: a diphthong or an r-coloured vowel.
    glide = [v for v in visemes[1:3] if v is not None and v in _VOWEL_VISEMES and v != first]
    return (first, *glide[:1])


# --- the timeline ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VisemeKey:
    """From `time` (seconds) on, the mouth aims at `viseme` with `weight` until the next key."""

    time: float
    viseme: int
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.time):
            raise ModelError(f"viseme time must be finite, got {self.time}")
        if not 0 <= self.viseme < VISEME_COUNT:
            raise ModelError(f"viseme id must be 0..{VISEME_COUNT - 1}, got {self.viseme}")
        if not 0.0 <= self.weight <= 1.0:
            raise ModelError(f"viseme weight must be 0..1, got {self.weight}")

    @property
    def name(self) -> str:
        return VISEMES[self.viseme]


class VisemeTimeline:
    """Keys sorted by time; what a speech source hands alongside its audio and a receiver replays.

    Immutable after construction so that the audio thread and a face driver can share one safely.
    Equal times keep their given order (the later key wins), which is how a zero-length phoneme is
    dropped without a special case.
    """

    __slots__ = ("_keys", "_times")

    def __init__(self, keys: Iterable[VisemeKey] = ()) -> None:
        self._keys: tuple[VisemeKey, ...] = tuple(sorted(keys, key=lambda k: k.time))
        self._times: list[float] = [k.time for k in self._keys]

    @staticmethod
    def from_phonemes(phonemes: Sequence[tuple[float, str]], end: float | None = None) -> VisemeTimeline:
        """Keys from (onset seconds, IPA) pairs, as espeak-ng reports them; `end` closes with silence.

        A diphthong's second viseme starts at 55% of its duration (the glide is the shorter part);
        borrowed-shape phonemes (h, ʔ) take the next phoneme's first viseme from their own onset.
        """
        keys: list[VisemeKey] = []
        # espeak-ng marks a switch of language ("(en)") like a phoneme; it is neither sound nor pause.
        phonemes = [(t, ipa) for t, ipa in phonemes if not _LANGUAGE_SWITCH.fullmatch(ipa.strip())]
        mapped = [ipa_to_visemes(ipa) for _, ipa in phonemes]
        for i, ((onset, _), visemes) in enumerate(zip(phonemes, mapped, strict=True)):
            following = phonemes[i + 1][0] if i + 1 < len(phonemes) else end
            if visemes is None:
                nxt = next((m for m in mapped[i + 1 :] if m is not None), ())
                visemes = nxt[:1] if nxt else ("sil",)
            if not visemes:
                keys.append(VisemeKey(onset, SIL))
                continue
            keys.append(VisemeKey(onset, viseme_index(visemes[0])))
            if len(visemes) > 1 and following is not None and following > onset:
                keys.append(VisemeKey(onset + 0.55 * (following - onset), viseme_index(visemes[1])))
        if end is not None and (not keys or keys[-1].viseme != SIL):
            keys.append(VisemeKey(end, SIL))
        return VisemeTimeline(keys)

    @property
    def keys(self) -> tuple[VisemeKey, ...]:
        return self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[VisemeKey]:
        return iter(self._keys)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VisemeTimeline) and self._keys == other._keys

    def __repr__(self) -> str:
        return f"VisemeTimeline({len(self._keys)} keys, {self._times[0] if self._times else 0:.3f}s…)"

    def shifted(self, offset: float) -> VisemeTimeline:
        return VisemeTimeline(VisemeKey(k.time + offset, k.viseme, k.weight) for k in self._keys)

    def merged(self, *others: VisemeTimeline) -> VisemeTimeline:
        return VisemeTimeline([k for t in (self, *others) for k in t._keys])

    def between(self, start: float, stop: float) -> list[VisemeKey]:
        """Keys with start <= time < stop: what a sender ships with the audio of that interval."""
        lo = bisect.bisect_left(self._times, start)
        hi = bisect.bisect_left(self._times, stop)
        return list(self._keys[lo:hi])

    def index_at(self, t: float) -> int:
        """Index of the key in force at `t` (the last with time <= t), or -1 before the first."""
        return bisect.bisect_right(self._times, t) - 1

    def at(self, t: float) -> VisemeKey | None:
        i = self.index_at(t)
        return self._keys[i] if i >= 0 else None

    def speech_onsets(self, min_silence: float = 0.1) -> list[float]:
        """Times where a non-silent viseme follows at least `min_silence` seconds of silence.

        The start of the timeline counts as silence, so the first sound is an onset.
        """
        onsets: list[float] = []
        silent_since: float | None = -math.inf
        for key in self._keys:
            if key.viseme == SIL:
                if silent_since is None:
                    silent_since = key.time
            else:
                if silent_since is not None and key.time - silent_since >= min_silence:
                    onsets.append(key.time)
                silent_since = None
        return onsets


# --- visemes to ARKit faces --------------------------------------------------------------------------

# The ARKit pose of each viseme at full weight. Judged by eye against reference viseme sheets: the jaw
# carries loudness (open vowels), funnel/pucker carry rounding, stretch/smile carry spread lips, and
# press/roll carry the closures that make p, b, m and f, v readable.
_SHAPES: dict[str, dict[str, float]] = {
    "sil": {},
    "PP": {"mouthPress": 0.45, "mouthRollLower": 0.2, "mouthRollUpper": 0.15},
    "FF": {"mouthRollLower": 0.55, "mouthUpperUp": 0.25, "jawOpen": 0.08},
    "TH": {"jawOpen": 0.15, "tongueOut": 0.35, "mouthLowerDown": 0.1},
    "DD": {"jawOpen": 0.2, "mouthStretch": 0.15, "mouthLowerDown": 0.1},
    "kk": {"jawOpen": 0.25, "mouthStretch": 0.2},
    "CH": {"jawOpen": 0.15, "mouthFunnel": 0.45, "mouthPucker": 0.2, "mouthUpperUp": 0.2,
           "mouthLowerDown": 0.2},
    "SS": {"jawOpen": 0.08, "mouthStretch": 0.3, "mouthSmile": 0.2, "mouthUpperUp": 0.1},
    "nn": {"jawOpen": 0.18, "mouthStretch": 0.1},
    "RR": {"jawOpen": 0.15, "mouthFunnel": 0.3, "mouthPucker": 0.25},
    "aa": {"jawOpen": 0.65, "mouthLowerDown": 0.3, "mouthUpperUp": 0.1, "mouthStretch": 0.1},
    "E": {"jawOpen": 0.4, "mouthStretch": 0.3, "mouthSmile": 0.2, "mouthLowerDown": 0.2},
    "I": {"jawOpen": 0.2, "mouthSmile": 0.45, "mouthStretch": 0.4, "mouthUpperUp": 0.15},
    "O": {"jawOpen": 0.45, "mouthFunnel": 0.6, "mouthPucker": 0.2},
    "U": {"jawOpen": 0.15, "mouthPucker": 0.75, "mouthFunnel": 0.35},
}  # fmt: skip
"""Weights per viseme; a name without a side (`mouthSmile`) sets both `…Left` and `…Right`."""


def _shape_matrix(shapes: Mapping[str, Mapping[str, float]]) -> npt.NDArray[np.float32]:
    matrix = np.zeros((VISEME_COUNT, ARKIT_COUNT), dtype=np.float32)
    for name, weights in shapes.items():
        for blendshape, value in weights.items():
            sides = (
                [blendshape]
                if arkit_index(blendshape) is not None
                else [blendshape + "Left", blendshape + "Right"]
            )
            for side in sides:
                index = arkit_index(side)
                if index is None:
                    raise ModelError(f"viseme {name}: {blendshape!r} is not an ARKit blendshape")
                matrix[viseme_index(name), index] = value
    return matrix


VISEME_SHAPES: npt.NDArray[np.float32] = _shape_matrix(_SHAPES)
"""(15, 52): row v is the ARKit face of viseme v at full weight."""


def viseme_face(activations: npt.ArrayLike, out: Face | None = None) -> Face:
    """The face for 15 viseme activations (each 0..1): the weighted sum of their shapes, clamped.

    Summing rather than picking the strongest is what makes transitions blend: halfway between `aa`
    and `U` the jaw is half open and the lips half rounded.
    """
    weights = np.asarray(activations, dtype=np.float32)
    if weights.shape != (VISEME_COUNT,):
        raise ModelError(f"expected {VISEME_COUNT} viseme activations, got shape {weights.shape}")
    face = out if out is not None else Face()
    face.set_all(weights @ VISEME_SHAPES)
    return face
