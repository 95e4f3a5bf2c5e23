"""Which packets a path loses: independent draws, or Gilbert-Elliott bursts as netem's `gemodel`.

Real paths (Wi-Fi interference, a radio handover, a full router queue) lose packets in runs, and
a run hurts speech far more than the same count spread out: FEC recovers one lost packet, not four.
`loss=5%,burst=4` is the simple Gilbert model netem calls `loss gemodel p r` (its `1-h` = 100 %,
`1-k` = 0 %): a good state that loses nothing and a bad state that loses everything. Per packet the
good state turns bad with probability p and the bad state recovers with probability r, so a burst
lasts 1/r packets on average and the stationary loss is p / (p + r). For a mean loss L in bursts of
B packets: r = 1/B and p = L / (B·(1 − L)); 5 % in bursts of 4 is p ≈ 1.32 %, r = 25 %.
Pure Python, no I/O: the conditioner, the RTP dropper and the tests share it.
"""

from __future__ import annotations

import random


def gilbert_parameters(loss: float, burst: float) -> tuple[float, float]:
    """(p, r) of the simple Gilbert model whose mean loss is `loss` in bursts of `burst` packets."""
    if not 0.0 <= loss < 1.0:
        raise ValueError(f"mean loss must be within [0, 1), not {loss}")
    if burst < 1.0:
        raise ValueError(f"a loss burst is at least one packet long, not {burst}")
    r = 1.0 / burst
    return loss * r / (1.0 - loss), r


class LossModel:
    """Decides packet by packet whether it is lost; `burst=None` draws each packet independently.

    A loss of 1.0 loses everything (an outage in a time-varying schedule). `configure()` changes
    the figures and keeps the state, so a burst in progress carries across a schedule's change.
    """

    def __init__(self, loss: float, burst: float | None, rng: random.Random) -> None:
        self._random = rng
        self._bad = False
        self.loss = 0.0
        self.burst: float | None = None
        self._p = self._r = 0.0
        self.configure(loss, burst)

    def configure(self, loss: float, burst: float | None) -> None:
        if not 0.0 <= loss <= 1.0:
            raise ValueError(f"loss must be within [0, 1], not {loss}")
        self.loss, self.burst = loss, burst
        if burst is not None and 0.0 < loss < 1.0:
            self._p, self._r = gilbert_parameters(loss, burst)
        else:
            self._bad = False

    def lost(self) -> bool:
        if self.loss <= 0.0:
            return False
        if self.loss >= 1.0:
            return True
        if self.burst is None:
            return self._random.random() < self.loss
        if self._bad:
            if self._random.random() < self._r:
                self._bad = False
            return True
        if self._random.random() < self._p:
            self._bad = True
        return False
