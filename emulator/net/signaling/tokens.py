"""Join tokens: HMAC-SHA256 JSON Web Tokens (RFC 7519, "HS256") that say who may join which room.

Claims: `room`, `sub` (the identity), `exp` (expiry, Unix seconds), `pub` (may publish audio and
state), `iat`, and optionally `nbf` (not before). A room checks them strictly: `exp` a whole number no
further ahead than the room's maximum lifetime, `pub` a boolean, `nbf` passed (with a little leeway
for clocks that disagree). Written here rather than taken from a JWT library because the room
accepts exactly one algorithm and the whole of it is a dozen lines; accepting only HS256 also rules
out the "alg: none" and algorithm-confusion mistakes by construction.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from emulator.model import paths
from emulator.wire.bounded_json import loads_bounded

_HEADER = {"alg": "HS256", "typ": "JWT"}
MAX_TOKEN_LENGTH = 4096
SECRET_ENV = "HEADSET_EMULATOR_SECRET"
DEFAULT_MAX_LIFETIME_S = 24 * 3600.0  # `room --max-token-lifetime`
CLOCK_SKEW_S = 60.0  # how far ahead of this host's clock a minting host's clock may be


class TokenError(Exception):
    """A token that does not admit its bearer; `code` is stable for programs, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Grant:
    room: str
    identity: str
    expires_at: float
    may_publish: bool = True


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(secret: bytes, grant: Grant, *, issued_at: float | None = None) -> str:
    claims = {
        "room": grant.room,
        "sub": grant.identity,
        "exp": int(grant.expires_at),
        "pub": grant.may_publish,
        "iat": int(time.time() if issued_at is None else issued_at),
    }
    signing_input = (
        _b64(json.dumps(_HEADER, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def _json(part: str) -> Any:
    # Bounded: the header is parsed before the signature is checked, so anyone can send it.
    return loads_bounded(_unb64(part), max_bytes=MAX_TOKEN_LENGTH, max_depth=4)


def verify(
    secret: bytes, token: str, *, room: str, now: float, max_lifetime_s: float = DEFAULT_MAX_LIFETIME_S
) -> Grant:
    """The grant a token carries, if it is signed with `secret`, valid at `now` and for `room`.

    A token that expires more than `max_lifetime_s` after `now` is refused: a leaked one must not
    stay good for years.
    """
    if not token:
        raise TokenError("token-missing", "no join token was given")
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenError("token-malformed", "the join token is too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("token-malformed", "the join token is not a JWT (three dot-separated parts)")
    try:
        header = _json(parts[0])
        signature = _unb64(parts[2])
    except (binascii.Error, ValueError):
        raise TokenError("token-malformed", "the join token is not valid base64url JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise TokenError("token-malformed", "the join token must be signed with HS256")
    expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode("ascii", "replace"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise TokenError("token-forged", "the join token's signature does not match this room's secret")
    try:
        claims = _json(parts[1])
    except (binascii.Error, ValueError):
        raise TokenError("token-malformed", "the join token's claims are not valid JSON") from None
    if not isinstance(claims, dict):
        raise TokenError("token-malformed", "the join token's claims are not an object")
    token_room, identity, expires = claims.get("room"), claims.get("sub"), claims.get("exp")
    if not isinstance(token_room, str) or not isinstance(identity, str) or not identity:
        raise TokenError("token-malformed", "the join token lacks a room or an identity")
    if not _is_time(expires):
        raise TokenError("token-malformed", "the join token's expiry (exp) must be a whole number of seconds")
    may_publish = claims.get("pub", True)
    if not isinstance(may_publish, bool):
        raise TokenError("token-malformed", "the join token's pub claim must be true or false")
    not_before = claims.get("nbf")
    if not_before is not None and not _is_time(not_before):
        raise TokenError("token-malformed", "the join token's nbf must be a whole number of seconds")
    if now >= expires:
        raise TokenError("token-expired", f"the join token expired {int(now - expires)} s ago")
    if expires - now > max_lifetime_s + CLOCK_SKEW_S:
        raise TokenError(
            "token-lifetime",
            f"the join token is valid for {int(expires - now)} s more; this room accepts at most "
            f"{int(max_lifetime_s)} s (room --max-token-lifetime)",
        )
    if not_before is not None and now + CLOCK_SKEW_S < not_before:
        raise TokenError("token-not-yet-valid", f"the join token is valid only in {int(not_before - now)} s")
    if token_room != room:
        raise TokenError("token-wrong-room", f"the join token is for room {token_room!r}, not {room!r}")
    return Grant(token_room, identity, float(expires), may_publish)


def _is_time(value: object) -> TypeGuard[int]:
    """A whole number of Unix seconds (RFC 7519 NumericDate, integers only here) a float can hold."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def default_secret_path() -> Path:
    return paths.config_file("room-secret")


def load_secret(explicit: str | None = None, *, create: bool = True) -> bytes:
    """The room secret: given, from $HEADSET_EMULATOR_SECRET, or a local file made on first use.

    The file lets `headset-emulator room` and `headset-emulator token` on one machine agree without
    the user handling a secret at all; it is created readable by its owner only.
    """
    if explicit:
        return explicit.encode()
    from_env = os.environ.get(SECRET_ENV)
    if from_env:
        return from_env.encode()
    path = default_secret_path()
    if path.exists():
        return path.read_text().strip().encode()
    if not create:
        raise TokenError("secret-missing", f"no room secret: set {SECRET_ENV} or create {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value.encode()
