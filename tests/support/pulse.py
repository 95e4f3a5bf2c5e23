"""A private PulseAudio server with a null sink, so sound really goes through a sound server in CI.

`pulse_server` (session scope) starts `pulseaudio` with its own runtime and home directories, a null
sink `vsink` (its monitor `vsink.monitor` is the default source, so recording hears what was played)
and a native-protocol socket of its own; it points `PULSE_SERVER` at that socket and restarts
PortAudio, whose ALSA `pulse` and `default` devices (libasound2-plugins) then reach it. Teardown
restores the environment, restarts PortAudio again and stops the server's process group.

A null sink with nothing playing into it idles in 2 s blocks, and its monitor delivers nothing to a new
recorder until the current block ends: a microphone opened on it would wait up to 2 s for its first
sample, which no sound card does. So the fixture keeps a silent stream with 10 ms of latency playing
into the sink for the whole session (silence adds nothing to what the tests play or record), and the
sink ticks every 10 ms like a card.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.support.processes import running, stop_group

RATE = 48_000


@dataclass(frozen=True)
class PulseServer:
    server: str  # the PULSE_SERVER value
    sink: str
    monitor: str
    env: dict[str, str]

    @contextlib.contextmanager
    def recording(self, path: Path) -> Iterator[Path]:
        """Record the sink's monitor (48 kHz stereo float32, raw) into `path` while the block runs."""
        argv = ["parec", "-d", self.monitor, "--format=float32le", f"--rate={RATE}", "--channels=2", "--raw"]
        with path.open("wb") as sink:
            process = subprocess.Popen(
                [*argv, "--latency-msec=20"],
                stdout=sink,
                stderr=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
            )
            try:
                yield path
            finally:
                stop_group(process)

    @staticmethod
    def read_recording(path: Path) -> np.ndarray:
        data = np.frombuffer(path.read_bytes(), dtype="<f4")
        return data[: len(data) - len(data) % 2].reshape(-1, 2)


def _sink_inputs(env: dict[str, str]) -> int:
    listing = subprocess.run(
        ["pactl", "list", "short", "sink-inputs"], env=env, capture_output=True, timeout=5, check=False
    )
    return len(listing.stdout.splitlines())


def _server_answers(env: dict[str, str]) -> bool:
    result = subprocess.run(["pactl", "info"], env=env, capture_output=True, timeout=5, check=False)
    return result.returncode == 0 and b"vsink" in result.stdout


@pytest.fixture(scope="session")
def pulse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    for tool in ("pulseaudio", "pactl", "parec", "pacat"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed: run `make test`, which installs pulseaudio")
    base = tmp_path_factory.mktemp("pulse")
    runtime, home = base / "run", base / "home"
    runtime.mkdir(mode=0o700)
    home.mkdir()
    socket = runtime / "native"
    server = f"unix:{socket}"
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "HOME": str(home), "PULSE_SERVER": server}
    argv = [
        "pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--system=no", "--use-pid-file=no",
        "--disallow-exit", "--log-target=stderr", "--log-level=error",
        f"--load=module-null-sink sink_name=vsink rate={RATE} channels=2",
        f"--load=module-native-protocol-unix socket={socket} auth-anonymous=1",
    ]  # fmt: skip
    from emulator.audio import devices

    previous = {k: os.environ.get(k) for k in ("PULSE_SERVER",)}
    ticking = ["pacat", "--playback", "-d", "vsink", "--latency-msec=10", "--raw", "/dev/zero"]
    with (
        running(argv, ready=lambda: socket.exists() and _server_answers(env), env=env, name="pulseaudio"),
        running(ticking, ready=lambda: _sink_inputs(env) > 0, env=env, name="pacat"),
    ):
        os.environ["PULSE_SERVER"] = server
        devices.reinitialise()
        try:
            yield PulseServer(server=server, sink="vsink", monitor="vsink.monitor", env=env)
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            devices.reinitialise()
