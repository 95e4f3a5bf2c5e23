"""Network conditions for one headset, in user space (this kernel has no netem): loss (independent or
in bursts), delay, jitter, rate, reordering and duplicates, fixed or following a seeded schedule.

`--net` names the conditions (`condition_spec.py`; docs/network-conditions.md says what each means).
`NetworkConditioner` applies them to the datagrams of one peer connection, both ways, between aiortc
and the ICE connection: outgoing at `RTCIceTransport._send` (what DTLS, SRTP and SCTP send through),
incoming at aioice's `Connection.data_received` (what its socket protocol hands non-STUN datagrams
to). STUN (connectivity checks, consent) passes untouched, as it would through most shapers that
are set on media only, so conditions bad enough to lose the transport are still distinguishable from
a dead room. Signaling (the WebSocket) is not impaired.

Each direction is one seeded scheduler on the loop: a datagram is lost as the loss model decides
(`loss_model.py`: independent draws, or Gilbert-Elliott bursts of `burst` packets on average), else
waits for a token bucket of `rate` (tail-dropped past `MAX_QUEUE_S` of backlog), then for `delay`
plus a uniform jitter in ±`jitter`; later datagrams may overtake earlier ones, as on a real path with
jitter. A `reorder` fraction is held `REORDER_HOLD_S` longer, so the next ones overtake it; a
`duplicate` fraction arrives twice. `commute` and `cafe-wifi` change these over time (`schedules.py`),
the same schedule both ways, from the conditioner's seed. `set()` changes the conditions live (the app's
network menu); datagrams already scheduled keep their times. Everything here runs on the asyncio loop;
`stop()` cancels every pending delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.net.tasks import cancel_and_wait
from emulator.net.transport import patches
from emulator.net.transport.condition_spec import PRESETS, NetConditions, parse_conditions
from emulator.net.transport.loss_model import LossModel
from emulator.net.transport.schedules import Schedule

log = logging.getLogger(__name__)

MAX_QUEUE_S = 0.3  # backlog a rate-limited direction holds before it drops (a shallow router queue)
SCAN_INTERVAL_S = 0.5  # how often new ICE transports (after renegotiation) are looked for
REORDER_HOLD_S = 0.03  # extra hold of a reordered datagram: 1–2 audio packets overtake it


@dataclass
class DirectionStats:
    passed: int = 0
    lost: int = 0
    queue_drops: int = 0
    bytes_passed: int = 0
    reordered: int = 0
    duplicated: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Impairment:
    """One direction's scheduler: `deliveries(size, now)` → the holds (seconds) of each copy to deliver.

    A time-varying `conditions` is replayed from `schedule_seed` (the same both ways) and from the
    first datagram, or from `restart(now)`.
    """

    conditions: NetConditions
    seed: int = 0
    stats: DirectionStats = field(default_factory=DirectionStats)
    schedule_seed: int | None = None  # None: `seed`

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._free_at = 0.0  # when the token bucket's link is next idle
        self._loss = LossModel(self.conditions.loss, self.conditions.burst, self._random)
        self._schedule: Schedule | None = None
        self._origin: float | None = None

    def set(self, conditions: NetConditions, now: float | None = None) -> None:
        """New conditions from `now` (a time-varying program starts over then, or at the next datagram)."""
        self.conditions = conditions
        self._schedule = None
        self._origin = now

    def in_force(self, now: float) -> NetConditions:
        """The conditions at `now`: the fixed ones, or the schedule's segment."""
        c = self.conditions
        if c.varying is not None:
            if self._origin is None:
                self._origin = now
            if self._schedule is None:
                seed = self.seed if self.schedule_seed is None else self.schedule_seed
                self._schedule = Schedule(c, seed)
            c = self._schedule.at(max(0.0, now - self._origin))
        if (self._loss.loss, self._loss.burst) != (c.loss, c.burst):
            self._loss.configure(c.loss, c.burst)
        return c

    def admit(self, size: int, now: float) -> float | None:
        """The first copy's hold, or None when the datagram is dropped."""
        holds = self.deliveries(size, now)
        return holds[0] if holds else None

    def deliveries(self, size: int, now: float) -> tuple[float, ...]:
        c = self.in_force(now)
        if self._loss.lost():
            self.stats.lost += 1
            return ()
        wait = 0.0
        if c.rate_bps is not None:
            start = max(now, self._free_at)
            if start - now > MAX_QUEUE_S:
                self.stats.queue_drops += 1
                return ()
            self._free_at = start + size * 8 / c.rate_bps
            wait = self._free_at - now
        if c.jitter_s > 0:
            wait += max(0.0, c.delay_s + self._random.uniform(-c.jitter_s, c.jitter_s))
        else:
            wait += c.delay_s
        if c.reorder > 0 and self._random.random() < c.reorder:
            wait += REORDER_HOLD_S
            self.stats.reordered += 1
        self.stats.passed += 1
        self.stats.bytes_passed += size
        if c.duplicate > 0 and self._random.random() < c.duplicate:
            self.stats.duplicated += 1
            return (wait, wait)
        return (wait,)


