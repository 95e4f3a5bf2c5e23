"""Hostile input: whatever arrives, the codec answers with a message or a WireError, never anything else.

11,500 generated cases in the normal run (the max_examples below): random bytes, random payloads behind
a valid header, mutated valid messages (bit flips, overwrites, cuts, insertions), random text, random
JSON values and mutated valid JSON objects. Whatever parses must re-encode and read back. Mutations
start from a fixed pool of varied valid messages (every fixture plus seeded random ones), which keeps
the run to seconds; hypothesis-built messages are exercised by the round-trip tests elsewhere.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.wire import WireError, from_json, parse_message, peek_header, stamp_sender, to_json
from emulator.wire.header import _VALID_FIRST_BYTES
from emulator.wire.json_twin import message_dict
from tests.support.wire_samples import message_pool

POOL = message_pool(80)
POOL_BYTES = [bytes(m) for m in POOL]
POOL_JSON = [json.dumps(message_dict(m)) for m in POOL]


# WIRE_FUZZ_SCALE=20 runs a deeper campaign by hand; the normal run uses the counts as written.
SCALE = int(os.environ.get("WIRE_FUZZ_SCALE", "1"))


def fuzz(n: int) -> settings:
    return settings(
        max_examples=n * SCALE, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )


def survive_bytes(data: bytes) -> None:
    """The whole contract for one input: only WireError, and what parses is a real message."""
    try:
        peek_header(data)
        stamp_sender(data, 0x1234)
    except WireError:
        pass
    try:
        message = parse_message(data)
    except WireError:
        return
    again = parse_message(bytes(message))
    assert type(again) is type(message)
    assert type(from_json(to_json(message))) is type(message)


def survive_json(text: str | bytes) -> None:
    try:
        message = from_json(text)
    except WireError:
        return
    assert type(parse_message(bytes(message))) is type(message)


@fuzz(3000)
@given(st.binary(max_size=1300))
def test_random_bytes(data: bytes) -> None:
    survive_bytes(data)


@fuzz(3000)
@given(st.sampled_from(sorted(_VALID_FIRST_BYTES)), st.binary(min_size=4, max_size=300))
def test_random_payloads_behind_a_valid_header(first: int, rest: bytes) -> None:
    survive_bytes(bytes((first,)) + rest)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    source = draw(st.sampled_from(POOL_BYTES))
    data = bytearray(source)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "cut", "insert", "delete", "append"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[at] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF, draw(st.integers(0, 255))]))
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        else:
            data += draw(st.binary(min_size=1, max_size=100))
    return bytes(data)


@fuzz(2500)
@given(mutated())
def test_mutated_valid_messages(data: bytes) -> None:
    survive_bytes(data)


@fuzz(1000)
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_random_text_as_json(text: str | bytes) -> None:
    survive_json(text)


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=8,
)
# Values a mutated field is most likely to trip over: edges of every range the codec checks.
junk = st.sampled_from(
    [None, True, False, -1, 0, 1, 2, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64, -0.0, 0.5, 1.0000001,
     1e308, -1e308, "", "x", "arkit52", "meta70", "aa", [], {}, [0, 0, 0], [0, 0, 0, 1], [0.0] * 52, {"a": 1}]
) | scalars  # fmt: skip


@fuzz(500)
@given(json_values)
def test_random_json_values(value: Any) -> None:
    survive_json(json.dumps(value))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:8]):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_json(draw: st.DrawFn) -> str:
    obj = json.loads(draw(st.sampled_from(POOL_JSON)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(obj)[1:] or [("v",)]))
        parent = obj
        for key in path[:-1]:
            parent = parent[key]
        op = draw(st.sampled_from(["replace", "delete", "add"]))
        key = path[-1]
        if op == "replace":
            parent[key] = copy.deepcopy(draw(junk))
        elif op == "delete" and isinstance(parent, dict):
            del parent[key]
        elif op == "delete":
            parent.pop(key)
        elif isinstance(parent, dict):
            parent[
                draw(st.sampled_from(["v", "pose", "face", "hands", "left", "x"]) | st.text(max_size=4))
            ] = copy.deepcopy(draw(junk))
        else:
            parent.append(copy.deepcopy(draw(junk)))
    return json.dumps(obj)


@fuzz(1500)
@given(mutated_json())
def test_mutated_valid_json(text: str) -> None:
    survive_json(text)
