"""The demo's room and bots in a child process, so they never share the app's interpreter lock.

Why a process of its own: on a thread of the app the bots' Opus, speech and state stream share the
interpreter lock with painting, which shows as round trips and jitter that no real device would have
(docs/demo.md; BENCHMARKS.md, app, compares both).

The parent (`DemoProcess`) starts `headset-emulator demo --serve-room --bots N` (the same command
line, so a frozen bundle runs it too; `--serve-room` is hidden from help), writes the room's secret
as the first line of the child's stdin (never on its command line, where `ps` shows it) and keeps
that pipe open. The child answers with one JSON line on stdout: `{"url": ..., "notes": [...]}` once
the bots are in, or `{"error": "..."}`. It then runs until its stdin ends, which happens however
the app ends (closed, Ctrl+C, killed, crashed: the kernel closes the pipe). On Linux the child also
asks for SIGTERM when its parent dies (prctl PR_SET_PDEATHSIG), in case its loop is stuck. The
child runs in a session of its own, so a Ctrl+C in the terminal reaches the app alone, which then
stops the child in order (bots leave, then the room closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Any

PARENT_ENV = "HEADSET_EMULATOR_DEMO_PARENT"
STOP_GRACE_S = 10.0
START_TIMEOUT_S = 60.0
log = logging.getLogger(__name__)


class DemoProcessError(Exception):
    """The child could not start the room and bots, or stopped; the message is one line."""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def child_argv(bots: int) -> list[str]:
    """This program's own command line for the child: `python -m emulator`, or the bundle itself."""
    program = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "emulator"]
    return [*program, "demo", "--serve-room", "--bots", str(bots)]


class DemoProcess:
    """The parent's handle on the child: `start()` waits until the bots are in, `stop()` ends it."""

    def __init__(self, bots: int, secret: str) -> None:
        self.bots = bots
        self.secret = secret
        self.url = ""
        self.notes: list[str] = []
        self.process: subprocess.Popen[bytes] | None = None
        self._errors: IO[bytes] | None = None
        self._answer: dict[str, Any] | None = None
        self._reader: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    async def start(self) -> None:
        """Spawn the child and wait (without blocking the loop) for its answer; DemoProcessError if none."""
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115  # closed by stop()
        env = dict(os.environ, **{PARENT_ENV: str(os.getpid())})
        self.process = subprocess.Popen(
            child_argv(self.bots),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            env=env,
            start_new_session=True,
        )
        assert self.process.stdin is not None
        self.process.stdin.write(self.secret.encode() + b"\n")
        self.process.stdin.flush()
        self._reader = threading.Thread(target=self._read_answer, name="demo-room-answer", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while self._reader.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        answer = self._answer or {}
        if "url" in answer:
            self.url = str(answer["url"])
            self.notes = [str(note) for note in answer.get("notes", [])]
            return
        reason = str(answer.get("error") or self.failure() or "no answer")
        await self.stop()
        raise DemoProcessError(reason)

    def _read_answer(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        line = self.process.stdout.readline()
        with contextlib.suppress(ValueError):
            answer = json.loads(line)
            if isinstance(answer, dict):
                self._answer = answer

    def failure(self) -> str | None:
        """One line when the child has stopped on its own (None while it runs)."""
        if self.process is None or self.process.poll() is None:
            return None
        detail = ""
        if self._errors is not None:
            self._errors.seek(0)
            detail = _last_line(self._errors.read().decode(errors="replace")[-4000:])
        code = self.process.returncode
        return f"the demo's room and bots stopped (exit code {code})" + (f": {detail}" if detail else "")

    async def stop(self) -> None:
        """Close the child's stdin (it leaves and stops the room); kill it if it has not ended in time."""
        process = self.process
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        deadline = time.monotonic() + STOP_GRACE_S
        while process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if process.poll() is None:
            log.warning("the demo's room did not stop in %.0f s: killing it", STOP_GRACE_S)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        if self._reader is not None:
            self._reader.join(timeout=1.0)
        if self._errors is not None:
            self._errors.close()
            self._errors = None


# --- the child ------------------------------------------------------------------------------------


def _die_with_parent() -> bool:
    """Ask the kernel for SIGTERM when the parent dies; False if it is already gone."""
    parent = os.environ.get(PARENT_ENV)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    return parent is None or os.getppid() == int(parent)  # it may have died before the prctl


def _answer(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def _serve(bots: int, secret: str) -> int:
    from emulator.cli.demo_bots import Demo
    from emulator.headset import HeadsetError

    demo = Demo(bots=bots, secret=secret)
    try:
        try:
            await demo.start()
        except (HeadsetError, OSError) as error:
            _answer({"error": f"the demo could not start: {error}"})
            return 1
        _answer({"url": demo.url, "notes": demo.notes})
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.buffer.read)  # returns when the app closes the pipe
        return 0
    finally:
        await demo.stop()


def serve(bots: int) -> int:
    """The child's whole life (`demo --serve-room`): the secret from stdin, the room and bots until EOF."""
    if not _die_with_parent():
        return 1
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the app decides when the demo ends
    secret = sys.stdin.buffer.readline().decode().strip()
    if not secret:
        _answer({"error": "the demo's room got no secret on its stdin (it is started by `demo` itself)"})
        return 2
    return asyncio.run(_serve(bots, secret))
