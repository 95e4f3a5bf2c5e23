import time

import pytest

from emulator.model.durations import parse_duration
from emulator.net.signaling.tokens import Grant, TokenError, mint, verify

SECRET = b"room-secret"


def grant(room: str = "lobby", ttl: float = 3600) -> Grant:
    return Grant(room, "alice", time.time() + ttl)


def test_a_minted_token_admits_its_bearer_to_its_room() -> None:
    token = mint(SECRET, grant())
    admitted = verify(SECRET, token, room="lobby", now=time.time())
    assert admitted.identity == "alice" and admitted.may_publish


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("", "token-missing"),
        ("abc", "token-malformed"),
        ("a.b.c", "token-malformed"),
        (mint(b"other-secret", grant()), "token-forged"),
        (mint(SECRET, grant(ttl=-5)), "token-expired"),
        (mint(SECRET, grant(room="elsewhere")), "token-wrong-room"),
    ],
)
def test_bad_tokens_are_refused_with_a_reason(token: str, code: str) -> None:
    with pytest.raises(TokenError) as refused:
        verify(SECRET, token, room="lobby", now=time.time())
    assert refused.value.code == code
    assert str(refused.value)


def test_a_tampered_claim_breaks_the_signature() -> None:
    header, _claims, signature = mint(SECRET, grant()).split(".")
    forged_claims = mint(SECRET, Grant("lobby", "mallory", time.time() + 60)).split(".")[1]
    with pytest.raises(TokenError) as refused:
        verify(SECRET, f"{header}.{forged_claims}.{signature}", room="lobby", now=time.time())
    assert refused.value.code == "token-forged"


def test_alg_none_is_refused() -> None:
    import base64
    import json

    def b64(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    token = b64({"alg": "none"}) + "." + b64({"room": "lobby", "sub": "x", "exp": time.time() + 60}) + "."
    with pytest.raises(TokenError):
        verify(SECRET, token, room="lobby", now=time.time())


def test_durations() -> None:
    assert parse_duration("1h") == 3600
    assert parse_duration("90") == 90
    assert parse_duration("15m") == 900
    with pytest.raises(ValueError):
        parse_duration("soon")


def signed(claims: dict[str, object], header: object = None) -> str:
    """A token signed with SECRET over exactly these claims (what a careless or hostile minter sends)."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps(header if header is not None else {"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(SECRET, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def claims(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {"room": "lobby", "sub": "alice", "exp": int(time.time()) + 600, "pub": True}
    values.update(changes)
    return values


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"pub": "false"}, "token-malformed"),  # a string "false" is not false: it used to publish
        ({"pub": 0}, "token-malformed"),
        ({"exp": float(int(time.time()) + 600)}, "token-malformed"),
        ({"exp": 1e400}, "token-malformed"),  # json reads this as inf
        ({"exp": int(time.time()) + 10 * 365 * 86400}, "token-lifetime"),  # ten years used to pass
        ({"exp": 10**30}, "token-malformed"),
        ({"exp": int(time.time()) + 25 * 3600}, "token-lifetime"),
        ({"nbf": int(time.time()) + 3600}, "token-not-yet-valid"),
        ({"nbf": "soon"}, "token-malformed"),
    ],
)
def test_claims_are_checked_strictly(changes: dict[str, object], code: str) -> None:
    with pytest.raises(TokenError) as refused:
        verify(SECRET, signed(claims(**changes)), room="lobby", now=time.time())
    assert refused.value.code == code


def test_nbf_allows_a_little_clock_skew_and_a_pub_false_token_listens_only() -> None:
    grant = verify(
        SECRET, signed(claims(nbf=int(time.time()) + 20, pub=False)), room="lobby", now=time.time()
    )
    assert not grant.may_publish


def test_the_lifetime_limit_is_the_rooms_to_set() -> None:
    token = signed(claims(exp=int(time.time()) + 48 * 3600))
    with pytest.raises(TokenError, match="--max-token-lifetime"):
        verify(SECRET, token, room="lobby", now=time.time())
    assert verify(SECRET, token, room="lobby", now=time.time(), max_lifetime_s=72 * 3600).identity == "alice"


@pytest.mark.parametrize(
    "nested", ["[" * 3000, "{" * 1000 + "}" * 1000, '{"alg":' + "[" * 200 + "]" * 200 + "}"]
)
def test_a_deeply_nested_header_is_malformed_not_a_recursion_error(nested: str) -> None:
    import base64

    head = base64.urlsafe_b64encode(nested.encode()).rstrip(b"=").decode()
    with pytest.raises(TokenError) as refused:
        verify(SECRET, f"{head}.e30.AAAA", room="lobby", now=time.time())
    assert refused.value.code == "token-malformed"
