"""Debian's Chromium, headless, driven by Playwright: a real libwebrtc peer with a fake microphone.

Loopback only: no STUN/TURN servers are given to the page, host names other than 127.0.0.1 resolve to
nothing, background services are off, and WebRTC may gather on `lo` (Chromium leaves loopback out
unless told). Chromium still gathers on its other interfaces, but it only ever sends checks to the
room's candidates, which are 127.0.0.1; the room drops checks that come from anywhere else
(`emulator/net/transport/ice.py`).

`namespaced_chromium` is Chromium as people have it (only the fake-microphone flags), run inside a
private network the test made (`tests/support/netns.py`), for a room started with `--browsers`.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from tests.support.netns import NamespaceUnavailable, PrivateNetwork
from tests.support.netns import private_network as make_network

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",  # the microphone is Chromium's beep
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",
    "--disable-domain-reliability",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",  # no mDNS names (their registration multicasts)
    "--autoplay-policy=no-user-gesture-required",
]
# What a person adds to give a headless Chromium a microphone, and nothing else.
STOCK_FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
# Chromium refuses to start as root with its sandbox; the namespace test needs root for `unshare`.
ROOT_FLAGS = ["--no-sandbox"]

NamespacedChromium = Callable[[Sequence[str]], AbstractContextManager[Any]]


def _need_chromium() -> None:
    if shutil.which(CHROMIUM) is None:
        pytest.fail("chromium is not installed: run scripts/bootstrap.sh (see scripts/debian-packages.txt)")


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Any]:
    """A fresh headless Chromium (own profile directory); closed, with Playwright's driver, at the end."""
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def private_network() -> Iterator[PrivateNetwork]:
    """Two network namespaces joined by a veth pair (see tests/support/netns.py); removed at the end."""
    try:
        with make_network() as net:
            yield net
    except NamespaceUnavailable as error:
        pytest.skip(f"no private network for this test: {error}")


@pytest.fixture
def namespaced_chromium(private_network: PrivateNetwork, tmp_path: Path) -> Iterator[NamespacedChromium]:
    """`launch(flags)`: a headless Chromium inside the private network with only `flags` (and the
    root-only --no-sandbox); each launch gets its own profile and is closed when its block ends."""
    _need_chromium()
    from playwright.sync_api import sync_playwright

    executable = private_network.wrapper(CHROMIUM, tmp_path)
    launches = iter(range(1_000))
    with sync_playwright() as playwright:

        @contextlib.contextmanager
        def launch(flags: Sequence[str]) -> Iterator[Any]:
            context = playwright.chromium.launch_persistent_context(
                str(tmp_path / f"chromium-profile-{next(launches)}"),
                executable_path=str(executable),
                headless=True,
                args=[*flags, *ROOT_FLAGS],
            )
            try:
                yield context
            finally:
                context.close()

        yield launch


def leave_once_the_headset_ends(page: Any, headset: subprocess.Popen[bytes]) -> str:
    """Wait for the headless headset beside the page to end cleanly, then leave; the page's own id."""
    browser_id: str = page.evaluate("window.emulatorRoom.page.me.id")
    _, err = headset.communicate(timeout=60)
    assert headset.returncode == 0, err.decode()[-3000:]
    page.click("#leave")
    return browser_id
