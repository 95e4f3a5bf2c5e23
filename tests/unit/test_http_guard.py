"""Which Host and Origin headers the local HTTP servers answer (the rules; the servers are tested in
tests/integration/test_room_edge.py and test_control_guard.py)."""

from __future__ import annotations

import pytest

from emulator.net.http_guard import HttpGuard, split_host


def guard(bound: str = "127.0.0.1", *, same_origin: bool = True, allowed: tuple[str, ...] = ()) -> HttpGuard:
    g = HttpGuard(bound, same_origin=same_origin, allowed_origins=allowed)
    g.port = 8765
    return g


@pytest.mark.parametrize(
    ("host", "expected"),
    [("localhost:8765", ("localhost", 8765)), ("[::1]:8765", ("[::1]", 8765)), ("[::1]", ("[::1]", None)),
     ("Example.COM", ("example.com", None)), ("a:b", ("a:b", None))],
)  # fmt: skip
def test_split_host(host: str, expected: tuple[str, int | None]) -> None:
    assert split_host(host) == expected


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("127.0.0.1:8765", True), ("localhost:8765", True), ("LOCALHOST:8765", True), ("[::1]:8765", True),
        ("127.0.0.2:8765", True), ("127.0.0.1", False), ("127.0.0.1:8766", False),
        ("evil.example:8765", False),
        ("localhost.evil.example:8765", False), ("127.0.0.1.nip.io:8765", False), ("", False), (None, False),
    ],
)  # fmt: skip
def test_a_loopback_server_answers_only_loopback_names_with_its_port(host: str | None, ok: bool) -> None:
    assert guard().host_ok(host) is ok


def test_a_server_on_a_network_address_answers_any_host() -> None:
    assert guard("0.0.0.0").host_ok("room.example:8765")


@pytest.mark.parametrize(
    ("origin", "same_origin", "ok"),
    [
        (None, False, True),  # curl, headsets, Prometheus
        ("http://127.0.0.1:8765", True, True),  # the room's own page
        ("http://127.0.0.1:8765", False, False),  # the control API has no page
        ("https://app.example/", True, True),  # allowed, trailing slash and case aside
        ("http://evil.example", True, False),
        ("null", True, False),
        ("http://127.0.0.1:8766", True, False),
    ],
)
def test_origins(origin: str | None, same_origin: bool, ok: bool) -> None:
    g = guard(same_origin=same_origin, allowed=("https://APP.example",))
    assert g.origin_ok(origin, "127.0.0.1:8765") is ok
