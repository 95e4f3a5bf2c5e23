"""The demo's child process (emulator/cli/demo_room.py): its answer, its errors as one line, its end."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from emulator.cli.demo_room import DemoProcess, DemoProcessError


def test_a_child_that_cannot_start_says_why_in_one_line() -> None:
    background = DemoProcess(0, "")  # no secret: the child refuses
    with pytest.raises(DemoProcessError) as raised:
        asyncio.run(background.start())
    message = str(raised.value)
    assert "no secret on its stdin" in message and "\n" not in message
    assert background.process is not None and background.process.poll() is not None


def test_a_child_that_dies_is_reported_in_one_line_and_a_closed_pipe_stops_it() -> None:
    async def scenario() -> None:
        dying = DemoProcess(0, "s3cret")
        await dying.start()
        assert dying.url.startswith("ws://127.0.0.1:") and dying.failure() is None
        assert dying.pid is not None
        os.kill(dying.pid, signal.SIGKILL)
        while dying.failure() is None:
            await asyncio.sleep(0.05)
        assert dying.failure() == "the demo's room and bots stopped (exit code -9)"
        await dying.stop()

        stopping = DemoProcess(0, "s3cret")
        await stopping.start()
        await stopping.stop()  # closes its stdin: it must end on its own, not be killed
        assert stopping.process is not None and stopping.process.returncode == 0

    asyncio.run(asyncio.wait_for(scenario(), 120))
