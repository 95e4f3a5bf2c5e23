"""Every place this project reaches into aiortc's or aioice's internals, checked and installed here.

Each `Patch` names what it touches and why; its `check` looks for exactly what the patching code
relies on, in the modules it is given (so a test can hand it a simulated aiortc whose internals
moved). `install()` checks them all, then installs the process-wide ones once; the per-connection
ones (direct send, receive tap, network conditioner, RTP loss) are applied by their own modules when
a connection needs them, and `install()` has already made sure they will find what they expect.
An aiortc or aioice without what a patch needs is refused at start, in one line
(`InternalsChanged`), instead of failing later inside a call or, worse, silently.
pyproject.toml pins both to the minor series these checks were written against.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
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
        "emulator.net.sctp",
        "RTCSctpTransport._send_sack (replaced); reads _sack_needed, _sack_misordered, _sack_duplicates",
        "aiortc acknowledges every SCTP packet; delayed SACKs (RFC 4960 6.2) halve the packets of a "
        "room's state traffic",
        _check_sctp,
    ),
    Patch(
        "direct-send",
        "emulator.net.direct_send",
        "RTCRtpSender's private counters, mid, header extensions and _ssrc; RTCRtpTransceiver._codecs; "
        "sends through RTCDtlsTransport._send_rtp",
        "the room relays Opus frames as they arrived, without decoding and re-encoding them per listener",
        _check_direct_send,
    ),
    Patch(
        "receive-tap",
        "emulator.net.receive",
        "RTCRtpReceiver.__jitter_buffer (replaced per receiver)",
        "the headset's own playout buffer gets each RTP packet, with arrival time, instead of aiortc's "
        "jitter buffer and decoder",
        _check_receive_tap,
    ),
    Patch(
        "rtp-loss",
        "emulator.net.loss",
        "RTCRtpReceiver._handle_rtp_packet (wrapped per receiver)",
        "`--loss` drops incoming RTP as the network would, before any buffer sees it",
        _check_rtp_loss,
    ),
    Patch(
        "conditioner",
        "emulator.net.conditions",
        "RTCIceTransport._send and aioice Connection.data_received (wrapped per connection); "
        "net/ice_servers.py also reads RTCIceTransport._connection for the candidate types in use",
        "`--net` delays, rate-limits and drops datagrams below DTLS, like a real link",
        _check_conditioner,
    ),
    Patch(
        "ice-sockets",
        "emulator.net.ice_sockets",
        "aioice StunProtocol.connection_made and datagram_received; turn.UDP_SOCKET_BUFFER_SIZE",
        "bigger socket buffers and draining many datagrams per wake-up keep a room of 30 from dropping "
        "bursts",
        _check_ice_sockets,
    ),
    Patch(
        "loopback-ice",
        "emulator.net.ice",
        "aioice ice.get_host_addresses, Connection.add_remote_candidate and request_received",
        "tests and demos gather and accept only this machine's addresses, so nothing leaves it",
        _check_loopback_ice,
    ),
)


def _modules(aiortc: Any, aioice: Any) -> tuple[Any, Any]:
    import aioice as installed_aioice
    import aiortc as installed_aiortc

    return aiortc or installed_aiortc, aioice or installed_aioice


def problems(aiortc: Any = None, aioice: Any = None) -> list[tuple[Patch, str]]:
    """Each patch whose assumptions the given (default: installed) aiortc and aioice break, and why."""
    aiortc, aioice = _modules(aiortc, aioice)
    found = []
    for patch in PATCHES:
        why = patch.check(aiortc, aioice)
        if why is not None:
            found.append((patch, why))
    return found


def refusal(aiortc: Any, aioice: Any, broken: list[tuple[Patch, str]]) -> str:
    versions = f"aiortc {getattr(aiortc, '__version__', '?')}, aioice {getattr(aioice, '__version__', '?')}"
    first, why = broken[0]
    more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
    tested = f"aiortc {TESTED['aiortc']}.x and aioice {TESTED['aioice']}.x"
    return f"{versions} lack what {first.module} patches: {why}{more}; install {tested}"


_lock = threading.Lock()
_installed = False


def install(aiortc: Any = None, aioice: Any = None) -> None:
    """Check every patch, then install the process-wide ones (SCTP SACKs, ICE sockets) once."""
    global _installed
    if _installed and aiortc is None and aioice is None:
        return  # each session calls this; the installed modules were checked the first time
    aiortc, aioice = _modules(aiortc, aioice)
    broken = problems(aiortc, aioice)
    if broken:
        raise InternalsChanged(refusal(aiortc, aioice, broken))
    with _lock:
        if _installed:
            return
        from emulator.net.ice_sockets import tune_ice_sockets
        from emulator.net.sctp import delay_sacks

        tune_ice_sockets()
        delay_sacks()
        _installed = True


def installed() -> bool:
    return _installed
