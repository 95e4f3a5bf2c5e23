"""The checks every local HTTP server here makes before a handler runs: Host, Origin, token, body type.

A web page the user opens can send requests to loopback ports (form posts, `fetch` in no-cors mode,
WebSockets), and through DNS rebinding it can even read the answers: its own name resolves to
127.0.0.1 and the browser calls that same-origin. The browser still sends the page's name in `Host`,
so a server on loopback answers only requests whose Host is a loopback name with its own port, and
refuses an `Origin` that is not its own (or one the user allowed). SECURITY.md has the threat model.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from emulator.net.transport.ice import is_loopback_host

log = logging.getLogger(__name__)

# aiohttp closes a connection that has not finished sending a request within its keep-alive timeout
# (counted from the connection's start), so that is the header timeout against slowloris.
HEADER_TIMEOUT_S = 10.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def split_host(host: str) -> tuple[str, int | None]:
    """`name:port`, `[::1]:port` or `name` → (lowercased name, port or None); brackets kept."""
    host = host.strip().lower()
    name, sep, port = host.rpartition(":")
    if not sep or "]" in port or not port.isdigit():
        return host, None
    return name, int(port)


def is_loopback_name(host: str) -> bool:
    """Whether a Host header names this machine (`localhost`, 127.0.0.0/8, `[::1]`), any port."""
    name, _ = split_host(host)
    return name == "localhost" or is_loopback_host(name.strip("[]"))


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


class HttpGuard:
    """Host, Origin and (optionally) bearer-token and JSON-body checks, as an aiohttp middleware.

    `port` is the server's bound port, set once it listens (port 0 picks one). A server bound to a
    network address accepts any Host: whoever can reach it that way can reach it directly anyway.
    """

    def __init__(
        self,
        bound_host: str,
        *,
        allowed_origins: Iterable[str] = (),
        same_origin: bool = True,
        bearer: str | None = None,
        json_bodies: bool = False,
    ) -> None:
        self.port = 0
        self.check_host = is_loopback_host(bound_host) or bound_host.lower() == "localhost"
        self.allowed_origins = {o.strip().rstrip("/").lower() for o in allowed_origins}
        self.same_origin = same_origin
        self.bearer = bearer
        self.json_bodies = json_bodies
        self.refused = 0

    def host_ok(self, host: str | None) -> bool:
        if not self.check_host:
            return True
        if not host:
            return False
        _, port = split_host(host)
        return is_loopback_name(host) and (port or 80) == self.port

    def origin_ok(self, origin: str | None, host: str | None) -> bool:
        if origin is None:
            return True  # not a browser: curl, the headsets, Prometheus
        origin = origin.strip().rstrip("/").lower()
        if origin in self.allowed_origins:
            return True
        return self.same_origin and host is not None and origin == f"http://{host.strip().lower()}"

    def check(self, request: web.Request) -> web.Response | None:
        """The refusal for `request`, or None when it may go on."""
        host = request.headers.get("Host")
        if not self.host_ok(host):
            return _refuse(403, f"this server answers only to localhost:{self.port}, not Host {host!r}")
        if not self.origin_ok(request.headers.get("Origin"), host):
            return _refuse(403, "cross-origin requests are refused (see SECURITY.md)")
        if self.bearer is not None:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), self.bearer.encode()
            ):
                return _refuse(401, "send the token printed at start: Authorization: Bearer TOKEN")
        if self.json_bodies and request.method == "POST" and request.content_type != "application/json":
            return _refuse(415, "send the body as Content-Type: application/json")
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        refusal = self.check(request)
        if refusal is not None:
            self.refused += 1
            log.debug(
                "refused %s %r from %r (Host %r, Origin %r): %s",
                request.method,
                request.path,
                request.remote,
                request.headers.get("Host"),
                request.headers.get("Origin"),
                refusal.status,
            )
            return refusal
        return await handler(request)
