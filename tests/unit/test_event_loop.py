"""emulator.net.transport.event_loop: asyncio's own loop unless uvloop is asked for, and a refusal
rather than a silent fallback when it is asked for and missing."""

from __future__ import annotations

import asyncio

import pytest

from emulator import cli
from emulator.net.transport import event_loop
from emulator.net.transport.event_loop import ENV, LoopUnavailable, loop_factory, loop_name, run


async def _which() -> str:
    return loop_name()


def test_asyncio_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "asyncio")
    assert loop_factory() is None
    assert run(_which()) == "asyncio"


def test_asyncio_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert run(_which()) == "asyncio"


def test_uvloop_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "uvloop")
    assert run(_which()) == "uvloop"
    monkeypatch.delenv(ENV)
    assert run(_which(), "uvloop") == "uvloop"


def test_uvloop_asked_for_and_missing_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(event_loop, "_uvloop_factory", lambda: None)
    with pytest.raises(LoopUnavailable, match="not installed"):
        loop_factory("uvloop")
    coroutine = _which()
    with pytest.raises(LoopUnavailable):
        run(coroutine, "uvloop")
    assert coroutine.cr_frame is None  # closed, never awaited: no warning


def test_an_unknown_choice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "trio")
    with pytest.raises(LoopUnavailable, match="asyncio, uvloop"):
        loop_factory()


def test_swarm_says_so_before_starting_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ENV, "trio")
    assert cli.main(["swarm", "ws://127.0.0.1:9/ws", "-n", "2", "--workers", "2"]) != 0
    err = capsys.readouterr().err
    assert f"{ENV}='trio'" in err
    assert "worker processes started" not in err


def test_the_running_loop_is_named() -> None:
    loop = asyncio.new_event_loop()
    try:
        assert loop_name(loop) == "asyncio"
    finally:
        loop.close()
