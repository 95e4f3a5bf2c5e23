"""Controls that do what they say, over an in-process room on loopback with real WebRTC and HTTP:
mute silences everything sent (latency chirps too) and is reported, GET /state reads the controls
back, a listen-only headset sends nothing and says so."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
import numpy as np
import pytest

from emulator.audio.factory import AudioSpec
from emulator.drive.motions import MotionSpec
from emulator.headset import Headset, HeadsetConfig
from emulator.headset.events import BlocksHeard
from emulator.net.signaling.tokens import Grant, mint
from emulator.qa.tools import JoinTools
from emulator.room.server import RoomServer
from tests.support.reports import check_report

pytestmark = pytest.mark.slow

SECRET = "controls-secret"


def config(room: RoomServer, name: str, **changes: Any) -> HeadsetConfig:
    values: dict[str, Any] = {"secret": SECRET, "marker_period_s": 0.0, "audio": AudioSpec.parse("none")}
    values.update(changes)
    return HeadsetConfig(url=room.url, room="ctl", name=name, **values)


@pytest.fixture
async def room() -> Any:
    server = RoomServer(SECRET.encode(), "127.0.0.1", 0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_mute_silences_chirps_too_and_state_reads_the_controls_back(room: RoomServer) -> None:
    listener = Headset(config(room, "listener"))
    tools = JoinTools(control="127.0.0.1:0")
    # Silence with a chirp every 0.5 s: all a listener can hear of it is the chirps.
    puppet = tools.prepare(
        config(
            room,
            "puppet",
            audio=AudioSpec.parse("silence"),
            marker_period_s=0.5,
            motion=MotionSpec.parse("nod"),
        )
    )
    peaks: list[tuple[float, float]] = []  # (time, the puppet's peak in a 10 ms block)

    def on_blocks(blocks: dict[str, Any]) -> None:
        block = blocks.get(puppet.participant_id or "")
        if block is not None:
            peaks.append((time.monotonic(), float(np.max(np.abs(block))) if len(block) else 0.0))

    def loudest(since: float) -> float:
        return max((p for t, p in peaks if t >= since), default=0.0)

    try:
        await listener.start()
        listener.subscribe(BlocksHeard, lambda event: on_blocks(event.blocks))
        await puppet.start()
        await tools.attach(puppet)
        assert tools.control_server is not None
        base = tools.control_server.url
        bearer = {"Authorization": f"Bearer {tools.control_server.token}"}
        async with aiohttp.ClientSession(headers=bearer) as http:

            async def post(path: str, body: Any) -> int:
                async with http.post(base + path, json=body) as response:
                    return response.status

            async def state() -> dict[str, Any]:
                async with http.get(base + "/state") as response:
                    assert response.status == 200
                    return dict(await response.json())

            await asyncio.sleep(3.0)
            assert loudest(time.monotonic() - 2.0) > 0.05, "the chirps are heard before muting"
            before = await state()
            assert before["muted"] is False and before["motion"] == "nod" and before["audio"] == "silence"
            assert before["face"] == {"driver": "neutral"} and len(before["pose"]["position"]) == 3

            assert await post("/mute", {"muted": True}) == 200
            # What was on its way plays out first: the listener's playout delay, and a margin.
            delay_ms = listener.report()["remotes"][0]["audio"]["playout_delay_ms"]
            await asyncio.sleep(1.5 + 2 * delay_ms / 1000)  # (and any backlog a busy loop left)
            muted_at = time.monotonic()
            await asyncio.sleep(2.5)  # five chirp periods
            loud = [round(t - muted_at, 2) for t, p in peaks if t >= muted_at and p > 1e-3]
            assert loudest(muted_at) < 1e-3, (loud[:20], puppet.voice.muted, type(puppet.voice.gate))
            assert (await state())["muted"] is True
            assert await post("/pose", {"position": [1.0, 1.6, -2.0], "yaw": 45}) == 200
            assert await post("/face", {"weights": {"jawOpen": 0.5}}) == 200
            now = await state()
            assert now["motion"] == "still (POST /pose)" and now["face"] == {"override": {"jawOpen": 0.5}}
            assert now["pose"]["position"] == pytest.approx([1.0, 1.6, -2.0])

            assert await post("/mute", {"muted": False}) == 200
            unmuted_at = time.monotonic() + 0.5
            await asyncio.sleep(2.5)
            assert loudest(unmuted_at) > 0.05, "unmuted, the chirps come back"
        report = check_report(puppet.report())
        (period,) = report["uplink"]["mute_periods"]
        assert period["from"] < period["to"] and report["uplink"]["muted"] is False
    finally:
        await tools.stop()
        await puppet.stop()
        await listener.stop()


async def test_a_listen_only_headset_sends_nothing_and_says_so_once(
    room: RoomServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="emulator.headset")
    token = mint(SECRET.encode(), Grant("ctl", "quiet", time.time() + 60, may_publish=False))
    quiet = Headset(config(room, "quiet", token=token, audio=AudioSpec.parse("tone:440")))
    other = Headset(config(room, "other"))
    try:
        await other.start()
        await quiet.start()
        await asyncio.sleep(2.0)
        report = check_report(quiet.report())
        uplink = report["uplink"]
        assert uplink["listen_only"] is True
        assert uplink["audio_frames_encoded"] == 0 and uplink["states_sent"] == 0
        assert uplink["audio_why"] == "the token allows listening only"
        said = [r.getMessage() for r in caplog.records if "listening only" in r.getMessage()]
        assert said == ["quiet: the token allows listening only: this headset sends no voice and no pose"]
        heard = check_report(other.report())["remotes"]
        assert [r["states"]["received"] for r in heard] == [0] and heard[0]["audio"] == {}
    finally:
        await quiet.stop()
        await other.stop()
