"""`HeadsetUser`: one Locust user is one headset in a room (see `bridge` for how it runs).

A user joins a room (spread over `--rooms`), stays `--session-length` seconds (or until the test
ends), leaves, and joins again. A failed join or a lost room is a Locust failure with its reason; the
user then retries as a client would, waiting 1, 2, 4 … up to 30 s (with jitter) between attempts.
"""

from __future__ import annotations

import contextlib
import logging
import random
from typing import Any

import gevent
from gevent.lock import BoundedSemaphore
from gevent.queue import Empty
from locust import User, constant, events, task
from locust.exception import StopUser

from emulator.qa.locust.bridge import Bridge, EngineGone
from emulator.qa.locust.credentials import CredentialError, TokenFile, token_for
from emulator.qa.locust.options import HeadsetOptions, add_arguments
from emulator.qa.locust.protocol import StateChange
from emulator.qa.locust.roles import place_of, role_of

log = logging.getLogger(__name__)

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
JOIN_WAIT_S = 60.0  # the engine's own connect timeout answers long before this
LEAVE_WAIT_S = 15.0


@events.init_command_line_parser.add_listener
def _arguments(parser: Any, **_: Any) -> None:
    add_arguments(parser)


class _Process:
    """What a Locust worker process's users share: the engine, their numbers, the token file."""

    bridge: Bridge | None = None
    users = 0
    tokens: TokenFile | None = None
    quitting = False  # Locust is ending: an engine closed under a user is no failure then
    starting = BoundedSemaphore()  # starting the engine yields to the hub: one user starts it

    @classmethod
    def bridge_for(cls, environment: Any) -> Bridge:
        with cls.starting:
            if cls.bridge is not None and cls.bridge.process.poll() is not None:
                cls.bridge.close()  # it ended: collect it before starting another
                cls.bridge = None
            if cls.bridge is None:
                cls.bridge = Bridge(environment)
            return cls.bridge


@events.quitting.add_listener
def _quitting(**_: Any) -> None:
    _Process.quitting = True
    if _Process.bridge is not None:
        _Process.bridge.close()
        _Process.bridge = None


class HeadsetUser(User):
    """A fake headset with full media: pose, face, hands where supported, voice for a few."""

    wait_time = constant(0.5)  # between a leave and the next join

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.options = HeadsetOptions.parse(environment.parsed_options)
        runner = environment.runner
        self.worker = int(getattr(runner, "worker_index", 0) or 0)
        self.number = _Process.users
        _Process.users += 1
        self.retry_s = RETRY_FIRST_S

    def on_start(self) -> None:
        if self.options.token_file and _Process.tokens is None:
            try:
                _Process.tokens = TokenFile.read(self.options.token_file, self.worker)
            except CredentialError as error:
                self._fail("join", str(error))
                raise StopUser() from None

    def settings(self) -> tuple[dict[str, Any], tuple[str, str] | None]:
        """What the engine makes this user's headset from, and the token line it holds (if any)."""
        o, n = self.options, self.number
        room = o.rooms[(n + self.worker) % len(o.rooms)]
        identity = f"{o.name_prefix}-{self.worker:02d}-{n + 1:03d}"
        url = str(self.environment.host or self.host or "")
        held = None
        token: str | None
        if _Process.tokens is not None:
            identity, token = held = _Process.tokens.take(room)
        else:
            token = token_for(url, room, identity)
        role = role_of(o, self.worker, n)
        x, z, yaw = place_of(self.worker, n)
        settings: dict[str, Any] = {
            "url": url,
            "room": room,
            "name": identity,
            "identity": identity,
            "token": token,
            "profile": o.profiles[n % len(o.profiles)],
            "motion": role.motion,
            "face": o.face,
            "audio": role.audio,
            "detect_markers": role.detect_markers,
            "place": [x, 1.6, z, yaw],
        }
        if o.hands:
            settings["hands"] = o.hands
        return settings, held

    @task
    def visit(self) -> None:
        """One session: join, stay, leave (or lose the room, and retry later)."""
        try:
            settings, held = self.settings()
        except CredentialError as error:
            self._fail("join", str(error))
            self._back_off()
            return
        try:
            bridge = _Process.bridge_for(self.environment)
            key, queue = bridge.join(settings)
        except (EngineGone, OSError) as error:
            if _Process.quitting:
                raise StopUser() from None
            self._fail("join", str(error))
            self._back_off()
            return
        try:
            first = self._next(queue, JOIN_WAIT_S)
            if first.state != "joined":
                self._leave_quietly(bridge, key)  # a join still under way must not stay behind
                self._back_off()  # the engine reported the failed join as a request
                return
            self.retry_s = RETRY_FIRST_S
            stay = self.options.session_length_s or None
            try:
                ended = queue.get(timeout=stay)
            except Empty:
                ended = None
            if ended is None:
                bridge.leave(key)
                self._next(queue, LEAVE_WAIT_S)
            elif ended.reason != "left":
                self._back_off()  # the lost room was reported as a request failure
        except gevent.GreenletExit:
            # Locust is stopping this user: leave the room, without waiting for it.
            self._leave_quietly(bridge, key)
            raise
        finally:
            bridge.forget(key)
            if held is not None and _Process.tokens is not None:
                _Process.tokens.give_back(settings["room"], *held)

    def _next(self, queue: Any, timeout: float) -> StateChange:
        try:
            change: StateChange = queue.get(timeout=timeout)
        except Empty:
            return StateChange(0, "closed", "no answer from the headset engine")
        return change

    @staticmethod
    def _leave_quietly(bridge: Bridge, key: int) -> None:
        with contextlib.suppress(EngineGone):
            bridge.leave(key)

    def _back_off(self) -> None:
        gevent.sleep(self.retry_s * random.uniform(0.75, 1.25))
        self.retry_s = min(RETRY_MAX_S, self.retry_s * 2)

    def _fail(self, name: str, reason: str) -> None:
        self.environment.events.request.fire(
            request_type=name,
            name=name,
            response_time=0.0,
            response_length=0,
            exception=Exception(reason),
            context={},
        )
