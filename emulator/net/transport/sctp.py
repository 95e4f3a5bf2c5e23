"""Delayed SACKs for aiortc's SCTP (acknowledge every fourth packet, not every one), and data channel
messages sent without a task each.

Why: aiortc 1.16 answers every received SCTP packet that carries data with a SACK of its own. The
state stream is many small datagrams (a headset sends 90 a second, the room sends each listener a
batch every few milliseconds), so half of all SCTP packets on the wire would be SACKs, and each costs
both peers a DTLS record, a syscall and, on the sender, a pass over its outstanding queue and its
retransmission timer (measured: docs/architecture.md#measured-reasons).

RFC 4960 §6.2 lets a receiver delay its SACK: it should acknowledge at least every second packet
with data, must do so within 200 ms of a packet it has not acknowledged, and should acknowledge at
once when data arrives out of order or duplicated (the sender's fast retransmit counts on that). The
sockets API (RFC 6458 §8.1.19, SCTP_DELAYED_SACK) makes both figures settings, `sack_freq` packets
and `sack_delay`; `delay_sacks()` sets them for aiortc: every 4th packet or 50 ms, at once on
anything out of order. Why 4 and not 2: a room of N sends each listener a batch every 12-20 ms, and
each listener sends 45 datagrams a second, so every second packet means about 60 SACK datagrams a
second per headset, a fifth of all its datagrams; 4/50 ms also measured cheaper than 3/60 ms
(docs/architecture.md#measured-reasons). What 4 costs: a sender whose congestion window holds fewer
than 4 full packets (aiortc starts at 3) waits for the timer once, and its window then grows past
that; every retransmission timer in play (aiortc's minimum RTO is 1 s) is far above 50 ms.

Sends: aiortc's `RTCDataChannel.send` queues the message and starts a task to flush the queue to
SCTP (`asyncio.ensure_future(_data_channel_flush())`), one task per message: a headset sends 45 state
datagrams a second and a room relays each to every listener. `send_eagerly()` queues it the same way
and runs the flush at once (`eager.py`): the same datagram leaves, in the caller's turn of the loop
instead of the next, and a task is made only if the flush has to wait (a TURN relay, the network
conditioner). aiortc's own code flushes from inside its receive path too (a data channel's opening).

`delay_sacks()` and `send_eagerly()` are process-wide and idempotent; each checks the installed aiortc
for what it replaces and raises `SctpInternalsChanged` if that is gone, so an upgrade fails loudly
instead of silently stalling.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc.rtcsctptransport import RTCSctpTransport
from OpenSSL import SSL

from emulator.net.transport import eager, patches

logger = logging.getLogger(__name__)

SACK_EVERY_PACKETS = 4  # RFC 6458's sack_freq; RFC 4960 suggests 2 (see above for why not)
SACK_DELAY_S = 0.05  # RFC 6458's sack_delay; RFC 4960 allows up to 200 ms

_STOCK_SEND_SACK: Callable[[RTCSctpTransport], Awaitable[None]] | None = None
_STOCK_DATA_CHANNEL_SEND: Callable[[Any, Any, Any], None] | None = None


class SctpInternalsChanged(RuntimeError):
    """The installed aiortc no longer has the SCTP internals `delay_sacks()` relies on."""


class _Pending:
    """Per-association delay state, kept on the transport object."""

    __slots__ = ("task", "timer", "unacked")

    def __init__(self) -> None:
        self.unacked = 0
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None


def _pending(transport: RTCSctpTransport) -> _Pending:
    state: _Pending | None = getattr(transport, "_emulator_sack_delay", None)
    if state is None:
        state = _Pending()
        transport._emulator_sack_delay = state  # type: ignore[attr-defined]
    return state


def _check_internals() -> None:
    why = patches.problem("sctp-sacks")
    if why is not None:
        raise SctpInternalsChanged(f"aiortc: {why}")


async def _send_now(transport: RTCSctpTransport) -> None:
    state = _pending(transport)
    state.unacked = 0
    if state.timer is not None:
        state.timer.cancel()
        state.timer = None
    assert _STOCK_SEND_SACK is not None
    await _STOCK_SEND_SACK(transport)


async def _send_sack_delayed(transport: RTCSctpTransport) -> None:
    """Called by aiortc at the end of every packet with data: send now, or within SACK_DELAY_S."""
    state = _pending(transport)
    state.unacked += 1
    if patches.sack_at_once(transport) or state.unacked >= SACK_EVERY_PACKETS:
        await _send_now(transport)
    elif state.timer is None:
        state.timer = asyncio.get_running_loop().call_later(SACK_DELAY_S, _timer_fired, transport)


def _timer_fired(transport: RTCSctpTransport) -> None:
    state = _pending(transport)
    state.timer = None
    if not patches.sack_needed(transport) or not patches.association_established(transport):
        state.unacked = 0
        return
    # Sent in this turn of the loop, not from a task started for the next (eager.py).
    state.task = eager.start(_send_late(transport), "sending a delayed SACK")


async def _send_late(transport: RTCSctpTransport) -> None:
    try:
        if patches.sack_needed(transport):
            await _send_now(transport)
    except (ConnectionError, SSL.Error) as error:
        # The association or its DTLS closed while the SACK waited: there is nothing left to ack.
        logger.debug("delayed SACK not sent: %s", error)
    finally:
        _pending(transport).task = None


def delay_sacks() -> None:
    """Make every aiortc SCTP association in this process acknowledge every fourth packet."""
    global _STOCK_SEND_SACK
    if _STOCK_SEND_SACK is not None:
        return
    _check_internals()
    _STOCK_SEND_SACK = patches.replace_send_sack(_send_sack_delayed)
    logger.debug("aiortc SCTP: SACK every %d packets or %.0f ms", SACK_EVERY_PACKETS, 1000 * SACK_DELAY_S)


def sacks_are_delayed() -> bool:
    return _STOCK_SEND_SACK is not None


def _send_now_or_soon(transport: RTCSctpTransport, channel: Any, data: bytes | str) -> None:
    """`RTCSctpTransport._data_channel_send`: queue the message, then flush the queue at once."""
    patches.queue_message(transport, channel, data)
    eager.start(patches.flush_data_channels(transport), "sending on an SCTP data channel")


def send_eagerly() -> None:
    """Make every aiortc data channel in this process flush a message as it is sent, without a task."""
    global _STOCK_DATA_CHANNEL_SEND
    if _STOCK_DATA_CHANNEL_SEND is not None:
        return
    why = patches.problem("sctp-sends")
    if why is not None:
        raise SctpInternalsChanged(f"aiortc: {why}")
    _STOCK_DATA_CHANNEL_SEND = patches.replace_data_channel_send(_send_now_or_soon)


def sends_are_eager() -> bool:
    return _STOCK_DATA_CHANNEL_SEND is not None
