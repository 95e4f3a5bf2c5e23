"""A private network for one test: two network namespaces joined by a veth pair, gone when it ends.

A browser offers no loopback candidate, so a test of a browser as people have it needs an interface
that is not loopback. Namespace "here" holds loopback and one end of the pair (`HERE`); namespace
"far" holds the other end (`FAR`) and nothing else. Whatever the test runs inside "here" sees only
these two addresses: no route leads to the machine's real interfaces. "here" routes by default to
the far end, as a real machine routes to its gateway: Chromium without microphone permission gathers
only on the interface of the default route (and offers it as an mDNS name); without one it offers
nothing. Whatever goes that way ends in "far", which forwards nothing. The far end is in a namespace
of its own so that the browser's mDNS announcements (multicast on its interface) find no listener
that is itself; with both ends in one namespace Chromium hears its own name from the other end,
takes it for a conflict and drops the candidate.

Each namespace lives as long as a `sleep` process that `unshare` put in it; stopping the two
processes destroys both namespaces and the veth pair with them.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import stop_group

HERE = "10.47.0.1"
FAR = "10.47.0.2"
PREFIX = 24
SETUP_TIMEOUT_S = 10.0


class NamespaceUnavailable(RuntimeError):
    """This machine does not let the test make network namespaces (not root, no unshare/ip)."""


@dataclass(frozen=True)
class PrivateNetwork:
    here: subprocess.Popen[bytes]
    far: subprocess.Popen[bytes]

    def enter(self, argv: Sequence[str]) -> list[str]:
        """`argv` run inside namespace "here"."""
        return ["nsenter", f"--net=/proc/{self.here.pid}/ns/net", "--", *argv]

    def run(self, argv: Sequence[str], timeout: float = SETUP_TIMEOUT_S) -> str:
        done = subprocess.run(self.enter(argv), capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} in the test's namespace: {done.stderr.strip()}")
        return done.stdout

    def listening(self, port: int) -> bool:
        """Whether something inside "here" listens on TCP `port`."""
        return bool(self.run(["ss", "-Hltn", f"sport = :{port}"]).strip())

    def wrapper(self, executable: str, directory: Path) -> Path:
        """A script that runs `executable` inside "here" (for launchers that take a program path)."""
        script = directory / f"{Path(executable).name}-in-namespace"
        script.write_text(
            f'#!/bin/sh\nexec nsenter --net=/proc/{self.here.pid}/ns/net -- {executable} "$@"\n'
        )
        script.chmod(0o755)
        return script


def _holder() -> subprocess.Popen[bytes]:
    """A process alone in a new network namespace whose loopback is up."""
    process = subprocess.Popen(
        ["unshare", "-n", "sh", "-c", "ip link set lo up && exec sleep infinity"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + SETUP_TIMEOUT_S
    comm = Path(f"/proc/{process.pid}/comm")
    while process.poll() is None and comm.read_text().strip() != "sleep":
        if time.monotonic() > deadline:
            stop_group(process)
            raise NamespaceUnavailable("unshare -n did not settle")
        time.sleep(0.02)
    if process.poll() is not None:
        err = process.stderr.read().decode(errors="replace").strip() if process.stderr else ""
        stop_group(process)
        raise NamespaceUnavailable(f"unshare -n: {err or process.returncode}")
    return process


@contextlib.contextmanager
def private_network() -> Iterator[PrivateNetwork]:
    if shutil.which("unshare") is None or shutil.which("ip") is None or shutil.which("nsenter") is None:
        raise NamespaceUnavailable("unshare, nsenter and ip (util-linux, iproute2) are needed")
    started: list[subprocess.Popen[bytes]] = []
    try:
        started.append(_holder())
        started.append(_holder())
        net = PrivateNetwork(*started)
        far = ["nsenter", f"--net=/proc/{net.far.pid}/ns/net", "--"]
        net.run(["ip", "link", "add", "veth-here", "type", "veth", "peer", "name", "veth-far", "netns",
                 str(net.far.pid)])  # fmt: skip
        net.run(["ip", "addr", "add", f"{HERE}/{PREFIX}", "dev", "veth-here"])
        net.run(["ip", "link", "set", "veth-here", "up"])
        net.run(["ip", "route", "add", "default", "via", FAR])
        for argv in (
            ["ip", "addr", "add", f"{FAR}/{PREFIX}", "dev", "veth-far"],
            ["ip", "link", "set", "veth-far", "up"],
        ):
            subprocess.run([*far, *argv], check=True, capture_output=True, timeout=SETUP_TIMEOUT_S)
        yield net
    finally:
        for process in started:
            stop_group(process)
