"""emulator.net.transport.eager: a coroutine runs in the caller's turn; one that waits goes on in a task
exactly as it would have as a task from the start; an early failure reaches the loop's handler."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from emulator.net.transport import eager


async def test_a_coroutine_that_never_waits_runs_at_once_without_a_task() -> None:
    steps: list[str] = []

    async def work() -> None:
        steps.append("ran")

    tasks_before = len(asyncio.all_tasks())
    assert eager.start(work(), "work") is None
    assert steps == ["ran"]
    assert len(asyncio.all_tasks()) == tasks_before


async def test_one_that_waits_goes_on_in_a_task_with_its_result() -> None:
    steps: list[str] = []
    gate: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def work() -> str:
        steps.append("before")
        value = await gate
        await asyncio.sleep(0)  # a bare yield too
        steps.append(f"after {value}")
        return "done"

    task = eager.start(work(), "work")
    assert steps == ["before"]  # the first steps ran in the caller's turn
    assert task is not None and not task.done()
    gate.set_result(7)
    assert await task == "done"
    assert steps == ["before", "after 7"]


async def test_cancelling_the_task_cancels_the_coroutine_where_it_waits() -> None:
    seen: list[str] = []

    async def work() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    task = eager.start(work(), "work")
    assert task is not None
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["cancelled"]


async def test_an_exception_after_waiting_is_the_tasks() -> None:
    async def work() -> None:
        await asyncio.sleep(0)
        raise ConnectionError("gone")

    task = eager.start(work(), "work")
    assert task is not None
    with pytest.raises(ConnectionError):
        await task


async def test_an_exception_before_waiting_goes_to_the_loops_handler_not_the_caller() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:

        async def work() -> None:
            raise ConnectionError("not connected")

        assert eager.start(work(), "sending on a channel") is None
    finally:
        loop.set_exception_handler(None)
    assert len(reported) == 1
    assert isinstance(reported[0]["exception"], ConnectionError)
    assert "sending on a channel" in reported[0]["message"]
