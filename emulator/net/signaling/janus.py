"""A headset in a Janus VideoRoom (`janus://HOST:PORT/ROOM_ID`), with the same face as `RoomSession`.

What differs from the bundled room, and how this class hides it:
- Janus is one publisher peer connection (our Opus track and our `state`/`control` data channels)
  plus one subscriber connection per other publisher. One subscription per feed is what tells us
  whose bytes arrive: Janus relays data channel messages as they are, without a sender.
- Janus stamps nothing, so the room numbers the bundled room would give (the `sender` field of every
  state-stream message, see `emulator/wire/PROTOCOL.md`) are given here, on the client: each
  publisher gets a local number when it appears, and every message from its feed is stamped with it.
- Janus's roster is its publishers: `publishers` events are joins, `unpublished`/`leaving` are leaves.
- The display name carries the participant's profile as JSON (`{"name", "profile", "avatar",
  "face_set"}`); a plain display (a browser's, say) is taken as the name.
Runs on one asyncio loop; callbacks are called on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse

from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from emulator.net.signaling.janus_signaling import JanusConnection, JanusError, JanusEvent
from emulator.net.signaling.room_session import (
    CONNECT_TIMEOUT_S,
    SendsOnChannels,
    SessionCallbacks,
    SessionCounters,
    SessionError,
)
from emulator.net.transport.ice import is_loopback_host, restrict_to_loopback
from emulator.net.transport.ice_servers import IceOptions, relay_problem, session_configuration
from emulator.net.transport.patch_install import install as install_patches
from emulator.wire import WireError, stamp_datagram
from emulator.wire.channels import CONTROL_CHANNEL, STATE_CHANNEL
from emulator.wire.signaling import CloseReason, Join, ParticipantInfo, RoomMode, Welcome

log = logging.getLogger(__name__)

VIDEOROOM = "janus.plugin.videoroom"
NO_SUCH_ROOM = 426


def is_janus_url(url: str) -> bool:
    return urlparse(url).scheme == "janus"


def parse_janus_url(url: str) -> tuple[str, int | str, bool]:
    """janus://HOST:PORT/ROOM → (ws://HOST:PORT/, room, on loopback)."""
    parsed = urlparse(url)
    room_text = parsed.path.strip("/")
    if parsed.scheme != "janus" or not parsed.hostname or not room_text:
        raise SessionError("bad-url", f"expected janus://HOST:PORT/ROOM_ID, got {url!r}")
    room: int | str = int(room_text) if room_text.isdigit() else room_text
    host = parsed.hostname
    netloc = f"[{host}]" if ":" in host else host
    ws_url = f"ws://{netloc}:{parsed.port or 8188}/"
    return ws_url, room, host == "localhost" or is_loopback_host(host)


def participant_from_publisher(publisher: dict[str, Any], number: int) -> ParticipantInfo:
    display = str(publisher.get("display") or "")
    fields: dict[str, Any] = {}
    if display.startswith("{"):
        with contextlib.suppress(ValueError):
            loaded = json.loads(display)
            fields = loaded if isinstance(loaded, dict) else {}
    return ParticipantInfo(
        id=str(fields.get("id") or publisher["id"])[:128],
        number=number,
        name=str(fields.get("name") or display or publisher["id"])[:64],
        profile=str(fields.get("profile") or "unknown"),
        avatar=str(fields.get("avatar") or "default"),
        face_set=str(fields.get("face_set") or "arkit52"),
        may_publish=True,
    )


def stamp(data: bytes, number: int) -> list[bytes]:
    """What the bundled room does to a forwarded message: the sender field becomes its number.

    A publisher's BATCH (its own STATEs packed together) comes apart into its messages, each stamped.
    Nothing for anything that is not v1 (nothing we may attribute).
    """
    try:
        return stamp_datagram(data, number)
    except WireError:
        return []


