"""Binaural rendering cost: the batched renderer beside a naive per-source fftconvolve, in one run.

Every source moves (orbits the listener at its own radius, height and speed) and the listener turns,
so each block needs new filters, crossfades included: the worst case for the batched renderer. The
naive baseline convolves each source's block with its nearest measured HRIR pair, one
`scipy.signal.fftconvolve` per ear, and overlap-adds the tails; it neither interpolates nor
crossfades, so it does less work per source than the renderer and still loses.

CPU time is this process's (`time.process_time`) over the rendered audio's duration: % of one core.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
from scipy.signal import fftconvolve
from scipy.spatial import cKDTree

from emulator.audio.geometry import head_frame_points, unit_directions
from emulator.audio.hrtf import load_kemar
from emulator.audio.renderer import BinauralRenderer
from emulator.model.pose import Pose, Quat, Vec3
from tests.benchmarks.report import Section

RATE = 48_000
BLOCK = 480
SECONDS = 2.0
REPEATS = 3
COUNTS = (1, 8, 32, 64)


def positions(count: int, block: int) -> list[Vec3]:
    t = block * BLOCK / RATE
    out = []
    for i in range(count):
        radius = 1.0 + (i % 5) * 0.5
        angle = 0.7 * i + (0.3 + 0.1 * (i % 7)) * t * 2 * math.pi  # 0.3-0.9 turns a second
        out.append(Vec3(radius * math.cos(angle), 0.4 * math.sin(angle * 0.5 + i), radius * math.sin(angle)))
    return out


def listener(block: int) -> Pose:
    return Pose(Vec3(), Quat.from_yaw_degrees(90.0 * block * BLOCK / RATE))  # turning 90°/s


class NaiveRenderer:
    """One fftconvolve per source and ear, nearest measured direction, overlap-add."""

    def __init__(self) -> None:
        self.hrtf = load_kemar()
        self.hrir = self.hrtf.hrir[:, :, :BLOCK].astype(np.float64)
        self.tree = cKDTree(self.hrtf.unit_vectors())
        self.tails: dict[int, np.ndarray] = {}

    def render(self, pose: Pose, where: list[Vec3], blocks: list[np.ndarray]) -> np.ndarray:
        points = np.array([p.as_tuple() for p in where])
        units, distance = unit_directions(head_frame_points(pose, points))
        out = np.zeros((BLOCK, 2))
        for i, (unit, block) in enumerate(zip(units, blocks, strict=True)):
            _, nearest = self.tree.query(unit)
            gain = 0.3 / max(float(distance[i]), 0.3)
            tail = self.tails.get(i, np.zeros((BLOCK - 1, 2)))
            full = np.stack([fftconvolve(block * gain, self.hrir[nearest, ear]) for ear in range(2)], axis=1)
            full[: BLOCK - 1] += tail
            out += full[:BLOCK]
            self.tails[i] = full[BLOCK:]
        return out.astype(np.float32)


def cpu_share(run_block: Callable[[int], None], blocks: int) -> float:
    best = math.inf
    for _ in range(REPEATS):
        start = time.process_time()
        for b in range(blocks):
            run_block(b)
        best = min(best, time.process_time() - start)
    return 100.0 * best / (blocks * BLOCK / RATE)


def measure(count: int) -> tuple[float, float, float]:
    blocks = int(SECONDS * RATE / BLOCK)
    rng = np.random.default_rng(count)
    audio = [rng.standard_normal(BLOCK).astype(np.float32) * 0.1 for _ in range(count)]
    signals = dict(enumerate(audio))

    moving = BinauralRenderer()
    for i, p in enumerate(positions(count, 0)):
        moving.set_source(i, p)

    def batched(b: int) -> None:
        moving.set_listener(listener(b))
        for i, p in enumerate(positions(count, b)):
            moving.set_source(i, p)
        moving.render(signals)

    still = BinauralRenderer()
    for i, p in enumerate(positions(count, 0)):
        still.set_source(i, p)

    def batched_still(_b: int) -> None:
        still.render(signals)

    naive = NaiveRenderer()

    def baseline(b: int) -> None:
        naive.render(listener(b), positions(count, b), audio)

    return cpu_share(batched, blocks), cpu_share(batched_still, blocks), cpu_share(baseline, blocks)


def run() -> list[Section]:
    rows = []
    for count in COUNTS:
        moving, still, naive = measure(count)
        rows.append(
            [str(count), f"{moving:.1f}%", f"{still:.1f}%", f"{naive:.1f}%", f"{naive / moving:.1f}x"]
        )
    notes = [
        f"KEMAR set, 48 kHz, {BLOCK}-sample (10 ms) blocks, {SECONDS:g} s of audio per figure, best of "
        f"{REPEATS}; % of one core = CPU seconds / audio seconds.",
        "Moving: every source orbits and the listener turns 90°/s, so every source gets new filters "
        "and a crossfade every block (positions set through the public API each block).",
        "Goal (issue 4): 64 moving sources in at most 10% of one core.",
        "The naive baseline uses the nearest measured direction, no interpolation, no crossfade.",
    ]
    return [
        Section(
            "Binaural rendering: batched overlap-save vs naive per-source fftconvolve",
            ["sources", "batched, moving", "batched, still", "naive fftconvolve", "naive / batched"],
            rows,
            notes,
        )
    ]
