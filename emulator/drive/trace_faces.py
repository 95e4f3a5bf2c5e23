"""The faces in a JSONL trace (`drive` writes each sample's non-zero ARKit weights under `face`):
`--face trace:FILE.jsonl[,once]`, and what `--motion trace:FILE` brings along with the default face.

Between samples the weights are interpolated linearly; a trace loops unless `,once` holds its last face.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from pathlib import Path

from emulator.drive.errors import TraceError
from emulator.drive.spec import check_time
from emulator.drive.trace import jsonl_records, read_trace_text
from emulator.model.errors import ModelError
from emulator.model.face import Face


@dataclass(frozen=True)
class TraceFace:
    times: tuple[float, ...]
    faces: tuple[Face, ...]
    loop: bool = True

    def sample(self, t: float) -> Face:
        t = check_time(t)
        duration = self.times[-1]
        u = t % duration if self.loop and duration > 0 else t
        i = bisect.bisect_right(self.times, u)
        if i >= len(self.times):
            return self.faces[-1].copy()
        if i == 0:
            return self.faces[0].copy()
        t0, t1 = self.times[i - 1], self.times[i]
        a = (u - t0) / (t1 - t0)
        return Face((1 - a) * self.faces[i - 1].weights + a * self.faces[i].weights)


def parse_trace_faces(text: str, source: str = "<trace>") -> list[tuple[float, Face]]:
    """(t, face) for every line that carries a `face` object; a malformed one is a `TraceError`."""
    samples: list[tuple[float, Face]] = []
    for where, record in jsonl_records(text, source):
        if not isinstance(record, dict) or "face" not in record:
            continue
        t, face = record.get("t"), record["face"]
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            raise TraceError(f"{where}: 't' must be a number")
        if not isinstance(face, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in face.values()
        ):
            raise TraceError(f"{where}: 'face' must map ARKit names to numbers")
        try:
            weights = Face.from_mapping(face)
        except ModelError as error:
            raise TraceError(f"{where}: {error}") from None
        if samples and t <= samples[-1][0]:
            raise TraceError(f"{where}: t={t:g} does not come after the previous t={samples[-1][0]:g}")
        samples.append((float(t), weights))
    return samples


def trace_faces(samples: list[tuple[float, Face]], loop: bool = True) -> TraceFace:
    t0 = samples[0][0]
    return TraceFace(tuple(t - t0 for t, _ in samples), tuple(f for _, f in samples), loop)


def load_trace_faces(path: Path, *, loop: bool = True) -> TraceFace | None:
    """The trace's faces, or None when no line carries one."""
    samples = parse_trace_faces(read_trace_text(path), str(path))
    return trace_faces(samples, loop) if samples else None
