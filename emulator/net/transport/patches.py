"""Every place this project reaches into aiortc's or aioice's internals, listed and checked here.

Each `Patch` names what it touches and why; its `check` looks for exactly what the patching code
relies on, in the modules it is given (so a test can hand it a simulated aiortc whose internals
moved). The modules that apply the patches reach aiortc's and aioice's private attributes only
through the functions at the end of this one, so what each touches is named here and nowhere else.
`patch_install.install()` checks every patch, then installs the process-wide ones once; the
per-connection ones (direct send, receive tap, network conditioner, RTP loss) are applied by their
own modules when a connection needs them, and `install()` has already made sure they will find what
they expect. An aiortc or aioice without what a patch needs is refused at start, in one line
(`InternalsChanged`), instead of failing later inside a call or, worse, silently.
pyproject.toml pins both to the minor series these checks were written against.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

TESTED = {"aiortc": "1.16", "aioice": "0.13"}


class InternalsChanged(RuntimeError):
    """The installed aiortc or aioice lacks what a patch relies on; the message is one line."""


@dataclass(frozen=True)
class Patch:
    name: str
    module: str  # the emulator module that applies it
    touches: str
    why: str
    check: Callable[[Any, Any], str | None]  # (aiortc, aioice) -> what is missing, or None


def _get(root: Any, dotted: str) -> Any:
    value = root
    for part in dotted.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def _assigns(function: Any, *names: str) -> list[str]:
    """Which of `names` a function's bytecode does not use (no source needed: bundles have none)."""
    code = getattr(function, "__code__", None)
    used = set(code.co_names) if code is not None else set()
    return [name for name in names if name not in used]


def _missing(kind: str, where: str, names: list[str]) -> str | None:
    return f"{kind} {where} has no {', '.join(names)}" if names else None


def _check_sctp(aiortc: Any, _aioice: Any) -> str | None:
    transport = _get(aiortc, "rtcsctptransport.RTCSctpTransport")
    if transport is None:
        return "aiortc has no rtcsctptransport.RTCSctpTransport"
    if not inspect.iscoroutinefunction(getattr(transport, "_send_sack", None)):
        return "aiortc RTCSctpTransport has no coroutine _send_sack"
    if _assigns(getattr(transport, "_handle_data", None), "_send_sack"):
        return "aiortc RTCSctpTransport._handle_data no longer calls _send_sack"
    state = ("_sack_needed", "_sack_misordered", "_sack_duplicates", "_association_state")
    return _missing("aiortc", "RTCSctpTransport", _assigns(transport.__init__, *state))


def _check_sctp_sends(aiortc: Any, _aioice: Any) -> str | None:
    transport = _get(aiortc, "rtcsctptransport.RTCSctpTransport")
    channel = _get(aiortc, "rtcdatachannel.RTCDataChannel")
    if transport is None or channel is None:
        return "aiortc has no rtcsctptransport.RTCSctpTransport or rtcdatachannel.RTCDataChannel"
    if not inspect.iscoroutinefunction(getattr(transport, "_data_channel_flush", None)):
        return "aiortc RTCSctpTransport has no coroutine _data_channel_flush"
    if not callable(getattr(channel, "_addBufferedAmount", None)):
        return "aiortc RTCDataChannel has no _addBufferedAmount"
    identifiers = {
        "WEBRTC_STRING": 51,
        "WEBRTC_BINARY": 53,
        "WEBRTC_STRING_EMPTY": 56,
        "WEBRTC_BINARY_EMPTY": 57,
    }
    if any(_get(aiortc, f"rtcsctptransport.{name}") != value for name, value in identifiers.items()):
        return "aiortc's data channel payload protocol identifiers are not RFC 8831's"
    # What aiortc's own send does, and what `queue_message` below does in its place (once replaced,
    # the replacement keeps aiortc's as `__wrapped__`).
    send = getattr(transport, "_data_channel_send", None)
    missing = _assigns(
        getattr(send, "__wrapped__", send),
        "_addBufferedAmount", "_data_channel_queue", "_data_channel_flush", "_remote_max_message_size",
    )  # fmt: skip
    missing += _assigns(transport.__init__, "_data_channel_queue", "_remote_max_message_size")
    return _missing("aiortc", "RTCSctpTransport", missing)


