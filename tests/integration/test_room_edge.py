"""The room's HTTP and WebSocket edge against hostile requests (issue 20, points 3, 4, 6 and 7).

A real room on loopback, real HTTP requests and WebSocket clients: a page on another origin, a DNS
rebinding Host, a reverse proxy, deep nesting, sockets that never join, slowloris, forged log lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from emulator.net.prometheus import MetricsServer
from emulator.net.signaling.tokens import Grant, mint
from emulator.room import server as room_server
from emulator.room.edge import EdgeLimits
from emulator.room.metrics import RoomMetrics
from emulator.room.server import MAX_BAD_MESSAGES_BEFORE_JOIN, RoomServer
from tests.support.room import cli, cli_env

SECRET = b"edge-secret"


async def started(limits: EdgeLimits | None = None) -> RoomServer:
    server = RoomServer(SECRET, "127.0.0.1", 0, limits=limits)
    await server.start()
    return server


@pytest.fixture
async def room() -> AsyncIterator[RoomServer]:
    server = await started(EdgeLimits(join_timeout_s=1.0, allowed_origins=("https://app.example",)))
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def base(room: RoomServer) -> str:
    return f"http://127.0.0.1:{room.port}"


async def status(http: aiohttp.ClientSession, url: str, **headers: str) -> int:
    async with http.get(url, headers=headers) as response:
        return response.status


def join(room: str, identity: str = "alice", name: str = "Alice") -> str:
    token = mint(SECRET, Grant(room, identity, time.time() + 600))
    return json.dumps({"type": "join", "room": room, "token": token, "name": name})


async def next_json(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=5)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return dict(json.loads(message.data))


@pytest.mark.parametrize("path", ["/token?room=lobby&name=x", "/healthz", "/", "/ws"])
async def test_a_rebinding_host_or_a_foreign_origin_is_refused(
    room: RoomServer, http: aiohttp.ClientSession, path: str
) -> None:
    url = base(room) + path
    assert await status(http, url, Host="evil.example") == 403
    assert await status(http, url, Host=f"evil.example:{room.port}") == 403
    assert await status(http, url, Host="127.0.0.1:1") == 403  # another port is another server
    assert await status(http, url, Origin="http://evil.example") == 403
    assert await status(http, url, Origin="null") == 403
    if path != "/ws":  # the same requests from the room's own page, or an allowed origin, are answered
        for host in ("127.0.0.1", "localhost", "[::1]"):
            own = f"{host}:{room.port}"
            assert await status(http, url, Host=own, Origin=f"http://{own}") == 200
        assert await status(http, url, Origin="https://app.example") == 200


async def test_a_websocket_from_a_foreign_page_is_refused(
    room: RoomServer, http: aiohttp.ClientSession
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(f"ws://127.0.0.1:{room.port}/ws", origin="http://evil.example")
    assert refused.value.status == 403
    async with http.ws_connect(f"ws://127.0.0.1:{room.port}/ws", origin=base(room)) as ws:
        await ws.send_str(join("lobby"))
        assert (await next_json(ws))["type"] == "welcome"


async def test_healthz_names_rooms_only_to_the_secrets_holder(
    room: RoomServer, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(f"ws://127.0.0.1:{room.port}/ws") as ws:
        await ws.send_str(join("board-meeting"))
        assert (await next_json(ws))["type"] == "welcome"
        async with http.get(base(room) + "/healthz") as response:
            anonymous = await response.text()
        async with http.get(
            base(room) + "/healthz", headers={"Authorization": "Bearer edge-secret"}
        ) as response:
            known = await response.json()
    assert "board-meeting" not in anonymous
    assert json.loads(anonymous)["participants"] == 1
    assert known["rooms"] == {"board-meeting": 1}


@pytest.mark.parametrize(
    "headers",
    [{"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"}, {"X-Real-IP": "203.0.113.9"}],
)
async def test_no_token_is_minted_through_a_proxy(
    room: RoomServer, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    assert await status(http, base(room) + "/token?room=lobby") == 200
    assert await status(http, base(room) + "/token?room=lobby", **headers) == 403


async def test_deep_nesting_is_one_counted_drop_and_no_traceback(
    room: RoomServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="emulator.room")
    async with http.ws_connect(f"ws://127.0.0.1:{room.port}/ws") as ws:
        for text in ("[" * 3000, '{"type":"join","room":' + "{" * 3000):
            await ws.send_str(text)
            reply = await next_json(ws)
            assert reply["code"] == "bad-message" and "nested deeper" in reply["reason"]
        await ws.send_str(json.dumps({"type": "offer", "sdp": "v=0\r\n" * 5000}))  # 30 KB before joining
        assert "larger than" in (await next_json(ws))["reason"]
        await ws.send_str(join("lobby"))  # the connection is still good
        assert (await next_json(ws))["type"] == "welcome"
        await ws.send_str("[" * 3000)  # and a joined peer reaches the same bounded parser
        assert (await next_json(ws))["code"] == "bad-message"
    assert room.signaling_dropped == 4
    dropped = [r for r in caplog.records if "dropped a signaling message" in r.getMessage()]
    assert len(dropped) == 4 and all(r.levelno == logging.DEBUG for r in dropped)
    assert not any(r.exc_info for r in caplog.records)
    assert "RecursionError" not in caplog.text and "Traceback" not in caplog.text


async def test_300_sockets_that_never_join_are_closed_at_the_deadline() -> None:
    # 300 at once from one address is past the default connect burst (the next test): raised here,
    # since this one is about the deadline.
    room = await started(EdgeLimits(join_timeout_s=1.0, max_pending=400, max_connect_burst=400))
    # The client's default pool holds 100 connections; these 300 must be open at once.
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    try:
        url = f"ws://127.0.0.1:{room.port}/ws"
        connecting = asyncio.gather(*(http.ws_connect(url, autoping=True) for _ in range(300)))
        sockets = await asyncio.wait_for(connecting, 30)
        assert len(room.pending) == 300
        closes = await asyncio.gather(*(ws.receive(timeout=10) for ws in sockets))
        errors = [json.loads(m.data)["code"] for m in closes if m.type == aiohttp.WSMsgType.TEXT]
        assert errors == ["join-timeout"] * 300
        for ws in sockets:
            assert (await ws.receive(timeout=5)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            await ws.close()
        for _ in range(100):  # the room's handlers finish just after the close handshake
            if len(room.pending) == 0 and not room.connections:
                break
            await asyncio.sleep(0.05)
        assert len(room.pending) == 0 and not room.connections
    finally:
        await http.close()
        await room.stop()


async def test_pending_connections_are_capped_and_a_joined_one_no_longer_counts(
    http: aiohttp.ClientSession,
) -> None:
    room = await started(EdgeLimits(join_timeout_s=30.0, max_pending=5, max_pending_per_address=1))
    url = f"ws://127.0.0.1:{room.port}/ws"
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    try:
        # Five from loopback, past the per-address cap of one: a swarm joins from one address.
        sockets = [await http.ws_connect(url) for _ in range(5)]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url)
        assert refused.value.status == 503
        await sockets[0].send_str(join("lobby"))
        assert (await next_json(sockets[0]))["type"] == "welcome"
        sockets.append(await http.ws_connect(url))  # the joined one left the waiting room
        assert len(room.pending) == 5 and room.pending.refused == 1
    finally:
        for ws in sockets:
            await ws.close()
        await room.stop()


async def test_upgrades_past_the_connect_rate_get_429_even_from_loopback_and_a_join_after_them_works(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """200 upgrades at once from 127.0.0.1 with the room's default limits: the burst and what refills
    meanwhile are accepted, the rest refused before the handshake; then a headset still joins."""
    caplog.set_level(logging.DEBUG, logger="emulator.room")
    limits = EdgeLimits()
    attempts = 200  # under the pending cap (256): without a rate limit every one would be accepted
    room = await started()
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    try:
        url = f"ws://127.0.0.1:{room.port}/ws"
        began = time.monotonic()
        connecting = (http.ws_connect(url) for _ in range(attempts))
        results = await asyncio.gather(*connecting, return_exceptions=True)
        elapsed = time.monotonic() - began
        sockets = [r for r in results if isinstance(r, aiohttp.ClientWebSocketResponse)]
        refused = [r for r in results if isinstance(r, aiohttp.WSServerHandshakeError)]
        assert len(sockets) + len(refused) == attempts, results
        assert refused and {r.status for r in refused} == {429}
        refilled = limits.max_connects_per_second * elapsed
        assert limits.max_connect_burst <= len(sockets) <= limits.max_connect_burst + refilled + 1
        assert room.connects.refused == len(refused) and room.pending.refused == 0
        for ws in sockets:
            await ws.close()
        await asyncio.sleep(2 / limits.max_connects_per_second)  # the bucket has a token again
        async with http.ws_connect(url) as ws:
            await ws.send_str(join("lobby"))
            assert (await next_json(ws))["type"] == "welcome"
    finally:
        for ws in sockets:
            await ws.close()
        await http.close()
        await room.stop()
    lines = [r for r in caplog.records if "too many connection attempts" in r.getMessage()]
    assert len(lines) == len(refused) and all(r.levelno == logging.DEBUG for r in lines)
    assert not any(r.exc_info for r in caplog.records) and "Traceback" not in caplog.text


async def test_a_swarm_of_40_joining_at_once_from_one_address_is_all_admitted() -> None:
    room = await started()  # the default limits, as `room` runs
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    try:
        url = f"ws://127.0.0.1:{room.port}/ws"
        sockets = list(await asyncio.gather(*(http.ws_connect(url) for _ in range(40))))
        for k, ws in enumerate(sockets):
            await ws.send_str(join("swarm", identity=f"swarm-{k:02d}", name=f"Swarm {k}"))
        replies = [await next_json(ws) for ws in sockets]
        assert [r["type"] for r in replies] == ["welcome"] * 40
        assert room.connects.refused == 0 and room.pending.refused == 0 and len(room.rooms["swarm"]) == 40
    finally:
        for ws in sockets:
            await ws.close()
        await http.close()
        await room.stop()


def gone(reader: asyncio.StreamReader) -> bool:
    """Closed by the other end: a FIN (end of stream) or, when we wrote after it, a reset."""
    return reader.at_eof() or reader.exception() is not None


async def test_300_slowloris_requests_lose_their_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(room_server, "HEADER_TIMEOUT_S", 1.0)
    room = await started()
    streams = []
    try:
        for _ in range(300):
            reader, writer = await asyncio.open_connection("127.0.0.1", room.port)
            writer.write(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{room.port}\r\n".encode())
            streams.append((reader, writer))
        began = time.monotonic()
        while time.monotonic() - began < 15 and not all(gone(reader) for reader, _ in streams):
            for reader, writer in streams:
                if not gone(reader):
                    writer.write(b"X-Slow: 1\r\n")  # a header now and then, never the blank line
                    with contextlib.suppress(TimeoutError, ConnectionError):
                        await asyncio.wait_for(reader.read(100), 0.001)
            await asyncio.sleep(0.2)
        assert sum(gone(reader) for reader, _ in streams) == 300
    finally:
        for _, writer in streams:
            writer.close()
        await room.stop()


async def test_a_socket_that_keeps_sending_garbage_is_closed(
    room: RoomServer, http: aiohttp.ClientSession
) -> None:
    """A flood of malformed messages costs the room a few parses per socket, then the socket."""
    async with http.ws_connect(f"ws://127.0.0.1:{room.port}/ws") as ws:
        replies = 0
        for _ in range(20):
            if ws.closed:
                break
            await ws.send_str("[" * 3000)
            message = await ws.receive(timeout=5)
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            replies += 1
        assert replies == MAX_BAD_MESSAGES_BEFORE_JOIN
        closing = message if message.type != aiohttp.WSMsgType.TEXT else await ws.receive(timeout=5)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    assert room.signaling_dropped == MAX_BAD_MESSAGES_BEFORE_JOIN


async def test_a_room_name_cannot_forge_a_log_line(
    room: RoomServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="emulator")
    async with http.ws_connect(f"ws://127.0.0.1:{room.port}/ws") as ws:
        await ws.send_str(join("lobby\nERROR emulator.room: forged"))
        reply = await next_json(ws)
        assert reply["code"] == "bad-message" and "room name" in reply["reason"]
        await ws.send_str(join("lobby", identity="eve\nERROR forged", name="Eve\nERROR forged"))
        assert (await next_json(ws))["type"] == "welcome"
        await ws.send_str(json.dumps({"type": "leave"}))
        await ws.receive(timeout=5)
    await asyncio.sleep(0.1)
    assert "\nERROR" not in caplog.text
    assert any("'eve\\nERROR forged'" in r.getMessage() for r in caplog.records)


async def test_room_metrics_refuse_a_rebinding_host_and_escape_what_they_export(
    room: RoomServer, http: aiohttp.ClientSession
) -> None:
    metrics = MetricsServer(RoomMetrics(room).collect, "127.0.0.1", 0)
    await metrics.start()
    try:
        async with http.ws_connect(f"ws://127.0.0.1:{room.port}/ws") as ws:
            # A token's identity is any string the minter chose: it must not break out of its label.
            await ws.send_str(join("lobby", identity='eve"} 1\nheadset_room_participants{room="x'))
            await next_json(ws)
            await ws.send_str("[" * 3000)
            await next_json(ws)
            assert await status(http, metrics.url, Host="evil.example") == 403
            assert await status(http, metrics.url, Origin="http://evil.example") == 403
            async with http.get(metrics.url) as response:
                text = await response.text()
        assert 'headset_room_participants{room="lobby"} 1' in text
        assert 'participant="eve\\"} 1\\nheadset_room_participants{room=\\"x"}' in text
        assert not any(line.startswith('headset_room_participants{room="x') for line in text.splitlines())
        assert 'headset_room_edge_refusals_total{reason="bad-signaling"} 1' in text
        assert 'headset_room_edge_refusals_total{reason="connect-rate"} 0' in text
    finally:
        await metrics.stop()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--allow-origin", "evil"], "--allow-origin: expected SCHEME://HOST[:PORT], got 'evil'"),
        (["--max-token-lifetime", "forever"], "not a duration: 'forever'"),
        (["--join-timeout", "0"], "a duration must be positive"),
        (["--max-pending", "0"], "must be at least 1"),
        (["--max-connects-per-second", "nan"], "--max-connects-per-second must be a positive number"),
    ],
)
def test_bad_room_limits_are_one_line_errors(tmp_path: Path, options: list[str], message: str) -> None:
    done = subprocess.run(
        cli("room", "--port", "0", *options), env=cli_env(tmp_path), capture_output=True, timeout=60
    )
    err = done.stderr.decode()
    assert done.returncode == 2 and message in err and len(err.strip().splitlines()) == 1, err
