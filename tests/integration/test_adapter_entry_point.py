"""A team's own `myapp://` adapter, in a distribution of its own, joins its SFU through our CLI.

The distribution (a module and a .dist-info with entry_points.txt) is written here and put on the
subprocess's path: nothing in this package names it. Its SFU is a tiny WebSocket signaling server in
this process answering with a real aiortc peer on loopback, which counts the headset's states.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiortc import RTCPeerConnection, RTCSessionDescription

from emulator.net.transport.ice import loopback_configuration, loopback_only
from tests.support.room import cli, cli_env

pytestmark = pytest.mark.slow

ADAPTER = '''
"""myapp:// — a made-up SFU's signaling: one JSON offer up, one JSON answer down."""

import asyncio
import json
from urllib.parse import urlparse

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from emulator.net.transport.ice import restrict_to_loopback
from emulator.net.signaling.room_session import SessionCallbacks, SessionError
from emulator.wire.signaling import ParticipantInfo, Welcome


class MyAppSession:
    def __init__(self, url, join, audio_track, callbacks):
        parsed = urlparse(url)
        self.ws_url = f"ws://{parsed.hostname}:{parsed.port}/signal"
        self.join_request, self.audio_track = join, audio_track
        self.callbacks = callbacks or SessionCallbacks()
        self.me = None
        self.participants, self.track_owners = {}, {}
        self.pc = None
        self.connected = asyncio.Event()
        self.mode = "forward"
        self._channels = {}
        self._http = None

    async def connect(self, timeout):
        try:
            return await asyncio.wait_for(self._connect(), timeout)
        except (aiohttp.ClientError, OSError) as error:
            await self.close("unreachable")
            raise SessionError("unreachable", str(error)) from None

    async def _connect(self):
        restrict_to_loopback()  # this test's SFU is on 127.0.0.1
        self.pc = pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        opened = []
        for label, options in (("state", {"ordered": False, "maxRetransmits": 0}), ("control", {})):
            channel = pc.createDataChannel(label, **options)
            self._channels[label] = channel
            event = asyncio.Event()
            channel.on("open", event.set)
            opened.append(event)
        await pc.setLocalDescription(await pc.createOffer())
        self._http = aiohttp.ClientSession()
        async with self._http.ws_connect(self.ws_url) as ws:
            await ws.send_json({
                "name": self.join_request.name,
                "credential": self.join_request.token,
                "offer": pc.localDescription.sdp,
            })
            reply = await ws.receive_json()
        if "error" in reply:
            raise SessionError("refused", reply["error"])
        await pc.setRemoteDescription(RTCSessionDescription(reply["answer"], "answer"))
        for event in opened:
            await event.wait()
        self.me = ParticipantInfo(reply["id"], 1, self.join_request.name, self.join_request.profile)
        self.connected.set()
        return Welcome(self.me, "forward", [])

    async def close(self, reason="left"):
        if self.pc is not None:
            await self.pc.close()
        if self._http is not None:
            await self._http.close()

    def send_state(self, data):
        channel = self._channels.get("state")
        if channel is None or channel.readyState != "open":
            return False
        channel.send(data)
        return True

    def send_control(self, data):
        channel = self._channels.get("control")
        if channel is None or channel.readyState != "open":
            return False
        channel.send(data)
        return True


class MyAppAdapter:
    credentials = "secret"

    def open(self, url, join, *, audio_track, callbacks, ice, identity):
        return MyAppSession(url, join, audio_track, callbacks)
'''


def write_distribution(site: Path) -> None:
    """What `pip install` of a wheel leaves in site-packages: the module and its .dist-info."""
    (site / "myapp_adapter.py").write_text(ADAPTER)
    info = site / "myapp_adapter-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: myapp-adapter\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent("""\
            [headset_emulator.adapters]
            myapp = myapp_adapter:MyAppAdapter
        """)
    )


class FakeSfu:
    """One WebSocket endpoint: an offer in, an aiortc peer's answer out; counts what arrives."""

    def __init__(self) -> None:
        self.joins: list[dict[str, Any]] = []
        self.states = 0
        self.pcs: list[RTCPeerConnection] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/signal", self._signal)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        for pc in self.pcs:
            await pc.close()
        if self.runner is not None:
            await self.runner.cleanup()

    async def _signal(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        message = await ws.receive()
        if message.type != WSMsgType.TEXT:
            return ws
        join = json.loads(message.data)
        self.joins.append({k: v for k, v in join.items() if k != "offer"})
        pc = RTCPeerConnection(loopback_configuration())
        self.pcs.append(pc)

        @pc.on("datachannel")
        def on_channel(channel: Any) -> None:
            if channel.label == "state":
                channel.on("message", self._on_state)

        await pc.setRemoteDescription(RTCSessionDescription(join["offer"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await ws.send_json({"id": f"myapp-{len(self.pcs)}", "answer": pc.localDescription.sdp})
        await ws.close()
        return ws

    def _on_state(self, data: bytes) -> None:
        self.states += 1


async def test_an_installed_adapter_is_found_by_scheme_and_joins_its_sfu(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    write_distribution(site)
    env = cli_env(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    with loopback_only():
        sfu = FakeSfu()
        await sfu.start()
        try:
            process = await asyncio.create_subprocess_exec(
                *cli("join", f"myapp://127.0.0.1:{sfu.port}/lobby", "--name", "visitor", "--audio", "none",
                     "--duration", "4s", "--report", str(tmp_path / "report.json")),
                env=env, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            _, stderr = await asyncio.wait_for(process.communicate(), 120)
        finally:
            await sfu.stop()
    errors = stderr.decode(errors="replace")
    assert process.returncode == 0, errors
    assert "joined lobby at myapp://" in errors
    # The adapter asked for the secret, so the headset handed it the room secret, not a token.
    assert sfu.joins == [{"name": "visitor", "credential": env["HEADSET_EMULATOR_SECRET"]}]
    # Pose/face states flowed over the real data channel for the seconds it stayed (90 Hz pose).
    assert sfu.states > 20, f"only {sfu.states} states reached the SFU"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["name"] == "visitor"


def test_an_unknown_scheme_is_a_one_line_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        cli("join", "nope://127.0.0.1:9/x", "--audio", "none", "--duration", "1s"),
        env=cli_env(tmp_path), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "headset-emulator join: no signaling adapter for nope:// (installed: janus://, ws://, wss://);"
        " see docs/adapters.md"
    ]
