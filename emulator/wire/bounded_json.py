"""JSON parsed with its size and nesting bounded before the parser sees it.

Python's `json` recurses once per `[` or `{`: 3,000 of them raise RecursionError (a traceback, not a
ValueError), and a flood of them costs the whole loop. Everything that parses JSON from a peer before
or after it is trusted (signaling messages, token headers and claims) goes through `loads_bounded`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

MAX_DEPTH = 16  # signaling's deepest message (welcome → participants → participant) nests 3 deep

# A JSON string, escapes included: brackets inside strings do not nest anything.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# Each byte as a step: `[`/`{` → +1, `]`/`}` → -1, anything else (UTF-8 continuations included) 0.
_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


class JsonBoundsError(ValueError):
    """JSON that is too large or nested too deeply to parse; the message says which."""


def nesting_depth(text: str) -> int:
    """The deepest `[`/`{` nesting in `text` (strings skipped); linear, no recursion, numpy-fast."""
    outside_strings = _STRING.sub("", text).encode("utf-8", "surrogatepass")
    if not outside_strings:
        return 0
    steps = _STEP[np.frombuffer(outside_strings, dtype=np.uint8)]
    return max(0, int(np.cumsum(steps, dtype=np.int32).max()))


def loads_bounded(data: str | bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads(data)`, refusing with JsonBoundsError what is over `max_bytes` or `max_depth` deep.

    Malformed JSON raises ValueError (JSONDecodeError or UnicodeDecodeError) as `json.loads` does.
    """
    if len(data) > max_bytes:
        raise JsonBoundsError(f"larger than {max_bytes} bytes")
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    # Counting opening brackets is an upper bound on the depth, and cheap for the common case.
    if text.count("[") + text.count("{") > max_depth and nesting_depth(text) > max_depth:
        raise JsonBoundsError(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except RecursionError:  # unreachable after the depth check; kept so no traceback ever escapes
        raise JsonBoundsError(f"nested deeper than {max_depth} levels") from None