def _check_dtls_receive(aiortc: Any, aioice: Any) -> str | None:
    dtls = _get(aiortc, "rtcdtlstransport.RTCDtlsTransport")
    connection = _get(aioice, "ice.Connection")
    if dtls is None or connection is None:
        return "aiortc has no RTCDtlsTransport or aioice no ice.Connection"
    if not inspect.iscoroutinefunction(getattr(dtls, "start", None)):
        return "aiortc RTCDtlsTransport has no coroutine start"
    if not callable(getattr(connection, "data_received", None)):
        return "aioice Connection has no data_received"
    # What `dtls_datagram` below does is aiortc's `_recv_next` once it has the datagram.
    missing = _assigns(
        getattr(dtls, "_recv_next", None),
        "_RTCDtlsTransport__handshake_done", "_RTCDtlsTransport__rx_bytes", "_RTCDtlsTransport__rx_packets",
        "bio_write", "recv", "_write_ssl", "_data_receiver", "_handle_data", "_rx_srtp", "is_rtcp",
        "unprotect", "unprotect_rtcp", "_handle_rtcp_data", "_handle_rtp_data", "current_ms",
    )  # fmt: skip
    start = getattr(dtls, "start", None)
    missing += _assigns(getattr(start, "__wrapped__", start), "_task")  # aiortc's, once wrapped
    missing += _assigns(dtls.__init__, "_task", "_RTCDtlsTransport__handshake_done")
    # The receive task waits in Connection.recvfrom on its queue; a None there ends it (end_dtls_receive).
    missing += [
        f"Connection.recvfrom {n}" for n in _assigns(_get(aioice, "ice.Connection.recvfrom"), "_queue")
    ]
    return _missing("aiortc", "RTCDtlsTransport", missing)


def _check_direct_send(aiortc: Any, _aioice: Any) -> str | None:
    sender = _get(aiortc, "rtcrtpsender.RTCRtpSender")
    transceiver = _get(aiortc, "rtcrtptransceiver.RTCRtpTransceiver")
    if sender is None or transceiver is None:
        return "aiortc has no RTCRtpSender or RTCRtpTransceiver"
    fields = ("started", "rtp_header_extensions_map", "mid", "packet_count", "octet_count",
              "ntp_timestamp", "rtp_timestamp")  # fmt: skip
    missing = _assigns(sender.__init__, "_ssrc", *(f"_RTCRtpSender__{name}" for name in fields))
    missing += _assigns(transceiver.__init__, "_codecs")
    if not inspect.iscoroutinefunction(_get(aiortc, "rtcdtlstransport.RTCDtlsTransport._send_rtp")):
        missing.append("RTCDtlsTransport._send_rtp")
    return _missing("aiortc", "RTCRtpSender/RTCRtpTransceiver", missing)


def _check_receive_tap(aiortc: Any, _aioice: Any) -> str | None:
    receiver = _get(aiortc, "rtcrtpreceiver.RTCRtpReceiver")
    if receiver is None or not callable(_get(aiortc, "jitterbuffer.JitterBuffer.add")):
        return "aiortc has no RTCRtpReceiver or JitterBuffer.add"
    return _missing("aiortc", "RTCRtpReceiver", _assigns(receiver.__init__, "_RTCRtpReceiver__jitter_buffer"))


def _check_rtp_loss(aiortc: Any, _aioice: Any) -> str | None:
    handle = _get(aiortc, "rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet")
    if (
        not inspect.iscoroutinefunction(handle)
        or "arrival_time_ms" not in inspect.signature(handle).parameters
    ):
        return "aiortc RTCRtpReceiver has no coroutine _handle_rtp_packet(packet, arrival_time_ms)"
    return None


def _check_conditioner(aiortc: Any, aioice: Any) -> str | None:
    ice = _get(aiortc, "rtcicetransport.RTCIceTransport")
    dtls = _get(aiortc, "rtcdtlstransport.RTCDtlsTransport")
    if ice is None or dtls is None:
        return "aiortc has no RTCIceTransport or RTCDtlsTransport"
    missing = _assigns(ice.__init__, "_connection", "_send")
    missing += _assigns(getattr(dtls, "_send_rtp", None), "_send")
    if not callable(_get(aioice, "ice.Connection.data_received")):
        missing.append("aioice Connection.data_received")
    missing += [
        f"aioice Connection.{name}"
        for name in _assigns(_get(aioice, "ice.Connection.__init__"), "_nominated")
    ]
    return _missing("aiortc", "RTCIceTransport/RTCDtlsTransport", missing)


