"""One headset's WebRTC session with the bundled room: signaling, the peer connection, its channels.

The session knows nothing of poses or faces: it moves bytes (state stream) and tracks (voice) and
keeps the room's roster; the headset (`emulator/headset/`) gives those bytes meaning. Runs on one
asyncio loop; callbacks are called on that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import aiohttp
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from emulator.net.transport.ice import (
    is_loopback_host,
    restrict_to_loopback,
)
from emulator.net.transport.ice_servers import IceOptions, relay_problem, session_configuration
from emulator.net.transport.patch_install import install as install_patches
from emulator.wire.channels import CONTROL_CHANNEL, MAX_LOSSY_BUFFERED_BYTES, STATE_CHANNEL
from emulator.wire.signaling import (
    HEARTBEAT_S,
    MAX_SIGNALING_BYTES,
    Answer,
    CloseReason,
    Error,
    Join,
    Joined,
    Leave,
    Left,
    Offer,
    ParticipantInfo,
    RoomMode,
    SignalingError,
    SignalingMessage,
    Tracks,
    Welcome,
    parse_signaling,
    to_json,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 15.0


# What the bundled room means by these (emulator/room/edge.py); a room started with higher limits takes more.
_REFUSALS = {
    429: ": too many connection attempts from this address, see room --max-connects-per-second",
    503: ": too many connections waiting to join, see room --max-pending and --max-pending-per-address",
}


def _plain(error: BaseException) -> str:
    """Why a connection failed, in the user's terms: aiohttp's text names its internals (`ssl:default`)."""
    if isinstance(error, aiohttp.WSServerHandshakeError):
        why = _REFUSALS.get(error.status, "")
        return f"the server refused the WebSocket upgrade (HTTP {error.status}{why})"
    if isinstance(error, aiohttp.ClientConnectorError):
        return error.os_error.strerror or str(error.os_error)
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


class SessionError(Exception):
    """Joining failed or the room ended the session; `code` is the room's stable reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def is_local_url(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host == "localhost" or is_loopback_host(host)


@dataclass
class SessionCallbacks:
    """What the owner wants to hear about; every callback runs on the loop."""

    on_state: Callable[[bytes], None] = lambda data: None
    on_control: Callable[[bytes], None] = lambda data: None
    on_joined: Callable[[ParticipantInfo], None] = lambda info: None
    on_left: Callable[[ParticipantInfo, str], None] = lambda info, reason: None
    on_remote_track: Callable[[str, Any, Any], None] = lambda mid, track, receiver: None
    on_tracks: Callable[[dict[str, str]], None] = lambda mids: None
    on_closed: Callable[[str], None] = lambda reason: None


@dataclass
class SessionCounters:
    states_sent: int = 0
    states_dropped_backpressure: int = 0
    control_sent: int = 0


class SendsOnChannels:
    """Sending on our own `state` and `control` channels, the same rules whichever SFU is behind them."""

    _channels: dict[str, Any]
    counters: SessionCounters
    participants: dict[str, ParticipantInfo]

    def send_state(self, data: bytes) -> bool:
        """Send on the lossy channel; drop (and count) rather than queue behind a slow link."""
        channel = self._channels.get(STATE_CHANNEL)
        if channel is None or channel.readyState != "open":
            return False
        if channel.bufferedAmount > MAX_LOSSY_BUFFERED_BYTES:
            self.counters.states_dropped_backpressure += 1
            return False
        channel.send(data)
        self.counters.states_sent += 1
        return True

    def send_control(self, data: bytes) -> bool:
        channel = self._channels.get(CONTROL_CHANNEL)
        if channel is None or channel.readyState != "open":
            return False
        channel.send(data)
        self.counters.control_sent += 1
        return True

    def participant_by_number(self, number: int) -> ParticipantInfo | None:
        return next((p for p in self.participants.values() if p.number == number), None)


