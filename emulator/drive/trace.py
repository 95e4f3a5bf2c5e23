"""Replaying recorded head poses from a JSONL trace.

The format is one JSON object per line, times in seconds, positions in metres, orientations as unit
quaternions in OpenXR order and axes (+y up, -z forward)::

    {"t": 0.0, "p": [0.0, 1.6, 0.0], "q": [0.0, 0.0, 0.0, 1.0]}
    {"t": 0.1, "p": [0.0, 1.6, -0.1], "q": [0.0, 0.0, 0.0, 1.0]}

`t` must increase strictly from line to line (it need not start at 0); other keys are ignored, so a
richer recording can still be replayed; blank lines are skipped. Between samples the pose is
interpolated (`Pose.interpolate`: linear position, spherical orientation). By default the trace is
re-anchored so its first pose sits at the placement (position and heading; the recorded pitch and
roll are kept) and loops when it ends; `,absolute` replays it where it was recorded and `,once`
holds the last pose.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.drive.errors import TraceError
from emulator.drive.spec import check_time, level, seconds_to_us
from emulator.model.errors import ModelError
from emulator.model.pose import Pose, Quat, Vec3
from emulator.wire.quantize import position_problem


@dataclass(frozen=True)
class TraceMotion:
    """Recorded poses at strictly increasing times (seconds since the trace's first sample)."""

    times: tuple[float, ...]
    poses: tuple[Pose, ...]
    loop: bool = True

    @property
    def duration(self) -> float:
        return self.times[-1]

    def sample(self, t: float) -> Pose:
        t = check_time(t)
        u = t % self.duration if self.loop and self.duration > 0 else t
        i = bisect.bisect_right(self.times, u)
        if i >= len(self.times):
            pose = self.poses[-1]
        elif i == 0:
            pose = self.poses[0]
        else:
            t0, t1 = self.times[i - 1], self.times[i]
            pose = self.poses[i - 1].interpolate(self.poses[i], (u - t0) / (t1 - t0))
        return pose.with_timestamp(seconds_to_us(t))


def _numbers(value: Any, count: int, key: str, where: str) -> list[float]:
    if not isinstance(value, list) or len(value) != count:
        raise TraceError(f"{where}: {key!r} must be a list of {count} numbers")
    out: list[float] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise TraceError(f"{where}: {key!r} must be a list of {count} numbers, found {item!r}")
        try:
            number = float(item)
        except OverflowError:
            raise TraceError(f"{where}: {key!r} holds a number too large to use") from None
        if not math.isfinite(number):
            raise TraceError(f"{where}: {key!r} holds a non-finite number")
        out.append(number)
    return out


def jsonl_records(text: str, source: str) -> Iterator[tuple[str, Any]]:
    """(where, parsed line) for each non-blank line of JSONL text; `where` names `source` and the line
    for errors, and a line that is not JSON is a `TraceError` saying so."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        try:
            yield where, json.loads(line)
        except (ValueError, RecursionError):
            raise TraceError(f"{where}: not a JSON object") from None


def parse_trace(text: str, source: str = "<trace>") -> list[tuple[float, Pose]]:
    """(t, pose) pairs from JSONL text; any problem is a `TraceError` naming `source` and the line."""
    samples: list[tuple[float, Pose]] = []
    for where, record in jsonl_records(text, source):
        if not isinstance(record, dict):
            raise TraceError(f"{where}: expected an object with t, p and q")
        missing = [k for k in ("t", "p", "q") if k not in record]
        if missing:
            raise TraceError(f"{where}: missing {', '.join(missing)}")
        (t,) = _numbers([record["t"]], 1, "t", where)
        p = _numbers(record["p"], 3, "p", where)
        if (problem := position_problem(p)) is not None:
            raise TraceError(f"{where}: {problem}")
        q = _numbers(record["q"], 4, "q", where)
        if samples and t <= samples[-1][0]:
            raise TraceError(f"{where}: t={t:g} does not come after the previous t={samples[-1][0]:g}")
        try:
            pose = Pose(Vec3.of(p), Quat.of(q))
        except ModelError as error:
            raise TraceError(f"{where}: {error}") from None
        samples.append((t, pose))
    if not samples:
        raise TraceError(f"{source}: the trace holds no poses")
    return samples


def read_trace_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as error:
        raise TraceError(f"cannot read trace {path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise TraceError(f"{path}: not UTF-8 text (byte {error.start})") from None


def trace_motion(
    samples: list[tuple[float, Pose]], start: Pose, *, loop: bool = True, absolute: bool = False
) -> TraceMotion:
    """A motion from parsed samples: times shifted to start at 0, poses re-anchored unless `absolute`."""
    t0 = samples[0][0]
    poses = [pose for _, pose in samples]
    if not absolute:
        anchor = level(start).compose(level(poses[0]).inverse())
        poses = [anchor.compose(pose) for pose in poses]
    times = tuple(t - t0 for t, _ in samples)
    return TraceMotion(times, tuple(p.with_timestamp(0) for p in poses), loop)


def load_trace(path: Path, start: Pose, *, loop: bool = True, absolute: bool = False) -> TraceMotion:
    return trace_motion(parse_trace(read_trace_text(path), str(path)), start, loop=loop, absolute=absolute)


def trace_record(t: float, pose: Pose) -> dict[str, Any]:
    """One trace sample as a JSON-ready dict (micrometre and ~1e-7 rad precision is plenty)."""
    p = [round(v, 6) for v in pose.position.as_tuple()]
    q = [round(v, 7) for v in pose.orientation.as_tuple()]
    return {"t": round(t, 6), "p": p, "q": q}


def trace_line(t: float, pose: Pose) -> str:
    """One JSONL line of the trace format (no newline)."""
    return json.dumps(trace_record(t, pose))


def write_trace(path: Path, samples: Iterable[tuple[float, Pose]]) -> None:
    path.write_text("".join(trace_line(t, pose) + "\n" for t, pose in samples), encoding="utf-8")
