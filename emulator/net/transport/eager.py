"""Run a coroutine at once, in the caller's turn of the loop, and hand it to a task only if it waits.

aiortc makes a task for each message a data channel sends (`asyncio.ensure_future(flush())`): a task
object, a turn of the loop to start it, and the handles that go with it, for a coroutine that almost
never waits (the datagram goes to a UDP socket, which does not block). `start(coro)` runs the
coroutine now, in the caller's frame; if it finishes there (the usual case) no task was ever made. If
it does wait (a TURN allocation, the network conditioner's delay), a task carries it on from where it
stopped, exactly as if it had been a task from the start. This is what Python 3.12 calls an eager task
(`asyncio.eager_task_factory`); the project runs on 3.11, whose loop has none.

What differs from a task: the coroutine's first steps run before `start` returns, not on the next
turn of the loop, so what it sends leaves sooner; and an exception it raises before waiting goes to
the loop's exception handler at once (as a task's unretrieved exception would, later, when the task
is collected), never to the caller.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Coroutine, Generator
from typing import Any


@types.coroutine
def _carry_on(coro: Coroutine[Any, Any, Any], waiting_on: Any) -> Generator[Any, Any, Any]:
    """Hand the task what `coro` waits on, and pass the task's answers (a value, an exception) on."""
    while True:
        try:
            sent = yield waiting_on
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as error:  # the task throws in: a cancellation, most often
            try:
                waiting_on = coro.throw(error)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                waiting_on = coro.send(sent)
            except StopIteration as stop:
                return stop.value


async def _rest_of(coro: Coroutine[Any, Any, Any], waiting_on: Any) -> Any:
    return await _carry_on(coro, waiting_on)


def start(coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any] | None:
    """Run `coro` now; None if it has finished, else the task that carries it on. `what` names it in
    the loop's exception handler if it fails before it waits."""
    try:
        waiting_on = coro.send(None)
    except StopIteration:
        return None
    except Exception as error:  # a task's exception would only have been logged too
        asyncio.get_running_loop().call_exception_handler({"message": f"{what} failed", "exception": error})
        return None
    return asyncio.ensure_future(_rest_of(coro, waiting_on))