class RoomSession(SendsOnChannels):
    """A participant's connection to a bundled room at `url` (ws://host:port/ws)."""

    def __init__(
        self,
        url: str,
        join: Join,
        *,
        audio_track: MediaStreamTrack | None = None,
        callbacks: SessionCallbacks | None = None,
        configuration: RTCConfiguration | None = None,
        ice: IceOptions | None = None,
    ) -> None:
        self.url = url
        self.ice = ice or IceOptions()
        self.join_request = join
        self.audio_track = audio_track
        self.callbacks = callbacks or SessionCallbacks()
        self._local = is_local_url(url)
        self._configuration = session_configuration(configuration, self.ice, self._local)
        self.me: ParticipantInfo | None = None
        self.mode = RoomMode.FORWARD
        self.participants: dict[str, ParticipantInfo] = {}
        self.track_owners: dict[str, str] = {}  # mid → participant id
        self.counters = SessionCounters()
        self.pc: RTCPeerConnection | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._channels: dict[str, Any] = {}
        self._reader: asyncio.Task[None] | None = None
        self._closed = False
        self.close_reason: str | None = None
        self.connected = asyncio.Event()
        self._channels_open: dict[str, asyncio.Event] = {
            STATE_CHANNEL: asyncio.Event(),
            CONTROL_CHANNEL: asyncio.Event(),
        }
        self._remote_tracks: dict[str, Any] = {}

    # --- connecting -------------------------------------------------------------------------------

    async def connect(self, timeout: float = CONNECT_TIMEOUT_S) -> Welcome:
        """Join the room and bring up the peer connection; raises SessionError with the room's reason."""
        try:
            return await asyncio.wait_for(self._connect(), timeout)
        except TimeoutError:
            await self.close(CloseReason.CONNECT_TIMEOUT)
            raise SessionError(
                "connect-timeout", f"no answer from {self.url} within {timeout:.0f} s"
            ) from None
        except (aiohttp.ClientError, OSError) as error:
            await self.close(CloseReason.UNREACHABLE)
            raise SessionError("unreachable", f"cannot reach {self.url}: {_plain(error)}") from None
        except SessionError:
            await self.close(CloseReason.REFUSED)
            raise

    async def _connect(self) -> Welcome:
        install_patches()
        if self._local:
            restrict_to_loopback()
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(
            self.url, heartbeat=HEARTBEAT_S, max_msg_size=MAX_SIGNALING_BYTES
        )
        await self._ws.send_str(to_json(self.join_request))
        welcome = await self._receive()
        if isinstance(welcome, Error):
            raise SessionError(welcome.code, welcome.reason)
        if not isinstance(welcome, Welcome):
            raise SessionError("protocol", f"expected welcome, got {welcome.TYPE}")
        self.me = welcome.you
        self.mode = welcome.mode
        self.participants = {p.id: p for p in welcome.participants}

        pc = self.pc = RTCPeerConnection(self._configuration)
        self._wire_peer_connection(pc)
        if self.audio_track is not None and welcome.you.may_publish:
            pc.addTransceiver(self.audio_track, direction="sendonly")
        self._open_channel(pc.createDataChannel(STATE_CHANNEL, ordered=False, maxRetransmits=0))
        self._open_channel(pc.createDataChannel(CONTROL_CHANNEL))
        await pc.setLocalDescription(await pc.createOffer())
        problem = await relay_problem(pc, self.ice)
        if problem is not None:
            raise SessionError("turn-failed", problem)
        await self._ws.send_str(to_json(Offer(pc.localDescription.sdp)))
        while True:
            message = await self._receive()
            if isinstance(message, Answer):
                await pc.setRemoteDescription(RTCSessionDescription(message.sdp, "answer"))
                break
            if isinstance(message, Error):
                raise SessionError(message.code, message.reason)
            self._handle_roster(message)
        await self._channels_open[STATE_CHANNEL].wait()
        await self._channels_open[CONTROL_CHANNEL].wait()
        if self._closed:  # closed meanwhile (the transport failed): no reader for a closed connection
            raise SessionError(self.close_reason or "closed", "the connection closed while joining")
        self._reader = asyncio.create_task(self._read_forever(), name=f"session-{self.join_request.name}")
        self.connected.set()
        return welcome

    async def _receive(self) -> SignalingMessage:
        assert self._ws is not None
        while True:
            message = await self._ws.receive()
            if message.type == aiohttp.WSMsgType.TEXT:
                try:
                    return parse_signaling(message.data)
                except SignalingError as error:
                    log.warning("room sent a malformed signaling message: %s", error)
                    continue
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                reason = self._ws.close_code
                raise SessionError("closed", f"the room closed the connection (code {reason})")
            if message.type == aiohttp.WSMsgType.ERROR:
                raise SessionError("closed", f"signaling failed: {self._ws.exception()}")

    def _wire_peer_connection(self, pc: RTCPeerConnection) -> None:
        @pc.on("track")
        def on_track(track: Any) -> None:
            transceiver = next((t for t in pc.getTransceivers() if t.receiver.track is track), None)
            if transceiver is None or transceiver.mid is None:
                return
            self._remote_tracks[transceiver.mid] = track
            self.callbacks.on_remote_track(transceiver.mid, track, transceiver.receiver)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState == "failed":
                await self.close(CloseReason.TRANSPORT_FAILED)

    def _open_channel(self, channel: Any) -> None:
        self._channels[channel.label] = channel
        opened = self._channels_open[channel.label]

        @channel.on("open")
        def on_open() -> None:
            opened.set()

        @channel.on("message")
        def on_message(data: bytes | str) -> None:
            if isinstance(data, str):
                return
            if channel.label == STATE_CHANNEL:
                self.callbacks.on_state(data)
            else:
                self.callbacks.on_control(data)

    # --- running ----------------------------------------------------------------------------------

    async def _read_forever(self) -> None:
        try:
            while True:
                message = await self._receive()
                if isinstance(message, Offer):
                    if self._closed:  # the room's offer crossed our leaving: the connection is gone
                        return
                    await self._answer(message.sdp)
                elif isinstance(message, Error):
                    log.warning("room says %s: %s", message.code, message.reason)
                else:
                    self._handle_roster(message)
        except SessionError as error:
            await self.close(error.code)
        except (aiohttp.ClientError, ConnectionError) as error:
            # The room went away mid-exchange (or we are closing): end the session, don't crash.
            log.info("signaling to %s ended: %s", self.url, error)
            await self.close(CloseReason.SIGNALING_LOST)

    async def _answer(self, sdp: str) -> None:
        assert self.pc is not None and self._ws is not None
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self._ws.send_str(to_json(Answer(self.pc.localDescription.sdp)))

    def _handle_roster(self, message: SignalingMessage) -> None:
        if isinstance(message, Joined):
            self.participants[message.participant.id] = message.participant
            self.callbacks.on_joined(message.participant)
        elif isinstance(message, Left):
            gone = self.participants.pop(message.id, None)
            if gone is not None:
                self.callbacks.on_left(gone, message.reason)
        elif isinstance(message, Tracks):
            self.track_owners = dict(message.mids)
            self.callbacks.on_tracks(self.track_owners)

    # --- closing ----------------------------------------------------------------------------------

    async def close(self, reason: str = CloseReason.LEFT) -> None:
        """Leave the room and stop everything this session started; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.close_reason = reason
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(Exception):
                await self._ws.send_str(to_json(Leave()))
        if self._reader is not None and self._reader is not asyncio.current_task():
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError, ConnectionError):
                await self._reader
        if self.pc is not None:
            await self.pc.close()
        if self._ws is not None:
            await self._ws.close()
        if self._http is not None:
            await self._http.close()
        self.callbacks.on_closed(reason)
