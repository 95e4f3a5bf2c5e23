"""The room's page in Chromium as people have it: no loopback flag, mDNS on, only a fake microphone.

Everything runs inside a private network the test makes (`tests/support/netns.py`): the room, a
headless headset and Chromium see loopback and one veth address, and nothing else. With microphone
permission Chromium offers that address; without it, an mDNS `.local` name, and its checks then come
from the address, which the room learns as a peer-reflexive candidate.

The page's other errors (a refused token, a room that has stopped) need no second interface: those
tests use the suite's loopback Chromium.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import STOCK_FLAGS, NamespacedChromium, leave_once_the_headset_ends
from tests.support.exchange import loud_blocks, read_wav
from tests.support.netns import HERE, PrivateNetwork
from tests.support.processes import running, stop_group
from tests.support.reports import read_report
from tests.support.room import cli, cli_env, free_port, start_room

pytestmark = pytest.mark.slow

TONE_HZ = 440.0
WAIT_MS = 30_000
JOIN_TIMEOUT_S = 10  # the page's own deadline (static/join.js)


@contextlib.contextmanager
def room_in(net: PrivateNetwork, tmp_path: Path, *extra: str) -> Iterator[int]:
    port = free_port()  # a free port here is free in a fresh namespace too
    argv = net.enter(cli("room", "--host", "127.0.0.1", "--port", str(port), *extra))
    with running(argv, ready=lambda: net.listening(port), env=cli_env(tmp_path), name="room", timeout=30):
        yield port


def walker(net: PrivateNetwork, port: int, tmp_path: Path) -> subprocess.Popen[bytes]:
    argv = net.enter(cli(
        "join", "--no-verdict", f"ws://127.0.0.1:{port}/ws", "--room", "lobby", "--name", "walker",
        "--audio", f"tone:{TONE_HZ:g}", "--at=0,1.6,-2", "--duration", "14",
        "--report", str(tmp_path / "walker.json"), "--record-dir", str(tmp_path / "walker"),
    ))  # fmt: skip
    return subprocess.Popen(argv, env=cli_env(tmp_path), stderr=subprocess.PIPE, start_new_session=True)


def offered_candidates(offers: list[str]) -> list[str]:
    """The connection addresses of the candidates in the page's first offer."""
    (sdp,) = offers[:1]
    return [line.split()[4] for line in sdp.split("\r\n") if line.startswith("a=candidate:")]


def open_page(context: Any, port: int, offers: list[str]) -> Any:
    page = context.new_page()

    def on_websocket(ws: Any) -> None:
        def sent(payload: str | bytes) -> None:
            message = json.loads(payload)
            if message.get("type") == "offer":
                offers.append(message["sdp"])

        ws.on("framesent", sent)

    page.on("websocket", on_websocket)
    page.goto(f"http://127.0.0.1:{port}/?room=lobby")
    page.fill("#name", "web")
    page.click("#join")
    return page


@pytest.mark.parametrize("microphone", ["granted", "refused"])
def test_stock_chromium_joins_a_room_serving_browsers(
    private_network: PrivateNetwork, namespaced_chromium: NamespacedChromium, tmp_path: Path, microphone: str
) -> None:
    granted = microphone == "granted"
    # Without the fake-UI flag headless Chromium answers getUserMedia's prompt with a refusal.
    flags = STOCK_FLAGS if granted else ["--use-fake-device-for-media-stream"]
    with room_in(private_network, tmp_path, "--browsers") as port:
        headset = walker(private_network, port, tmp_path)
        try:
            offers: list[str] = []
            with namespaced_chromium(flags) as context:
                page = open_page(context, port, offers)
                page.wait_for_function("window.emulatorRoom.page.status !== 'joining'", timeout=WAIT_MS)
                status = page.inner_text("#status")
                assert page.evaluate("window.emulatorRoom.page.status") == "joined", status
                if granted:
                    assert status == "Joined lobby as web."
                else:
                    assert "listening only: the microphone was refused" in status, status
                addresses = offered_candidates(offers)
                assert addresses, "the page offered no candidate"
                if granted:
                    assert HERE in addresses and not any(a.endswith(".local") for a in addresses), addresses
                else:
                    assert all(a.endswith(".local") for a in addresses), addresses
                # The headset's voice arrives over that path: its tone dominates what the page hears.
                page.wait_for_function(
                    """() => { const w = window.emulatorRoom.participants().find(p => p.name === 'walker');
                               return w && window.emulatorRoom.dominantFrequency(w.id); }""",
                    timeout=WAIT_MS,
                )
                walker_id = page.evaluate(
                    "window.emulatorRoom.participants().find(p => p.name === 'walker').id"
                )
                peaks = []
                for _ in range(8):
                    page.wait_for_timeout(200)
                    peaks.append(
                        page.evaluate("id => window.emulatorRoom.dominantFrequency(id)", walker_id)["hz"]
                    )
                assert abs(statistics.median(peaks) - TONE_HZ) <= 48000 / 8192, peaks
                browser_id = leave_once_the_headset_ends(page, headset)
        finally:
            stop_group(headset)
    report = read_report(tmp_path / "walker.json")
    (seen,) = [r for r in report["remotes"] if r["id"] == browser_id]
    assert seen["name"] == "web" and seen["states"]["received"] > 20
    wav = tmp_path / "walker" / f"{browser_id}.wav"
    if granted:
        samples, _ = read_wav(wav)
        loud, blocks = loud_blocks(samples)
        assert loud >= 10, f"only {loud} loud 20 ms blocks in {blocks}"
    else:
        assert not wav.exists() or read_wav(wav)[0].size == 0  # listening only: no voice sent


def test_a_join_that_cannot_connect_says_so_on_the_page(
    private_network: PrivateNetwork, namespaced_chromium: NamespacedChromium, tmp_path: Path
) -> None:
    # A room on loopback only (no --browsers): the browser's candidates are never answered.
    with room_in(private_network, tmp_path) as port, namespaced_chromium(STOCK_FLAGS) as context:
        page = open_page(context, port, [])
        page.wait_for_function(
            "window.emulatorRoom.page.status === 'failed'", timeout=(JOIN_TIMEOUT_S + 12) * 1000
        )
        status = page.inner_text("#status")
        assert status.startswith("Could not join: No network path to the room"), status
        assert "headset-emulator room --browsers" in status
        assert page.is_enabled("#join") and page.is_hidden("#leave")  # free to try again


def test_a_refused_token_says_so_on_the_page(room_process: Any, chromium: Any) -> None:
    page = chromium.new_page()
    page.goto(f"http://127.0.0.1:{room_process.port}/?room=lobby&token=not-a-token")
    page.click("#join")
    page.wait_for_function("window.emulatorRoom.page.status === 'failed'", timeout=WAIT_MS)
    status = page.inner_text("#status")
    assert status.startswith("Could not join: The room refused the token (token-malformed"), status
    assert "headset-emulator token" in status


def test_a_room_that_has_stopped_says_so_on_the_page(chromium: Any, tmp_path: Path) -> None:
    with contextlib.contextmanager(start_room)(tmp_path) as room:
        page = chromium.new_page()
        page.goto(f"http://127.0.0.1:{room.port}/?room=lobby")
    page.click("#join")
    page.wait_for_function("window.emulatorRoom.page.status === 'failed'", timeout=WAIT_MS)
    status = page.inner_text("#status")
    assert status == (
        f"Could not join: Cannot reach the room at http://127.0.0.1:{room.port}. "
        "Is `headset-emulator room` still running?"
    )
