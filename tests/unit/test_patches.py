"""emulator.net.transport.patches: every aiortc/aioice patch's assumptions hold on the installed versions, and
a simulated aiortc or aioice whose internals moved is refused, naming the patch, in one line."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import aioice
import aiortc
import pytest

from emulator import cli
from emulator.net.transport import dtls_receive, patch_install, patches, sctp
from emulator.net.transport.patches import PATCHES, InternalsChanged


def moved(root: Any, dotted: str, value: Any = None) -> Any:
    """A copy of module `root` (namespaces along `dotted`) with `dotted` replaced, or removed if None."""
    head, _, rest = dotted.partition(".")
    attributes = dict(vars(root))
    if rest:
        attributes[head] = moved(getattr(root, head), rest, value)
    elif value is None:
        attributes.pop(head, None)
    else:
        attributes[head] = value
    return SimpleNamespace(**attributes)


class SctpWithoutSackCall:
    __init__ = aiortc.rtcsctptransport.RTCSctpTransport.__init__
    _send_sack = aiortc.rtcsctptransport.RTCSctpTransport._send_sack
    _data_channel_send = aiortc.rtcsctptransport.RTCSctpTransport._data_channel_send
    _data_channel_flush = aiortc.rtcsctptransport.RTCSctpTransport._data_channel_flush

    async def _handle_data(self, chunk: Any) -> None:  # acknowledges some other way
        return None


class DataChannelWithoutBufferedAmount:
    def __init__(self) -> None:
        self.bufferedAmount = 0  # counted some other way


class DtlsWithoutRecvNext:
    __init__ = aiortc.rtcdtlstransport.RTCDtlsTransport.__init__
    start = aiortc.rtcdtlstransport.RTCDtlsTransport.start
    _send_rtp = aiortc.rtcdtlstransport.RTCDtlsTransport._send_rtp

    async def _receive_loop(self) -> None:  # reads its datagrams some other way
        return None


class SenderWithoutMid:
    def __init__(self) -> None:
        self._started = False  # a public-ish rename: no name-mangled counters any more


class ReceiverWithoutJitterBuffer(aiortc.rtcrtpreceiver.RTCRtpReceiver):
    def __init__(self) -> None:
        self._buffer = None


class ReceiverWithOtherHandler(aiortc.rtcrtpreceiver.RTCRtpReceiver):
    async def _handle_rtp_packet(self, packet: Any, arrival_time: int) -> None:  # type: ignore[override]
        return None


class IceTransportWithoutSend:
    def __init__(self) -> None:
        self._connection = None
        self._transmit = None


class ConnectionWithoutNominated(aioice.ice.Connection):
    def __init__(self) -> None:
        self._selected: dict[int, Any] = {}


# One change per patch, each breaking that patch and no other.
MOVES: dict[str, tuple[str, str, Any]] = {
    "sctp-sacks": ("aiortc", "rtcsctptransport.RTCSctpTransport", SctpWithoutSackCall),
    "sctp-sends": ("aiortc", "rtcdatachannel.RTCDataChannel", DataChannelWithoutBufferedAmount),
    "dtls-receive": ("aiortc", "rtcdtlstransport.RTCDtlsTransport", DtlsWithoutRecvNext),
    "direct-send": ("aiortc", "rtcrtpsender.RTCRtpSender", SenderWithoutMid),
    "receive-tap": ("aiortc", "rtcrtpreceiver.RTCRtpReceiver", ReceiverWithoutJitterBuffer),
    "rtp-loss": ("aiortc", "rtcrtpreceiver.RTCRtpReceiver", ReceiverWithOtherHandler),
    "conditioner": ("aiortc", "rtcicetransport.RTCIceTransport", IceTransportWithoutSend),
    "ice-sockets": ("aioice", "turn.UDP_SOCKET_BUFFER_SIZE", None),
    "loopback-ice": ("aioice", "ice.get_host_addresses", None),
}


def simulated(name: str) -> tuple[Any, Any]:
    package, dotted, value = MOVES[name]
    if package == "aiortc":
        return moved(aiortc, dotted, value), aioice
    return aiortc, moved(aioice, dotted, value)


@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: p.name)
def test_each_patch_finds_what_it_needs_in_the_installed_aiortc(patch: patches.Patch) -> None:
    assert patch.check(aiortc, aioice) is None
    importlib.import_module(patch.module)  # the module that applies it exists
    assert patch.touches and patch.why


def test_every_patch_has_a_simulated_move() -> None:
    assert sorted(MOVES) == sorted(p.name for p in PATCHES)


@pytest.mark.parametrize("name", sorted(MOVES))
def test_moved_internals_are_refused_in_one_line_naming_the_patch(name: str) -> None:
    fake_aiortc, fake_aioice = simulated(name)
    broken = patches.problems(fake_aiortc, fake_aioice)
    assert [p.name for p, _ in broken] == [name]
    with pytest.raises(InternalsChanged) as caught:
        patch_install.install(fake_aiortc, fake_aioice)
    message = str(caught.value)
    module = next(p.module for p in PATCHES if p.name == name)
    assert "\n" not in message
    assert module in message
    assert f"aiortc {aiortc.__version__}" in message


def test_install_is_idempotent_and_delays_sacks_and_sends_eagerly() -> None:
    patch_install.install()
    patch_install.install()
    assert patch_install.installed()
    assert sctp.sacks_are_delayed()
    assert sctp.sends_are_eager()
    assert dtls_receive.receives_directly()


def test_the_cli_refuses_a_moved_aiortc_before_any_command_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    fake = simulated("receive-tap")
    monkeypatch.setattr(patch_install, "_installed", False)
    monkeypatch.setattr(patch_install, "modules", lambda _a, _b: fake)
    out = tmp_path / "never.png"
    assert cli.main(["snapshot", "--out", str(out)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("headset-emulator: aiortc ")
    assert "emulator.net.media.receive" in lines[0]
    assert not out.exists()


def test_the_conditioner_refuses_an_aioice_without_nominated_pairs() -> None:
    """net/transport/ice_servers.py reads the nominated pair through patches.nominated_pairs."""
    fake_aioice = moved(aioice, "ice.Connection", ConnectionWithoutNominated)
    assert [p.name for p, _ in patches.problems(aiortc, fake_aioice)] == ["conditioner"]
    assert "_nominated" in (patches.problem("conditioner", aiortc, fake_aioice) or "")
