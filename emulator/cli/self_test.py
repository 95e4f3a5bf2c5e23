"""`headset-emulator self-test`: is this machine (or this desktop bundle) ready for a demo?

One line per check, then a verdict; exit 0 when nothing failed. The checks are the things that go
wrong on a laptop minutes before a demo: the bundled assets are not found, PortAudio, espeak-ng or
SDL2 (gamepads) is missing, WebRTC cannot reach even a room on this machine, OpenGL cannot draw an
avatar, Qt cannot open a window. The room is the demo's embedded one (`emulator.cli.demo_bots.Demo`) on
127.0.0.1 with a fresh secret, so nothing is sent past loopback and nothing else can join; one
talking bot is in it, and a headless headset joins for `--seconds`, then its view of the bot is drawn
offscreen with real OpenGL. The window check runs `demo --bots 0` in a child process, because Qt
aborts a process whose platform plugin cannot load, and a self-test must report that, not die of it.

Warnings (no sound card, no speech, no SDL2) do not fail the test: the app still works, only quieter.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes.util
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator import __version__
from emulator.audio.factory import TONE_440
from emulator.cli.common import CommandError
from emulator.cli.demo_bots import ROOM, Demo
from emulator.cli.extras import APP_HINT, missing_app_modules
from emulator.cli.vocab import add_out_argument, seconds
from emulator.drive.spec import placement
from emulator.headset import Headset, HeadsetConfig, HeadsetError
from emulator.model.pose import Pose, Vec3

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
NO_DISPLAY_RENDER = (
    "not drawn: no X display (DISPLAY is unset) and the renderer draws offscreen through GLX; to check "
    "it on a headless machine run: xvfb-run -a headset-emulator self-test --no-window"
)
MIN_AVATAR_SHARE = 0.005  # the bot's head 1.7-2.3 m away covers a few % of a 320x240 frame
WINDOW_TIMEOUT_S = 90.0
NATIVE_LIBRARIES = ("portaudio", "opus", "espeak-ng")  # the ones the code opens with ctypes


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str

    def line(self) -> str:
        return f"{self.status} {self.name:<7} {self.detail}"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "self-test", help="check this machine can run a demo: audio, speech, a local room, OpenGL, a window"
    )
    parser.add_argument(
        "--seconds", type=seconds, default=4.0, help="how long the headset stays in the room (default 4s)"
    )
    add_out_argument(parser, "also save the rendered frame to this PNG", dest="frame", old_names=("--frame",))
    parser.add_argument(
        "--no-window",
        action="store_true",
        help="skip opening the app's window; without an X display the render check is a WARN naming the "
        "fix (rendering needs a display: xvfb-run -a headset-emulator self-test --no-window)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not 0.5 <= args.seconds <= 120:
        raise CommandError("--seconds must be between 0.5 and 120")
    checks: list[Check] = []

    def report(check: Check) -> None:
        checks.append(check)
        print(check.line(), flush=True)

    report(_version())
    report(_libraries())
    report(_assets())
    report(_audio())
    report(_speech())
    report(_gamepad())
    for check in asyncio.run(_room_and_render(args.seconds, args.frame, args.no_window)):
        report(check)
    if not args.no_window:
        report(_window())
    failed = [c.name for c in checks if c.status == FAIL]
    warned = [c.name for c in checks if c.status == WARN]
    if failed:
        print(f"self-test FAILED: {', '.join(failed)} (see the FAIL lines above)", flush=True)
        return 1
    note = f" with warnings: {', '.join(warned)}" if warned else ""
    print(f"self-test passed: {len(checks)} checks{note}", flush=True)
    return 0


def _version() -> Check:
    frozen = getattr(sys, "frozen", False)
    where = f"bundle at {Path(sys.executable).parent}" if frozen else f"Python at {sys.executable}"
    python = ".".join(map(str, sys.version_info[:3]))
    return Check("version", PASS, f"headset-emulator {__version__}, Python {python}, {where}")


def _libraries() -> Check:
    """Where the native libraries loaded through ctypes come from: the bundle's own or the system's.

    A bundle that silently used the build machine's copies would fail on a laptop without them.
    """
    bundle = getattr(sys, "_MEIPASS", None)
    found = []
    for name in NATIVE_LIBRARIES:
        path = ctypes.util.find_library(name)
        if path is None:
            where = "missing"
        elif bundle is not None and Path(path).is_absolute() and Path(path).is_relative_to(bundle):
            where = "bundle"
        else:
            where = "system"
        found.append(f"{name} ({where})")
    status = WARN if any(f.endswith("(missing)") for f in found) else PASS
    return Check("libs", status, ", ".join(found))


def _assets() -> Check:
    from emulator.model.assets import assets_dir
    from emulator.model.errors import ModelError
    from emulator.model.profiles import load_profile
    from emulator.render.errors import AvatarError

    root = assets_dir()
    try:
        profiles = [load_profile(name).name for name in ("visionpro", "quest3")]
        if missing_app_modules():
            return Check("assets", PASS, f"{root}: profiles {', '.join(profiles)}; avatars need [app]")
        from emulator.render.avatar_gen import load_default_avatar

        avatar = load_default_avatar()
    except (ModelError, AvatarError, OSError) as error:
        return Check("assets", FAIL, f"{root}: {error}")
    vertices = len(avatar.positions)
    return Check("assets", PASS, f"{root}: profiles {', '.join(profiles)}; avatar with {vertices} vertices")


def _audio() -> Check:
    from emulator.audio.devices import list_devices, portaudio_problem, sounddevice_module

    sd = sounddevice_module()
    if sd is None:
        return Check("audio", WARN, f"{portaudio_problem()}: sound in and out will be silent")
    devices = list_devices()
    outputs = [d for d in devices if d.channels("output") > 0]
    inputs = [d for d in devices if d.channels("input") > 0]
    version = sd.get_portaudio_version()[1]
    if not outputs:
        return Check("audio", WARN, f"{version}: no output device, you will hear nothing")
    default = next((d.name for d in outputs if d.default_output), outputs[0].name)
    return Check(
        "audio", PASS, f"{version}: {len(outputs)} outputs (default {default}), {len(inputs)} inputs"
    )


def _speech() -> Check:
    from emulator.audio.espeak import Espeak, SpeechError

    try:
        utterance = Espeak.shared().synthesize("Self test.")
    except SpeechError as error:
        return Check("speech", WARN, f"{error}: demo bots will move their lips silently")
    if utterance.duration <= 0:
        return Check("speech", WARN, "espeak-ng made no sound: demo bots will move their lips silently")
    return Check("speech", PASS, f"espeak-ng spoke {utterance.duration:.2f} s for 'Self test.'")


def _gamepad() -> Check:
    if missing_app_modules():
        return Check("gamepad", WARN, f"skipped: gamepads (SDL2) come with the [app] extra: {APP_HINT}")
    from emulator.drive.gamepad import Gamepad

    with Gamepad() as pad:
        if not pad.available:
            return Check("gamepad", WARN, "SDL2 is not available: no gamepad (mouse and keyboard still work)")
        plugged = f"{pad.name} connected" if pad.connected else "none connected (hot-plug works)"
    return Check("gamepad", PASS, f"SDL2 ready, {plugged}")


async def _room_and_render(seconds: float, frame: Path | None, headless: bool = False) -> list[Check]:
    """The room check, the join check and the render check, which each need the one before."""
    demo = Demo(bots=1)
    try:
        await demo.start()
    except (HeadsetError, OSError) as error:
        await demo.stop()
        return [Check("room", FAIL, f"the local room or its bot could not start: {error}")]
    bot_name = demo.headsets[0].config.name
    checks = [Check("room", PASS, f"local room at {demo.url} (loopback only) with bot {bot_name}")]
    headset = Headset(
        HeadsetConfig(
            url=demo.url,
            room=ROOM,
            name="self-test",
            placement=placement(),
            audio=TONE_440,
            marker_period_s=0.0,
            secret=demo.secret,
        )
    )
    try:
        try:
            await headset.start()
        except HeadsetError as error:
            return [*checks, Check("join", FAIL, str(error))]
        started = time.monotonic()
        await asyncio.sleep(seconds)
        check, bot = _joined(headset, time.monotonic() - started)
        checks.append(check)
    finally:
        await headset.stop()
        await demo.stop()
    if bot is None:
        return [*checks, Check("render", FAIL, "nothing to draw: the bot's pose never arrived")]
    if headless and not os.environ.get("DISPLAY"):
        # Offscreen drawing goes through GLX on an X display; asked to run headless, say so plainly.
        return [*checks, Check("render", WARN, NO_DISPLAY_RENDER)]
    return [*checks, _render(bot, headset.pose.position, frame)]


def _joined(headset: Headset, elapsed: float) -> tuple[Check, Any]:
    """What the headset got from the bot: its roster entry, its pose stream, its voice."""
    bot = next(iter(headset.room_state), None)
    if bot is None:
        return Check("join", FAIL, "joined, but the bot never showed up in the room"), None
    audio = headset.view.remote_audio_reports().get(bot.id, {})
    packets = int(audio.get("packets_received", 0))
    states = bot.states_received
    detail = f"saw {bot.name}: {states} pose states and {packets} voice packets in {elapsed:.1f} s"
    if bot.pose is None or bot.states_received == 0:
        return Check("join", FAIL, f"{detail}; no pose arrived over the data channel"), None
    if packets == 0:
        return Check("join", FAIL, f"{detail}; no voice arrived over WebRTC"), bot
    return Check("join", PASS, detail), bot


def _render(bot: Any, eye: Vec3, frame: Path | None) -> Check:
    """Draw the bot as the headset last saw it, then count the pixels its avatar changed."""
    if missing_app_modules():
        return Check("render", WARN, f"skipped: OpenGL rendering needs the [app] extra: {APP_HINT}")
    import numpy as np

    from emulator.render.avatar_gen import load_default_avatar
    from emulator.render.camera import Camera, look_at
    from emulator.render.errors import RenderUnavailableError
    from emulator.render.png import write_png
    from emulator.render.scene import Scene

    pose: Pose = bot.pose
    scene = Scene(delay_us=0)
    scene.add(bot.id, load_default_avatar(), bot.name)
    scene.update(bot.id, pose, bot.face.weights, time_us=0)
    # Look straight at the bot, wherever its walk took it: the check is the drawing, not the aim.
    camera = Camera(look_at(eye, pose.position), 45.0)
    try:
        from emulator.render.offscreen import OffscreenRenderer

        with OffscreenRenderer(320, 240, labels=False) as renderer:
            empty = renderer.render([], [camera])
            image = renderer.render(scene.frame(0), [camera])
            from OpenGL import GL

            gl = GL.glGetString(GL.GL_RENDERER)
    except RenderUnavailableError as error:
        return Check("render", FAIL, f"cannot draw with OpenGL: {error}")
    changed = np.any(np.abs(image.astype(np.int16) - empty.astype(np.int16)) > 24, axis=2)
    share = float(changed.mean())
    if frame is not None:
        try:
            write_png(frame, image)
        except OSError as error:
            return Check("render", FAIL, f"drew the frame but cannot write {frame}: {error.strerror}")
    renderer_name = gl.decode(errors="replace") if isinstance(gl, bytes) else str(gl)
    distance = math.dist((eye.x, eye.y, eye.z), (pose.position.x, pose.position.y, pose.position.z))
    detail = f"{renderer_name}: {bot.name}'s avatar {distance:.1f} m away covers {share:.1%} of the frame"
    if share < MIN_AVATAR_SHARE:
        return Check("render", FAIL, f"{detail}; expected at least {MIN_AVATAR_SHARE:.1%}")
    return Check("render", PASS, detail)


def _window() -> Check:
    """Run `demo --bots 0` briefly in a child: the window opens, draws a frame, joins a local room."""
    if missing_app_modules():
        return Check("window", WARN, f"skipped: the window needs the [app] extra: {APP_HINT}")
    command = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "emulator"]
    with tempfile.TemporaryDirectory(prefix="headset-emulator-self-test-") as tmp:
        argv = [*command, "demo", "--bots", "0", "--quit-after", "2", "--settings", str(Path(tmp) / "s.ini")]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=WINDOW_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            return Check("window", FAIL, f"the app's window did not close within {WINDOW_TIMEOUT_S:.0f} s")
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    first = next((line for line in lines if line.startswith("first frame")), None)
    if done.returncode != 0 or first is None:
        why = lines[-1] if lines else f"exit code {done.returncode}"
        return Check("window", FAIL, f"the app could not open its window: {why}")
    return Check("window", PASS, f"the app opened its window and joined a local room ({first})")
