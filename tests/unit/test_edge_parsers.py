"""The parsers a peer reaches before it is trusted: signaling messages and join tokens.

Whatever arrives (random JSON, deep nesting, wrong types, huge numbers), each answers with its own
error type, never a RecursionError or anything else. Hypothesis draws seeds and each seed builds
CASES cases with a plain `random.Random` (hypothesis' own recursive strategies cost ~5 ms a case
here): 2,100 seeds, 10,500 cases in all, a few seconds.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import random
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.net.signaling.tokens import TokenError, verify
from emulator.room.edge import ConnectRate, EdgeLimits, PendingJoins
from emulator.wire.bounded_json import JsonBoundsError, loads_bounded, nesting_depth
from emulator.wire.signaling import MAX_PREJOIN_BYTES, Join, SignalingError, parse_signaling

SECRET = b"edge-secret"


def fuzz(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), database=None)


SCALARS: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**63,
    10**30,
    1.5,
    1e400,
    float("nan"),
    "",
    "x",
    "lobby",
    "ü\n",
]


def random_json(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value up to 5 deep; cheap enough for thousands of cases a second."""
    roll = rng.random()
    if depth >= 5 or roll < 0.5:
        return rng.choice(SCALARS) if rng.random() < 0.7 else rng.randint(-(2**40), 2**40)
    if roll < 0.75:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {
        rng.choice([*SIGNALING_KEYS, "a", "b"]): random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))
    }


def deep_text(rng: random.Random) -> str:
    """Nesting written out as text, up to 4,000 deep: what no json.dumps of a small value reaches."""
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    depth = rng.choice([rng.randint(0, 40), rng.randint(0, 4000)])
    middle = rng.choice(["", "1", '"x"', "[]", "{}"])
    return opener * depth + middle + closer * rng.choice([depth, rng.randint(0, depth)])


seeds = st.integers(0, 2**32 - 1)
CASES = 5
SIGNALING_KEYS = ["type", "room", "token", "name", "you", "participants", "mids", "sdp", "id", "number"]
KINDS = ["join", "welcome", "offer", "answer", "joined", "left", "tracks", "leave", "error", "x"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(header: str, claims: str) -> str:
    head, body = b64(header.encode()), b64(claims.encode())
    return f"{head}.{body}.{b64(hmac.new(SECRET, f'{head}.{body}'.encode(), hashlib.sha256).digest())}"


# --- signaling ------------------------------------------------------------------------------------


@pytest.mark.parametrize("room", ["lobby\nINFO forged line", "a b", "", "x" * 65, "ünïcode", "../etc", "a/b"])
def test_a_join_for_a_room_outside_the_rule_is_refused(room: str) -> None:
    text = json.dumps({"type": "join", "room": room, "token": "t", "name": "n"})
    with pytest.raises(SignalingError, match="room name"):
        parse_signaling(text)


@pytest.mark.parametrize("room", ["lobby", "A-b_c.9", "x" * 64])
def test_a_join_for_a_room_inside_the_rule_parses(room: str) -> None:
    message = parse_signaling(json.dumps({"type": "join", "room": room, "token": "t", "name": "n"}))
    assert isinstance(message, Join) and message.room == room


@pytest.mark.parametrize(
    "text", ["[" * 3000, '{"type":' + "[" * 3000, '{"type":"join","x":' + "{" * 20 + "}" * 20 + "}"]
)
def test_deep_nesting_is_a_signaling_error(text: str) -> None:
    with pytest.raises(SignalingError, match="nested deeper"):
        parse_signaling(text)


def test_before_joining_only_a_join_sized_message_is_parsed() -> None:
    offer = json.dumps({"type": "offer", "sdp": "v=0\r\n" * 10_000})
    assert parse_signaling(offer).TYPE == "offer"
    with pytest.raises(SignalingError, match="larger than"):
        parse_signaling(offer, max_bytes=MAX_PREJOIN_BYTES)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"a": "[[[[{{{{" * 100, "b": ['"\\]', ["x"]]})
    assert nesting_depth(text) == 3
    assert loads_bounded(text, max_bytes=10_000)["b"] == ['"\\]', ["x"]]
    with pytest.raises(JsonBoundsError):
        loads_bounded("[[[]]]", max_bytes=100, max_depth=2)


