"""`join --control 127.0.0.1:PORT`: drive a running headless headset over a small local HTTP/JSON API.

    GET  /stats                       the headset's report (as `--report` writes it), plus network
    GET  /state                       what it does now: pose, motion, face, audio, muted, listen_only
    POST /pose    {"position": [x, y, z], "yaw": deg}  or  {"position": …, "orientation": [x, y, z, w]}
    POST /face    {"weights": {"jawOpen": 0.6, …}}   (ARKit names; {"weights": null} hands back to the driver)
    POST /motion  {"spec": "orbit:radius=2"}          (any --motion spec, starting where the head is now)
    POST /audio   {"spec": "tone:660"}                (any --audio spec)
    POST /mute    {"muted": true}                    (silences all it sends, latency chirps included)
    POST /net     {"spec": "lossy"}                   (when joined with --net)
    POST /leave   leave the room (the join command then exits)

Every request carries `Authorization: Bearer TOKEN` (`--control-token`, or one generated and printed
at start) and POSTs a `Content-Type: application/json` body; a foreign `Origin` or a `Host` that is
not this loopback address is refused (see emulator/net/http_guard.py and SECURITY.md). Files in
`/audio` and `/motion` specs must lie under `--control-dir` (emulator/qa/control_files.py).
Errors are JSON `{"error": "..."}` with status 400 (bad input), 401/403/415 (refused) or 404/409.
Runs on the headset's loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiohttp import web

from emulator.audio.factory import open_source
from emulator.audio.switch import SwitchableSource
from emulator.audio.wavfile import SourceError
from emulator.drive.drivers import Drivers
from emulator.drive.errors import DriveError
from emulator.drive.motions import Motion, Still, motion_from_spec
from emulator.headset import Headset
from emulator.model.errors import ModelError
from emulator.model.face import Face
from emulator.model.pose import Pose, Quat, Vec3
from emulator.net.http_guard import HEADER_TIMEOUT_S, HttpGuard
from emulator.net.transport.condition_spec import ConditionsError
from emulator.net.transport.conditions import NetworkConditioner
from emulator.qa.control_files import FileRefused, audio_spec, motion_spec
from emulator.wire.bounded_json import JsonBoundsError, loads_bounded
from emulator.wire.quantize import position_problem

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
BODY_TIMEOUT_S = 10.0  # a body that trickles in slower than this is dropped (slowloris)


class BadRequest(Exception):
    pass


@dataclass(frozen=True)
class _FromNow:
    """A motion started `t0` seconds into the headset's life, so a new orbit starts at its beginning."""

    motion: Motion
    t0: float

    def sample(self, t: float) -> Pose:
        return self.motion.sample(max(0.0, t - self.t0))


