"""Per-sender budgets in the room: token buckets sized from the device profile's rates.

A joined peer may send what a headset of its profile sends, with headroom, and no more. A message over
budget is dropped and counted; a sender that stays over budget for `CUT_OFF_AFTER_S` is disconnected
by the room (`RoomCore.tick`), and one past a `FLAGRANT_` count at once. Sans I/O:
the caller passes `now`. The per-message cost is a few float operations, since the room runs this for
every message of every participant.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from emulator.model.errors import ModelError
from emulator.model.profiles import load_profiles

HEADROOM = 2.0  # twice the profile's rates: jitter, a driver catching up, hands sent on their own
BURST_S = 2.0  # a host CPU stall releases up to this many seconds of queued states at once
PONGS_PER_PEER_S = 2.0  # a headset answers every other participant's PING (one a second each)
PING_RATE = 4.0  # a headset sends one a second; every PING costs N - 1 answers, so it is capped hard
PING_BURST = 8.0
CONTROL_RATE = 50.0  # the reliable channel carries rare messages; a flood of them queues without bound
CONTROL_BURST = 200.0
CUT_OFF_AFTER_S = 2.0  # over budget this long without a second's break: disconnected
FORGIVE_AFTER_S = 3.0  # this long within budget ends an episode (an attacker's sends come in bursts)
FALLBACK_RATE_HZ = 180.0  # pose + face + hands of an unknown profile: the bundled profiles' highest
# Dropped in one episode, more than a 30 s host stall of the busiest profile releases at once: a flood,
# cut off at once rather than after CUT_OFF_AFTER_S. PINGs are one a second, so far fewer: each is a
# datagram of its own that costs the room's one loop ~28 µs of aiortc, and other rooms' voices wait.
FLAGRANT_DROPS = int(30 * FALLBACK_RATE_HZ)
FLAGRANT_PINGS = 200  # a headset's PINGs of 200 s
FLAGRANT_CONTROL = 500  # the reliable channel carries rare messages: 10 s of its budget at once


@functools.cache
def profile_rate_hz(profile: str) -> float:
    """State-stream messages a second a headset of `profile` sends (pose, face and hands rates)."""
    try:
        profiles = load_profiles()
    except ModelError:
        return FALLBACK_RATE_HZ
    known = profiles.get(profile)
    if known is None:
        return max(
            [FALLBACK_RATE_HZ]
            + [float(p.pose_rate_hz + p.face_rate_hz + p.hand_rate_hz) for p in profiles.values()]
        )
    return float(known.pose_rate_hz + known.face_rate_hz + known.hand_rate_hz)


@dataclass(slots=True)
class TokenBucket:
    rate: float  # tokens a second
    burst: float  # at most this many saved up
    tokens: float
    stamp: float

    def take(self, now: float) -> bool:
        tokens = self.tokens + (now - self.stamp) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        self.stamp = now
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False


def _bucket(rate: float, burst: float, now: float) -> TokenBucket:
    return TokenBucket(rate, burst, burst, now)


@dataclass(slots=True)
class SenderBudget:
    """One participant's budgets: lossy messages, PINGs, and reliable-channel messages."""

    base_rate: float
    states: TokenBucket
    pings: TokenBucket
    control: TokenBucket
    over_since: float | None = None  # start of the current episode of being over budget
    last_over: float = field(default=float("-inf"))
    dropped: int = 0
    episode_dropped: int = 0  # dropped since `over_since`
    episode_pings: int = 0  # PINGs among them
    episode_control: int = 0  # and reliable-channel messages

    @classmethod
    def for_profile(cls, profile: str, now: float, participants: int = 1) -> SenderBudget:
        base = HEADROOM * profile_rate_hz(profile)
        budget = cls(
            base,
            _bucket(base, base * BURST_S, now),
            _bucket(PING_RATE, PING_BURST, now),
            _bucket(CONTROL_RATE, CONTROL_BURST, now),
        )
        budget.resize(participants)
        return budget

    def resize(self, participants: int) -> None:
        """The room's size changed: each other participant's PING is one more PONG a second to send."""
        rate = self.base_rate + PONGS_PER_PEER_S * max(0, participants - 1)
        self.states.rate = rate
        self.states.burst = rate * BURST_S

    def allow_state(self, now: float) -> bool:
        return self.states.take(now) or self._over(now)

    def allow_ping(self, now: float) -> bool:
        if self.pings.take(now):
            return True
        self._over(now)
        self.episode_pings += 1
        return False

    def allow_control(self, now: float) -> bool:
        if self.control.take(now):
            return True
        self._over(now)
        self.episode_control += 1
        return False

    def _over(self, now: float) -> bool:
        """Count one message over budget; always False (the caller drops the message)."""
        self.dropped += 1
        if self.over_since is None or now - self.last_over > FORGIVE_AFTER_S:
            self.over_since = now
            self.episode_dropped = self.episode_pings = self.episode_control = 0
        self.episode_dropped += 1
        self.last_over = now
        return False

    def flagrant(self) -> bool:
        """Over budget by more than any stall explains, in this episode: a flood."""
        return (
            self.episode_dropped >= FLAGRANT_DROPS
            or self.episode_pings >= FLAGRANT_PINGS
            or self.episode_control >= FLAGRANT_CONTROL
        )

    def should_cut_off(self, now: float) -> bool:
        """Over budget for `CUT_OFF_AFTER_S`, or flagrantly, and still at it lately."""
        if self.over_since is None or now - self.last_over > FORGIVE_AFTER_S:
            return False
        return self.flagrant() or self.last_over - self.over_since >= CUT_OFF_AFTER_S