@fuzz(600)
@given(seeds)
def test_any_json_object_is_a_message_or_a_signaling_error(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(CASES):
        body = {rng.choice(SIGNALING_KEYS): random_json(rng) for _ in range(rng.randint(0, 6))}
        body["type"] = rng.choice(KINDS)
        with contextlib.suppress(SignalingError):
            parse_signaling(json.dumps(body))


@fuzz(500)
@given(seeds)
def test_nesting_and_garbage_are_signaling_errors(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(CASES):
        if rng.random() < 0.5:
            text: str | bytes = deep_text(rng)
        elif rng.random() < 0.5:
            text = "".join(rng.choice('[]{}"\\:,1 a') for _ in range(rng.randint(0, 300)))
        else:
            text = rng.randbytes(rng.randint(0, 200))
        with contextlib.suppress(SignalingError):
            parse_signaling(text)


# --- tokens ---------------------------------------------------------------------------------------


def token_refused_or_granted(token: str) -> None:
    try:
        grant = verify(SECRET, token, room="lobby", now=time.time())
    except TokenError as error:
        assert error.code.startswith("token-")
        return
    assert isinstance(grant.may_publish, bool) and grant.expires_at <= time.time() + 24 * 3600 + 60


@fuzz(500)
@given(seeds)
def test_any_signed_header_and_claims_are_a_grant_or_a_token_error(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(CASES):
        parts = [deep_text(rng) if rng.random() < 0.3 else json.dumps(random_json(rng)) for _ in range(2)]
        token_refused_or_granted(sign(*parts))


NOW = int(time.time())


CLAIM_VALUES: dict[str, list[Any]] = {
    "room": ["lobby", "other", None, 1, ""],
    "sub": ["alice", "", None, 7, ["a"]],
    "exp": SCALARS,
    "nbf": SCALARS,
    "pub": SCALARS,
}


@fuzz(500)
@given(seeds)
def test_claims_of_every_type_are_a_grant_or_a_token_error(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(CASES):
        claims: dict[str, Any] = {}
        for key, values in CLAIM_VALUES.items():
            if rng.random() < 0.8:
                timely = key in ("exp", "nbf") and rng.random() < 0.6
                claims[key] = NOW + rng.randint(-10, 200_000) if timely else rng.choice(values)
        token_refused_or_granted(sign('{"alg":"HS256","typ":"JWT"}', json.dumps(claims)))


def test_pending_joins_cap_remote_addresses_but_not_loopback() -> None:
    pending = PendingJoins(EdgeLimits(max_pending=10, max_pending_per_address=2))
    assert [pending.admit("192.0.2.7") for _ in range(3)][2] is not None
    assert all(pending.admit(a) is None for a in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] * 2)
    assert all(pending.admit("127.0.0.1") is None for _ in range(2))  # 2 + 6 + 2 = the total cap
    assert pending.admit("127.0.0.1") is not None and pending.refused == 2
    pending.release("192.0.2.7")
    assert pending.admit("198.51.100.1") is None


def test_connect_rate_is_per_address_loopback_included_and_forgets_refilled_buckets() -> None:
    rate = ConnectRate(EdgeLimits(max_connects_per_second=20.0, max_connect_burst=40))
    t = 100.0
    assert all(rate.admit("127.0.0.1", t) is None for _ in range(40))  # a swarm of 40 at once
    refusal = rate.admit("127.0.0.1", t)
    assert refusal is not None and "20 a second, 40 at once" in refusal and rate.refused == 1
    assert rate.admit("192.0.2.7", t) is None  # another address has its own bucket
    assert [rate.admit("127.0.0.1", t + 0.101) is None for _ in range(3)] == [True, True, False]  # 2 in 0.1 s
    assert rate.refused == 2
    rate.forget_full(t + 1.0)  # neither has refilled yet (40 at 20 a second takes 2 s)
    assert set(rate.buckets) == {"127.0.0.1", "192.0.2.7"}
    rate.forget_full(t + 2.05)
    assert set(rate.buckets) == {"127.0.0.1"}  # 192.0.2.7 last connected 2.05 s ago
    rate.forget_full(t + 2.11)
    assert not rate.buckets
    assert all(rate.admit("127.0.0.1", t + 2.11) is None for _ in range(40))  # full again


def test_an_ipv6_host_counts_as_its_64_whatever_address_it_picks_in_it() -> None:
    # A host may take any address of its /64 (RFC 8981 privacy addresses): rotating them must not
    # reset either limit, while a neighbouring /64 is someone else.
    pending = PendingJoins(EdgeLimits(max_pending=10, max_pending_per_address=2))
    assert pending.admit("2001:db8:1:2::a") is None
    assert pending.admit("2001:db8:1:2:ffff::b%eth0") is None
    refusal = pending.admit("2001:db8:1:2:1234:5678:9abc:def0")
    assert refusal is not None and "from one address (2)" in refusal
    assert pending.admit("2001:db8:1:3::a") is None, "another /64"
    pending.release("2001:db8:1:2::a")
    assert pending.admit("2001:db8:1:2::c") is None, "a slot of the /64 came free"
    assert dict(pending.by_address) == {"2001:db8:1:2::/64": 2, "2001:db8:1:3::/64": 1}

    rate = ConnectRate(EdgeLimits(max_connects_per_second=20.0, max_connect_burst=3))
    assert [rate.admit(f"2001:db8:7:7::{n:x}", 50.0) is None for n in range(1, 5)] == [True] * 3 + [False]
    assert rate.admit("2001:db8:7:8::1", 50.0) is None


def test_a_dual_stack_socket_s_mapped_ipv4_counts_as_the_ipv4_address() -> None:
    from emulator.room.edge import client_key

    assert client_key("::ffff:192.0.2.7") == client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("2001:DB8::1") == "2001:db8::/64"
    assert client_key("not an address") == "not an address"
    pending = PendingJoins(EdgeLimits(max_pending=10, max_pending_per_address=1))
    assert pending.admit("192.0.2.7") is None
    assert pending.admit("::ffff:192.0.2.7") is not None
