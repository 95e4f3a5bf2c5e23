"""Faces on the wire: full or changed-only weight updates, the sender's encoder and the receiver's
accumulator.

The state stream rides an unordered, lossy data channel, so an update that says only what changed
is cheap but a lost one would leave a receiver wrong until that weight changes again. `FaceEncoder`
therefore sends the whole face every `full_every` updates, and `FaceAccumulator` ignores values older
than the ones it holds (by sequence number), so a late packet never undoes a newer one.

Binary face block (inside STATE, selected by the face-mode flag bits):

    mode 01  ARKit full:     52 × u8 level
    mode 10  ARKit changed:  7-byte mask (bit i = weight i, most significant byte first; the top
                             4 bits unused, must be 0), then one u8 level per set bit, in index order
    mode 11  extended:       u8 face-set id (1 = meta70), u8 kind (0 full, 1 changed),
                             for changed a mask of ceil(n/8) bytes as above, then the u8 levels
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from emulator.model.face import ARKIT_COUNT, ARKIT_NAMES, Face
from emulator.model.meta_face import META_COUNT, META_NAMES, MetaFace, meta_to_arkit
from emulator.wire.errors import WireError
from emulator.wire.quantize import WEIGHT_LEVELS, weight_levels


class FaceSet(IntEnum):
    """Which blendshape set a face carries; the value is the extended-mode face-set id on the wire."""

    ARKIT52 = 0
    META70 = 1

    @property
    def key(self) -> str:
        return "arkit52" if self is FaceSet.ARKIT52 else "meta70"

    @property
    def count(self) -> int:
        return ARKIT_COUNT if self is FaceSet.ARKIT52 else META_COUNT

    @property
    def names(self) -> tuple[str, ...]:
        return ARKIT_NAMES if self is FaceSet.ARKIT52 else META_NAMES

    @property
    def mask_size(self) -> int:
        return (self.count + 7) // 8

    @staticmethod
    def from_key(key: str) -> FaceSet:
        for face_set in FaceSet:
            if face_set.key == key:
                return face_set
        raise WireError(f"unknown face set {key!r} (known: arkit52, meta70)")


FACE_MODE_NONE = 0b00
FACE_MODE_ARKIT_FULL = 0b01
FACE_MODE_ARKIT_CHANGED = 0b10
FACE_MODE_EXTENDED = 0b11
EXTENDED_FULL = 0
EXTENDED_CHANGED = 1


@dataclass(frozen=True, slots=True)
class FaceUpdate:
    """Quantized weights of one face set: all of them (`full`), or those that changed (others None).

    A level is round(weight × 255); `weights()` turns them back into 0..1.
    """

    face_set: FaceSet
    levels: tuple[int | None, ...]
    full: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.face_set, FaceSet):
            raise WireError(f"face set must be a FaceSet, got {self.face_set!r}")
        if len(self.levels) != self.face_set.count:
            raise WireError(f"{self.face_set.key} has {self.face_set.count} weights, got {len(self.levels)}")
        for level in self.levels:
            if level is None:
                if self.full:
                    raise WireError("a full face update must carry every weight")
            elif isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= WEIGHT_LEVELS:
                raise WireError(f"face level {level!r} is not an integer 0..255")

    @staticmethod
    def of_weights(face_set: FaceSet, weights: npt.ArrayLike) -> FaceUpdate:
        """A full update from 0..1 weights (clamped) in the set's order."""
        levels = weight_levels(weights, "face weight")
        if levels.shape != (face_set.count,):
            raise WireError(f"{face_set.key} has {face_set.count} weights, got shape {levels.shape}")
        return FaceUpdate(face_set, tuple(int(v) for v in levels), True)

    @staticmethod
    def of_changes(face_set: FaceSet, changes: Mapping[int, float]) -> FaceUpdate:
        """A changed-only update from {index: weight}."""
        levels: list[int | None] = [None] * face_set.count
        for index, weight in changes.items():
            if not 0 <= index < face_set.count:
                raise WireError(f"{face_set.key} has no weight {index}")
            levels[index] = int(weight_levels([weight], "face weight")[0])
        return FaceUpdate(face_set, tuple(levels), False)

    @property
    def mask(self) -> int:
        return sum(1 << i for i, v in enumerate(self.levels) if v is not None)

    def weights(self) -> dict[int, float]:
        """{index: weight} of what this update carries."""
        return {i: v / WEIGHT_LEVELS for i, v in enumerate(self.levels) if v is not None}

    # -- binary ------------------------------------------------------------------------------------

    def mode(self) -> int:
        if self.face_set is FaceSet.ARKIT52:
            return FACE_MODE_ARKIT_FULL if self.full else FACE_MODE_ARKIT_CHANGED
        return FACE_MODE_EXTENDED

    def encode_block(self) -> bytes:
        present = [v for v in self.levels if v is not None]
        body = bytes(present)
        if not self.full:
            body = self.mask.to_bytes(self.face_set.mask_size, "big") + body
        if self.face_set is FaceSet.ARKIT52:
            return body
        return bytes((int(self.face_set), EXTENDED_FULL if self.full else EXTENDED_CHANGED)) + body

    @staticmethod
    def decode_block(mode: int, data: bytes, offset: int) -> tuple[FaceUpdate, int]:
        """The update at `offset` and the offset after it; WireError when short or malformed."""
        if mode == FACE_MODE_EXTENDED:
            if len(data) < offset + 2:
                raise WireError("truncated: extended face header")
            set_id, kind = data[offset], data[offset + 1]
            offset += 2
            if set_id != FaceSet.META70:
                raise WireError(f"unknown face set id {set_id} in an extended face")
            if kind not in (EXTENDED_FULL, EXTENDED_CHANGED):
                raise WireError(f"unknown extended face kind {kind}")
            face_set, full = FaceSet(set_id), kind == EXTENDED_FULL
        else:
            face_set, full = FaceSet.ARKIT52, mode == FACE_MODE_ARKIT_FULL
        n = face_set.count
        if full:
            end = offset + n
            if len(data) < end:
                raise WireError(f"truncated: {face_set.key} face needs {n} weights")
            return FaceUpdate(face_set, tuple(data[offset:end]), True), end
        end = offset + face_set.mask_size
        if len(data) < end:
            raise WireError("truncated: face mask")
        mask = int.from_bytes(data[offset:end], "big")
        if mask >> n:
            raise WireError(f"face mask sets bits beyond the {n} weights of {face_set.key}")
        indices = [i for i in range(n) if mask >> i & 1]
        if len(data) < end + len(indices):
            raise WireError(f"truncated: face mask announces {len(indices)} weights")
        levels: list[int | None] = [None] * n
        for i, level in zip(indices, data[end : end + len(indices)], strict=True):
            levels[i] = level
        return FaceUpdate(face_set, tuple(levels), False), end + len(indices)


