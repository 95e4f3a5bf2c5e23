"""The Locust side of the bridge: a worker's users talk to one headset engine in a child process.

Why a child process, not a thread: Locust runs its users as greenlets and, on import, gevent patches
`socket`, `selectors`, `threading` and `time`. aiortc and aioice are asyncio code; an asyncio loop in
a native thread of the same process (gevent.monkey.get_original) would still create gevent's patched
sockets and selectors through the modules they import, and would share the GIL with the hub, so a
loop busy with 16 headsets' datagrams would stall Locust's heartbeats and stats. In a child process
(`python -m emulator.qa.locust.engine`) the headsets run exactly as one of swarm's workers does: a
clean interpreter, one loop, one grid of ticks, shared encoders; so Locust's cost per user is swarm's
plus a few JSON lines a second per user.

The bridge never blocks the hub: gevent's subprocess gives cooperative pipes; one reader greenlet turns
the engine's lines into Locust request events and hands `joined`/`closed` to the waiting user through
a gevent queue. Each Locust worker process starts its engine on the first join and ends it when Locust
quits (closing its stdin: the members leave their rooms, then the engine exits).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import sys
from typing import IO, Any

import gevent
from gevent import subprocess
from gevent.queue import Queue

from emulator.qa.locust.protocol import ProtocolError, Request, StateChange, decode_event, encode

log = logging.getLogger(__name__)

ENGINE_EXIT_TIMEOUT_S = 15.0


class EngineGone(Exception):
    """The engine process ended: the user's session can only be a failure now."""


class EngineFailure(Exception):
    """The reason of a failed request, as the engine gave it (what Locust's failures table shows)."""


class Bridge:
    """One engine process and the queues of the users it serves."""

    def __init__(self, environment: Any) -> None:
        self.environment = environment
        self.keys = itertools.count(1)
        self.waiting: dict[int, Queue[StateChange]] = {}
        self.malformed = 0
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emulator.qa.locust.engine"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.reader = gevent.spawn(self._read)

    def join(self, settings: dict[str, Any]) -> tuple[int, Queue[StateChange]]:
        key = next(self.keys)
        queue: Queue[StateChange] = Queue()
        self.waiting[key] = queue
        self._send(encode("join", {"key": key, "settings": settings}))
        return key, queue

    def leave(self, key: int) -> None:
        self._send(encode("leave", {"key": key}))

    def forget(self, key: int) -> None:
        self.waiting.pop(key, None)

    def _send(self, line: bytes) -> None:
        stdin: IO[bytes] | None = self.process.stdin
        if stdin is None or self.process.poll() is not None:
            raise EngineGone(f"the headset engine ended (exit code {self.process.returncode})")
        try:
            stdin.write(line)
            stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as error:
            raise EngineGone(f"the headset engine is gone: {error}") from None

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        fire = self.environment.events.request.fire
        for line in stdout:
            try:
                event = decode_event(line)
            except ProtocolError as error:
                self.malformed += 1
                log.warning("headset engine: dropped a line: %s", error)
                continue
            if isinstance(event, Request):
                fire(
                    request_type=event.type,
                    name=event.name,
                    response_time=event.ms,
                    response_length=event.length,
                    exception=EngineFailure(event.error) if event.error is not None else None,
                    context={},
                )
            elif event.key in self.waiting:
                self.waiting[event.key].put(event)
        # The engine ended: every waiting user learns it (their sessions are over).
        for key, queue in list(self.waiting.items()):
            queue.put(StateChange(key, "closed", "the headset engine ended"))

    def close(self) -> None:
        """Ask the engine to leave every room and exit; kill it if it does not in time."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=ENGINE_EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("headset engine: did not leave in %.0f s; killed", ENGINE_EXIT_TIMEOUT_S)
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=5)
