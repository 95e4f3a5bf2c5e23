"""The small grammar shared by `--motion` and `--face` specs.

A built-in driver is `name` or `name:key=value,key=value` (`orbit:radius=2,period=12`); a file driver
is `kind:PATH` optionally followed by flags (`trace:walk.jsonl,once`). Keeping both forms here means
the CLI, the swarm and the app all accept exactly the same strings. The time and placement helpers
here are the ones every driver shares.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from emulator.drive.errors import DriveError
from emulator.model.errors import ModelError
from emulator.model.pose import Pose, Quat, Vec3

# Eye height of a standing adult: where a headset is when nobody said otherwise.
DEFAULT_EYE_HEIGHT_M = 1.6


def split_spec(spec: str) -> tuple[str, str]:
    """`"orbit:radius=2"` → ("orbit", "radius=2"); the name is lower-cased, the rest kept as written."""
    name, _, rest = spec.strip().partition(":")
    return name.strip().lower(), rest.strip()


def parse_params(text: str, allowed: Iterable[str], *, what: str) -> dict[str, str]:
    """`"radius=2,period=12"` → {"radius": "2", "period": "12"}; unknown or malformed keys are errors."""
    allowed_set = set(allowed)
    params: dict[str, str] = {}
    if not text:
        return params
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or not key or not value.strip():
            raise DriveError(f"{what}: expected key=value, got {item.strip()!r}")
        if key not in allowed_set:
            known = ", ".join(sorted(allowed_set)) or "none"
            raise DriveError(f"{what}: unknown option {key!r} (known: {known})")
        params[key] = value.strip()
    return params


def param_float(
    params: dict[str, str],
    key: str,
    default: float,
    *,
    what: str,
    low: float = -math.inf,
    high: float = math.inf,
) -> float:
    """A finite number option within [low, high], or the default when it is absent."""
    if key not in params:
        return default
    try:
        value = float(params[key])
    except ValueError:
        raise DriveError(f"{what}: option {key} must be a number, got {params[key]!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise DriveError(f"{what}: option {key}={params[key]} is outside {low:g}..{high:g}")
    return value


def split_flags(rest: str, flags: Iterable[str]) -> tuple[str, set[str]]:
    """`"a,b.csv,once,nohead"` → ("a,b.csv", {"once", "nohead"}): known trailing flags come off a path.

    Only recognised words are taken, from the end, so a path that itself contains a comma still works.
    """
    known = set(flags)
    found: set[str] = set()
    path = rest
    while "," in path:
        head, _, tail = path.rpartition(",")
        word = tail.strip().lower()
        if word not in known:
            break
        found.add(word)
        path = head
    return path.strip(), found


def placement(at: str | None = None, yaw_degrees: float = 0.0) -> Pose:
    """Where a headset starts, from `--at X,Y,Z` and `--yaw DEG`; standing at the origin by default."""
    if at is None or not at.strip():
        position = Vec3(0.0, DEFAULT_EYE_HEIGHT_M, 0.0)
    else:
        parts = at.split(",")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise DriveError(f"placement: expected X,Y,Z in metres, got {at!r}") from None
        if len(values) != 3 or not all(math.isfinite(v) for v in values):
            raise DriveError(f"placement: expected three finite numbers X,Y,Z, got {at!r}")
        position = Vec3(values[0], values[1], values[2])
    if not math.isfinite(yaw_degrees):
        raise DriveError(f"placement: yaw must be finite, got {yaw_degrees}")
    try:
        return Pose(position, Quat.from_yaw_degrees(yaw_degrees))
    except ModelError as error:
        raise DriveError(f"placement: {error}") from None


def level(pose: Pose) -> Pose:
    """The pose with its pitch and roll removed: the horizontal frame a walking motion moves in."""
    yaw, _, _ = pose.yaw_pitch_roll()
    return Pose(pose.position, Quat.from_euler(yaw), pose.timestamp_us)


def seconds_to_us(t: float) -> int:
    return round(t * 1_000_000)


def check_time(t: float) -> float:
    """Times before the start clamp to the start; a non-finite time is a caller bug worth naming."""
    if not math.isfinite(t):
        raise DriveError(f"motion sampled at a non-finite time {t}")
    return max(0.0, t)
