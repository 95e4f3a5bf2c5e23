"""`headset-emulator snapshot`: render one avatar offscreen to a PNG, for thumbnails and QA image tests.

The viewer is a headset at eye height 1.6 m at the origin looking down -z (OpenXR); the avatar stands
`--distance` m ahead, facing the viewer, turned by `--yaw` degrees (positive turns it to its own left).
Needs an X display with GLX (e.g. `xvfb-run headset-emulator snapshot …`).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from emulator.cli.common import CommandError
from emulator.cli.extras import require_app
from emulator.cli.vocab import add_out_argument
from emulator.model.errors import ModelError
from emulator.model.face import Face
from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.profiles import load_profile
from emulator.render.camera import Camera, headset_eyes, orbit_camera
from emulator.render.faces import VISEME_NAMES, viseme_index, visemes_from_mapping
from emulator.render.png import write_png
from emulator.render.variants import VARIANTS

EYE_HEIGHT_M = 1.6


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("snapshot", help="render one avatar offscreen to a PNG")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--avatar", type=Path, help="a .glb, .gltf or .vrm avatar (default: the bundled bust)"
    )
    source.add_argument("--variant", choices=list(VARIANTS), default="default", help="bundled avatar colours")
    parser.add_argument("--face", default="", help="ARKit weights, e.g. jawOpen=1,eyeBlinkLeft=0.5")
    parser.add_argument(
        "--visemes", default="", help="viseme weights, e.g. viseme_aa=1 (avatars with visemes)"
    )
    parser.add_argument("--yaw", type=float, default=0.0, help="avatar turn in degrees, positive to its left")
    parser.add_argument("--pitch", type=float, default=0.0, help="avatar nod in degrees, positive looks up")
    parser.add_argument("--distance", type=float, default=0.6, help="metres from the viewer (default 0.6)")
    parser.add_argument("--size", default="640x480", help="WIDTHxHEIGHT in pixels (default 640x480)")
    parser.add_argument(
        "--profile", default="visionpro", help="device profile of the viewer (field of view, IPD)"
    )
    parser.add_argument(
        "--fov", type=float, default=None, help="horizontal field of view (default: the profile's)"
    )
    parser.add_argument("--stereo", action="store_true", help="side by side left and right eye, with the IPD")
    parser.add_argument(
        "--observer", type=float, default=None, metavar="AZIMUTH", help="orbit camera instead"
    )
    parser.add_argument("--name", default="", help="name label over the avatar (default: none)")
    parser.add_argument("--speaking", type=float, default=0.0, help="speaking level 0..1 for the indicator")
    add_out_argument(parser, "PNG file to write", required=True)
    parser.set_defaults(handler=run)


def _weights(text: str, what: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        try:
            values[name.strip()] = float(value) if sep else 1.0
        except ValueError:
            raise CommandError(f"--{what}: {part!r} is not NAME=NUMBER") from None
    return values


def _size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    try:
        w, h = int(width), int(height)
    except ValueError:
        raise CommandError(f"--size: expected WIDTHxHEIGHT, got {text!r}") from None
    if not sep or not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise CommandError(f"--size: expected WIDTHxHEIGHT between 16 and 8192, got {text!r}")
    return w, h


def run(args: argparse.Namespace) -> int:
    require_app("OpenGL rendering")
    from emulator.render.avatar import load_avatar
    from emulator.render.avatar_gen import load_default_avatar
    from emulator.render.errors import AvatarError, RenderUnavailableError

    width, height = _size(args.size)
    try:
        face = Face.from_mapping(_weights(args.face, "face"), strict=True)
        profile = load_profile(args.profile)
    except ModelError as error:
        raise CommandError(str(error)) from None
    viseme_values = _weights(args.visemes, "visemes")
    unknown = [n for n in viseme_values if viseme_index(n) is None]
    if unknown:
        raise CommandError(f"--visemes: unknown {', '.join(unknown)}; known: {', '.join(VISEME_NAMES)}")
    if not args.distance > 0:
        raise CommandError("--distance must be positive")
    try:
        avatar = load_default_avatar(args.variant) if args.avatar is None else load_avatar(args.avatar)
    except AvatarError as error:
        raise CommandError(str(error)) from None
    if avatar.missing_arkit and args.face:
        asked = [n for n in face.as_dict(nonzero_only=True) if n in avatar.missing_arkit]
        if asked:
            print(f"note: {avatar.name} has no target for {', '.join(asked)}")

    from emulator.render.scene import Scene

    head = Pose(
        Vec3(0.0, EYE_HEIGHT_M, -args.distance),
        Quat.from_euler(math.radians(180.0 + args.yaw), math.radians(args.pitch)),
    )
    scene = Scene(delay_us=0)
    scene.add("avatar", avatar, name=args.name or "avatar")
    scene.update("avatar", head, face.weights, visemes_from_mapping(viseme_values), time_us=0)
    scene.set_speaking("avatar", args.speaking)
    items = scene.frame(0)
    fov = args.fov or profile.fov_horizontal_deg
    viewer = Pose(Vec3(0.0, EYE_HEIGHT_M, 0.0))
    cameras: list[Camera]
    if args.observer is not None:
        cameras = [orbit_camera(head.position, args.distance * 2.5, args.observer, 15.0, fov)]
    else:
        cameras = [Camera(c.eye, fov) for c in headset_eyes(viewer, profile, stereo=args.stereo)]
    try:
        from emulator.render.offscreen import OffscreenRenderer

        with OffscreenRenderer(width, height, labels=bool(args.name)) as renderer:
            image = renderer.render(items, cameras)
    except RenderUnavailableError as error:
        raise CommandError(f"cannot render: {error}") from None
    try:
        write_png(args.out, image)
    except OSError as error:
        raise CommandError(f"cannot write {args.out}: {error.strerror}") from None
    print(f"wrote {args.out} ({width}x{height})")
    return 0
