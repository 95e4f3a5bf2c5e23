"""Periodic work on the process-wide grid: headsets started at different moments wake together."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import pytest

from emulator.audio.source import SAMPLE_RATE
from emulator.headset.ticks import next_tick, wakeups
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
    """Each voice asks for a wake-up at its next block's instant: those instants are the grid's,
    shared by both, so both pulls run from one timer."""
    aims: dict[int, list[float]] = {0: [], 1: []}
    timers: list[float] = []
    voices = []
    for k in (0, 1):
        voice = headset_of(make_link()[0]).voice
        voice.pull_all = lambda now, k=k: pulled.append(k) or {}  # type: ignore[method-assign, func-returns-value]
        voices.append(voice)
    pulled: list[int] = []
    wake = wakeups()
    at, call_at = wake.at, wake.loop.call_at

    def aiming(
        when: float, callback: Callable[[], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        aims[pulled[-1]].append(when)  # the voice that has just pulled asks for its next instant
        at(when, callback, clock)

    def timing(when: float, callback: Callable[..., object], *args: Any, **kwargs: Any) -> Any:
        timers.append(when)
        return call_at(when, callback, *args, **kwargs)

    monkeypatch.setattr(wake, "at", aiming)
    monkeypatch.setattr(wake.loop, "call_at", timing)
    tasks = []
    for voice in voices:
        tasks.append(asyncio.create_task(voice.run()))
        await asyncio.sleep(0.004)  # each starts 4 ms after the one before: a phase of its own
    await asyncio.sleep(0.12)
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
    shared = set(aims[0]) & set(aims[1])
    assert len(shared) >= 3, "the two voices never aimed at the same instant"
    assert len(timers) == len(set(timers)), "an instant two voices share took two timers"


async def test_wake_ups_at_one_instant_share_one_timer_and_a_failing_one_strands_none() -> None:
    wake = wakeups()
    assert wakeups() is wake
    calls: list[str] = []
    errors: list[dict[str, Any]] = []
    wake.loop.set_exception_handler(lambda loop, context: errors.append(context))
    when = time.monotonic() + 0.01

    def failing() -> None:
        calls.append("b")
        raise RuntimeError("a bug")

    before = len(wake.loop._scheduled)  # type: ignore[attr-defined]
    for callback in (lambda: calls.append("a"), failing, lambda: calls.append("c")):
        wake.at(when, callback)
    assert len(wake.loop._scheduled) == before + 1  # type: ignore[attr-defined]
    await asyncio.sleep(0.03)
    assert calls == ["a", "b", "c"]
    assert [type(e["exception"]) for e in errors] == [RuntimeError]


async def test_a_state_link_that_fails_ends_its_run_with_the_error() -> None:
    link, _ = make_link()
    link.sampler.sample_drivers = None  # type: ignore[method-assign, assignment]
    with pytest.raises(TypeError):
        await asyncio.wait_for(link.run(), 1.0)