def _check_ice_sockets(_aiortc: Any, aioice: Any) -> str | None:
    protocol = _get(aioice, "ice.StunProtocol")
    if protocol is None:
        return "aioice has no ice.StunProtocol"
    missing = [
        name
        for name in ("connection_made", "datagram_received")
        if not callable(getattr(protocol, name, None))
    ]
    if not isinstance(_get(aioice, "turn.UDP_SOCKET_BUFFER_SIZE"), int):
        missing.append("turn.UDP_SOCKET_BUFFER_SIZE")
    return _missing("aioice", "StunProtocol", missing)


def _check_loopback_ice(_aiortc: Any, aioice: Any) -> str | None:
    missing = [
        name
        for name in (
            "ice.get_host_addresses",
            "ice.Connection.add_remote_candidate",
            "ice.Connection.request_received",
        )
        if not callable(_get(aioice, name))
    ]
    return _missing("aioice", "ice", missing)


PATCHES: tuple[Patch, ...] = (
    Patch(
        "sctp-sacks",
        "emulator.net.transport.sctp",
        "RTCSctpTransport._send_sack (replaced); reads _sack_needed, _sack_misordered, _sack_duplicates",
        "aiortc acknowledges every SCTP packet; delayed SACKs (RFC 4960 6.2) halve the packets of a "
        "room's state traffic",
        _check_sctp,
    ),
    Patch(
        "sctp-sends",
        "emulator.net.transport.sctp",
        "RTCSctpTransport._data_channel_send (replaced); its _data_channel_queue, "
        "_remote_max_message_size and _data_channel_flush; RTCDataChannel._addBufferedAmount",
        "aiortc starts a task for every message a data channel sends; running its flush at once "
        "(eager.py) sends the same datagram without the task and its turn of the loop",
        _check_sctp_sends,
    ),
    Patch(
        "dtls-receive",
        "emulator.net.transport.dtls_receive",
        "RTCDtlsTransport.start (wrapped) and what its _recv_next does with a datagram: _ssl, _write_ssl, "
        "_data_receiver, _rx_srtp, _handle_rtp_data, _handle_rtcp_data, its received counters and "
        "handshake flag, its _task; aioice Connection.data_received (replaced) and its _queue",
        "aiortc passes every datagram from aioice to DTLS through a queue and a task's turn of the loop; "
        "handled where it is read, the same work costs no queue, future or wake-up",
        _check_dtls_receive,
    ),
    Patch(
        "direct-send",
        "emulator.net.media.direct_send",
        "RTCRtpSender's private counters, mid, header extensions and _ssrc; RTCRtpTransceiver._codecs; "
        "sends through RTCDtlsTransport._send_rtp",
        "the room relays Opus frames as they arrived, without decoding and re-encoding them per listener",
        _check_direct_send,
    ),
    Patch(
        "receive-tap",
        "emulator.net.media.receive",
        "RTCRtpReceiver.__jitter_buffer (replaced per receiver)",
        "the headset's own playout buffer gets each RTP packet, with arrival time, instead of aiortc's "
        "jitter buffer and decoder",
        _check_receive_tap,
    ),
    Patch(
        "rtp-loss",
        "emulator.net.media.loss",
        "RTCRtpReceiver._handle_rtp_packet (wrapped per receiver)",
        "`--loss` drops incoming RTP as the network would, before any buffer sees it",
        _check_rtp_loss,
    ),
    Patch(
        "conditioner",
        "emulator.net.transport.conditions",
        "RTCIceTransport._send and aioice Connection.data_received (wrapped per connection); "
        "ice_servers.py also reads RTCIceTransport._connection and its Connection._nominated for the "
        "candidate types and pair in use",
        "`--net` delays, rate-limits and drops datagrams below DTLS, like a real link",
        _check_conditioner,
    ),
    Patch(
        "ice-sockets",
        "emulator.net.transport.ice_sockets",
        "aioice StunProtocol.connection_made and datagram_received; turn.UDP_SOCKET_BUFFER_SIZE",
        "bigger socket buffers and draining many datagrams per wake-up keep a room of 30 from dropping "
        "bursts",
        _check_ice_sockets,
    ),
    Patch(
        "loopback-ice",
        "emulator.net.transport.ice",
        "aioice ice.get_host_addresses, Connection.add_remote_candidate and request_received",
        "tests and demos gather and accept only this machine's addresses, so nothing leaves it",
        _check_loopback_ice,
    ),
)


