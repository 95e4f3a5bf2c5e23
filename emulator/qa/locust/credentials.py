"""Where a Locust user's join token comes from, in this order.

1. `--token-file FILE`: pre-minted tokens, one `ROOM IDENTITY TOKEN` a line (`#` starts a comment);
   `{worker}` in the path becomes the Locust worker's index, so each machine can get its own file. A
   user takes a line of its room nobody in this process holds, and gives it back when it leaves.
2. The room's secret in $HEADSET_EMULATOR_SECRET: each user's token is minted here, for its own
   identity and room (the secret never leaves the worker).
3. The adapter's own rule: `janus://` rooms take no token; a `ws://` room on this machine gets one
   minted from the local secret file, as `join` does.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from emulator.net.signaling.janus import is_janus_url
from emulator.net.signaling.tokens import SECRET_ENV, Grant, mint

TOKEN_TTL_S = 12 * 3600.0


class CredentialError(Exception):
    pass


@dataclass
class TokenFile:
    path: Path
    free: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # room → (identity, token)

    @classmethod
    def read(cls, pattern: str, worker_index: int) -> TokenFile:
        path = Path(pattern.replace("{worker}", str(worker_index)))
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CredentialError(f"--token-file {path}: cannot read ({error})") from None
        tokens = cls(path)
        for number, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 3:
                raise CredentialError(f"{path}:{number}: expected ROOM IDENTITY TOKEN")
            room, identity, token = parts
            tokens.free.setdefault(room, []).append((identity, token))
        if not tokens.free:
            raise CredentialError(f"--token-file {path}: no tokens in it")
        return tokens

    def take(self, room: str) -> tuple[str, str]:
        free = self.free.get(room)
        if not free:
            raise CredentialError(f"{self.path}: no free token for room {room!r} (more users than lines)")
        return free.pop(0)

    def give_back(self, room: str, identity: str, token: str) -> None:
        self.free.setdefault(room, []).append((identity, token))


def token_for(url: str, room: str, identity: str, environ: dict[str, str] | None = None) -> str | None:
    """A token by rule 2 or 3 (None: the headset mints one from the local secret file)."""
    if is_janus_url(url):
        return ""
    secret = (environ if environ is not None else os.environ).get(SECRET_ENV)
    if secret:
        return mint(secret.encode(), Grant(room, identity, time.time() + TOKEN_TTL_S))
    return None
