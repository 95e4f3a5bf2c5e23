"""Keep every ICE packet on loopback (127.0.0.0/8, ::1).

Why this exists: out of the box an aiortc peer connection would leave the machine.
- `aioice.ice.get_host_addresses` deliberately skips 127.0.0.1 and ::1, so the only host candidates
  are the machine's network addresses;
- aiortc's `RTCIceGatherer` falls back to Google's public STUN server when `iceServers` is None;
- aioice pairs every remote candidate it is given (and resolves `.local` mDNS names by multicast).

A bundled room on loopback, every headset joining it, and every test must send nothing outside
127.0.0.0/8. The API is three small pieces:

- `restrict_to_loopback()` (process-wide, idempotent) or `loopback_only()` (a context manager for
  tests, nestable): local gathering offers 127.0.0.1 only and aioice silently ignores any remote
  candidate whose address is not a loopback IP literal (so no check is ever sent elsewhere, whichever
  code path — SDP or trickled `addIceCandidate` — delivered it). A connectivity check that arrives
  *from* a non-loopback address (a browser checks from every interface it has, towards our 127.0.0.1)
  is dropped unanswered too: answering it would send to that address and learn it as a peer-reflexive
  candidate.
- `loopback_configuration()`: an `RTCConfiguration` with no ICE servers (no STUN/TURN lookups).
- `keep_loopback_candidates(sdp)`: strips non-loopback `a=candidate` lines from an SDP, for logs and
  for peers that want a clean description before `setRemoteDescription`.
- `restrict_to_this_machine()` / `this_machine_only()`: the same, widened to this machine's own
  interface addresses, for a room that serves browsers. A browser allowed the microphone gathers on
  its interface addresses only, never loopback, so it reaches the room on one of those; packets to
  one's own address never leave the machine (the kernel delivers them locally). mDNS `.local` names
  stay ignored (resolving them would multicast on the LAN): the browser's checks arrive from its real
  address, which the room learns as a peer-reflexive candidate (RFC 8445 section 7.3.1.3).

Both patches are checked against the installed aioice on install (`IceInternalsChanged` if the
functions they wrap are gone), so an aioice upgrade fails loudly instead of leaking packets.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import aioice.ice
from aiortc import RTCConfiguration

logger = logging.getLogger(__name__)

LOOPBACK_HOST = "127.0.0.1"


class IceInternalsChanged(RuntimeError):
    """The installed aioice no longer has what the loopback restriction wraps."""


def is_loopback_host(host: str) -> bool:
    """True for an IP literal in 127.0.0.0/8 or ::1; hostnames (mDNS `.local` included) are False."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def keep_loopback_candidates(sdp: str) -> str:
    """The SDP without `a=candidate` lines whose connection address is not loopback."""
    kept: list[str] = []
    for line in sdp.splitlines(keepends=True):
        if line.startswith("a=candidate:"):
            fields = line.split()
            # a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ …
            if len(fields) < 6 or not is_loopback_host(fields[4]):
                continue
        kept.append(line)
    return "".join(kept)


def loopback_configuration() -> RTCConfiguration:
    """A configuration without STUN/TURN servers (aiortc's default would ask stun.l.google.com)."""
    return RTCConfiguration(iceServers=[])


_lock = threading.Lock()
_depth = 0
_saved: (
    tuple[Callable[..., list[str]], Callable[..., Coroutine[Any, Any, None]], Callable[..., None]] | None
) = None


_widened = 0  # live `restrict_to_this_machine`/`this_machine_only` references
OWN_ADDRESSES_TTL_S = 2.0  # interfaces come and go (a VPN, a new lease); re-read them this often
_own_cache: tuple[float, frozenset[str]] = (-OWN_ADDRESSES_TTL_S, frozenset())