def modules(aiortc: Any, aioice: Any) -> tuple[Any, Any]:
    import aioice as installed_aioice
    import aiortc as installed_aiortc

    return aiortc or installed_aiortc, aioice or installed_aioice


def problems(aiortc: Any = None, aioice: Any = None) -> list[tuple[Patch, str]]:
    """Each patch whose assumptions the given (default: installed) aiortc and aioice break, and why."""
    aiortc, aioice = modules(aiortc, aioice)
    found = []
    for patch in PATCHES:
        why = patch.check(aiortc, aioice)
        if why is not None:
            found.append((patch, why))
    return found


def problem(name: str, aiortc: Any = None, aioice: Any = None) -> str | None:
    """What the given (default: installed) aiortc and aioice lack for the patch called `name`, or None."""
    aiortc, aioice = modules(aiortc, aioice)
    return next(patch.check(aiortc, aioice) for patch in PATCHES if patch.name == name)


def refusal(aiortc: Any, aioice: Any, broken: list[tuple[Patch, str]]) -> str:
    versions = f"aiortc {getattr(aiortc, '__version__', '?')}, aioice {getattr(aioice, '__version__', '?')}"
    first, why = broken[0]
    more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
    tested = f"aiortc {TESTED['aiortc']}.x and aioice {TESTED['aioice']}.x"
    return f"{versions} lack what {first.module} patches: {why}{more}; install {tested}"


# --- Reaching in ------------------------------------------------------------------------------------
# The only code that names aiortc's or aioice's private attributes. The modules listed in PATCHES
# call these; tests/unit/test_private_access.py fails on any other module that reaches in.

# sctp-sacks


