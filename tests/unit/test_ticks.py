"""Periodic work on the process-wide grid: headsets started at different moments wake together."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import Any

from emulator.headset.ticks import next_tick
from emulator.headset.voice import Voice
from tests.unit.test_state_link import headset_of, make_link


def test_next_tick_is_the_first_grid_instant_after_now() -> None:
    for now in (0.0, 0.0049, 0.005, 1234.5678, 98765.4321):
        k = next_tick(0.005, now)
        assert (k - 1) * 0.005 <= now < k * 0.005 + 1e-12


async def _run_for(seconds: float, *loops: Coroutine[Any, Any, None]) -> None:
    tasks = []
    for loop in loops:
        tasks.append(asyncio.create_task(loop))
        await asyncio.sleep(0.004)  # each starts 4 ms after the one before: a phase of its own
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _apart(times: list[float], others: list[float]) -> float:
    """How far the furthest of `times` (while `others` ran) is from the nearest of `others`."""
    return max(min(abs(t - o) for o in others) for t in times if t <= others[-1] + 0.0005)


async def test_states_of_headsets_started_apart_go_out_together() -> None:
    sent: dict[int, list[float]] = {0: [], 1: []}
    links = []
    for k in (0, 1):
        link, session = make_link(states_per_packet=1)
        session.send_state = lambda data, k=k: sent[k].append(time.monotonic()) or True  # type: ignore[method-assign]
        links.append(link)
    await _run_for(0.15, *(link.run() for link in links))
    assert len(sent[0]) >= 8 and len(sent[1]) >= 8
    # The first STATE goes at once; after it both are on the 90 Hz grid (their own phases: 4 ms apart).
    # Half that phase tells the two apart; what is left is the time the first one's tick (pose, face and
    # hands sampled, a datagram made) takes before the second runs, which a loaded machine stretches.
    assert _apart(sent[1][1:], sent[0]) < 0.002


async def test_audio_pulls_of_headsets_started_apart_come_together() -> None:
    pulled: dict[int, list[float]] = {0: [], 1: []}
    voices = []
    for k in (0, 1):
        headset = headset_of(make_link()[0])
        voice = Voice(headset.config, headset.profile, None, None)
        voice.pull_all = lambda now, k=k: pulled[k].append(time.monotonic()) or {}  # type: ignore[method-assign]
        voices.append(voice)
    await _run_for(0.1, *(voice.run() for voice in voices))
    assert len(pulled[0]) >= 8 and len(pulled[1]) >= 8
    assert _apart(pulled[1][1:], pulled[0]) < 0.001