def _own_addresses() -> frozenset[str]:
    """This machine's interface addresses (aioice's own enumeration: IPv4, and IPv6 not link-local)."""
    global _own_cache
    now = time.monotonic()
    if now - _own_cache[0] >= OWN_ADDRESSES_TTL_S and _saved is not None:
        _own_cache = (now, frozenset(_saved[0](True, True)))
    return _own_cache[1]


def _accepted(host: str) -> bool:
    return is_loopback_host(host) or (_widened > 0 and host.split("%", 1)[0] in _own_addresses())


def _loopback_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    loopback = [LOOPBACK_HOST] if use_ipv4 else []
    if _widened == 0 or _saved is None:
        return loopback
    return loopback + list(_saved[0](use_ipv4, use_ipv6))


def _install() -> None:
    global _saved
    if _saved is not None:  # wrapping our own wrappers would make them call themselves
        return
    connection = getattr(aioice.ice, "Connection", None)
    original_gather = getattr(aioice.ice, "get_host_addresses", None)
    original_add = getattr(connection, "add_remote_candidate", None)
    original_request = getattr(connection, "request_received", None)
    if original_gather is None or original_add is None or original_request is None:
        raise IceInternalsChanged(
            f"aioice {getattr(aioice, '__version__', '?')} lacks get_host_addresses, "
            "Connection.add_remote_candidate or Connection.request_received; "
            "emulator/net/transport/ice.py must be updated"
        )

    async def add_loopback_remote_candidate(self: Any, remote_candidate: Any) -> None:
        if remote_candidate is not None and not _accepted(str(remote_candidate.host)):
            logger.debug("ignoring remote candidate %s (not on this machine)", remote_candidate.host)
            return
        await original_add(self, remote_candidate)

    def request_from_loopback(self: Any, message: Any, addr: tuple[str, int], *args: Any) -> None:
        if not _accepted(str(addr[0])):
            logger.debug("ignoring a connectivity check from %s (not on this machine)", addr[0])
            return
        original_request(self, message, addr, *args)

    _saved = (original_gather, original_add, original_request)
    aioice.ice.get_host_addresses = _loopback_host_addresses
    aioice.ice.Connection.add_remote_candidate = add_loopback_remote_candidate  # type: ignore[method-assign]
    aioice.ice.Connection.request_received = request_from_loopback  # type: ignore[method-assign,assignment]


def _uninstall() -> None:
    global _saved
    if _saved is None:
        return
    aioice.ice.get_host_addresses = _saved[0]
    aioice.ice.Connection.add_remote_candidate = _saved[1]  # type: ignore[method-assign]
    aioice.ice.Connection.request_received = _saved[2]  # type: ignore[method-assign]
    _saved = None


def restrict_to_loopback() -> None:
    """Process-wide and for good: for a room bound to loopback or a headset joining one."""
    global _depth
    with _lock:
        if _depth == 0:
            _install()
        # One permanent reference: a later `loopback_only()` exit never lifts this restriction.
        _depth += 1


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """The restriction while the block runs (nestable; lifted when the outermost block ends).

    Gathering happens in `setLocalDescription` and remote candidates arrive in `setRemoteDescription`,
    so set up and run the peer connections inside the block.
    """
    global _depth
    with _lock:
        if _depth == 0:
            _install()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _uninstall()


def restrict_to_this_machine() -> None:
    """Process-wide and for good: loopback plus this machine's own addresses (a room serving browsers).

    Widens any loopback restriction in the same process too; nothing is sent off the machine either way.
    """
    global _widened
    restrict_to_loopback()
    with _lock:
        _widened += 1


@contextlib.contextmanager
def this_machine_only() -> Iterator[None]:
    """`restrict_to_this_machine` while the block runs (nestable)."""
    global _widened
    with loopback_only():
        with _lock:
            _widened += 1
        try:
            yield
        finally:
            with _lock:
                _widened -= 1


def restricted() -> bool:
    """Whether the loopback restriction is in force now."""
    return _saved is not None
