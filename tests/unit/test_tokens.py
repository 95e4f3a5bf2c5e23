import time

import pytest

from emulator.net.tokens import Grant, TokenError, mint, parse_duration, verify

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