@dataclass
class Subscription:
    """One other publisher's feed: its handle, its peer connection, the track keys it gave us."""

    info: ParticipantInfo
    feed: int | str
    handle: int | None = None
    pc: RTCPeerConnection | None = None
    keys: list[str] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class JanusSession(SendsOnChannels):
    """Our publisher connection, one subscriber connection per other publisher, and the roster."""

    def __init__(
        self,
        url: str,
        join: Join,
        *,
        audio_track: MediaStreamTrack | None = None,
        callbacks: SessionCallbacks | None = None,
        configuration: RTCConfiguration | None = None,
        ice: IceOptions | None = None,
        identity: str | None = None,
    ) -> None:
        """`identity`: the participant id others see (Janus's publisher id when None)."""
        self.url = url
        self.identity = identity
        self.join_request = join
        self.audio_track = audio_track
        self.callbacks = callbacks or SessionCallbacks()
        self.ws_url, self.room, self._local = parse_janus_url(url)
        self.ice = ice or IceOptions()
        self._configuration = session_configuration(configuration, self.ice, self._local)
        self.me: ParticipantInfo | None = None
        self.mode = RoomMode.FORWARD
        self.participants: dict[str, ParticipantInfo] = {}
        self.track_owners: dict[str, str] = {}
        self.counters = SessionCounters()
        self.pc: RTCPeerConnection | None = None
        self.close_reason: str | None = None
        self.connected = asyncio.Event()
        self._janus = JanusConnection(self.ws_url)
        self._janus.on_lost = self._on_lost
        self._publisher: int | None = None
        self._private_id: int | None = None
        self._channels: dict[str, Any] = {}
        self._subscriptions: dict[str, Subscription] = {}  # by feed (publisher id)
        self._my_feed: str | None = None
        self._next_number = 1
        self._closed = False
        self._closing: asyncio.Task[None] | None = None

    # --- connecting -------------------------------------------------------------------------------

    async def connect(self, timeout: float = CONNECT_TIMEOUT_S) -> Welcome:
        try:
            return await asyncio.wait_for(self._connect(), timeout)
        except TimeoutError:
            await self.close(CloseReason.CONNECT_TIMEOUT)
            raise SessionError(
                "connect-timeout", f"no answer from {self.url} within {timeout:.0f} s"
            ) from None
        except (OSError, ConnectionError) as error:
            await self.close(CloseReason.UNREACHABLE)
            raise SessionError("unreachable", f"cannot reach Janus at {self.ws_url}: {error}") from None
        except JanusError as error:
            await self.close(CloseReason.REFUSED)
            raise SessionError("refused", f"Janus refused: {error} (code {error.code})") from None
        except SessionError:
            await self.close(CloseReason.REFUSED)
            raise
        except Exception as error:  # aiohttp's errors are not all OSErrors
            await self.close(CloseReason.UNREACHABLE)
            raise SessionError("unreachable", f"cannot reach Janus at {self.ws_url}: {error}") from None

    def _display(self) -> str:
        join = self.join_request
        return json.dumps(
            {
                "id": self.identity,
                "name": join.name,
                "profile": join.profile,
                "avatar": join.avatar,
                "face_set": join.face_set,
            }
        )

    async def _connect(self) -> Welcome:
        install_patches()
        if self._local:
            restrict_to_loopback()
        await self._janus.open()
        self._publisher = await self._janus.attach(VIDEOROOM, self._on_publisher_event)
        body = {"request": "join", "ptype": "publisher", "room": self.room, "display": self._display()}
        try:
            reply = await self._janus.message(self._publisher, body)
        except JanusError as error:
            if error.code != NO_SUCH_ROOM:
                raise
            # A room nobody made yet: make it (audio only matters to us; data channels are on by default).
            await self._janus.message(
                self._publisher,
                {"request": "create", "room": self.room, "publishers": 64, "audiocodec": "opus"},
            )
            reply = await self._janus.message(self._publisher, body)
        data = reply["plugindata"]["data"]
        self._private_id = data.get("private_id")
        self._my_feed = str(data["id"])
        self.me = ParticipantInfo(
            self.identity or self._my_feed, 0, self.join_request.name, self.join_request.profile,
            self.join_request.avatar, self.join_request.face_set, True,
        )  # fmt: skip
        await self._publish()
        for publisher in data.get("publishers", []):
            self._publisher_appeared(publisher, announce=False)
        self.connected.set()
        return Welcome(self.me, self.mode, list(self.participants.values()))

    async def _publish(self) -> None:
        assert self._publisher is not None
        pc = self.pc = RTCPeerConnection(self._configuration)
        opened = {STATE_CHANNEL: asyncio.Event(), CONTROL_CHANNEL: asyncio.Event()}

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState == "failed":
                self._close_soon(CloseReason.TRANSPORT_FAILED)

        if self.audio_track is not None:
            pc.addTransceiver(self.audio_track, direction="sendonly")
        # The same channels as for the bundled room: poses lossy and unordered, HELLO reliable.
        self._channels[STATE_CHANNEL] = pc.createDataChannel(STATE_CHANNEL, ordered=False, maxRetransmits=0)
        self._channels[CONTROL_CHANNEL] = pc.createDataChannel(CONTROL_CHANNEL)
        for label, channel in self._channels.items():
            channel.on("open", opened[label].set)
        await pc.setLocalDescription(await pc.createOffer())
        problem = await relay_problem(pc, self.ice)
        if problem is not None:
            raise SessionError("turn-failed", problem)
        body = {"request": "publish", "audio": self.audio_track is not None, "data": True}
        reply = await self._janus.message(
            self._publisher, body, {"type": "offer", "sdp": pc.localDescription.sdp}
        )
        jsep = reply.get("jsep")
        if not jsep:
            raise SessionError("protocol", "Janus accepted the publish request without an answer")
        await pc.setRemoteDescription(RTCSessionDescription(jsep["sdp"], "answer"))
        await opened[STATE_CHANNEL].wait()
        await opened[CONTROL_CHANNEL].wait()

    # --- the roster -------------------------------------------------------------------------------

    def _on_publisher_event(self, event: JanusEvent) -> None:
        kind = event.get("janus")
        if kind == "hangup":
            self._close_soon(CloseReason.TRANSPORT_FAILED)
            return
        if kind == "trickle" and self.pc is not None:
            self._add_trickled(self.pc, event)
            return
        data = event.get("plugindata", {}).get("data", {})
        for publisher in data.get("publishers", []) or []:
            self._publisher_appeared(publisher, announce=True)
        for key, reason in (
            ("unpublished", CloseReason.LEFT),
            ("leaving", CloseReason.LEFT),
            ("kicked", CloseReason.KICKED),
        ):
            gone = data.get(key)
            if gone is not None and gone != "ok":
                self._publisher_gone(str(gone), reason)

    def _publisher_appeared(self, publisher: dict[str, Any], *, announce: bool) -> None:
        feed = publisher.get("id")
        if not isinstance(feed, int | str) or str(feed) in self._subscriptions or str(feed) == self._my_feed:
            return
        info = participant_from_publisher(publisher, self._next_number)
        if info.id in self.participants or (self.me is not None and info.id == self.me.id):
            info = replace(info, id=str(feed))  # two publishers claim one identity: tell them apart
        self._next_number = self._next_number % 65535 + 1
        self.participants[info.id] = info
        if announce:
            self.callbacks.on_joined(info)
        subscription = self._subscriptions[str(feed)] = Subscription(info, feed)
        subscription.task = asyncio.create_task(self._subscribe(subscription), name=f"janus-sub-{feed}")
        subscription.task.add_done_callback(_log_failure)

    def _publisher_gone(self, feed: str, reason: str) -> None:
        subscription = self._subscriptions.pop(feed, None)
        if subscription is None:
            return
        info = subscription.info
        self.participants.pop(info.id, None)
        for key in subscription.keys:
            self.track_owners.pop(key, None)
        self.callbacks.on_tracks(dict(self.track_owners))
        task = asyncio.create_task(self._unsubscribe(subscription), name=f"janus-unsub-{feed}")
        task.add_done_callback(_log_failure)
        self.callbacks.on_left(info, reason)

    async def _subscribe(self, subscription: Subscription) -> None:
        info = subscription.info
        pc = subscription.pc = RTCPeerConnection(self._configuration)

        @pc.on("track")
        def on_track(track: Any) -> None:
            transceiver = next((t for t in pc.getTransceivers() if t.receiver.track is track), None)
            if transceiver is None or transceiver.mid is None or track.kind != "audio":
                return
            key = f"{info.id}/{transceiver.mid}"
            subscription.keys.append(key)
            self.track_owners[key] = info.id
            self.callbacks.on_remote_track(key, track, transceiver.receiver)
            self.callbacks.on_tracks(dict(self.track_owners))

        def listen(channel: Any) -> None:
            control = channel.label == CONTROL_CHANNEL
            deliver = self.callbacks.on_control if control else self.callbacks.on_state

            @channel.on("message")
            def on_message(data: bytes | str) -> None:
                if isinstance(data, str) or self.participants.get(info.id) is not info:
                    return
                for stamped in stamp(data, info.number):
                    deliver(stamped)

        pc.on("datachannel", listen)

        def on_event(event: JanusEvent) -> None:
            if event.get("janus") == "trickle":
                self._add_trickled(pc, event)

        subscription.handle = await self._janus.attach(VIDEOROOM, on_event)
        body: dict[str, Any] = {
            "request": "join", "ptype": "subscriber", "room": self.room,
            "streams": [{"feed": subscription.feed}],
        }  # fmt: skip
        if self._private_id is not None:
            body["private_id"] = self._private_id
        reply = await self._janus.message(subscription.handle, body)
        jsep = reply.get("jsep")
        if not jsep:
            log.warning("Janus offered nothing for %s (%s)", info.name, info.id)
            return
        await pc.setRemoteDescription(RTCSessionDescription(jsep["sdp"], "offer"))
        if any(s.get("type") == "data" for s in reply["plugindata"]["data"].get("streams", [])):
            # Janus relays a feed's data only once the subscriber has a data channel of its own open
            # (its "data ready"), as janus.js opens one. Janus then sends everything the publisher
            # sent, `state` and `control` alike, on a channel labelled with the publisher's id, which
            # it opens reliable and ordered unless one of that label exists. Opening it here, lossy,
            # keeps poses lossy on the way down (a reliable channel stalls a second on each loss).
            listen(pc.createDataChannel(str(subscription.feed), ordered=False, maxRetransmits=0))
        await pc.setLocalDescription(await pc.createAnswer())
        await self._janus.message(
            subscription.handle, {"request": "start"}, {"type": "answer", "sdp": pc.localDescription.sdp}
        )

    async def _unsubscribe(self, subscription: Subscription) -> None:
        if subscription.task is not None and subscription.task is not asyncio.current_task():
            subscription.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await subscription.task
        if subscription.handle is not None:
            await self._janus.detach(subscription.handle)
        if subscription.pc is not None:
            await subscription.pc.close()

    @staticmethod
    def _add_trickled(pc: RTCPeerConnection, event: JanusEvent) -> None:
        candidate = event.get("candidate") or {}
        text = candidate.get("candidate") if isinstance(candidate, dict) else None
        if not text:
            return  # {"completed": true}: aiortc needs no end-of-candidates
        parsed = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
        task = asyncio.ensure_future(pc.addIceCandidate(parsed))
        task.add_done_callback(_log_failure)

    # --- closing ----------------------------------------------------------------------------------

    def _on_lost(self, reason: str) -> None:
        self._close_soon(CloseReason.TRANSPORT_LOST if not self._closed else reason)

    def _close_soon(self, reason: str) -> None:
        if not self._closed and self._closing is None:
            self._closing = asyncio.ensure_future(self.close(reason))

    async def close(self, reason: str = CloseReason.LEFT) -> None:
        """Leave the room and stop everything this session started; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.close_reason = reason
        for subscription in list(self._subscriptions.values()):
            await self._unsubscribe(subscription)
        self._subscriptions.clear()
        if self._publisher is not None and reason == CloseReason.LEFT:
            with contextlib.suppress(JanusError, TimeoutError, ConnectionError, RuntimeError):
                await self._janus.request(
                    {"janus": "message", "handle_id": self._publisher, "body": {"request": "leave"}},
                    timeout=2.0,
                )
        if self.pc is not None:
            await self.pc.close()
        await self._janus.close()
        self.callbacks.on_closed(reason)


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("Janus session task failed: %s", task.exception())
