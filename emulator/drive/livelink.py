"""Playing a Live Link Face CSV recording as a face (and, optionally, head rotation).

The file is what Epic's Live Link Face app writes per take: a header row
`Timecode,BlendShapeCount,EyeBlinkLeft,…,TongueOut,HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,…` and one
row per captured frame. Blendshape columns are matched to the 52 ARKit names case-insensitively
(`emulator.model.face.arkit_index`); columns this project has no use for (`BlendShapeCount`, the eye
angles) are ignored. Weights are clamped to 0..1.

Timecodes are `HH:MM:SS:FF.fff`: frame `FF` (plus a fraction) within second `SS` at the capture rate.
The file does not state that rate, so it is inferred: the smallest common rate (24, 25, 30, 48, 50, 60,
120) above the largest frame number seen, or 60 fps (the app's default) when the take never reaches a
second boundary. `HeadYaw/HeadPitch/HeadRoll` are read as radians in this project's convention
(positive yaw turns left, positive pitch looks up); when present they can turn the head on top of the
motion (`HeadFromFace`). That sign convention is an assumption: the app does not document it.

A broken file gives one `FaceCsvError` naming the file, line and column.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from emulator.drive.errors import FaceCsvError
from emulator.drive.motions import Motion
from emulator.drive.spec import check_time
from emulator.model.face import ARKIT_COUNT, Face, arkit_index
from emulator.model.pose import Pose, Quat

STANDARD_RATES = (24, 25, 30, 48, 50, 60, 120)
DEFAULT_RATE = 60
HEAD_COLUMNS = ("headyaw", "headpitch", "headroll")
_TIMECODE = re.compile(r"^(\d{1,3}):(\d{1,2}):(\d{1,2})[:;](\d{1,3}(?:\.\d*)?)$")


@dataclass(frozen=True)
class FaceTrack:
    """Frames of a recording: times (s, from 0), weights (n × 52) and optional head angles (n × 3)."""

    times: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float32]
    head: npt.NDArray[np.float64] | None = None
    loop: bool = True

    @property
    def duration(self) -> float:
        return float(self.times[-1])

    def _locate(self, t: float) -> tuple[int, int, float]:
        t = check_time(t)
        u = t % self.duration if self.loop and self.duration > 0 else t
        i = int(np.searchsorted(self.times, u, side="right"))
        if i >= len(self.times):
            return len(self.times) - 1, len(self.times) - 1, 0.0
        if i == 0:
            return 0, 0, 0.0
        t0, t1 = float(self.times[i - 1]), float(self.times[i])
        return i - 1, i, (u - t0) / (t1 - t0)

    def sample(self, t: float) -> Face:
        a, b, f = self._locate(t)
        return Face(self.weights[a] + (self.weights[b] - self.weights[a]) * np.float32(f))

    def head_rotation(self, t: float) -> Quat | None:
        """The recorded head rotation at `t`, or None when the file has none or it is switched off."""
        if self.head is None:
            return None
        a, b, f = self._locate(t)
        yaw, pitch, roll = self.head[a] + (self.head[b] - self.head[a]) * f
        return Quat.from_euler(float(yaw), float(pitch), float(roll))


@dataclass(frozen=True)
class HeadFromFace:
    """A motion whose head also turns as a face recording's head did (the rotation is head-local)."""

    base: Motion
    track: FaceTrack

    def sample(self, t: float) -> Pose:
        pose = self.base.sample(t)
        rotation = self.track.head_rotation(t)
        if rotation is None:
            return pose
        return Pose(pose.position, pose.orientation * rotation, pose.timestamp_us)


def _timecode(text: str, where: str) -> tuple[int, float]:
    """(whole seconds, frames) of one timecode."""
    match = _TIMECODE.match(text.strip())
    if match is None:
        raise FaceCsvError(f"{where}: timecode {text.strip()[:40]!r} is not HH:MM:SS:FF.fff")
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3])
    if minutes >= 60 or seconds >= 60:
        raise FaceCsvError(f"{where}: timecode {text.strip()!r} has minutes or seconds above 59")
    return hours * 3600 + minutes * 60 + seconds, float(match[4])


def infer_rate(frames: list[tuple[int, float]]) -> int:
    """The capture rate a take's timecodes imply (see the module docstring)."""
    largest = max(int(f) for _, f in frames)
    if len({s for s, _ in frames}) < 2 and largest < DEFAULT_RATE:
        return DEFAULT_RATE
    return next((r for r in STANDARD_RATES if r > largest), largest + 1)


