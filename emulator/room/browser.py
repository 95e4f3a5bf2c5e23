"""The browser participant's page, served by the room itself: plain HTML and JavaScript, no build step.

`/` is the page (`static/index.html`), `/static/…` its scripts. A browser needs a join token like any
client. It can bring one (`/?token=…`, minted with `headset-emulator token`); a room bound to loopback
also hands one out at `/token?room=R&name=N`, because everyone who can reach a loopback room is on
this machine and could read the secret anyway. It mints only for a request that comes from loopback,
names a loopback Host and carries no Forwarded/X-Forwarded-For header: a reverse proxy on the same
host connects from 127.0.0.1 too, on behalf of anyone. A room on a network address never mints one.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from aiohttp import web

from emulator.net.http_guard import is_loopback_name
from emulator.net.signaling.tokens import Grant, mint
from emulator.net.transport.ice import is_loopback_host
from emulator.wire.signaling import ROOM_NAME

STATIC_DIR = Path(__file__).with_name("static")
BROWSER_TOKEN_TTL_S = 12 * 3600
_PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def add_browser_routes(app: web.Application, secret: bytes, *, mint_tokens: bool) -> None:
    """Serve the page; `mint_tokens` only for a room on loopback (see the module docstring)."""

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    async def token(request: web.Request) -> web.Response:
        if not mint_tokens:
            return web.json_response(
                {"error": "this room hands out tokens on loopback only: open the page with ?token=…"},
                status=403,
            )
        if (
            not is_loopback_host(request.remote or "")
            or not is_loopback_name(request.headers.get("Host", ""))
            or any(header in request.headers for header in _PROXY_HEADERS)
        ):
            return web.json_response(
                {"error": "tokens are handed out to this machine only, not through a proxy"}, status=403
            )
        room = request.query.get("room", "lobby")
        if not ROOM_NAME.fullmatch(room):
            return web.json_response({"error": f"not a room name: {room[:64]!r}"}, status=400)
        # A fresh identity per page load: two tabs are two participants, not one replacing the other.
        identity = f"browser-{secrets.token_hex(4)}"
        grant = Grant(room, identity, time.time() + BROWSER_TOKEN_TTL_S)
        return web.json_response({"token": mint(secret, grant), "identity": identity, "room": room})

    app.router.add_get("/", index)
    app.router.add_get("/token", token)
    app.router.add_static("/static/", STATIC_DIR, append_version=False)