class FaceEncoder:
    """Sender side: turns each new face into the cheapest update that keeps receivers right.

    Sends the whole face on the first call, every `full_every` calls and after `force_full()` (say,
    when someone joins); otherwise only weights whose quantized level differs from the last one sent,
    or nothing (None) when no level changed. A changed-only update never costs more than a full one:
    when it would, the full one is sent instead.
    """

    def __init__(self, face_set: FaceSet = FaceSet.ARKIT52, full_every: int = 30) -> None:
        if full_every < 1:
            raise ValueError(f"full_every must be at least 1, got {full_every}")
        self.face_set = face_set
        self.full_every = full_every
        self._count, self._mask_size = face_set.count, face_set.mask_size
        self._shape = (face_set.count,)
        self._last: npt.NDArray[np.uint8] | None = None
        self._since_full = 0

    def force_full(self) -> None:
        self._last = None

    def update(self, face: Face | MetaFace | npt.ArrayLike) -> FaceUpdate | None:
        step = self._next(face)
        if step is None:
            return None
        levels, changed = step
        if changed is None:
            return FaceUpdate(self.face_set, tuple(levels.tolist()), True)
        values: list[int | None] = [None] * self.face_set.count
        now = levels.tolist()
        for i in changed.tolist():
            values[i] = now[i]
        return FaceUpdate(self.face_set, tuple(values), False)

    def encode(self, face: Face | MetaFace | npt.ArrayLike) -> tuple[int, bytes] | None:
        """As `update`, but the STATE's face mode and block straight away (what the update's `mode()`
        and `encode_block()` give), without building a FaceUpdate: a headset's uplink, 60 a second."""
        step = self._next(face)
        if step is None:
            return None
        levels, changed = step
        if changed is None:
            full, body = True, levels.tobytes()
        else:
            mask = 0
            for i in changed.tolist():
                mask |= 1 << i
            full, body = False, mask.to_bytes(self._mask_size, "big") + levels[changed].tobytes()
        if self.face_set is FaceSet.ARKIT52:
            return (FACE_MODE_ARKIT_FULL if full else FACE_MODE_ARKIT_CHANGED), body
        kind = EXTENDED_FULL if full else EXTENDED_CHANGED
        return FACE_MODE_EXTENDED, bytes((int(self.face_set), kind)) + body

    def _next(
        self, face: Face | MetaFace | npt.ArrayLike
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.intp] | None] | None:
        """The levels this face sends and the indices that changed (None: all, a full update); None
        when no level changed. Moves the encoder on."""
        levels = weight_levels(face.weights if isinstance(face, Face | MetaFace) else face, "face weight")
        if levels.shape != self._shape:
            raise WireError(f"{self.face_set.key} has {self._count} weights, got shape {levels.shape}")
        n = self._count
        self._since_full += 1
        if self._last is not None and self._since_full < self.full_every:
            changed = (levels != self._last).nonzero()[0]  # the method: np.nonzero's wrapper costs more
            if changed.size == 0:
                return None
            if self._mask_size + changed.size < n:
                self._last = levels
                return levels, changed
        self._last = levels
        self._since_full = 0
        return levels, None


