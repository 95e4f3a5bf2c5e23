"""`join --control 127.0.0.1:PORT`: drive a running headless headset over a small local HTTP/JSON API.

    GET  /stats                       the headset's report (as `--report` writes it), plus network
    POST /pose    {"position": [x, y, z], "yaw": deg}  or  {"position": …, "orientation": [x, y, z, w]}
    POST /face    {"weights": {"jawOpen": 0.6, …}}   (ARKit names; {"weights": null} hands back to the driver)
    POST /motion  {"spec": "orbit:radius=2"}          (any --motion spec, starting where the head is now)
    POST /audio   {"spec": "tone:660"}                (any --audio spec)
    POST /mute    {"muted": true}
    POST /net     {"spec": "lossy"}                   (when joined with --net)
    POST /leave   leave the room (the join command then exits)

Errors are JSON `{"error": "..."}` with status 400 (bad input) or 404/409. The API listens on loopback
unless told otherwise: it has no authentication, so never expose it. Runs on the headset's loop.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, replace
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
from emulator.net.conditions import ConditionsError, NetworkConditioner
from emulator.wire.quantize import position_problem

log = logging.getLogger(__name__)


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
    ) -> None:
        self.headset = headset
        self.voice = voice
        self.network = network
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_get("/stats", self._stats)
        for name in ("pose", "face", "motion", "audio", "mute", "net", "leave"):
            app.router.add_post(f"/{name}", self._command)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]

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
        report["muted"] = bool(self.voice and self.voice.muted)
        return web.json_response(report)

    async def _command(self, request: web.Request) -> web.Response:
        name = request.path.strip("/")
        try:
            body: Any = {}
            if request.can_read_body:
                try:
                    body = json.loads(await request.text() or "{}")
                except ValueError:
                    raise BadRequest("the body is not JSON") from None
            if not isinstance(body, dict):
                raise BadRequest("the body must be a JSON object")
            result = getattr(self, f"_do_{name}")(body)
        except BadRequest as error:
            return web.json_response({"error": str(error)}, status=400)
        except LookupError as error:
            return web.json_response({"error": str(error)}, status=409)
        log.info("control: %s %s", name, body)
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
        try:
            motion = motion_from_spec(spec, self.headset.pose)
        except (DriveError, ModelError) as error:
            raise BadRequest(str(error)) from None
        self.headset.drivers = replace(self._scripted(), motion=_FromNow(motion, self.headset.elapsed()))
        return {"motion": spec}

    def _do_audio(self, body: dict[str, Any]) -> dict[str, Any]:
        spec = self._spec(body)
        if self.voice is None:
            raise LookupError("this headset joined without a voice (--audio none)")
        try:
            source = open_source(spec)
        except (SourceError, ModelError, OSError) as error:
            raise BadRequest(str(error)) from None
        self.voice.switch(source)
        return {"audio": spec}

    def _do_mute(self, body: dict[str, Any]) -> dict[str, Any]:
        muted = body.get("muted", True)
        if not isinstance(muted, bool):
            raise BadRequest("muted must be true or false")
        if self.voice is None:
            raise LookupError("this headset joined without a voice (--audio none)")
        self.voice.muted = muted
        return {"muted": muted}

    def _do_net(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.network is None:
            raise LookupError("this headset joined without --net")
        try:
            conditions = self.network.set(self._spec(body))
        except ConditionsError as error:
            raise BadRequest(str(error)) from None
        return {"net": conditions.describe()}

    def _do_leave(self, body: dict[str, Any]) -> dict[str, Any]:
        # The join command waits on `closed`; it then reports and stops the headset as on Ctrl+C.
        self.headset.closed.set()
        return {"leaving": True}
