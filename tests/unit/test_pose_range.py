"""One bad value never silently kills the state stream: refused where it enters, clamped when a motion
drifts out of range, and a WireError never ends the state task."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace

import aiohttp
import pytest

from emulator.drive.errors import TraceError
from emulator.drive.motions import Still
from emulator.drive.trace import parse_trace
from emulator.headset import Headset
from emulator.headset.state_link import StateLink
from emulator.model.pose import Pose
from emulator.qa.control import ControlServer
from emulator.wire import State, WireError, messages_in, parse_message
from tests.unit.test_state_link import RecordingSession, headset_of
from tests.unit.test_state_link import make_link as make_state_link


def make_link() -> tuple[Headset, StateLink, RecordingSession]:
    link, session = make_state_link(states_per_packet=1)
    return headset_of(link), link, session


def sent_positions(session: RecordingSession) -> list[tuple[float, float, float]]:
    out = []
    for datagram in session.sent:
        for data in messages_in(datagram):
            message = parse_message(data)
            if isinstance(message, State) and message.pose is not None:
                out.append(message.pose.position.as_tuple())
    return out


@dataclass(frozen=True)
class Drift:
    """Walks along +x at `speed` m/s: out of the wire's ±32.767 m within a second from 30 m."""

    speed: float = 50.0

    def sample(self, t: float) -> Pose:
        return Pose.at(30.0 + self.speed * t, 1.6, 0.0)


async def run_for(link: StateLink, seconds: float) -> None:
    task = asyncio.ensure_future(link.run())
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_motion_drifting_out_of_range_is_clamped_with_one_warning_and_keeps_streaming(
    caplog: pytest.LogCaptureFixture,
) -> None:
    headset, link, session = make_link()
    headset.drivers = replace(headset.drivers, motion=Drift())
    with caplog.at_level(logging.WARNING, logger="emulator.headset.stream.uplink"):
        await run_for(link, 1.0)
    xs = [x for x, _, _ in sent_positions(session)]
    assert len(xs) > 30  # still streaming at the end (90 Hz)
    assert xs[-1] == pytest.approx(32.767) and max(xs) <= 32.767
    assert link.core.uplink.clamped > 0
    warnings = [r for r in caplog.records if "beyond" in r.getMessage()]
    assert len(warnings) == 1 and "32.767" in warnings[0].getMessage()


async def test_a_wire_error_skips_one_state_and_never_ends_the_state_task() -> None:
    headset, link, session = make_link()
    real = headset.sample_drivers
    calls = 0

    def sometimes_broken(with_face: bool = True) -> tuple[object, object]:
        nonlocal calls
        calls += 1
        if calls % 3 == 0:
            raise WireError("a face weight is NaN")
        return real(with_face=with_face)

    headset.sample_drivers = sometimes_broken  # type: ignore[method-assign,assignment]
    await run_for(link, 0.5)
    unsendable = link.core.uplink.unsendable
    assert unsendable > 5 and len(session.sent) > 2 * unsendable - 3
    assert calls > 20  # the task went on sampling after the first error


def test_a_trace_with_a_position_out_of_range_names_its_line() -> None:
    text = (
        '{"t": 0.0, "p": [0, 1.6, 0], "q": [0, 0, 0, 1]}\n'
        '{"t": 0.1, "p": [0, 1.6, 0], "q": [0, 0, 0, 1]}\n'
        '{"t": 0.2, "p": [0, 40.0, 0], "q": [0, 0, 0, 1]}\n'
    )
    with pytest.raises(TraceError, match=r"walk\.jsonl line 3: position .* beyond the ±32.767 m"):
        parse_trace(text, "walk.jsonl")


async def test_the_control_apis_pose_answers_400_for_a_position_the_wire_cannot_carry() -> None:
    headset, _, _ = make_link()
    control = ControlServer(headset, None, token="t")
    await control.start()
    headers = {"Authorization": "Bearer t", "Content-Type": "application/json"}
    before = headset.drivers
    try:
        async with aiohttp.ClientSession() as http:
            body = '{"position": [0.0, 1.6, -40.0]}'
            async with http.post(control.url + "/pose", data=body, headers=headers) as response:
                assert response.status == 400
                assert "beyond the ±32.767 m" in (await response.json())["error"]
            assert headset.drivers is before  # nothing changed
            body = '{"position": [0.0, 1.6, -32.0]}'
            async with http.post(control.url + "/pose", data=body, headers=headers) as response:
                assert response.status == 200
        assert isinstance(headset.drivers.motion, Still)  # type: ignore[union-attr]
    finally:
        await control.stop()
