"""Debian's Chromium, headless, driven by Playwright: a real libwebrtc peer with a fake microphone.

Loopback only: no STUN/TURN servers are given to the page, host names other than 127.0.0.1 resolve to
nothing, background services are off, and WebRTC may gather on `lo` (Chromium leaves loopback out
unless told). Chromium still gathers on its other interfaces, but it only ever sends checks to the
room's candidates, which are 127.0.0.1; the room drops checks that come from anywhere else
(`emulator/net/ice.py`), and the page leaves non-loopback candidates out of its offer.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Any]:
    """A fresh headless Chromium (own profile directory); closed, with Playwright's driver, at the end."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail("chromium is not installed: run scripts/bootstrap.sh (see scripts/debian-packages.txt)")
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
