"""Which asyncio event loop a headless process of many headsets runs on: asyncio's own, or uvloop on
request (`HEADSET_EMULATOR_LOOP=uvloop`, with uvloop installed: it is not a dependency).

Why asyncio's stays the default: measured side by side with the same code on both loops (bench
`swarm_cpu`, BENCHMARKS.md), uvloop bought no CPU per swarm headset on this project's hosts; the
switch stays for measuring on others. `swarm` and the Locust engine take their loop from here.

Reading ICE sockets under uvloop: `ice_sockets.py` drains a readable socket itself through asyncio's
`transport._sock`, which uvloop's transports do not have, so it reads the stock way there; libuv
already reads up to 32 datagrams from a readable socket in one turn of its loop (`uv__udp_recvmsg`)
and calls the protocol for each, which is the draining `ice_sockets.py` does on asyncio's loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

ENV = "HEADSET_EMULATOR_LOOP"
CHOICES = ("asyncio", "uvloop")

T = TypeVar("T")


class LoopUnavailable(RuntimeError):
    """The loop asked for cannot be had (uvloop is not installed)."""


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def loop_factory(choice: str | None = None) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory for `choice` (default: $HEADSET_EMULATOR_LOOP, else asyncio); None is asyncio's own."""
    choice = (choice or os.environ.get(ENV) or "asyncio").strip().lower()
    if choice not in CHOICES:
        raise LoopUnavailable(f"{ENV}={choice!r}: expected one of {', '.join(CHOICES)}")
    if choice == "asyncio":
        return None
    factory = _uvloop_factory()
    if factory is None:
        raise LoopUnavailable(f"{ENV}=uvloop, but uvloop is not installed (pip install uvloop)")
    return factory


def run(main: Coroutine[Any, Any, T], choice: str | None = None) -> T:
    """`asyncio.run(main)` on the chosen loop."""
    try:
        factory = loop_factory(choice)
    except LoopUnavailable:
        main.close()
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def loop_name(loop: asyncio.AbstractEventLoop | None = None) -> str:
    """ "uvloop" or "asyncio": which loop runs `loop` (default: the running one)."""
    loop = loop or asyncio.get_running_loop()
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
