"""Issue 8's proofs over an in-process room on loopback: record/replay, network conditions, remote
control, the probe and the metrics, all through real WebRTC and real HTTP requests."""

from __future__ import annotations

import asyncio
import json
import statistics
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from emulator.audio.factory import AudioSpec
from emulator.drive.faces import FaceSpec
from emulator.drive.motions import MotionSpec
from emulator.headset import Headset, HeadsetConfig
from emulator.headset.recording.replay import load_replay
from emulator.headset.recording.sessionfile import read_recording
from emulator.model.pose import Pose
from emulator.net.media.opus_decoder import OpusDecoder
from emulator.net.prometheus import MetricsServer
from emulator.net.transport.condition_spec import parse_conditions
from emulator.net.transport.conditions import NetworkConditioner
from emulator.qa.probe import ProbeMetrics, probe_once
from emulator.qa.scores import cheap_score
from emulator.qa.swarm import Swarm, SwarmPlan
from emulator.qa.swarm_metrics import SwarmMetrics
from emulator.qa.tools import JoinTools
from emulator.room.metrics import RoomMetrics
from emulator.room.server import RoomServer
from emulator.wire import State, parse_message

pytestmark = pytest.mark.slow

SECRET = "qa-secret"


def config(room: RoomServer, room_name: str, name: str, **changes: Any) -> HeadsetConfig:
    values: dict[str, Any] = {"secret": SECRET, "marker_period_s": 0.0, "audio": AudioSpec.parse("tone:440")}
    values.update(changes)
    return HeadsetConfig(url=room.url, room=room_name, name=name, **values)


def dominant_hz(samples: np.ndarray, rate: int = 48_000) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    spectrum[: int(50 * len(samples) / rate)] = 0
    return float(np.argmax(spectrum) * rate / len(samples))


def decode(packets: list[tuple[float, bytes]]) -> np.ndarray:
    decoder = OpusDecoder()
    try:
        return np.concatenate([decoder.decode(p) for _, p in packets])
    finally:
        decoder.close()


async def started(headset: Headset, tools: JoinTools | None = None) -> Headset:
    await headset.start()
    if tools is not None:
        await tools.attach(headset)
    return headset