def replace_send_sack(replacement: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
    """Make `replacement` every RTCSctpTransport's `_send_sack`; returns aiortc's own."""
    from aiortc.rtcsctptransport import RTCSctpTransport

    stock: Callable[[Any], Awaitable[None]] = RTCSctpTransport._send_sack
    RTCSctpTransport._send_sack = replacement  # type: ignore[method-assign,assignment]
    return stock


def sack_needed(transport: Any) -> bool:
    """Whether the association has received data it has not acknowledged."""
    return bool(transport._sack_needed)


def sack_at_once(transport: Any) -> bool:
    """Data arrived out of order or duplicated: RFC 4960 6.2 wants the SACK now."""
    return bool(transport._sack_misordered or transport._sack_duplicates)


def association_established(transport: Any) -> bool:
    return bool(transport._association_state == type(transport).State.ESTABLISHED)


# sctp-sends

# RFC 8831 section 8: the payload protocol identifiers of WebRTC's data channel messages.
_WEBRTC_STRING, _WEBRTC_BINARY, _WEBRTC_STRING_EMPTY, _WEBRTC_BINARY_EMPTY = 51, 53, 56, 57


def replace_data_channel_send(
    replacement: Callable[[Any, Any, Any], None],
) -> Callable[[Any, Any, Any], None]:
    """Make `replacement` every RTCSctpTransport's `_data_channel_send`; returns aiortc's own."""
    from aiortc.rtcsctptransport import RTCSctpTransport

    stock: Callable[[Any, Any, Any], None] = RTCSctpTransport._data_channel_send
    replacement.__wrapped__ = stock  # type: ignore[attr-defined]  # for _check_sctp_sends
    RTCSctpTransport._data_channel_send = replacement  # type: ignore[method-assign,assignment]
    return stock


def queue_message(transport: Any, channel: Any, data: bytes | str) -> None:
    """What aiortc's `_data_channel_send` does before it starts its flush task: the payload protocol
    identifier (RFC 8831 section 8), the peer's size limit, the channel's buffered amount, the queue."""
    if data == "":
        pp_id, user_data = _WEBRTC_STRING_EMPTY, b"\x00"
    elif isinstance(data, str):
        pp_id, user_data = _WEBRTC_STRING, data.encode("utf8")
    elif data == b"":
        pp_id, user_data = _WEBRTC_BINARY_EMPTY, b"\x00"
    else:
        pp_id, user_data = _WEBRTC_BINARY, data
    limit = transport._remote_max_message_size  # 0: the peer takes messages of any size
    if limit and len(user_data) > limit:
        raise ValueError(
            f"Cannot send message of {len(user_data)} bytes, the remote party "
            f"only supports messages up to {limit} bytes"
        )
    channel._addBufferedAmount(len(user_data))
    transport._data_channel_queue.append((channel, pp_id, user_data))


def flush_data_channels(transport: Any) -> Coroutine[Any, Any, None]:
    """The association's flush of its queued messages to SCTP (a coroutine, not yet started)."""
    flush: Coroutine[Any, Any, None] = transport._data_channel_flush()
    return flush


# dtls-receive


def wrap_dtls_start(
    wrap: Callable[[Callable[..., Awaitable[None]]], Callable[..., Awaitable[None]]],
) -> None:
    """Replace `RTCDtlsTransport.start` by `wrap(start)` for every DTLS transport."""
    from aiortc.rtcdtlstransport import RTCDtlsTransport

    RTCDtlsTransport.start = wrap(RTCDtlsTransport.start)  # type: ignore[method-assign,assignment]


def replace_data_received(
    replacement: Callable[[Any, bytes, int], None],
) -> Callable[[Any, bytes, int], None]:
    """Make `replacement` every aioice Connection's `data_received`; returns aioice's own."""
    from aioice.ice import Connection

    stock: Callable[[Any, bytes, int], None] = Connection.data_received
    Connection.data_received = replacement  # type: ignore[method-assign,assignment]
    return stock


def dtls_pumping(dtls: Any) -> bool:
    """The DTLS transport's receive task runs (started, not stopped) and its handshake is over."""
    task = dtls._task
    return task is not None and not task.done() and dtls._RTCDtlsTransport__handshake_done


def when_dtls_receive_ends(dtls: Any, callback: Callable[[], None]) -> bool:
    """Call `callback` when the DTLS transport's receive task ends; False if it has none running."""
    task = dtls._task
    if task is None or task.done():
        return False
    task.add_done_callback(lambda _task: callback())
    return True


def nothing_queued(connection: Any) -> bool:
    """Nothing waits in the aioice connection's queue for the DTLS transport's receive task."""
    return bool(connection._queue.empty())


def end_dtls_receive(connection: Any) -> None:
    """What aioice does when the nominated pair's socket is lost: the DTLS receive task's `recv` raises
    ConnectionError, and the task ends the transport as it does for a DTLS shutdown."""
    connection._queue.put_nowait(None)


def stop_dtls_receive(dtls: Any) -> None:
    """End the DTLS transport's receive task, as an error inside it would have."""
    if dtls._task is not None:
        dtls._task.cancel()


def dtls_datagram_handler() -> Callable[[Any, bytes], Coroutine[Any, Any, None]]:
    """`handle(dtls, datagram)`: aiortc 1.16's `RTCDtlsTransport._recv_next` from the moment it has the
    datagram (a DTLS record for SCTP, or SRTP/SRTCP), the same calls in the same order. It raises
    ConnectionError where `_recv_next` does: the peer shut DTLS down."""
    from aiortc import clock
    from aiortc.rtp import is_rtcp
    from OpenSSL import SSL
    from pylibsrtp import Error as SrtpError

    current_ms = clock.current_ms
    zero_return, ssl_error = SSL.ZeroReturnError, SSL.Error

    async def handle(dtls: Any, data: bytes) -> None:
        dtls._RTCDtlsTransport__rx_bytes += len(data)
        dtls._RTCDtlsTransport__rx_packets += 1
        first_byte = data[0]
        if 19 < first_byte < 64:
            ssl = dtls._ssl
            ssl.bio_write(data)
            plain: bytes | None
            try:
                plain = ssl.recv(1500)
            except zero_return:
                plain = None
            except ssl_error:
                plain = b""
            await dtls._write_ssl()
            if plain is None:
                raise ConnectionError("DTLS shutdown by remote party")
            if plain and dtls._data_receiver:
                await dtls._data_receiver._handle_data(plain)
        elif 127 < first_byte < 192 and dtls._rx_srtp:
            arrival_time_ms = current_ms()
            try:
                if is_rtcp(data):
                    await dtls._handle_rtcp_data(dtls._rx_srtp.unprotect_rtcp(data))
                else:
                    await dtls._handle_rtp_data(
                        dtls._rx_srtp.unprotect(data), arrival_time_ms=arrival_time_ms
                    )
            except SrtpError:
                pass  # aiortc logs it at debug level and drops the packet

    return handle


# direct-send

_SENDER = "_RTCRtpSender__"


class RtpSenderInternals:
    """What a direct send reads and updates inside one RTCRtpSender and its transceiver."""

    __slots__ = ("_fields", "_sender", "_transceiver")
    FIELDS = ("started", "rtp_header_extensions_map", "mid", "packet_count", "octet_count",
              "ntp_timestamp", "rtp_timestamp")  # fmt: skip

    def __init__(self, transceiver: Any) -> None:
        sender = transceiver.sender
        missing = [name for name in self.FIELDS if not hasattr(sender, _SENDER + name)]
        if not hasattr(transceiver, "_codecs"):
            missing.append("transceiver codecs")
        if missing:
            raise InternalsChanged(f"aiortc's RTCRtpSender has no {', '.join(missing)}")
        self._transceiver = transceiver
        self._sender = sender
        self._fields: dict[str, Any] = sender.__dict__  # the counters RTCP reports and getStats() read

    def payload_type(self) -> int | None:
        """The negotiated payload type once the sender has started, else None."""
        codecs = self._transceiver._codecs
        if not codecs or not self._fields[_SENDER + "started"]:
            return None
        return int(codecs[0].payloadType)

    def ssrc(self) -> int:
        return int(self._sender._ssrc)

    def mid(self) -> str | None:
        mid: str | None = self._fields[_SENDER + "mid"]
        return mid

    def extensions_map(self) -> Any:
        return self._fields[_SENDER + "rtp_header_extensions_map"]

    def send_rtp(self, data: bytes) -> Coroutine[Any, Any, None]:
        """The DTLS transport's send of one RTP packet (raises ConnectionError when it is down)."""
        send: Coroutine[Any, Any, None] = self._sender.transport._send_rtp(data)
        return send

    def count_sent(self, octets: int, ntp: int, timestamp: int) -> None:
        fields = self._fields
        fields[_SENDER + "ntp_timestamp"] = ntp
        fields[_SENDER + "rtp_timestamp"] = timestamp
        fields[_SENDER + "octet_count"] += octets
        fields[_SENDER + "packet_count"] += 1


# receive-tap

_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"


def jitter_buffer(receiver: Any) -> Any:
    """The receiver's jitter buffer (or what replaced it), None if aiortc no longer has one."""
    return getattr(receiver, _JITTER_BUFFER, None)


def replace_jitter_buffer(receiver: Any, replacement: Any) -> None:
    setattr(receiver, _JITTER_BUFFER, replacement)


# rtp-loss


def wrap_rtp_handler(
    receiver: Any, wrap: Callable[[Callable[..., Awaitable[None]]], Callable[..., Awaitable[None]]]
) -> None:
    """Replace the receiver's `_handle_rtp_packet` by `wrap(original)`; the DTLS transport looks it up
    on the receiver object for every packet."""
    receiver._handle_rtp_packet = wrap(receiver._handle_rtp_packet)


# conditioner (and ice_servers' reads of the connection)


def ice_connection_of(ice_transport: Any) -> Any:
    """The aioice Connection under an RTCIceTransport."""
    return ice_transport._connection


def ice_send(ice_transport: Any) -> Callable[[bytes], Awaitable[None]]:
    """What DTLS, SRTP and SCTP send every datagram through."""
    send: Callable[[bytes], Awaitable[None]] = ice_transport._send
    return send


def set_ice_send(ice_transport: Any, send: Callable[[bytes], Awaitable[None]]) -> None:
    ice_transport._send = send


def nominated_pairs(connection: Any) -> dict[int, Any]:
    """The aioice connection's nominated candidate pair per component (empty before nomination)."""
    return dict(getattr(connection, "_nominated", None) or {})