class NetworkConditioner:
    """Impairs one peer connection's datagrams both ways; owns its timers and tasks."""

    def __init__(self, conditions: NetConditions | None = None, seed: int = 0) -> None:
        self.conditions = conditions or PRESETS["good"]
        self.outgoing = Impairment(self.conditions, seed, schedule_seed=seed)
        self.incoming = Impairment(self.conditions, seed + 1, schedule_seed=seed)
        self._patched: dict[int, tuple[Any, Any, Any]] = {}  # id(ice transport) → (transport, send, recv)
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._scanner: asyncio.Task[None] | None = None
        self._pc: Any = None

    def set(self, conditions: NetConditions | str) -> NetConditions:
        """Change the conditions now (a spec string or NetConditions); returns what is in force."""
        if isinstance(conditions, str):
            conditions = parse_conditions(conditions)
        self.conditions = conditions
        now = _loop_time()
        self.outgoing.set(conditions, now)
        self.incoming.set(conditions, now)
        log.info("network conditions: %s", conditions.describe())
        return conditions

    def report(self) -> dict[str, Any]:
        return {
            "conditions": self.conditions.as_dict(),
            "outgoing": self.outgoing.stats.as_dict(),
            "incoming": self.incoming.stats.as_dict(),
        }

    # --- attaching --------------------------------------------------------------------------------

    def attach(self, pc: Any) -> None:
        """Impair `pc` (an aiortc RTCPeerConnection) from now on, including transports added later."""
        self._pc = pc
        self._scan()
        if self._scanner is None:
            self._scanner = asyncio.get_running_loop().create_task(self._scan_forever(), name="net-scan")

    async def _scan_forever(self) -> None:
        while True:
            await asyncio.sleep(SCAN_INTERVAL_S)
            self._scan()

    def _scan(self) -> None:
        pc = self._pc
        if pc is None:
            return
        dtls = [t.sender.transport for t in pc.getTransceivers()]
        if pc.sctp is not None:
            dtls.append(pc.sctp.transport)
        for transport in dtls:
            ice = getattr(transport, "transport", None)
            if ice is not None and id(ice) not in self._patched:
                self._patch(ice)

    def _patch(self, ice: Any) -> None:
        connection = patches.ice_connection_of(ice)
        original_send = patches.ice_send(ice)
        original_received: Callable[[bytes, int], None] = connection.data_received

        async def send(data: bytes) -> None:
            for hold in self.outgoing.deliveries(len(data), asyncio.get_running_loop().time()):
                if hold <= 0:
                    await original_send(data)
                else:
                    self._later(hold, lambda: self._spawn(original_send(data)))

        def data_received(data: bytes, component: int) -> None:
            for hold in self.incoming.deliveries(len(data), asyncio.get_running_loop().time()):
                if hold <= 0:
                    original_received(data, component)
                else:
                    self._later(hold, lambda: original_received(data, component))

        patches.set_ice_send(ice, send)
        connection.data_received = data_received
        self._patched[id(ice)] = (ice, original_send, original_received)

    def _later(self, delay: float, action: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            with contextlib.suppress(Exception):
                action()

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("a delayed datagram could not be sent: %s", task.exception())

    async def stop(self) -> None:
        """Cancel pending deliveries and give the transports their own methods back."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        await cancel_and_wait([self._scanner, *self._tasks])
        self._scanner = None
        for ice, send, received in self._patched.values():
            patches.set_ice_send(ice, send)
            patches.ice_connection_of(ice).data_received = received
        self._patched.clear()
        self._pc = None


def _loop_time() -> float | None:
    """The running loop's clock (what datagrams are timed by), or None outside one."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return None
