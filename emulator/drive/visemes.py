"""Drive a face from a viseme timeline, with coarticulation so the mouth glides instead of snapping.

Real mouths move towards the next sound before it starts and let go of the last one after it ends.
Each run of one viseme becomes an envelope that rises over `attack` seconds from `lead` seconds before
the run starts and falls over `release` seconds from `lead` seconds before the run ends; the face is
the envelope-weighted sum of the visemes' ARKit shapes (`emulator.model.viseme_timeline.viseme_face`). Ramps
are smoothsteps, so weights and their rates change continuously. A sound shorter than `attack` never
reaches full weight, which is what a fast consonant looks like.

The face is a pure function of the time asked for, so a renderer can sample at any frame rate, go
back in time or skip ahead, and two receivers of the same keys show the same mouth.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from emulator.model.face import Face
from emulator.model.viseme_timeline import VISEME_COUNT, VisemeKey, VisemeTimeline, viseme_face


def _smoothstep(x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    return x * x * (3.0 - 2.0 * x)


class VisemeFaceDriver:
    """Face at time t from viseme keys. Keys may be added while running (from the wire, in any order).

    Not thread-safe: one owner thread (the renderer's or the sender's) adds keys and asks for faces.
    """

    def __init__(
        self,
        timeline: VisemeTimeline | Iterable[VisemeKey] = (),
        *,
        attack: float = 0.06,
        release: float = 0.08,
        lead: float = 0.03,
        intensity: float = 1.0,
        period: float | None = None,
    ) -> None:
        if attack <= 0 or release <= 0 or lead < 0 or not 0 <= intensity <= 2:
            raise ValueError("attack and release must be > 0 s, lead >= 0 s, intensity 0..2")
        if period is not None and not period > 0:
            raise ValueError(f"a looping timeline needs a period > 0 s, got {period}")
        self.period = period
        """When set, the timeline repeats every `period` seconds (a looping SpeechSource's `duration`)."""
        self.attack = attack
        self.release = release
        self.lead = lead
        self.intensity = intensity
        self._keys: list[VisemeKey] = []
        self._times: list[float] = []
        self.add(timeline)

    def add(self, keys: Iterable[VisemeKey]) -> None:
        """Merge keys in; a key at the same time as an existing one goes after it (and so wins)."""
        for key in keys:
            i = bisect.bisect_right(self._times, key.time)
            self._keys.insert(i, key)
            self._times.insert(i, key.time)

    def forget_before(self, t: float) -> None:
        """Drop keys that can no longer shape the face at `t` or later (bounded memory on a stream)."""
        horizon = t + self.lead - max(self.attack, self.release) - 1.0
        cut = bisect.bisect_left(self._times, horizon) - 1  # keep the key in force at the horizon
        if cut > 0:
            del self._keys[:cut]
            del self._times[:cut]

    def __len__(self) -> int:
        return len(self._keys)

    def activations(self, t: float) -> npt.NDArray[np.float32]:
        """The 15 viseme weights at `t`, summing to at most 1."""
        act = np.zeros(VISEME_COUNT, dtype=np.float32)
        keys, times = self._keys, self._times
        if self.period is not None:
            t %= self.period
        aim = t + self.lead
        last = bisect.bisect_right(times, aim) - 1
        if last < 0:
            return act
        # Runs that ended within the longest ramp still fade out; earlier ones are done.
        horizon = aim - max(self.attack, self.release)
        first = last
        while first > 0 and times[first] > horizon:
            first -= 1
        i = first
        while i <= last:
            key = keys[i]
            start, weight = times[i], key.weight
            j = i + 1
            while j < len(keys) and keys[j].viseme == key.viseme:
                weight = max(weight, keys[j].weight)
                j += 1
            end = times[j] if j < len(keys) else math.inf
            rise = _smoothstep((aim - start) / self.attack)
            fall = 1.0 - _smoothstep((aim - end) / self.release)
            act[key.viseme] += weight * min(rise, fall)
            i = j
        total = float(act.sum())
        if total > 1.0:
            act /= total
        return act

    def sample(self, t: float) -> Face:
        """`face_at(t)`: makes this a FaceDriver (`emulator.drive.faces`), e.g. `Combined([it, Blink()])`."""
        return self.face_at(t)

    def face_at(self, t: float, out: Face | None = None) -> Face:
        """The ARKit face at `t` (seconds, the timeline's clock); writes into `out` when given."""
        act = self.activations(t)
        if self.intensity != 1.0:
            act *= self.intensity
        return viseme_face(act, out)
