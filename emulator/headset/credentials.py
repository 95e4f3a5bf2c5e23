"""The join token a headset presents when none was given: none, the room's secret, or one minted
locally from the secret for a room on this machine."""

from __future__ import annotations

import time

from emulator.headset.config import HeadsetConfig
from emulator.net.signaling.adapters import Credentials
from emulator.net.signaling.room_session import is_local_url
from emulator.net.signaling.tokens import Grant, TokenError, load_secret, mint

LOCAL_TOKEN_TTL_S = 24 * 3600


def join_token(config: HeadsetConfig, kind: Credentials) -> str:
    """What the adapter asks for in `Join.token` (`kind`); TokenError says why there is none."""
    if config.token:
        return config.token
    if kind == "none":
        return ""
    if kind == "secret":
        return load_secret(config.secret).decode()
    if not is_local_url(config.url) and config.secret is None:
        needed = "a join token (or the room's secret) is needed for a room on another machine"
        raise TokenError("token-missing", needed)
    grant = Grant(config.room, config.participant_identity, time.time() + LOCAL_TOKEN_TTL_S)
    return mint(load_secret(config.secret), grant)
