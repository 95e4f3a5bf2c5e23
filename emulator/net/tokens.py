"""Join tokens: HMAC-SHA256 JSON Web Tokens (RFC 7519, "HS256") that say who may join which room.

Claims: `room`, `sub` (the identity), `exp` (expiry, Unix seconds), `pub` (may publish audio and
state), `iat`. Written here rather than taken from a JWT library because the room accepts exactly one
algorithm and the whole of it is a dozen lines; accepting only HS256 also rules out the "alg: none"
and algorithm-confusion mistakes by construction.
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

_HEADER = {"alg": "HS256", "typ": "JWT"}
MAX_TOKEN_LENGTH = 4096
SECRET_ENV = "HEADSET_EMULATOR_SECRET"


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


def verify(secret: bytes, token: str, *, room: str, now: float) -> Grant:
    """The grant a token carries, if it is signed with `secret`, unexpired and for `room`."""
    if not token:
        raise TokenError("token-missing", "no join token was given")
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenError("token-malformed", "the join token is too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("token-malformed", "the join token is not a JWT (three dot-separated parts)")
    try:
        header = json.loads(_unb64(parts[0]))
        signature = _unb64(parts[2])
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise TokenError("token-malformed", "the join token is not valid base64url JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise TokenError("token-malformed", "the join token must be signed with HS256")
    expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode("ascii", "replace"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise TokenError("token-forged", "the join token's signature does not match this room's secret")
    try:
        claims = json.loads(_unb64(parts[1]))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise TokenError("token-malformed", "the join token's claims are not valid JSON") from None
    if not isinstance(claims, dict):
        raise TokenError("token-malformed", "the join token's claims are not an object")
    token_room, identity, expires = claims.get("room"), claims.get("sub"), claims.get("exp")
    if not isinstance(token_room, str) or not isinstance(identity, str) or not identity:
        raise TokenError("token-malformed", "the join token lacks a room or an identity")
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise TokenError("token-malformed", "the join token lacks an expiry")
    if now >= expires:
        raise TokenError("token-expired", f"the join token expired {int(now - expires)} s ago")
    if token_room != room:
        raise TokenError("token-wrong-room", f"the join token is for room {token_room!r}, not {room!r}")
    return Grant(token_room, identity, float(expires), bool(claims.get("pub", True)))


def parse_duration(text: str) -> float:
    """`90`, `90s`, `15m`, `1h`, `2d` → seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    factor = units.get(text[-1:])
    number = text[:-1] if factor else text
    try:
        value = float(number) * (factor or 1)
    except ValueError:
        raise ValueError(f"not a duration: {text!r} (examples: 90s, 15m, 1h)") from None
    if value <= 0:
        raise ValueError(f"a duration must be positive, got {text!r}")
    return value


def default_secret_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "headset-emulator" / "room-secret"


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
