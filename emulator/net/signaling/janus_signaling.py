"""Janus's WebSocket API (subprotocol "janus-protocol"): sessions, plugin handles, transactions.

Janus answers a request in one of two ways: at once (`success`/`error`), or with an `ack` followed
later by an `event` carrying the same transaction (every plugin `message` that needs work, such as a
VideoRoom join). Events that belong to no transaction (a new publisher, a hangup, a trickled
candidate) are handed to the handle they are about (`sender`). Runs on one asyncio loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

KEEPALIVE_S = 20.0  # Janus drops a session after 60 s of silence by default
REQUEST_TIMEOUT_S = 10.0

JanusEvent = dict[str, Any]


class JanusError(Exception):
    """Janus refused a request or went away; `code` is Janus's error code (0 when it has none)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class JanusConnection:
    """One WebSocket to Janus with one Janus session on it; plugin handles are attached through it."""

    def __init__(self, ws_url: str) -> None:
        self.ws_url = ws_url
        self.session_id: int | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pending: dict[str, asyncio.Future[JanusEvent]] = {}
        self._handlers: dict[int, Callable[[JanusEvent], None]] = {}
        self._ids = itertools.count(1)
        self._prefix = secrets.token_hex(4)
        self._tasks: list[asyncio.Task[None]] = []
        self.on_lost: Callable[[str], None] = lambda reason: None

    async def open(self) -> None:
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(self.ws_url, protocols=("janus-protocol",), heartbeat=5.0)
        self._tasks.append(asyncio.create_task(self._read_forever(), name="janus-reader"))
        reply = await self.request({"janus": "create"})
        self.session_id = int(reply["data"]["id"])
        self._tasks.append(asyncio.create_task(self._keepalive_forever(), name="janus-keepalive"))

    async def attach(self, plugin: str, on_event: Callable[[JanusEvent], None]) -> int:
        reply = await self.request({"janus": "attach", "plugin": plugin})
        handle = int(reply["data"]["id"])
        self._handlers[handle] = on_event
        return handle

    async def detach(self, handle: int) -> None:
        self._handlers.pop(handle, None)
        with contextlib.suppress(JanusError, TimeoutError, ConnectionError, RuntimeError):
            await self.request({"janus": "detach", "handle_id": handle}, timeout=3.0)

    async def message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, str] | None = None
    ) -> JanusEvent:
        """A plugin request; returns the plugin's reply (the `event` after the `ack`, or `success`)."""
        payload: dict[str, Any] = {"janus": "message", "handle_id": handle, "body": body}
        if jsep is not None:
            payload["jsep"] = jsep
        reply = await self.request(payload)
        data = reply.get("plugindata", {}).get("data", {})
        if "error_code" in data or "error" in data:
            raise JanusError(int(data.get("error_code", 0)), str(data.get("error", "plugin error")))
        return reply

    async def request(self, payload: dict[str, Any], timeout: float = REQUEST_TIMEOUT_S) -> JanusEvent:
        if self._ws is None or self._ws.closed:
            raise JanusError(0, "the connection to Janus is closed")
        transaction = f"{self._prefix}-{next(self._ids)}"
        message = {**payload, "transaction": transaction}
        if self.session_id is not None and payload.get("janus") != "create":
            message["session_id"] = self.session_id
        future: asyncio.Future[JanusEvent] = asyncio.get_running_loop().create_future()
        self._pending[transaction] = future
        try:
            await self._ws.send_str(json.dumps(message))
            reply = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(transaction, None)
        if reply.get("janus") == "error":
            error = reply.get("error", {})
            raise JanusError(int(error.get("code", 0)), str(error.get("reason", "Janus error")))
        return reply

    async def _read_forever(self) -> None:
        assert self._ws is not None
        reason = "closed"
        try:
            async for message in self._ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    event = json.loads(message.data)
                except ValueError:
                    log.warning("Janus sent something that is not JSON; ignored")
                    continue
                if isinstance(event, dict):
                    self._dispatch(event)
        except (aiohttp.ClientError, ConnectionError) as error:
            reason = f"lost: {error}"
        for future in self._pending.values():
            if not future.done():
                future.set_exception(JanusError(0, f"Janus connection {reason}"))
        self.on_lost(reason)

    def _dispatch(self, event: JanusEvent) -> None:
        kind = event.get("janus")
        transaction = event.get("transaction")
        future = self._pending.get(transaction) if isinstance(transaction, str) else None
        if future is not None and kind != "ack" and not future.done():
            future.set_result(event)
            return
        if kind in ("ack", "success", "error") or future is not None:
            return
        sender = event.get("sender")
        handler = self._handlers.get(sender) if isinstance(sender, int) else None
        if handler is not None:
            handler(event)
        elif kind == "timeout":
            self.on_lost("Janus timed the session out")

    async def _keepalive_forever(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            with contextlib.suppress(JanusError, TimeoutError):
                await self.request({"janus": "keepalive"})

    async def close(self) -> None:
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        if self._ws is not None and not self._ws.closed and self.session_id is not None:
            with contextlib.suppress(Exception):
                await self._ws.send_str(
                    json.dumps({"janus": "destroy", "session_id": self.session_id, "transaction": "bye"})
                )
        for task in self._tasks:
            if task is not asyncio.current_task():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._tasks.clear()
        if self._ws is not None:
            await self._ws.close()
        if self._http is not None:
            await self._http.close()
