"""What the room asks of a connection before it has joined: a deadline, a cap on how many wait, and a
rate at which one address may open them.

A WebSocket that never sends `join` costs the room a socket and a task and gives nothing back; a few
hundred of them from one address would hold the room's descriptors. So a connection must join within
`join_timeout_s`, and at most `max_pending` wait at once, `max_pending_per_address` from any one
address other than loopback (a swarm or a load test joins dozens at once from 127.0.0.1, and anyone
on loopback could read the room's secret anyway). The caps bound how many wait, not how fast they
come and go: 20 sockets reconnecting as soon as the room closes them opened ~1,000 a second from
loopback and held 0.77 of a core (BENCHMARKS.md, `hostile`). So every address, loopback included,
may also open only `max_connects_per_second` on average, `max_connect_burst` at once; the rest get
HTTP 429 before the handshake. SECURITY.md lists each limit and its flag.

"One address" is one IPv4 address, or one IPv6 /64: a host is usually given a whole /64 and may pick
any address in it (privacy addresses, RFC 8981), so a limit per exact IPv6 address would be a limit
per connection.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass, field

from emulator.net.signaling.tokens import DEFAULT_MAX_LIFETIME_S
from emulator.room.ratelimit import TokenBucket


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    join_timeout_s: float = 10.0  # room --join-timeout
    max_pending: int = 256  # room --max-pending
    max_pending_per_address: int = 8  # room --max-pending-per-address
    # A swarm of 40 or a Locust join storm opens 40 at once from one address: twice that at once, then
    # 20 a second (`swarm -n 40` opened 36 in its busiest second; SECURITY.md has the figures).
    max_connects_per_second: float = 20.0  # room --max-connects-per-second
    max_connect_burst: int = 80  # room --max-connect-burst
    max_token_lifetime_s: float = DEFAULT_MAX_LIFETIME_S  # room --max-token-lifetime
    allowed_origins: tuple[str, ...] = ()  # room --allow-origin (the room's own origin always is)


@dataclass
class PendingJoins:
    """Connections that have not joined yet, by remote address."""

    limits: EdgeLimits
    by_address: Counter[str] = field(default_factory=Counter)
    refused: int = 0

    def __len__(self) -> int:
        return sum(self.by_address.values())

    def admit(self, address: str) -> str | None:
        """Count a new connection from `address`, or the reason it is refused (then not counted)."""
        if len(self) >= self.limits.max_pending:
            self.refused += 1
            return f"too many connections waiting to join ({self.limits.max_pending})"
        per_address = self.limits.max_pending_per_address
        key = client_key(address)
        if not _is_loopback(address) and self.by_address[key] >= per_address:
            self.refused += 1
            return f"too many connections waiting to join from one address ({per_address})"
        self.by_address[key] += 1
        return None

    def release(self, address: str) -> None:
        """The connection from `address` joined or went away."""
        key = client_key(address)
        self.by_address[key] -= 1
        if self.by_address[key] <= 0:
            del self.by_address[key]


@dataclass
class ConnectRate:
    """WebSocket upgrades per remote address, a token bucket each; sans I/O (the caller passes `now`).

    A bucket that has refilled is the same as none, so `forget_full` drops those and the table holds
    only the addresses heard from in the last `burst / rate` seconds (4 s by default).
    """

    limits: EdgeLimits
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    refused: int = 0

    def admit(self, address: str, now: float) -> str | None:
        """Take a token for a connection from `address`, or say why it is refused (and count it)."""
        key = client_key(address)
        bucket = self.buckets.get(key)
        if bucket is None:
            rate, burst = self.limits.max_connects_per_second, float(self.limits.max_connect_burst)
            bucket = self.buckets[key] = TokenBucket(rate, burst, burst, now)
        if bucket.take(now):
            return None
        self.refused += 1
        return (
            f"too many connection attempts from one address ({self.limits.max_connects_per_second:g} a "
            f"second, {self.limits.max_connect_burst} at once)"
        )

    def forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled since their last connection."""
        refill_s = self.limits.max_connect_burst / self.limits.max_connects_per_second
        stale = [a for a, b in self.buckets.items() if now - b.stamp >= refill_s]
        for address in stale:
            del self.buckets[address]


def client_key(address: str) -> str:
    """What the per-address limits count by: the IPv4 address (also when a dual-stack socket reports
    it as ::ffff:a.b.c.d), the IPv6 address's /64, or the text as given if it is no address at all."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _is_loopback(address: str) -> bool:
    """127.0.0.0/8 and ::1, and 127.x as a dual-stack socket reports it (::ffff:127.0.0.1)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback
