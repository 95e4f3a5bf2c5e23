"""Debian's Janus (VideoRoom only) on loopback: ICE on `lo` only, no STUN, HTTP and WebSocket on 127.0.0.1.

The test writes every configuration file into its own folder and links in only the plugin and the
transports it needs, so nothing from /etc/janus applies and nothing else is loaded.

Janus never gathers on an interface flagged as loopback (its ICE setup skips them before looking at
`ice_enforce_list`), and libnice then falls back to every other interface. So Janus runs with a tiny
LD_PRELOAD shim (`native/loopback_ifaddrs.c`, built here with gcc) that presents `lo` as an ordinary
interface; `ice_enforce_list = "lo"` then leaves 127.0.0.1 as Janus's only candidate.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import running
from tests.support.room import free_port

LIBRARIES = Path("/usr/lib/x86_64-linux-gnu/janus")
ROOM_ID = 4242


@dataclass(frozen=True)
class JanusServer:
    ws_port: int
    http_port: int
    room: int

    @property
    def url(self) -> str:
        return f"janus://127.0.0.1:{self.ws_port}/{self.room}"

    def info(self) -> dict[str, object]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/janus/info", timeout=2) as reply:
            return dict(json.load(reply))


def _answers(http_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/janus/info", timeout=0.5):
            return True
    except OSError:
        return False


def write_configuration(folder: Path, ws_port: int, http_port: int, rtp_base: int) -> Path:
    """The configuration folder for one Janus; returns the path of janus.jcfg."""
    configs, plugins, transports = folder / "etc", folder / "plugins", folder / "transports"
    for path in (configs, plugins, transports):
        path.mkdir(parents=True, exist_ok=True)
    (plugins / "libjanus_videoroom.so").symlink_to(LIBRARIES / "plugins" / "libjanus_videoroom.so")
    for name in ("libjanus_websockets.so", "libjanus_http.so"):
        (transports / name).symlink_to(LIBRARIES / "transports" / name)
    (configs / "janus.jcfg").write_text(
        f"""general: {{
    configs_folder = "{configs}"
    plugins_folder = "{plugins}"
    transports_folder = "{transports}"
    events_folder = "{folder / "none"}"
    loggers_folder = "{folder / "none"}"
    debug_level = 4
    log_to_stdout = true
    session_timeout = 60
    interface = "127.0.0.1"
}}
media: {{
    ipv6 = false
    rtp_port_range = "{rtp_base}-{rtp_base + 400}"
}}
nat: {{
    nice_debug = false
    ice_enforce_list = "lo"
    ice_tcp = false
    full_trickle = false
}}
plugins: {{
}}
transports: {{
}}
events: {{
    broadcast = false
}}
"""
    )
    (configs / "janus.transport.websockets.jcfg").write_text(
        f"""general: {{
    json = "compact"
    ws = true
    ws_port = {ws_port}
    ws_ip = "127.0.0.1"
    wss = false
}}
admin: {{
    admin_ws = false
    admin_wss = false
}}
"""
    )
    (configs / "janus.transport.http.jcfg").write_text(
        f"""general: {{
    json = "compact"
    base_path = "/janus"
    http = true
    port = {http_port}
    ip = "127.0.0.1"
    https = false
}}
admin: {{
    admin_http = false
    admin_https = false
}}
"""
    )
    (configs / "janus.plugin.videoroom.jcfg").write_text(
        f"""general: {{
}}
room-{ROOM_ID}: {{
    description = "headset-emulator interop"
    publishers = 32
    audiocodec = "opus"
    videocodec = "vp8"
    notify_joining = true
}}
"""
    )
    return configs / "janus.jcfg"


@pytest.fixture(scope="session")
def loopback_shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The LD_PRELOAD library that lets Janus gather on `lo` (see the module docstring)."""
    source = Path(__file__).parent / "native" / "loopback_ifaddrs.c"
    library = tmp_path_factory.mktemp("shim") / "libloopback_ifaddrs.so"
    result = subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O2", "-o", str(library), str(source), "-ldl"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"could not build the Janus loopback shim: {result.stderr}")
    return library


@pytest.fixture
def janus_server(tmp_path: Path, loopback_shim: Path) -> Iterator[JanusServer]:
    binary = shutil.which("janus")
    if binary is None:
        pytest.fail("janus is not installed: run scripts/bootstrap.sh (see scripts/debian-packages.txt)")
    ws_port, http_port = free_port(), free_port()
    config = write_configuration(tmp_path / "janus", ws_port, http_port, 30000 + ws_port % 20000)
    argv = [binary, "-C", str(config), "-F", str(config.parent), "-L", str(tmp_path / "janus.log")]
    env = dict(os.environ, LD_PRELOAD=str(loopback_shim))
    with running(argv, ready=lambda: _answers(http_port), env=env, name="janus", timeout=20):
        yield JanusServer(ws_port, http_port, ROOM_ID)
