"""Periodic work on the process-wide grid: headsets started at different moments wake together."""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import SimpleNamespace
from typing import Any

import pytest

from emulator.audio.source import SAMPLE_RATE
from emulator.headset import voice as voice_module
from emulator.headset.ticks import next_tick
from tests.unit.test_state_link import headset_of, make_link


def test_next_tick_is_the_first_grid_instant_after_now() -> None:
    for now in (0.0, 0.0049, 0.005, 1234.5678, 98765.4321):
        k = next_tick(0.005, now)
        assert (k - 1) * 0.005 <= now < k * 0.005 + 1e-12


def _state_instants(started: float, until: float) -> list[float]:
    """When a headset's STATEs fall due, stepping its core through its own deadlines (explicit clock)."""
    link, _ = make_link(states_per_packet=1)
    core = link.core
    core.start(started, sending=True)
    instants: list[float] = []
    now = started
    while now < until:
        if core.state_due(now) is not None:
            instants.append(now)
        core.poll(now)  # the PINGs due move on too
        deadline = core.next_deadline()
        assert deadline is not None
        now = max(now, deadline)
    return instants


def test_states_of_headsets_started_apart_fall_due_on_one_grid() -> None:
    period = 1 / 90
    first = _state_instants(1000.0001, 1000.2)
    second = _state_instants(1000.0041, 1000.2)  # 4 ms later: a phase of its own
    # The first STATE goes at once; after it both are on the process-wide 90 Hz grid, at its instants.
    assert first[0] == 1000.0001 and second[0] == 1000.0041
    assert second[1:] == first[1:] and len(first) >= 15
    assert all(abs(t / period - round(t / period)) < 1e-6 for t in first[1:])


async def test_audio_pulls_of_headsets_started_apart_aim_at_one_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each voice sleeps until its next block's instant: those instants are the grid's, shared by both."""
    sleep = asyncio.sleep
    aims: dict[int, list[float]] = {0: [], 1: []}
    whose: dict[asyncio.Task[Any] | None, int] = {}
    last_reading: dict[asyncio.Task[Any] | None, float] = {}

    def reading() -> float:
        now = time.monotonic()
        last_reading[asyncio.current_task()] = now
        return now

    async def aiming(delay: float, result: Any = None) -> Any:
        task = asyncio.current_task()
        if task in whose:  # the instant it aims at: the clock it read, plus the delay it asked for
            aims[whose[task]].append(last_reading[task] + delay)
        return await sleep(delay, result)

    voices = []
    for _ in (0, 1):
        voice = headset_of(make_link()[0]).voice
        voice.pull_all = lambda now: {}  # type: ignore[method-assign]
        voices.append(voice)
    monkeypatch.setattr(asyncio, "sleep", aiming)
    monkeypatch.setattr(voice_module, "time", SimpleNamespace(monotonic=reading))
    tasks = []
    for k, voice in enumerate(voices):
        task = asyncio.create_task(voice.run())
        whose[task] = k
        tasks.append(task)
        await sleep(0.004)  # each starts 4 ms after the one before: a phase of its own
    await sleep(0.12)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    period = voices[0].block_samples / SAMPLE_RATE
    assert len(aims[0]) >= 5 and len(aims[1]) >= 5
    for k in (0, 1):
        off = max(abs(t / period - round(t / period)) for t in aims[k])
        assert off < 1e-6, f"voice {k} aimed {off * period * 1e3:.4f} ms off the grid"
    shared = {round(t / period) for t in aims[0]} & {round(t / period) for t in aims[1]}
    assert len(shared) >= 3, "the two voices never aimed at the same instant"
