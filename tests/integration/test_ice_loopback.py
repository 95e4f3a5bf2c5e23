"""The loopback restriction (and its widening for a room serving browsers), on the installed aioice
and between two real peers."""

from __future__ import annotations

from collections.abc import Iterator

import aioice.ice
import pytest
from aioice import Candidate

from emulator.net.transport.ice import (
    is_loopback_host,
    keep_loopback_candidates,
    loopback_only,
    restricted,
    this_machine_only,
)
from tests.support.ice_state import ice_unrestricted
from tests.support.peers import loopback_pair, negotiate, wait_connected

SDP = (
    "v=0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "a=candidate:1 1 udp 2130706431 192.168.1.7 50000 typ host\r\n"
    "a=candidate:2 1 udp 2130706431 127.0.0.1 50001 typ host\r\n"
    "a=candidate:3 1 udp 2130706431 abcd-ef.local 50002 typ host\r\n"
    "a=candidate:4 1 udp 2130706431 ::1 50003 typ host\r\n"
    "a=end-of-candidates\r\n"
)


@pytest.fixture(autouse=True)
def _no_restriction_from_earlier_tests() -> Iterator[None]:
    """A room an earlier test (or a fixture shared by a module) ran in this process may have made the
    restriction permanent: these tests install and lift it themselves."""
    with ice_unrestricted():
        yield


def test_only_loopback_ip_literals_count_as_loopback() -> None:
    assert is_loopback_host("127.0.0.1") and is_loopback_host("127.3.2.1") and is_loopback_host("::1")
    assert not is_loopback_host("10.0.0.1")
    assert not is_loopback_host("abcd-ef.local")
    assert not is_loopback_host("")


def test_sdp_keeps_loopback_candidates_and_everything_else() -> None:
    kept = keep_loopback_candidates(SDP)
    assert "192.168.1.7" not in kept and ".local" not in kept
    assert "127.0.0.1 50001" in kept and "::1 50003" in kept
    assert kept.startswith("v=0\r\nm=audio") and kept.endswith("a=end-of-candidates\r\n")


def test_patch_is_applied_inside_the_block_and_lifted_after() -> None:
    original = aioice.ice.get_host_addresses
    with loopback_only():
        with loopback_only():
            assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1"]
        assert restricted()
    assert aioice.ice.get_host_addresses is original
    assert not restricted()
    # What the patch replaces still skips loopback on this aioice; if this changes, revisit ice.py.
    assert "127.0.0.1" not in original(True, False)


async def test_non_loopback_remote_candidates_are_ignored() -> None:
    with loopback_only():
        conn = aioice.ice.Connection(ice_controlling=True)
        await conn.add_remote_candidate(Candidate.from_sdp("1 1 udp 2130706431 192.168.1.7 50000 typ host"))
        await conn.add_remote_candidate(Candidate.from_sdp("2 1 udp 2130706431 127.0.0.1 50001 typ host"))
        assert [c.host for c in conn.remote_candidates] == ["127.0.0.1"]
        await conn.close()


async def test_two_peers_connect_over_loopback_only() -> None:
    async with loopback_pair() as (a, b):
        channel = a.createDataChannel("probe")
        await negotiate(a, b)
        hosts = [
            line.split()[4]
            for sdp in (a.localDescription.sdp, b.localDescription.sdp)
            for line in sdp.splitlines()
            if line.startswith("a=candidate:")
        ]
        assert hosts and all(h == "127.0.0.1" for h in hosts)
        await wait_connected(a, b)
        transport = a.sctp.transport.transport
        remote = transport.getRemoteCandidates()
        assert remote and all(is_loopback_host(c.ip) for c in remote)
        assert channel.label == "probe"


def test_aioice_still_has_what_we_wrap() -> None:
    assert callable(aioice.ice.get_host_addresses)
    assert callable(aioice.ice.Connection.add_remote_candidate)


def _candidate(host: str, port: int = 50000) -> Candidate:
    return Candidate.from_sdp(f"1 1 udp 2130706431 {host} {port} typ host")


async def test_a_room_serving_browsers_also_takes_this_machines_own_addresses() -> None:
    own = aioice.ice.get_host_addresses(True, False)
    if not own:
        pytest.skip("this machine has no address but loopback")
    foreign = "198.51.100.7"  # TEST-NET-2: never one of ours
    assert foreign not in own
    with loopback_only():
        with this_machine_only():
            assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1", *own]
            conn = aioice.ice.Connection(ice_controlling=False)
            for host in (own[0], foreign, "0b6f3f7e-1c2d.local", "127.0.0.1"):
                await conn.add_remote_candidate(_candidate(host))
            # No mDNS lookup (it would multicast on the LAN) and nothing off the machine.
            assert [c.host for c in conn.remote_candidates] == [own[0], "127.0.0.1"]
            await conn.close()
        # Back to loopback only once the block ends, inside an outer loopback restriction.
        assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
        conn = aioice.ice.Connection(ice_controlling=False)
        await conn.add_remote_candidate(_candidate(own[0]))
        assert conn.remote_candidates == []
        await conn.close()
    assert not restricted()


class _Recorder:
    """Stands in for the socket side of aioice's STUN protocol: records what would be sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def send_stun(self, message: object, addr: tuple[str, int]) -> None:
        self.sent.append(addr)


async def test_checks_from_off_the_machine_go_unanswered_when_serving_browsers() -> None:
    from aioice import stun

    own = aioice.ice.get_host_addresses(True, False)
    if not own:
        pytest.skip("this machine has no address but loopback")
    with this_machine_only():
        conn = aioice.ice.Connection(ice_controlling=False)
        protocol = _Recorder()
        for addr in (("198.51.100.7", 40000), (own[0], 40001)):
            request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
            request.attributes["USERNAME"] = f"{conn.local_username}:remote"
            request.add_message_integrity(conn.local_password.encode("utf8"))
            conn.request_received(request, addr, protocol)
        assert protocol.sent == [(own[0], 40001)]
        await conn.close()
