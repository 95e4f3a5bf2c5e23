"""The bundled room: aiohttp for signaling, one aiortc peer connection per participant.

This layer is deliberately thin: it turns WebSocket and data-channel traffic into calls on the
sans-I/O `RoomCore` and carries out the actions it returns. Everything here runs on one asyncio loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from aiortc import RTCPeerConnection, RTCSessionDescription

from emulator.net.http_guard import HEADER_TIMEOUT_S, HttpGuard
from emulator.net.tasks import cancel_and_wait
from emulator.net.transport.ice import (
    is_loopback_host,
    loopback_configuration,
    restrict_to_loopback,
    restrict_to_this_machine,
)
from emulator.net.transport.patch_install import install as install_patches
from emulator.room.audio import RoomAudio
from emulator.room.browser import add_browser_routes
from emulator.room.core import Action, Close, Forward, MixStates, RoomCore, Send, Subscribe, Unsubscribe
from emulator.room.edge import ConnectRate, EdgeLimits, PendingJoins
from emulator.room.renegotiation import keep_negotiated_numbers
from emulator.wire import BatchPacker, wire_timestamp
from emulator.wire.batch import ENTRY_OVERHEAD
from emulator.wire.channels import (
    CONTROL_CHANNEL,
    MAX_LOSSY_BUFFERED_BYTES,
    MAX_RELIABLE_BUFFERED_BYTES,
    STATE_CHANNEL,
)
from emulator.wire.header import HEADER_SIZE, MAX_MESSAGE_SIZE
from emulator.wire.signaling import (
    HEARTBEAT_S,
    MAX_PREJOIN_BYTES,
    MAX_SIGNALING_BYTES,
    Answer,
    CloseReason,
    Error,
    Join,
    Leave,
    Offer,
    RoomMode,
    SignalingError,
    SignalingMessage,
    Tracks,
    parse_signaling,
    to_json,
)

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
TICK_S = 0.5
# A live peer in a busy process may take many seconds to answer a renegotiation (10 s once closed
# every bot of a loaded swarm); a dead one is removed by the core's silence check within 5 s anyway.
NEGOTIATION_TIMEOUT_S = 60.0
# Malformed signaling messages a connection may send before it is closed: a client that joins
# sends none, so a few allow for a confused one; after joining, a little more room for a buggy one.
MAX_BAD_MESSAGES_BEFORE_JOIN = 4
MAX_BAD_MESSAGES_JOINED = 16
BATCH_WINDOW_S = 0.004  # a pose waits at most this long in a small room: a quarter of a 90 Hz period
# Every datagram costs both ends ~80 µs of aiortc's SCTP and DTLS whatever it carries, and a listener
# gets one per window unless its batch fills up first: so a big room waits longer and packs more into
# each one (4 ms up to 8 participants, then +0.8 ms for each one more, at most 20 ms). A batch that
# is full goes at once, so in a room of 32 a listener gets ~70 full datagrams a second and a state
# waits ~14 ms at most, not the whole window.
BATCH_WINDOW_STEP_S = 0.0008
BATCH_WINDOW_MAX_S = 0.020


def batch_window_s(participants: int) -> float:
    return min(BATCH_WINDOW_MAX_S, BATCH_WINDOW_S + BATCH_WINDOW_STEP_S * max(0, participants - 8))


@dataclass
class Connection:
    """One participant's link to the room: its WebSocket, its peer connection and its channels.

    Owned by the loop; every field is touched only from the loop's thread.
    """

    conn_id: str
    ws: web.WebSocketResponse
    room: str | None = None
    pc: RTCPeerConnection | None = None
    channels: dict[str, Any] = field(default_factory=dict)
    negotiated: asyncio.Event = field(default_factory=asyncio.Event)
    renegotiate: asyncio.Event = field(default_factory=asyncio.Event)
    pending_answer: asyncio.Future[str] | None = None
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    # Routes asked for before the client's first offer was answered: adding transceivers earlier
    # would let aiortc pair them with the client's own m-lines.
    pending_routes: list[Subscribe | Unsubscribe] = field(default_factory=list)
    negotiating: bool = False  # a transceiver was added and the offer carrying it is not answered yet
    # Set once the client's first offer has its receivers running (see `_negotiate_forever`).
    media_started: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    bad_messages: int = 0  # signaling messages dropped as malformed (see `_refuse_message`)
    dropped_states: int = 0
    dropped_control: int = 0  # reliable messages not queued: the receiver's channel was backed up
    outbox: list[bytes] = field(default_factory=list)  # lossy state waiting for the next batch
    outbox_bytes: int = 0  # what the outbox would take in a BATCH, header included
    packer: BatchPacker = field(default_factory=BatchPacker)


class RoomServer:
    """Serves any number of rooms on one port; no state or audio crosses from one room to another."""

    def __init__(
        self,
        secret: bytes,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        mode: RoomMode = RoomMode.FORWARD,
        limits: EdgeLimits | None = None,
        *,
        browsers: bool = False,
    ) -> None:
        self.secret = secret
        self.limits = limits or EdgeLimits()
        self.pending = PendingJoins(self.limits)
        self.connects = ConnectRate(self.limits)
        self.guard = HttpGuard(host, allowed_origins=self.limits.allowed_origins)
        self.signaling_dropped = 0  # malformed, oversized or too deeply nested signaling messages
        self.host = host
        self.port = port
        self.mode = mode
        self.rooms: dict[str, RoomCore] = {}
        self.audio: dict[str, RoomAudio] = {}
        self.connections: dict[str, Connection] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._flush_handle: asyncio.TimerHandle | None = None
        self._loopback = is_loopback_host(host)
        # How late the ticker woke, summed and the worst: the time this loop was too busy for anyone.
        self.loop_late_s = 0.0
        self.loop_longest_late_s = 0.0
        # A browser gathers no loopback candidate: a loopback room serving one also takes this
        # machine's own addresses (docs/browser.md). Off by default: a local room stays on 127.0.0.0/8.
        self.browsers = browsers

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        install_patches()
        if self._loopback and self.browsers:
            restrict_to_this_machine()
        elif self._loopback:
            restrict_to_loopback()
        app = web.Application(middlewares=[self.guard.middleware])
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/healthz", self._health)
        add_browser_routes(app, self.secret, mint_tokens=self._loopback)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, keepalive_timeout=HEADER_TIMEOUT_S
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            # Port 0 asks the OS for a free one (tests run many rooms side by side).
            self.port = self._runner.addresses[0][1]
        self.guard.port = self.port
        self._ticker = asyncio.create_task(self._tick_forever(), name="room-ticker")
        log.info("room server on %s (mode %s)", self.url, self.mode)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    async def stop(self) -> None:
        if self._ticker:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        for conn in list(self.connections.values()):
            await self._close(conn, "room closed")
        for audio in self.audio.values():
            await audio.stop()
        self.audio.clear()
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> RoomServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- HTTP -------------------------------------------------------------------------------------

    async def _health(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = {
            "mode": self.mode,
            "room_count": len(self.rooms),
            "participants": sum(len(core) for core in self.rooms.values()),
        }
        # Room names only for a caller who knows the secret: a name can say who is meeting.
        _, _, given = request.headers.get("Authorization", "").partition(" ")
        if given and hmac.compare_digest(given.strip().encode(), self.secret):
            body["rooms"] = {name: len(core) for name, core in self.rooms.items()}
        return web.json_response(body)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        address = request.remote or ""
        # Refused before the handshake: a 429 costs the room one small response, not a socket and a task.
        refusal = self.connects.admit(address, time.monotonic())
        if refusal is not None:
            log.debug("refused a connection from %r: %s", address, refusal)
            return web.json_response({"error": refusal}, status=429, headers={"Retry-After": "1"})
        refusal = self.pending.admit(address)
        if refusal is not None:
            log.debug("refused a connection from %r: %s", address, refusal)
            return web.json_response({"error": refusal}, status=503)
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_SIGNALING_BYTES)
        try:
            await ws.prepare(request)
        except BaseException:
            self.pending.release(address)
            raise
        conn = Connection(f"c{next(self._ids)}", ws)
        self.connections[conn.conn_id] = conn
        waiting = True
        try:
            async with asyncio.timeout(self.limits.join_timeout_s) as deadline:
                async for message in ws:
                    await self._on_frame(conn, message.type, message.data)
                    if conn.room is not None and waiting:
                        waiting = False
                        self.pending.release(address)
                        deadline.reschedule(None)
                    if conn.closed:
                        break
        except TimeoutError:
            # Debug, not info: a swarm of sockets that never join must not flood the log either.
            log.debug(
                "%s from %r did not join within %g s", conn.conn_id, address, self.limits.join_timeout_s
            )
            await self._send(conn, Error("join-timeout", "send a join message first"))
            await self._close(conn, "join-timeout")
        finally:
            if waiting:
                self.pending.release(address)
            await self._leave(conn, CloseReason.DISCONNECTED)
        return ws

    async def _on_frame(self, conn: Connection, kind: WSMsgType, data: Any) -> None:
        if kind != WSMsgType.TEXT:
            await self._refuse_message(conn, "signaling messages are JSON text")
            return
        try:
            # Before a join only a join can come, and a join is small: parse no more than that.
            parsed = parse_signaling(
                data, max_bytes=MAX_PREJOIN_BYTES if conn.room is None else MAX_SIGNALING_BYTES
            )
        except SignalingError as error:
            log.debug("%s: dropped a signaling message: %s", conn.conn_id, error)
            await self._refuse_message(conn, str(error))
            return
        await self._on_signaling(conn, parsed)

    async def _refuse_message(self, conn: Connection, reason: str) -> None:
        """Count a malformed message and answer it; a connection that keeps sending them is closed, so a
        flood of garbage costs the room a few parses per socket, not one per message for ever."""
        self.signaling_dropped += 1
        conn.bad_messages += 1
        await self._send(conn, Error("bad-message", reason))
        allowed = MAX_BAD_MESSAGES_BEFORE_JOIN if conn.room is None else MAX_BAD_MESSAGES_JOINED
        if conn.bad_messages >= allowed:
            log.debug("%s: closed after %d malformed messages", conn.conn_id, conn.bad_messages)
            await self._close(conn, "bad-messages")

    async def _on_signaling(self, conn: Connection, message: SignalingMessage) -> None:
        if isinstance(message, Join):
            await self._join(conn, message)
        elif conn.room is None:
            await self._send(conn, Error("not-joined", "send a join message first"))
        elif isinstance(message, Offer):
            await self._answer_offer(conn, message.sdp)
        elif isinstance(message, Answer):
            if conn.pending_answer and not conn.pending_answer.done():
                conn.pending_answer.set_result(message.sdp)
        elif isinstance(message, Leave):
            await self._leave(conn, CloseReason.LEFT)
        else:
            await self._send(conn, Error("bad-message", f"a client does not send {message.TYPE!r}"))

    # --- joining and leaving ----------------------------------------------------------------------

    async def _join(self, conn: Connection, request: Join) -> None:
        if conn.room is not None:
            await self._send(conn, Error("already-joined", "this connection has already joined"))
            return
        core = self.rooms.get(request.room)
        if core is None:
            core = RoomCore(
                request.room, self.secret, self.mode, max_token_lifetime_s=self.limits.max_token_lifetime_s
            )
        actions = core.join(conn.conn_id, request, time.monotonic(), time.time())
        if core.participant(conn.conn_id) is not None:
            self.rooms.setdefault(request.room, core)
            if request.room not in self.audio:
                self.audio[request.room] = RoomAudio(request.room, self.mode)
            conn.room = request.room
            admitted = core.participant(conn.conn_id)
            assert admitted is not None
            self.audio[request.room].set_identity(conn.conn_id, admitted.info.id)
            conn.pc = self._make_peer_connection(conn)
            negotiator = asyncio.create_task(self._negotiate_forever(conn), name=f"negotiate-{conn.conn_id}")
            negotiator.add_done_callback(_log_failure)
            conn.tasks.add(negotiator)
        await self._carry_out(actions)

    async def _leave(self, conn: Connection, reason: str) -> None:
        if conn.room is not None and conn.room in self.rooms:
            core = self.rooms[conn.room]
            await self._carry_out(core.leave(conn.conn_id, time.monotonic(), reason))
            if len(core) == 0 and self.rooms.get(conn.room) is core:
                del self.rooms[conn.room]
                audio = self.audio.pop(conn.room, None)
                if audio:
                    await audio.stop()
        await self._close(conn, reason)

    async def _close(self, conn: Connection, reason: str) -> None:
        if conn.closed:
            return
        conn.closed = True
        self.connections.pop(conn.conn_id, None)
        if conn.room and conn.room in self.audio:
            await self.audio[conn.room].remove_participant(conn.conn_id)
        await cancel_and_wait(conn.tasks)
        conn.tasks.clear()
        if conn.pc is not None:
            await conn.pc.close()
        if not conn.ws.closed:
            await conn.ws.close(message=reason.encode()[:120])

    # --- WebRTC -----------------------------------------------------------------------------------

    def _make_peer_connection(self, conn: Connection) -> RTCPeerConnection:
        pc = RTCPeerConnection(loopback_configuration() if self._loopback else None)

        @pc.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            conn.media_started.set()  # SCTP starts after aiortc has started every RTP receiver
            if channel.label not in (STATE_CHANNEL, CONTROL_CHANNEL):
                log.info("%s opened an unknown data channel %r; ignored", conn.conn_id, channel.label)
                return
            conn.channels[channel.label] = channel
            reliable = channel.label == CONTROL_CHANNEL

            @channel.on("message")
            def on_message(data: bytes | str) -> None:
                if isinstance(data, str) or conn.room is None:
                    return
                core = self.rooms.get(conn.room)
                if core is not None:
                    actions = core.state_message(conn.conn_id, data, time.monotonic(), reliable=reliable)
                    if actions:  # a dropped message asks for nothing: skip the walk over no actions
                        self._carry_out_now(actions)

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind != "audio" or conn.room is None:
                return
            core = self.rooms.get(conn.room)
            if core is None or not core.may_publish(conn.conn_id):
                # A listen-only token: its audio is never tapped, so nobody's mix or route carries it.
                if core is not None:
                    core.refuse_track(conn.conn_id)
                return
            receiver = next((t.receiver for t in pc.getTransceivers() if t.receiver.track is track), None)
            audio = self.audio.get(conn.room)
            if audio is not None and receiver is not None:
                waiting = audio.add_speaker(conn.conn_id, receiver, track)
                routes: list[Action] = [
                    Subscribe(listener=listener, speaker=conn.conn_id) for listener in waiting
                ]
                self._carry_out_now(routes)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState == "connected" and pc.sctp is None:
                conn.media_started.set()  # no data channel to wait for
            if pc.connectionState == "failed" and not conn.closed:
                await self._leave(conn, CloseReason.TRANSPORT_FAILED)

        return pc

    async def _answer_offer(self, conn: Connection, sdp: str) -> None:
        assert conn.pc is not None
        if conn.negotiated.is_set():
            await self._send(conn, Error("bad-message", "the room makes every later offer itself"))
            return
        await conn.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await conn.pc.setLocalDescription(await conn.pc.createAnswer())
        local = conn.pc.localDescription
        await self._send(conn, Answer(local.sdp))
        conn.negotiated.set()
        pending, conn.pending_routes = conn.pending_routes, []
        for action in pending:
            await self._route_audio(action)
        if conn.room and conn.room in self.audio:
            await self._send(conn, Tracks(self.audio[conn.room].track_map(conn.conn_id, conn.pc)))

    async def _negotiate_forever(self, conn: Connection) -> None:
        """Room-initiated renegotiation whenever the set of forwarded tracks changes.

        Only the room offers after the first exchange, so the two sides never offer at once.
        """
        await conn.negotiated.wait()
        # aiortc's createOffer() puts its own payload types and extension ids on every transceiver until
        # the answer restores the negotiated ones; a receiver started in between keeps the wrong ones
        # for good (a browser's Opus 111 is then never routed to it). So no offer before they run.
        await conn.media_started.wait()
        while True:
            await conn.renegotiate.wait()
            conn.renegotiate.clear()
            pc = conn.pc
            if pc is None or conn.closed:
                return
            await pc.setLocalDescription(
                keep_negotiated_numbers(await pc.createOffer(), pc.remoteDescription)
            )
            conn.pending_answer = asyncio.get_running_loop().create_future()
            await self._send(conn, Offer(pc.localDescription.sdp))
            try:
                sdp = await asyncio.wait_for(conn.pending_answer, NEGOTIATION_TIMEOUT_S)
            except TimeoutError:
                log.warning("%s did not answer a renegotiation; closing", conn.conn_id)
                await self._leave(conn, CloseReason.NEGOTIATION_TIMEOUT)
                return
            await pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
            conn.negotiating = False
            if conn.room and conn.room in self.audio:
                await self._send(conn, Tracks(self.audio[conn.room].track_map(conn.conn_id, pc)))
            pending, conn.pending_routes = conn.pending_routes, []
            for action in pending:
                await self._route_audio(action)

    # --- actions ----------------------------------------------------------------------------------

    def _carry_out_now(self, actions: list[Action]) -> None:
        """Carry out actions from a synchronous callback; the cheap ones happen inline."""
        slow: list[Action] = [a for a in actions if not isinstance(a, Forward | MixStates)]
        for action in actions:
            if isinstance(action, Forward):
                self._forward(action)
            elif isinstance(action, MixStates):
                self._mix_states(action)
        if slow:
            task = asyncio.ensure_future(self._carry_out(slow))
            task.add_done_callback(_log_failure)

    async def _carry_out(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                target = self.connections.get(action.conn)
                if target is not None:
                    await self._send(target, action.message)
            elif isinstance(action, Forward):
                self._forward(action)
            elif isinstance(action, MixStates):
                self._mix_states(action)
            elif isinstance(action, Subscribe | Unsubscribe):
                await self._route_audio(action)
            elif isinstance(action, Close):
                target = self.connections.get(action.conn)
                if target is not None:
                    await self._close(target, action.reason)

    def _forward(self, action: Forward) -> None:
        if not action.reliable:
            # Lossy state goes out in batches: what is due to one receiver within the batch window
            # travels in one datagram (see emulator/wire/batch.py for why).
            size = len(action.data) + ENTRY_OVERHEAD
            for conn_id in action.to:
                target = self.connections.get(conn_id)
                if target is None:
                    continue
                if target.outbox and target.outbox_bytes + size > MAX_MESSAGE_SIZE:
                    self._flush_one(target, wire_timestamp(time.monotonic_ns() // 1000))  # it is full
                if not target.outbox:
                    target.outbox_bytes = HEADER_SIZE
                target.outbox.append(action.data)
                target.outbox_bytes += size
            if self._flush_handle is None:
                window = batch_window_s(len(self.connections))
                self._flush_handle = asyncio.get_running_loop().call_later(window, self._flush)
            return
        for conn_id in action.to:
            target = self.connections.get(conn_id)
            channel = target.channels.get(CONTROL_CHANNEL) if target else None
            if target is None or channel is None or channel.readyState != "open":
                continue
            if channel.bufferedAmount > MAX_RELIABLE_BUFFERED_BYTES:
                target.dropped_control += 1
                continue
            channel.send(action.data)

    def _mix_states(self, action: MixStates) -> None:
        conn = self.connections.get(action.conn)
        audio = self.audio.get(conn.room) if conn is not None and conn.room is not None else None
        if audio is not None:
            for message in action.messages:
                audio.state_message(action.conn, message)

    def _flush(self) -> None:
        self._flush_handle = None
        stamp = wire_timestamp(time.monotonic_ns() // 1000)
        for target in self.connections.values():
            if target.outbox:
                self._flush_one(target, stamp)

    def _flush_one(self, target: Connection, stamp: int) -> None:
        messages, target.outbox = target.outbox, []
        channel = target.channels.get(STATE_CHANNEL)
        if channel is None or channel.readyState != "open":
            return
        for datagram in target.packer.pack(messages, stamp):
            if channel.bufferedAmount > MAX_LOSSY_BUFFERED_BYTES:
                target.dropped_states += 1
                continue
            channel.send(datagram)

    async def _route_audio(self, action: Subscribe | Unsubscribe) -> None:
        listener = self.connections.get(action.listener)
        if listener is None or listener.pc is None or listener.room is None:
            return
        audio = self.audio.get(listener.room)
        if audio is None:
            return
        if not listener.negotiated.is_set() or listener.negotiating:
            listener.pending_routes.append(action)
            return
        if isinstance(action, Subscribe):
            if not audio.has_voice(action.speaker):
                audio.want(action.listener, action.speaker)
                return
            changed = audio.subscribe(action.listener, listener.pc, action.speaker)
        else:
            changed = audio.unsubscribe(action.listener, action.speaker)
        if changed == "renegotiate":
            # One new transceiver per offer: aiortc 1.16 starts only the first of several transceivers
            # added to a connected peer in one renegotiation, so the rest wait for the next round.
            listener.negotiating = True
            listener.renegotiate.set()
        elif changed == "remap" and listener.negotiated.is_set():
            await self._send(listener, Tracks(audio.track_map(action.listener, listener.pc)))

    async def _send(self, conn: Connection, message: SignalingMessage) -> None:
        if conn.ws.closed:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            await conn.ws.send_str(to_json(message))

    async def _tick_forever(self) -> None:
        while True:
            due = time.monotonic() + TICK_S
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            self.loop_late_s += now - due
            self.loop_longest_late_s = max(self.loop_longest_late_s, now - due)
            self.connects.forget_full(now)
            for room, core in list(self.rooms.items()):
                audio = self.audio.get(room)
                for conn in audio.heard_since_last() if audio is not None else ():
                    core.heard(conn, now)
                await self._carry_out(core.tick(now))


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("room action failed", exc_info=task.exception())
