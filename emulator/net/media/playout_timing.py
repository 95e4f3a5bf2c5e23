"""What the playout buffer learns from each packet's timing: its RTP counters unwrapped, and how late
packets come at worst (the peaks the target delay covers). Both run on every received packet."""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field


@dataclass
class Unwrapper:
    """Extends a wrapping counter (16-bit sequence, 32-bit timestamp) to a monotonic-ish integer."""

    bits: int
    last: int | None = None
    _size: int = field(init=False, repr=False)
    _half: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._size = 1 << self.bits  # computed once: this runs twice per received packet
        self._half = self._size // 2

    def __call__(self, value: int) -> int:
        if self.last is None:
            self.last = value
            return value
        diff = (value - self.last + self._half) % self._size - self._half
        self.last += diff
        return self.last


class TransitPeaks:
    """How late packets come at worst, over the last `buckets` seconds, ignoring a one-off.

    Transit = arrival − media time; its spread (latest − earliest) is the delay that would have played
    every packet. Kept as a (min, max) per one-second bucket. A spike that recurs (a busy sender or
    receiver loop, a radio scanning every few seconds) shows in two or more buckets, and the target
    should cover it rather than underrun at every one; a single spike (a join, a burst after a stall)
    is in one bucket only and is ignored, so it does not hold the delay up for seconds. Peaks are
    remembered for 20 s, as WebRTC's NetEq does (peaks count when they recur within 10 s, and
    peak mode ends after twice that without one): a hold that lapses sooner underruns again at the
    next peak of a slow rhythm.
    """

    def __init__(self, buckets: int) -> None:
        self._buckets: collections.deque[list[float]] = collections.deque(maxlen=buckets)
        self._second: int | None = None
        self.spread = 0.0
        # The two latest maxima and two earliest minima of the buckets before the current one. They
        # change only when a bucket is added, so widening the current one (several times a second)
        # costs O(1) instead of sorting every bucket.
        self._older_highs = (-math.inf, -math.inf)
        self._older_lows = (math.inf, math.inf)

    def add(self, now: float, transit: float) -> None:
        second = int(now)
        if second != self._second:
            self._second = second
            self._rank_older()
            self._buckets.append([transit, transit])
        else:
            bucket = self._buckets[-1]
            if bucket[0] <= transit <= bucket[1]:
                return
            bucket[0], bucket[1] = min(bucket[0], transit), max(bucket[1], transit)
        if len(self._buckets) < 2:
            self.spread = 0.0
            return
        # Second-latest and second-earliest buckets: only what recurs counts, either way.
        low, high = self._buckets[-1]
        first_high, second_high = self._older_highs
        first_low, second_low = self._older_lows
        latest = max(second_high, min(first_high, high))  # the second largest of the three
        earliest = min(second_low, max(first_low, low))  # the second smallest of the three
        self.spread = max(0.0, latest - earliest)

    def _rank_older(self) -> None:
        """Rank the buckets that stay once a new one is appended (the oldest leaves if full)."""
        buckets = self._buckets
        kept = list(buckets)[1:] if len(buckets) == buckets.maxlen else list(buckets)
        highs = [*sorted((b[1] for b in kept), reverse=True), -math.inf, -math.inf]
        lows = [*sorted(b[0] for b in kept), math.inf, math.inf]
        self._older_highs = (highs[0], highs[1])
        self._older_lows = (lows[0], lows[1])
