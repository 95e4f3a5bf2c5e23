"""--ice-server URLs: every accepted form, and a clear error for each wrong one."""

from __future__ import annotations

import pytest
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from emulator.net.transport.ice_servers import IceOptions, IceServerError, parse_ice_server


def test_credentials_in_the_url_are_taken_out_of_it() -> None:
    spec = parse_ice_server("turn:alice:s%40cret@turn.example:3479?transport=tcp")
    assert (spec.username, spec.credential) == ("alice", "s@cret")
    assert spec.url == "turn:turn.example:3479?transport=tcp"


def test_separate_credentials_and_default_ports() -> None:
    assert parse_ice_server("turn:127.0.0.1", "bob", "pw").port == 3478
    assert parse_ice_server("turns:relay.example", "bob", "pw").port == 5349
    assert parse_ice_server("stun:[::1]:3478").host == "::1"


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://x", "expected turn:"),
        ("turn:x:70000", "out of range"),
        ("turn:x:3478", "needs credentials"),
        ("stun:x:3478?transport=udp", "takes no transport"),
        ("turns:u:p@x?transport=udp", "TCP only"),
    ],
)
def test_wrong_urls_say_what_is_wrong(url: str, complaint: str) -> None:
    with pytest.raises(IceServerError, match=complaint):
        parse_ice_server(url)


def test_relay_only_needs_a_turn_server_and_sets_the_policy() -> None:
    with pytest.raises(IceServerError, match="needs a TURN server"):
        IceOptions.from_urls(["stun:127.0.0.1:3478"], relay_only=True)
    options = IceOptions.from_urls(["stun:127.0.0.1", "turn:u:p@127.0.0.1:3478"], relay_only=True)
    configuration = options.configuration()
    assert configuration.iceTransportPolicy == RTCIceTransportPolicy.RELAY
    assert [s.urls for s in configuration.iceServers or []] == ["stun:127.0.0.1:3478", "turn:127.0.0.1:3478"]
    assert options.turn is not None and options.turn.username == "u"


def test_no_servers_is_an_explicit_empty_list() -> None:
    # None would make aiortc ask Google's public STUN server.
    assert IceOptions().configuration().iceServers == []
