"""The loopback restriction, on the installed aioice and between two real peers."""

from __future__ import annotations

import aioice.ice
from aioice import Candidate

from emulator.net.ice import (
    is_loopback_host,
    keep_loopback_candidates,
    loopback_only,
    restricted,
)
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
