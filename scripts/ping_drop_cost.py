"""CPU seconds a room process spends per 10,000 PINGs it drops over budget (issue 20's PING flood).

Usage: python scripts/ping_drop_cost.py [--rounds 5] [--pings 20000] [--batched] TREE [TREE ...]

Each TREE is a checkout whose `emulator` package runs the room (so two trees compare two versions);
the rounds alternate between them, since the machine may be shared. Per round: a fresh room process
on loopback, a listener and an attacker joined (the attacker's client is this checkout's), the room's
idle CPU rate measured, then `--pings` PINGs sent in bursts of 5,000 at 10,000 a second (well over
the 4/s budget, each burst short of the 2 s cut-off), and the room's CPU from each burst's first PING
until its metrics have counted them all, minus the idle rate over the same time. `--batched` packs
them 100 to a BATCH message, which costs the room's core per PING rather than aiortc's SCTP per
message. Packets go to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from emulator.net.signaling.room_session import RoomSession
from emulator.net.signaling.tokens import Grant, mint
from emulator.wire import BatchPacker, Ping
from emulator.wire.signaling import Join
from tests.support.attacker import AttackerSession, attacker

SECRET = "ping-drop-cost-secret"
IDLE_S = 3.0
FORGIVE_S = 3.5  # past ratelimit.FORGIVE_AFTER_S: each burst is an episode of its own
BURST = 5_000


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _over_budget(metrics: str) -> int:
    with urllib.request.urlopen(metrics, timeout=2) as response:
        text = response.read().decode()
    return sum(
        int(float(line.split()[-1]))
        for line in text.splitlines()
        if line.startswith("headset_room_messages_over_budget_total{")
    )


@contextlib.contextmanager
def _room(tree: Path) -> Iterator[tuple[int, str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        port, metrics = _free_port(), _free_port()
        env = dict(os.environ, PYTHONPATH=str(tree), HEADSET_EMULATOR_SECRET=SECRET, XDG_CONFIG_HOME=tmp)
        room = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "emulator",
                "room",
                "--port",
                str(port),
                "--metrics",
                f"127.0.0.1:{metrics}",
            ],
            env=env,
            cwd=tree,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip (cwd too: `python -m` puts the working directory before PYTHONPATH)
        url = f"http://127.0.0.1:{metrics}/metrics"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError):
                    _over_budget(url)
                    break
                time.sleep(0.2)
            yield room.pid, f"ws://127.0.0.1:{port}/ws", url
        finally:
            room.send_signal(signal.SIGINT)
            try:
                room.wait(10)
            except subprocess.TimeoutExpired:
                room.kill()
                room.wait()


async def _keep_alive(session: RoomSession) -> None:
    from emulator.model.pose import Pose
    from emulator.wire import State

    seq = 0
    while True:
        seq = (seq + 1) & 0xFFFF
        session.send_state(bytes(State(seq=seq, timestamp=seq, pose=Pose())))
        await asyncio.sleep(0.1)


async def _send(mallory: AttackerSession, pings: int, batched: bool) -> int:
    """`pings` PINGs at 10,000 a second (in 10 ms bursts); returns how many PINGs went."""
    ping = bytes(Ping(seq=1))
    unit, per = (BatchPacker().pack([ping] * 100, 1)[0], 100) if batched else (ping, 1)
    messages = pings // per
    seconds = pings / 10_000
    sent, start = 0, time.monotonic()
    while sent < messages:
        due = min(messages, int((time.monotonic() - start) / seconds * messages) + 1) - sent
        for _ in range(due):
            if not mallory.raw_send(unit):
                break
            sent += 1
        await asyncio.sleep(0.01)
    return sent * per


async def _round(tree: Path, pings: int, batched: bool) -> tuple[float, float]:
    """(room CPU seconds per 10,000 dropped PINGs, seconds the room took to count them), from
    bursts of `BURST` PINGs, each an episode of its own: a loaded room that took over 2 s to get
    through one would cut the attacker off."""
    with _room(tree) as (pid, url, metrics):
        token = mint(SECRET.encode(), Grant("lobby", "listener", time.time() + 600, True))
        listener = RoomSession(url, Join("lobby", token, "listener"))
        mallory = attacker(url, SECRET.encode(), "lobby")
        await listener.connect()
        await mallory.connect()
        alive = [asyncio.ensure_future(_keep_alive(s)) for s in (listener, mallory)]
        try:
            await asyncio.sleep(2.0)
            cpu0, t0 = _cpu_seconds(pid), time.monotonic()
            await asyncio.sleep(IDLE_S)
            idle_rate = (_cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
            cpu = wall = 0.0
            sent = 0
            for _ in range(max(1, pings // BURST)):
                before = _over_budget(metrics)
                cpu0, t0 = _cpu_seconds(pid), time.monotonic()
                burst = await _send(mallory, BURST, batched)
                while _over_budget(metrics) - before < burst - 16:  # the budget's burst of 8 goes through
                    if time.monotonic() - t0 > 30 or mallory.close_reason is not None:
                        raise RuntimeError(f"the room counted {_over_budget(metrics) - before} of {burst}")
                    await asyncio.sleep(0.02)
                took = time.monotonic() - t0
                cpu += _cpu_seconds(pid) - cpu0 - idle_rate * took
                wall += took
                sent += burst
                await asyncio.sleep(FORGIVE_S)
            return cpu * 10_000 / sent, wall
        finally:
            for task in alive:
                task.cancel()
            await mallory.close()
            await listener.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("trees", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pings", type=int, default=20_000)
    parser.add_argument("--batched", action="store_true")
    args = parser.parse_args()
    results: dict[Path, list[float]] = {tree: [] for tree in args.trees}
    print(f"load before: {os.getloadavg()}", flush=True)
    for k in range(args.rounds):
        for tree in args.trees if k % 2 == 0 else reversed(args.trees):
            cost, wall = await _round(tree.resolve(), args.pings, args.batched)
            results[tree].append(cost)
            print(f"round {k + 1} {tree}: {cost:.3f} CPU s per 10,000 ({wall:.1f} s to count them)",
                  flush=True)  # fmt: skip
    print(f"load after: {os.getloadavg()}", flush=True)
    for tree, costs in results.items():
        print(f"{tree}: median {statistics.median(costs):.3f} CPU s per 10,000 dropped PINGs, "
              f"range {min(costs):.3f}-{max(costs):.3f} over {len(costs)} rounds")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
