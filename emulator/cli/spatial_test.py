"""`headset-emulator spatial-test`: hear (or record) a sound circling your head with an HRTF.

The quickest check that an HRTF file, an output device and your ears agree: a voice-like noise
starts straight ahead, 1.5 m away, and walks once round the listener counterclockwise seen from
above (so it passes your left ear first, then behind you, then your right ear).
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np

from emulator.audio.renderer import MAX_BLOCK, BinauralRenderer
from emulator.audio.source import SAMPLE_RATE
from emulator.cli.audio_options import add_audio_arguments, hrtf_from_args, output_from_args
from emulator.cli.common import CommandError
from emulator.cli.vocab import seconds
from emulator.model.pose import Vec3

RADIUS_M = 1.5
AHEAD_S = 0.08  # how far playback may be queued ahead of the sound card


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "spatial-test", help="play a sound circling your head (checks --hrtf and --output)"
    )
    parser.add_argument("--seconds", type=seconds, default=8.0, help="time for one circle (default 8s)")
    add_audio_arguments(parser, microphone=False)
    parser.set_defaults(handler=run)


def voice_like_noise(frames: int, seed: int = 1) -> np.ndarray:
    """Pink-ish noise with a 4 Hz syllable rhythm: broadband enough to localise, pleasant enough to hear."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(frames))
    freqs = np.fft.rfftfreq(frames, 1 / SAMPLE_RATE)
    spectrum /= np.sqrt(np.maximum(freqs, 100.0))
    noise = np.fft.irfft(spectrum, n=frames)
    noise *= 0.25 / np.max(np.abs(noise))
    t = np.arange(frames) / SAMPLE_RATE
    return (noise * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)


def run(args: argparse.Namespace) -> int:
    if not 0.5 <= args.seconds <= 600:
        raise CommandError(f"--seconds must be between 0.5 and 600, got {args.seconds}")
    hrtf = hrtf_from_args(args)
    output = output_from_args(args)
    renderer = BinauralRenderer(hrtf, MAX_BLOCK, min_distance_m=RADIUS_M)
    blocks = int(args.seconds * SAMPLE_RATE / MAX_BLOCK)
    sound = voice_like_noise(blocks * MAX_BLOCK)
    print(f"HRTF: {hrtf.name}; output: {output.name}; one circle in {args.seconds:g} s")
    try:
        for b in range(blocks):
            angle = 2 * math.pi * b / blocks  # counterclockwise from straight ahead (-z) towards the left
            renderer.set_source("noise", Vec3(-RADIUS_M * math.sin(angle), 0.0, -RADIUS_M * math.cos(angle)))
            mix = renderer.render({"noise": sound[b * MAX_BLOCK : (b + 1) * MAX_BLOCK]})
            while output.queued_frames() > AHEAD_S * SAMPLE_RATE:
                time.sleep(0.005)
            output.write(mix)
        while output.queued_frames() > 0:
            time.sleep(0.01)
    finally:
        output.close()
    return 0
