"""`headset-emulator profiles`: the device profiles this build knows."""

from __future__ import annotations

import argparse
from typing import Any

from emulator.cli.common import CommandError
from emulator.model.errors import ModelError
from emulator.model.profiles import load_profiles


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("profiles", help="list the device profiles")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        profiles = load_profiles()
    except ModelError as error:
        raise CommandError(str(error)) from None
    for key, profile in profiles.items():
        eye_w, eye_h = profile.eye_pixels
        rates = "/".join(str(r) for r in profile.refresh_rates_hz)
        print(
            f"{key:10} {profile.name:18} {eye_w}x{eye_h} per eye, {rates} Hz, "
            f"FOV {profile.fov_horizontal_deg:.0f}x{profile.fov_vertical_deg:.0f} deg, "
            f"pose {profile.pose_rate_hz} Hz, face {profile.face_rate_hz} Hz ({profile.face_set})"
        )
    return 0