@dataclass(frozen=True)
class _Header:
    names: list[str]
    time_column: int
    shape_columns: dict[int, int]  # CSV column → ARKit index
    head_columns: dict[int, int]  # CSV column → 0 yaw, 1 pitch, 2 roll


def _header(fields: list[str], where: str) -> _Header:
    names = [f.strip().lstrip("\ufeff") for f in fields]
    while names and not names[-1]:
        names.pop()
    keys = [n.lower() for n in names]
    if "timecode" not in keys:
        raise FaceCsvError(
            f"{where}: expected a header with a Timecode column, found {','.join(names)[:80]!r}"
        )
    shape_columns: dict[int, int] = {}
    head_columns: dict[int, int] = {}
    seen: set[str] = set()
    for column, (name, key) in enumerate(zip(names, keys, strict=True)):
        if key in seen and key:
            raise FaceCsvError(f"{where}: column {column + 1} ({name}) appears twice")
        seen.add(key)
        index = arkit_index(name)
        if index is not None:
            shape_columns[column] = index
        elif key in HEAD_COLUMNS:
            head_columns[column] = HEAD_COLUMNS.index(key)
    if not shape_columns:
        raise FaceCsvError(f"{where}: the header names none of the 52 ARKit blendshapes")
    return _Header(names, keys.index("timecode"), shape_columns, head_columns)


def parse_livelink_csv(
    text: str, source: str = "<csv>", *, loop: bool = True, drive_head: bool = True
) -> FaceTrack:
    """A `FaceTrack` from the text of a Live Link Face CSV; any problem is a `FaceCsvError`."""
    lines = text.splitlines()
    header: _Header | None = None
    line_numbers: list[int] = []
    stamps: list[tuple[int, float]] = []
    rows: list[npt.NDArray[np.float32]] = []
    heads: list[list[float]] = []
    try:
        for number, fields in enumerate(csv.reader(lines), start=1):
            where = f"{source} line {number}"
            if not fields or all(not f.strip() for f in fields):
                continue
            if header is None:
                header = _header(fields, where)
                continue
            names = header.names
            while len(fields) > len(names) and not fields[-1].strip():
                fields = fields[:-1]  # a trailing comma is harmless
            if len(fields) != len(names):
                raise FaceCsvError(
                    f"{where}: expected {len(names)} fields like the header, found {len(fields)}"
                )
            column = header.time_column
            stamps.append(_timecode(fields[column], f"{where}, column {column + 1} (Timecode)"))
            weights = np.zeros(ARKIT_COUNT, dtype=np.float32)
            head = [0.0, 0.0, 0.0]
            for column, index in header.shape_columns.items():
                weights[index] = min(1.0, max(0.0, _number(fields[column], where, column, names[column])))
            for column, axis in header.head_columns.items():
                head[axis] = _number(fields[column], where, column, names[column])
            line_numbers.append(number)
            rows.append(weights)
            heads.append(head)
    except csv.Error as error:
        raise FaceCsvError(f"{source}: unreadable CSV: {error}") from None
    if header is None:
        raise FaceCsvError(f"{source}: empty file, expected a Live Link Face header (Timecode,…)")
    if not rows:
        raise FaceCsvError(f"{source}: the header is followed by no frames")
    rate = infer_rate(stamps)
    times = np.array([s + f / rate for s, f in stamps], dtype=np.float64)
    backwards = np.flatnonzero(np.diff(times) < 0)
    if backwards.size:
        line = line_numbers[int(backwards[0]) + 1]
        raise FaceCsvError(f"{source} line {line}: the timecode is earlier than the one before")
    use_head = drive_head and len(header.head_columns) > 0
    return FaceTrack(
        times - times[0],
        np.stack(rows),
        np.array(heads, dtype=np.float64) if use_head else None,
        loop,
    )


def _number(text: str, where: str, column: int, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaceCsvError(
            f"{where}, column {column + 1} ({name}): {text.strip()[:40]!r} is not a number"
        ) from None
    if not math.isfinite(value):
        raise FaceCsvError(f"{where}, column {column + 1} ({name}): {text.strip()!r} is not a finite number")
    return value


def load_livelink_csv(path: Path, *, loop: bool = True, drive_head: bool = True) -> FaceTrack:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise FaceCsvError(f"cannot read face CSV {path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise FaceCsvError(f"{path}: not UTF-8 text (byte {error.start})") from None
    return parse_livelink_csv(text, str(path), loop=loop, drive_head=drive_head)