def _numbers(value: Any, count: int, key: str) -> list[float]:
    if (
        not isinstance(value, list)
        or len(value) != count
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise BadRequest(f"{key} must be a list of {count} numbers")
    numbers = [float(v) for v in value]
    if not all(math.isfinite(v) for v in numbers):
        raise BadRequest(f"{key} must be finite")
    return numbers


class ControlServer:
    def __init__(
        self,
        headset: Headset,
        voice: SwitchableSource | None,
        network: NetworkConditioner | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        files: Path | None = None,
    ) -> None:
        self.headset = headset
        self.voice = voice
        self.network = network
        self.host = host
        self.port = port
        self.token = token or secrets.token_urlsafe(24)
        self.files = files
        # No page of its own, so every Origin is foreign.
        self.guard = HttpGuard(host, same_origin=False, bearer=self.token, json_bodies=True)
        self._runner: web.AppRunner | None = None
        # What GET /state says the motion and audio are: the command line's, then the last POST's.
        self.motion = headset.config.motion.text
        self.audio = headset.config.audio.text

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[self.guard.middleware])
        app.router.add_get("/stats", self._stats)
        app.router.add_get("/state", self._state)
        for name in ("pose", "face", "motion", "audio", "mute", "net", "leave"):
            app.router.add_post(f"/{name}", self._command)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, keepalive_timeout=HEADER_TIMEOUT_S
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]
        self.guard.port = self.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- handlers ---------------------------------------------------------------------------------

    async def _stats(self, request: web.Request) -> web.Response:
        report = self.headset.report()
        if self.network is not None:
            report["network"] = self.network.report()
        report["muted"] = self.headset.view.muted()
        return web.json_response(report)

    async def _state(self, request: web.Request) -> web.Response:
        """What the headset does now: pose, motion, face, audio, mute (what the POSTs set)."""
        headset = self.headset
        pose = headset.pose
        face: Any = (
            {"override": headset.face_override.as_dict(nonzero_only=True)}
            if headset.face_override is not None
            else {"driver": headset.config.face.text}
        )
        return web.json_response(
            {
                "pose": {
                    "position": list(pose.position.as_tuple()),
                    "orientation": list(pose.orientation.as_tuple()),
                },
                "motion": self.motion,
                "face": face,
                "audio": self.audio if headset.view.sends_voice() else "none",
                "muted": headset.view.muted(),
                "listen_only": headset.view.listen_only(),
            }
        )

    async def _command(self, request: web.Request) -> web.Response:
        name = request.path.strip("/")
        try:
            body = await _read_body(request)
            result = getattr(self, f"_do_{name}")(body)
        except BadRequest as error:
            return web.json_response({"error": str(error)}, status=400)
        except LookupError as error:
            return web.json_response({"error": str(error)}, status=409)
        log.info("control: %s %r", name, body)
        return web.json_response({"ok": True, **result})

    def _do_pose(self, body: dict[str, Any]) -> dict[str, Any]:
        position = Vec3.of(_numbers(body.get("position"), 3, "position"))
        if (problem := position_problem(position)) is not None:
            raise BadRequest(problem)
        try:
            if "orientation" in body:
                orientation = Quat.of(_numbers(body["orientation"], 4, "orientation"))
            else:
                (yaw,) = _numbers([body.get("yaw", 0.0)], 1, "yaw")
                orientation = Quat.from_yaw_degrees(yaw)
            pose = Pose(position, orientation)
        except ModelError as error:
            raise BadRequest(str(error)) from None
        self.headset.drivers = replace(self._scripted(), motion=Still(pose))
        self.headset.pose = pose  # GET /state reads it back at once, not after the next STATE's sample
        self.motion = "still (POST /pose)"
        return {
            "pose": {"position": list(pose.position.as_tuple()), "orientation": list(orientation.as_tuple())}
        }

    def _scripted(self) -> Drivers:
        drivers = self.headset.drivers
        if not isinstance(drivers, Drivers):
            # The app's controller or a demo bot moves this headset; the API does not take over.
            raise LookupError("this headset's pose comes from its own controller, not from a script")
        return drivers

    def _do_face(self, body: dict[str, Any]) -> dict[str, Any]:
        weights = body.get("weights")
        if weights is None:
            self.headset.face_override = None
            return {"face": "driver"}
        if not isinstance(weights, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in weights.values()
        ):
            raise BadRequest("weights must be an object of ARKit name → number")
        try:
            self.headset.face_override = Face.from_mapping(weights)
        except ModelError as error:
            raise BadRequest(str(error)) from None
        return {"face": {k: float(v) for k, v in weights.items()}}

    def _spec(self, body: dict[str, Any]) -> str:
        spec = body.get("spec")
        if not isinstance(spec, str) or not spec.strip():
            raise BadRequest('expected {"spec": "..."}')
        return spec

    def _do_motion(self, body: dict[str, Any]) -> dict[str, Any]:
        spec = self._spec(body)
        from_file = False
        try:
            opened, from_file = motion_spec(spec, self.files)
            motion = motion_from_spec(opened, self.headset.pose)
        except FileRefused as error:
            raise BadRequest(str(error)) from None
        except (DriveError, ModelError) as error:
            raise BadRequest(_file_error(error, from_file, "a motion trace")) from None
        self.headset.drivers = replace(self._scripted(), motion=_FromNow(motion, self.headset.elapsed()))
        self.motion = spec
        return {"motion": spec}

    def _do_audio(self, body: dict[str, Any]) -> dict[str, Any]:
        spec = self._spec(body)
        if self.voice is None:
            raise LookupError("this headset joined without a voice (audio none)")
        from_file = False
        try:
            opened, from_file = audio_spec(spec, self.files)
            source = open_source(opened)
        except FileRefused as error:
            raise BadRequest(str(error)) from None
        except (SourceError, ModelError, OSError) as error:
            raise BadRequest(_file_error(error, from_file, "audio")) from None
        self.voice.switch(source)
        self.audio = spec
        return {"audio": spec}

    def _do_mute(self, body: dict[str, Any]) -> dict[str, Any]:
        muted = body.get("muted", True)
        if not isinstance(muted, bool):
            raise BadRequest("muted must be true or false")
        self.headset.set_muted(muted)  # everything it sends, latency chirps included
        return {"muted": muted}

    def _do_net(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.network is None:
            raise LookupError("this headset joined without network conditions")
        try:
            conditions = self.network.set(self._spec(body))
        except ConditionsError as error:
            raise BadRequest(str(error)) from None
        return {"net": conditions.describe()}

    def _do_leave(self, body: dict[str, Any]) -> dict[str, Any]:
        # The join command waits on `closed`; it then reports and stops the headset as on Ctrl+C.
        self.headset.closed.set()
        return {"leaving": True}


async def _read_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            raw = await request.read()
        body = loads_bounded(raw or b"{}", max_bytes=MAX_BODY_BYTES)
    except TimeoutError:
        raise BadRequest(f"the body did not arrive within {BODY_TIMEOUT_S:g} s") from None
    except JsonBoundsError as error:
        raise BadRequest(f"the body is {error}") from None
    except ValueError:
        raise BadRequest("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _file_error(error: Exception, from_file: bool, what: str) -> str:
    """The error for the caller; a file's parser may quote the file, so that stays in the local log."""
    if not from_file:
        return str(error)
    log.info("control: the file could not be used: %r", str(error))
    return f"the file cannot be used as {what} (the headset's log says why)"
