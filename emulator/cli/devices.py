"""`headset-emulator devices`: the sound cards `--input` and `--output` can name."""

from __future__ import annotations

import argparse
from typing import Any

from emulator.audio.devices import list_devices, portaudio_problem


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("devices", help="list audio input and output devices")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    devices = list_devices()
    for kind in ("input", "output"):
        print(f"{kind}s:")
        usable = [d for d in devices if d.channels(kind) > 0]
        for d in usable:
            mark = "*" if (d.default_input if kind == "input" else d.default_output) else " "
            details = f"{d.host_api}, {d.channels(kind)} ch, {d.default_sample_rate:g} Hz"
            print(f" {mark}{d.index:3} {d.name} ({details})")
        if not usable:
            print(f"   none ({portaudio_problem() or 'PortAudio found no ' + kind + ' device'})")
    print("also: 'silent' (both), 'wav:FILE' (--output records the binaural mix); * marks the default")
    return 0