SEQ_STALE_WINDOW = 4096  # a value this many sequence numbers behind what we hold is old, not wrapped


def seq_is_older(seq: int, than: int) -> bool:
    """Serial-number comparison of u16 sequence numbers: `seq` came before `than` (RFC 1982 style)."""
    return 0 < ((than - seq) & 0xFFFF) < SEQ_STALE_WINDOW


class FaceAccumulator:
    """Receiver side: the latest known face of one sender, built from full and changed updates.

    `apply` takes the update and its message's sequence number; a weight is only overwritten by a
    newer message than the one that last set it. Switching face set starts afresh. `complete` says
    whether every weight has been heard since then (before that, unheard weights read as 0).
    """

    def __init__(self) -> None:
        self.face_set: FaceSet | None = None
        self._levels = np.zeros(0, dtype=np.uint8)
        self._seqs = np.zeros(0, dtype=np.int64)
        self._heard = np.zeros(0, dtype=bool)

    @property
    def complete(self) -> bool:
        return self.face_set is not None and bool(self._heard.all())

    def apply(self, update: FaceUpdate, seq: int | None = None) -> bool:
        """Merge an update; True when any weight changed."""
        if update.face_set is not self.face_set:
            n = update.face_set.count
            self.face_set = update.face_set
            self._levels = np.zeros(n, dtype=np.uint8)
            self._seqs = np.full(n, -1, dtype=np.int64)
            self._heard = np.zeros(n, dtype=bool)
        changed = False
        for i, level in enumerate(update.levels):
            if level is None:
                continue
            if (
                seq is not None
                and self._heard[i]
                and self._seqs[i] >= 0
                and seq_is_older(seq, int(self._seqs[i]))
            ):
                continue
            changed |= bool(self._levels[i] != level)
            self._levels[i] = level
            self._heard[i] = True
            self._seqs[i] = -1 if seq is None else seq
        return changed

    def weights(self) -> npt.NDArray[np.float32]:
        """0..1 weights in the current set's order (empty before any update)."""
        return (self._levels.astype(np.float32) / WEIGHT_LEVELS).astype(np.float32)

    def arkit(self) -> Face:
        """The face as ARKit's 52, mapping a Meta face (see emulator.model.meta_face); neutral when empty."""
        if self.face_set is None:
            return Face()
        if self.face_set is FaceSet.META70:
            return meta_to_arkit(MetaFace(self.weights()))
        return Face(self.weights())

    def meta(self) -> MetaFace | None:
        return MetaFace(self.weights()) if self.face_set is FaceSet.META70 else None
