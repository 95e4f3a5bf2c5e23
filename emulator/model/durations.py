"""Durations as people write them: `250ms`, `20s`, `5m`, `1h`, `2d`; one parser for every option and file."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(?P<number>[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*(?P<unit>ms|s|m|h|d)?\s*$", re.I)


def parse_duration(text: str, *, bare_unit: str | None = "s", allow_zero: bool = False) -> float:
    """`250ms`, `20s`, `5m`, `1h`, `2d` → seconds; a bare number is in `bare_unit`, or refused if None.

    Refusing bare numbers is for options that took milliseconds before, so an old `500` is not
    silently read as 500 s.
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (examples: 250ms, 20s, 5m)")
    number = float(match["number"])
    unit = (match["unit"] or "").lower()
    if not unit:
        if bare_unit is None:
            raise ValueError(f"{text!r} needs a unit: {text}ms or {text}s?")
        unit = bare_unit
    seconds = number * _UNITS[unit]
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(f"a duration must be positive, got {text!r}")
    return seconds
