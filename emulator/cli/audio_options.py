"""The audio options every subcommand that makes sound shares: `--hrtf`, `--input`, `--output`.

A subcommand calls `add_audio_arguments(parser)` and then `hrtf_from_args`, `input_from_args` and
`output_from_args`; problems come back as `CommandError`s, one line each.
"""

from __future__ import annotations

import argparse

from emulator.audio.backends import AudioOutput
from emulator.audio.devices import DeviceError, open_input, open_output
from emulator.audio.hrtf import HrtfError, HrtfSet, load_hrtf
from emulator.audio.source import AudioSource
from emulator.cli.common import CommandError


def add_audio_arguments(parser: argparse.ArgumentParser, *, microphone: bool = True) -> None:
    group = parser.add_argument_group("audio")
    group.add_argument(
        "--hrtf",
        metavar="FILE.sofa",
        help="a SOFA SimpleFreeFieldHRIR file (default: the bundled MIT KEMAR set)",
    )
    group.add_argument(
        "--hrtf-mirror", action="store_true", help="swap the HRTF's left and right ears (a mirrored file)"
    )
    if microphone:
        group.add_argument(
            "--input",
            metavar="DEVICE",
            default="default",
            help="microphone: index, name, 'default' or 'silent'",
        )
    group.add_argument(
        "--output",
        metavar="DEVICE",
        default="default",
        help="binaural mix: index, name, 'default', 'silent' or wav:FILE (see `headset-emulator devices`)",
    )


def hrtf_from_args(args: argparse.Namespace) -> HrtfSet:
    try:
        return load_hrtf(getattr(args, "hrtf", None), mirror=getattr(args, "hrtf_mirror", False))
    except HrtfError as error:
        raise CommandError(f"--hrtf: {error}") from None


def output_from_args(args: argparse.Namespace) -> AudioOutput:
    try:
        return open_output(getattr(args, "output", None))
    except DeviceError as error:
        raise CommandError(f"--output: {error}") from None


def input_from_args(args: argparse.Namespace) -> AudioSource:
    try:
        return open_input(getattr(args, "input", None))
    except DeviceError as error:
        raise CommandError(f"--input: {error}") from None
