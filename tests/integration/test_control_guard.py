"""`join --control` against a hostile web page and a curious script (issue 20, point 2).

A real ControlServer on loopback and real HTTP requests: form posts and text/plain bodies (what a
page can send without a CORS preflight), foreign Origins, a DNS-rebinding Host, missing or wrong
tokens, and file specs that reach outside the control directory or into files that are not audio.
"""

from __future__ import annotations

import asyncio
import json
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from emulator.audio.factory import AudioSpec
from emulator.audio.switch import SwitchableSource
from emulator.audio.tone import ToneSource
from emulator.headset import Headset, HeadsetConfig
from emulator.qa import control
from emulator.qa.control import ControlServer

TOKEN = "control-test-token"
SHADOW = "root:$6$SECRET-HASH-THAT-MUST-NOT-LEAK:19000:0:99999:7:::\n"


def headset() -> Headset:
    return Headset(
        HeadsetConfig(
            url="ws://127.0.0.1:9/ws", room="r", name="puppet", audio=AudioSpec.parse("none"), secret="s"
        )
    )


async def serving(files: Path | None = None) -> ControlServer:
    server = ControlServer(headset(), SwitchableSource(ToneSource(440)), token=TOKEN, files=files)
    await server.start()
    return server


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ControlServer]:
    files = tmp_path / "allowed"
    files.mkdir()
    with wave.open(str(files / "hello.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(48_000)
        wav.writeframes((np.sin(np.arange(4800) / 10) * 8000).astype("<i2").tobytes())
    (files / "fake.wav").write_text(SHADOW)
    (files / "fake.jsonl").write_text(SHADOW)
    (tmp_path / "shadow").write_text(SHADOW)
    (files / "link.wav").symlink_to(tmp_path / "shadow")
    server = await serving(files)
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def post(
    http: aiohttp.ClientSession, api: ControlServer, path: str, data: str, **headers: str
) -> tuple[int, str]:
    async with http.post(api.url + path, data=data, headers={**BEARER, **headers}) as response:
        return response.status, await response.text()


JSON = {"Content-Type": "application/json"}


async def test_what_a_web_page_can_send_does_not_reach_the_headset(
    api: ControlServer, http: aiohttp.ClientSession
) -> None:
    closed = api.headset.closed
    # No preflight for these: a page can send them, so they must be refused whatever else they carry.
    assert (await post(http, api, "/leave", "a=1", **{"Content-Type": "application/x-www-form-urlencoded"}))[
        0
    ] == 415
    assert (await post(http, api, "/leave", "{}", **{"Content-Type": "text/plain"}))[0] == 415
    assert (await post(http, api, "/leave", "{}", **JSON, Origin="http://evil.example"))[0] == 403
    assert (await post(http, api, "/leave", "{}", **JSON, Origin=api.url))[0] == 403  # it serves no page
    assert (await post(http, api, "/leave", "{}", **JSON, Host=f"evil.example:{api.port}"))[0] == 403
    async with http.post(api.url + "/leave", data="{}", headers=JSON) as response:
        assert response.status == 401
    async with http.post(
        api.url + "/leave", data="{}", headers={**JSON, "Authorization": "Bearer nope"}
    ) as r:
        assert r.status == 401
    assert not closed.is_set()
    status, _ = await post(http, api, "/leave", "{}", **JSON, Host=f"localhost:{api.port}")
    assert status == 200 and closed.is_set()


async def test_stats_need_the_token_too(api: ControlServer, http: aiohttp.ClientSession) -> None:
    async with http.get(api.url + "/stats") as response:
        assert response.status == 401
    async with http.get(api.url + "/stats", headers={**BEARER, "Host": f"[::1]:{api.port}"}) as response:
        assert response.status == 200 and (await response.json())["name"] == "puppet"


async def test_a_token_is_generated_when_none_is_given() -> None:
    first, second = ControlServer(headset(), None), ControlServer(headset(), None)
    assert len(first.token) >= 32 and first.token != second.token


@pytest.mark.parametrize(
    ("path", "spec"),
    [
        ("/audio", "wav:{outside}"),
        ("/audio", "wav:../shadow"),
        ("/audio", "wav:link.wav"),  # a symlink out of the directory
        ("/audio", "script:{outside}"),
        ("/motion", "trace:{outside}"),
        ("/motion", "trace:../shadow,once"),
    ],
)
async def test_files_outside_the_control_directory_are_refused(
    api: ControlServer, http: aiohttp.ClientSession, tmp_path: Path, path: str, spec: str
) -> None:
    body = json.dumps({"spec": spec.format(outside=tmp_path / "shadow")})
    status, text = await post(http, api, path, body, **JSON)
    assert status == 400 and "outside the control directory" in text
    assert "SECRET" not in text and "root:" not in text


@pytest.mark.parametrize(("path", "spec"), [("/audio", "wav:fake.wav"), ("/motion", "trace:fake.jsonl")])
async def test_a_file_that_is_not_what_it_claims_is_refused_without_quoting_it(
    api: ControlServer, http: aiohttp.ClientSession, path: str, spec: str
) -> None:
    status, text = await post(http, api, path, f'{{"spec": "{spec}"}}', **JSON)
    assert status == 400 and "cannot be used" in text
    assert "SECRET" not in text and "root" not in text


async def test_a_file_inside_the_control_directory_plays(
    api: ControlServer, http: aiohttp.ClientSession
) -> None:
    status, text = await post(http, api, "/audio", '{"spec": "wav:hello.wav:loop"}', **JSON)
    assert status == 200, text
    assert api.voice is not None and np.abs(api.voice.read(960)).max() > 0.1


async def test_without_a_control_directory_no_file_is_opened(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    (tmp_path / "hello.wav").write_bytes(b"")
    api = await serving(None)
    try:
        status, text = await post(http, api, "/audio", f'{{"spec": "wav:{tmp_path / "hello.wav"}"}}', **JSON)
        assert status == 400 and "--control-dir" in text
        assert (await post(http, api, "/audio", '{"spec": "tone:660"}', **JSON))[0] == 200
    finally:
        await api.stop()


async def test_a_body_that_trickles_in_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control, "BODY_TIMEOUT_S", 0.5)
    api = await serving(None)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
        writer.write(
            (
                f"POST /mute HTTP/1.1\r\nHost: 127.0.0.1:{api.port}\r\nAuthorization: Bearer {TOKEN}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
        assert head.startswith(b"HTTP/1.1 400")
    finally:
        await api.stop()