@pytest.fixture
async def room() -> Any:
    server = RoomServer(SECRET.encode(), "127.0.0.1", 0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def received_poses(recording: Any, name: str) -> list[Pose]:
    participant = recording.find(name)
    poses = []
    for _, data in participant.states:
        message = parse_message(data)
        if isinstance(message, State) and message.pose is not None:
            poses.append(message.pose)
    return poses


def distance_to_path(point: np.ndarray, path: np.ndarray) -> float:
    """Shortest distance from `point` to the polyline `path` (N×3)."""
    a, b = path[:-1], path[1:]
    ab = b - a
    t = np.clip(np.einsum("ij,ij->i", point - a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-12), 0, 1)
    nearest = a + t[:, None] * ab
    return float(np.min(np.linalg.norm(nearest - point, axis=1)))


async def test_a_recorded_headset_replays_into_another_room(room: RoomServer, tmp_path: Path) -> None:
    file = tmp_path / "session.hemurec"
    alpha = Headset(
        config(
            room,
            "one",
            "alpha",
            motion=MotionSpec.parse("orbit:radius=1,period=4"),
            face=FaceSpec.parse("smile"),
        )
    )
    bravo_tools = JoinTools(record=file)
    bravo = bravo_tools.prepare(
        config(room, "one", "bravo", audio=AudioSpec.parse("tone:660"), motion=MotionSpec.parse("nod"))
    )
    try:
        await started(alpha)
        await started(bravo, bravo_tools)
        await asyncio.sleep(4.0)
    finally:
        await bravo_tools.stop()
        await bravo.stop()
        await alpha.stop()
    recording = read_recording(file)
    assert not recording.truncated
    assert recording.header["version"] == 1 and recording.header["profile"]["key"] == "visionpro"
    assert {p.name for p in recording.participants.values()} == {"alpha", "bravo"}
    assert recording.find("bravo").local and recording.find("alpha").audio
    assert any(e["event"] == "present" and e["name"] == "alpha" for e in recording.events)
    recorded = np.array([p.position.as_tuple() for p in received_poses(recording, "alpha")])
    assert len(recorded) > 100 and np.ptp(recorded[:, 0]) > 1.5  # alpha went round its orbit

    # Replay alpha into a fresh room; charlie hears and sees it there, and records what it got.
    heard_file = tmp_path / "heard.hemurec"
    ghost_tools = JoinTools(replay=file, replay_as="alpha", name_given=False)
    ghost = ghost_tools.prepare(config(room, "two", "ignored"))
    charlie_tools = JoinTools(record=heard_file)
    charlie = charlie_tools.prepare(config(room, "two", "charlie", audio=AudioSpec.parse("none")))
    try:
        await started(charlie, charlie_tools)
        await started(ghost, ghost_tools)
        await asyncio.sleep(3.5)
    finally:
        await charlie_tools.stop()
        await charlie.stop()
        await ghost_tools.stop()
        await ghost.stop()
    heard = read_recording(heard_file)
    replayed = heard.find("alpha")  # the ghost took the recorded name
    poses = np.array([p.position.as_tuple() for p in received_poses(heard, "alpha")])
    assert len(poses) > 100
    # Every pose charlie received lies on alpha's recorded path, within the codec's precision.
    worst = max(distance_to_path(p, recorded) for p in poses)
    assert worst < 0.003, worst
    assert np.ptp(poses[:, 0]) > 1.0  # and it moved along that path, not stood at one point of it
    # The face came along: alpha smiled.
    material = load_replay(heard, "alpha")
    assert material.faces and material.faces[-1]["mouthSmileLeft"] > 0.5
    # The voice: alpha's 440 Hz tone, not bravo's 660.
    samples = decode(replayed.audio)
    assert len(samples) > 48_000 * 2
    assert abs(dominant_hz(samples[24_000:]) - 440) < 5


async def measure(
    room: RoomServer, net: str, seconds: float, on: str = "listener"
) -> tuple[dict[str, Any], list[float]]:
    """A speaker and a listener, one of them (`on`) under `net`; the listener's view of the speaker."""
    speaker = Headset(config(room, f"net-{abs(hash(net))}", "speaker"))
    listener = Headset(config(room, f"net-{abs(hash(net))}", "listener", audio=AudioSpec.parse("none")))
    network = NetworkConditioner(parse_conditions(net), seed=7)
    delays: list[float] = []
    try:
        await started(speaker)
        await started(listener)
        network.attach((listener if on == "listener" else speaker).session.pc)
        assert listener.voice is not None
        for _ in range(int(seconds / 0.25)):
            await asyncio.sleep(0.25)
            for remote in listener.voice.remotes.values():
                if remote.owner is not None and remote.playout.stats.packets_received:
                    # How far the playout runs behind what the measured jitter calls for.
                    stats = remote.playout.stats
                    delays.append(stats.delay_ms - stats.target_ms)
        result = listener.report()["remotes"][0]
        result["network"] = network.report()
    finally:
        await network.stop()
        await listener.stop()
        await speaker.stop()
    return result, delays


async def test_reported_loss_and_jitter_follow_the_network_setting(room: RoomServer) -> None:
    clean, _ = await measure(room, "good", 5.0)
    impaired, _ = await measure(room, "custom:loss=20%,delay=40ms,jitter=30ms", 5.0)
    clean_audio, impaired_audio = clean["audio"], impaired["audio"]

    def fraction(audio: dict[str, Any]) -> float:
        return audio["packets_lost"] / max(1, audio["packets_lost"] + audio["packets_received"])

    assert fraction(clean_audio) < 0.03
    assert 0.12 < fraction(impaired_audio) < 0.3, impaired_audio
    states = impaired["states"]
    assert 0.12 < states["lost"] / (states["lost"] + states["received"]) < 0.3, states
    assert clean["states"]["lost"] <= 0.03 * clean["states"]["received"]
    assert impaired_audio["jitter_ms"] > clean_audio["jitter_ms"] + 5, (clean_audio, impaired_audio)
    # PING/PONG round trips cross the impaired link twice: 2 × 40 ms more. (Measured without loss,
    # which leaves too few round trips in a few seconds for a median.)
    delayed, _ = await measure(room, "custom:delay=40ms", 5.0)
    assert delayed["round_trip"]["median_ms"] > clean["round_trip"]["median_ms"] + 60
    assert delayed["states"]["latency"]["median_ms"] > clean["states"]["latency"]["median_ms"] + 30
    assert impaired["network"]["incoming"]["lost"] > 0 and impaired["network"]["outgoing"]["lost"] > 0


async def test_loss_on_the_speakers_uplink_counts_at_the_listener(room: RoomServer) -> None:
    """The room renumbers what it relays; what the speaker lost on the way in still counts as lost."""
    result, _ = await measure(room, "custom:loss=20%", 5.0, on="speaker")
    audio = result["audio"]
    lost = audio["packets_lost"] / max(1, audio["packets_lost"] + audio["packets_received"])
    assert result["network"]["outgoing"]["lost"] > 0 and 0.12 < lost < 0.3, audio
    score = cheap_score(result)  # the report's always-on E-model hears it too
    assert score is not None and score["mos"] < 3.5, score


async def test_bursty_loss_reordering_and_duplicates_through_real_webrtc(room: RoomServer) -> None:
    """The receive path copes with runs of losses, overtaking and twice-delivered packets."""
    result, _ = await measure(room, "custom:loss=8%,burst=4,reorder=5%,duplicate=5%,delay=20ms", 8.0)
    audio, incoming = result["audio"], result["network"]["incoming"]
    assert incoming["reordered"] > 10 and incoming["duplicated"] > 10 and incoming["lost"] > 10
    lost = audio["packets_lost"] / max(1, audio["packets_lost"] + audio["packets_received"])
    assert 0.02 < lost < 0.2, audio  # the duplicates do not count as received twice
    assert audio["packets_received"] > 250 and audio["concealed_frames"] > 5


async def test_audio_keeps_flowing_concealed_at_10_percent_loss(room: RoomServer) -> None:
    result, delays = await measure(room, "custom:loss=10%", 8.0)
    audio = result["audio"]
    assert audio["concealed_frames"] > 10
    assert audio["packets_received"] > 250
    assert audio["level_dbfs"] > -20  # the tone is heard, not silence
    # No growing delay: the playout's delay follows its jitter-driven target (which may rise and fall
    # with the load on this machine) and its excess over that target does not creep up.
    half = len(delays) // 2
    first, second = statistics.median(delays[2:half]), statistics.median(delays[half:])
    assert second <= first + 20, delays


async def test_remote_control_drives_a_running_headset(room: RoomServer) -> None:
    watcher = Headset(config(room, "ctl", "watcher", audio=AudioSpec.parse("none")))
    tools = JoinTools(control="127.0.0.1:0")
    puppet = tools.prepare(config(room, "ctl", "puppet", audio=AudioSpec.parse("tone:440")))
    try:
        await started(watcher)
        await started(puppet, tools)
        assert tools.control_server is not None
        base = tools.control_server.url
        bearer = {"Authorization": f"Bearer {tools.control_server.token}"}
        async with aiohttp.ClientSession(headers=bearer) as http:

            async def post(path: str, body: Any) -> tuple[int, dict[str, Any]]:
                async with http.post(base + path, json=body) as response:
                    return response.status, await response.json()

            assert (await post("/pose", {"position": [2.0, 1.5, -3.0], "yaw": 90}))[0] == 200
            assert (await post("/face", {"weights": {"jawOpen": 0.7, "eyeBlink_L": 1.0}}))[0] == 200
            assert (await post("/face", {"weights": {"notAShape": 1}}))[0] == 400
            assert (await post("/pose", {"position": [1, 2]}))[0] == 400
            await asyncio.sleep(1.0)
            seen = watcher.room_state.get(puppet.session.me.number)  # type: ignore[union-attr]
            assert seen is not None and seen.pose is not None
            assert np.allclose(seen.pose.position.as_tuple(), (2.0, 1.5, -3.0), atol=0.002)
            assert abs(seen.pose.yaw_pitch_roll()[0] - np.radians(90)) < 0.01
            assert seen.face["jawOpen"] == pytest.approx(0.7, abs=0.01)
            assert seen.face["eyeBlinkLeft"] == pytest.approx(1.0, abs=0.01)

            def heard_level() -> float:
                remote = watcher.report()["remotes"][0]
                return float(remote["audio"]["level_dbfs"])

            assert heard_level() > -20
            assert (await post("/mute", {"muted": True}))[0] == 200
            await asyncio.sleep(1.0)
            assert heard_level() < -30  # the meter falls as silence replaces the tone
            assert (await post("/audio", {"spec": "tone:880"}))[0] == 200
            assert (await post("/mute", {"muted": False}))[0] == 200
            assert (await post("/motion", {"spec": "orbit:radius=1,period=2"}))[0] == 200
            await asyncio.sleep(1.0)
            assert heard_level() > -20
            assert seen.pose.position.as_tuple() != pytest.approx((2.0, 1.5, -3.0), abs=0.01)
            async with http.get(base + "/stats") as response:
                stats = await response.json()
            assert stats["name"] == "puppet" and stats["uplink"]["states_sent"] > 0
            assert (await post("/net", {"spec": "lossy"}))[0] == 409  # joined without --net
            assert (await post("/leave", {}))[0] == 200
            await asyncio.wait_for(puppet.closed.wait(), 5)
    finally:
        await tools.stop()
        await puppet.stop()
        await watcher.stop()


async def test_probe_measures_and_room_metrics_are_served(room: RoomServer) -> None:
    metrics = RoomMetrics(room)
    room_metrics = MetricsServer(metrics.collect, "127.0.0.1", 0)
    probe_metrics = ProbeMetrics()
    probe_server = MetricsServer(probe_metrics.collect, "127.0.0.1", 0)
    await room_metrics.start()
    await probe_server.start()
    try:
        template = HeadsetConfig(url=room.url, room="", name="probe", secret=SECRET)
        result = await probe_once(template, timeout=30)
        assert result.ok, result.line()
        assert result.join_s and result.first_audio_s is not None
        # First audio's parts came in order, and the figures are the settled ones (start-up left out).
        assert result.routed_s is not None and result.routed_s <= result.first_audio_s
        assert result.remote is not None and result.remote["mouth_to_ear"]["settled"]["count"] >= 3
        assert result.mouth_to_ear_ms == result.remote["mouth_to_ear"]["settled"]["median_ms"]
        assert result.mouth_to_ear_ms is not None and result.mouth_to_ear_ms > 0
        assert result.rtt_ms is not None and result.rtt_ms > 0
        assert result.mos is not None and result.mos > 4.0  # speech on loopback: nothing lost
        assert result.codec_floor_ms == 26.5
        probe_metrics.observe(result)
        # While a headset is in, the room's metrics count it.
        lone = Headset(config(room, "metrics", "lone"))
        try:
            await started(lone)
            await asyncio.sleep(1.0)
            async with aiohttp.ClientSession() as http:
                async with http.get(room_metrics.url) as response:
                    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                    room_text = await response.text()
                async with http.get(probe_server.url) as response:
                    probe_text = await response.text()
        finally:
            await lone.stop()
    finally:
        await probe_server.stop()
        await room_metrics.stop()
    assert 'headset_room_participants{room="metrics"} 1' in room_text
    assert "# TYPE headset_room_round_trip_seconds histogram" in room_text
    assert "headset_probe_runs_total 1" in probe_text
    assert 'headset_probe_mouth_to_ear_seconds_bucket{le="+Inf"} 1' in probe_text
    assert "# TYPE headset_probe_mos histogram" in probe_text
    assert (
        'headset_probe_mos_bucket{le="4.5"} 1' in probe_text
        and 'headset_probe_mos_bucket{le="4"} 0' in probe_text
    )
    assert f"headset_probe_mos_last {result.mos!r}" in probe_text
    assert (
        f"headset_probe_join_seconds_last {result.join_s!r}" in probe_text
        or "headset_probe_join_seconds_last" in probe_text
    )
    json.dumps(result.line())


async def test_swarm_metrics_sum_what_its_headsets_measure(room: RoomServer) -> None:
    template = config(room, "swarm", "s", marker_period_s=1.0)
    swarm = Swarm(SwarmPlan(template, 3, speakers=1, radius_m=2.0, name_prefix="m"))
    server = MetricsServer(SwarmMetrics(swarm).collect, "127.0.0.1", 0)
    await server.start()
    try:
        await swarm.start()
        await asyncio.sleep(3.0)
        async with aiohttp.ClientSession() as http, http.get(server.url) as response:
            text = await response.text()
    finally:
        await swarm.stop()
        await server.stop()
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if not line.startswith("#")
    }
    assert values["headset_swarm_participants"] == 3
    assert values["headset_swarm_states_received_total"] > 100
    assert values["headset_swarm_audio_packets_received_total"] > 50  # two listeners hear the one speaker
    assert values['headset_swarm_state_round_trip_seconds_bucket{le="+Inf"}'] > 0
    assert values['headset_swarm_mouth_to_ear_seconds_bucket{le="+Inf"}'] > 0
