"""Datagrams handed to DTLS where they are read, not through aioice's queue and a task's wake-up.

How aiortc 1.16 receives: aioice's socket protocol calls `Connection.data_received`, which puts the
datagram in an `asyncio.Queue`; the DTLS transport's receive task, parked in `queue.get()`, is woken
(a future's result, a handle on the ready queue, a turn of the loop) and decrypts it, then hands the
SCTP packet or the RTP packet up. A swarm member receives some 200 datagrams a second (its room's
state batches, two voices, SACKs), nearly each one alone, so nearly each one costs that wake-up: the
queue, the future, the handle and resuming the task through five coroutine frames.

`receive_directly()` (process-wide, idempotent) does the same work where the datagram is read: once a
DTLS transport's receive task runs and its handshake is over, `data_received` runs aiortc's own steps
for the datagram (`patches.dtls_datagram_handler`, its `_recv_next` from the datagram on) at once,
through `eager.start`. What stays the same:

- **Order.** Datagrams are handled one at a time in the order they arrive. If handling one has to
  wait (a TURN relay's send, the network conditioner), it goes on in a task and the datagrams after
  it wait in a backlog until it is done, as they waited in the queue. Until the queue the receive task
  reads from is empty (the first datagrams after the handshake), datagrams still go through it.
- **Endings.** A DTLS shutdown by the peer ends the receive task as aiortc's own does (its
  `ConnectionError` path: the RTP receivers are told, the transport closes); any other error is logged
  as aiortc logs it and ends the task. A transport that was stopped reads nothing more.
- **Everything before the handshake** (and a transport whose handshake never finished) goes through
  aiortc's queue and task unchanged: DTLS retransmission timers live there.
"""

from __future__ import annotations

import functools
import logging
import traceback
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from emulator.net.transport import eager, patches

logger = logging.getLogger(__name__)
_aiortc_logger = logging.getLogger("aiortc.rtcdtlstransport")

_ROUTE = "_emulator_dtls_route"  # on each aioice Connection whose DTLS transport is running
_STOCK_DATA_RECEIVED: Callable[[Any, bytes, int], None] | None = None
_handle: Callable[[Any, bytes], Any] | None = None


class DtlsInternalsChanged(RuntimeError):
    """The installed aiortc or aioice no longer has what `receive_directly()` relies on."""


class _Route:
    """One connection's datagrams, straight to its DTLS transport."""

    __slots__ = ("backlog", "connection", "dtls", "handled", "live", "waiting")

    def __init__(self, connection: Any, dtls: Any) -> None:
        self.connection = connection
        self.dtls = dtls
        self.live = False  # the receive task runs, its handshake is over, aiortc's queue is empty
        self.waiting: Any = None  # the task carrying on a datagram whose handling had to wait
        self.backlog: deque[bytes] = deque()
        self.handled = 0  # datagrams handled here rather than through aiortc's queue

    def takes(self) -> bool:
        if not patches.dtls_pumping(self.dtls):
            self.live = False
            return False
        if not self.live:
            self.live = patches.nothing_queued(self.connection)
        return self.live

    def receive(self, data: bytes) -> None:
        if self.waiting is not None:
            self.backlog.append(data)
            return
        while True:
            self.handled += 1
            task = eager.start(self._one(data), "receiving a DTLS datagram")
            if task is not None:
                self.waiting = task
                task.add_done_callback(self._carried_on)
                return
            if not self.backlog:
                return
            data = self.backlog.popleft()

    async def _one(self, data: bytes) -> None:
        assert _handle is not None
        try:
            await _handle(self.dtls, data)
        except ConnectionError:
            self._end(shut_down=True)
        except Exception:
            _aiortc_logger.warning("RTCDtlsTransport(direct receive) %s", traceback.format_exc())
            self._end(shut_down=False)

    def _end(self, *, shut_down: bool) -> None:
        self.backlog.clear()
        self.live = False
        if shut_down:
            patches.end_dtls_receive(self.connection)
        else:
            patches.stop_dtls_receive(self.dtls)

    def stopped(self) -> None:
        """The receive task has ended (the transport stopped or closed): what it would still have been
        doing ends with it."""
        self.live = False
        self.backlog.clear()
        if self.waiting is not None:
            self.waiting.cancel()

    def _carried_on(self, _task: Any) -> None:
        self.waiting = None
        if self.backlog and self.takes():
            self.receive(self.backlog.popleft())


def _data_received(connection: Any, data: bytes, component: int) -> None:
    """aioice's `Connection.data_received`: a datagram that is not STUN, from the pair's socket."""
    route: _Route | None = connection.__dict__.get(_ROUTE)
    if route is not None and (route.waiting is not None or route.takes()):
        route.receive(data)
        return
    assert _STOCK_DATA_RECEIVED is not None
    _STOCK_DATA_RECEIVED(connection, data, component)


def _start_then_route(start: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    @functools.wraps(start)  # keeps aiortc's as __wrapped__, for patches' check
    async def started(dtls: Any, *args: Any, **kwargs: Any) -> None:
        await start(dtls, *args, **kwargs)
        connection = patches.ice_connection_of(dtls.transport)
        route = _Route(connection, dtls)
        if patches.when_dtls_receive_ends(dtls, route.stopped):
            connection.__dict__[_ROUTE] = route

    return started


def handled_directly(connection: Any) -> int:
    """How many datagrams of this aioice connection went straight to its DTLS transport."""
    route: _Route | None = connection.__dict__.get(_ROUTE)
    return route.handled if route is not None else 0


def receive_directly() -> None:
    """From now on every DTLS transport in this process handles its datagrams where they are read."""
    global _STOCK_DATA_RECEIVED, _handle
    if _STOCK_DATA_RECEIVED is not None:
        return
    why = patches.problem("dtls-receive")
    if why is not None:
        raise DtlsInternalsChanged(f"aiortc/aioice: {why}")
    _handle = patches.dtls_datagram_handler()
    patches.wrap_dtls_start(_start_then_route)
    _STOCK_DATA_RECEIVED = patches.replace_data_received(_data_received)
    logger.debug("DTLS datagrams are handled where they are read")


def receives_directly() -> bool:
    return _STOCK_DATA_RECEIVED is not None
