"""Frames per second of the avatar renderer at 1280×720 on this machine's llvmpipe, GPU vs CPU morphing.

Every avatar gets new face weights every frame (a few mouth, eye and brow shapes moving on sines), so
morphing really runs each frame; the time includes building the draw list and `glFinish`, not a
readback. Both morph modes run in the same process on the same scene, alternating, best of three rounds each.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from emulator.model.face import ARKIT_COUNT, arkit_index
from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.profiles import load_profile
from emulator.render.avatar_gen import load_default_avatar, variant_for
from emulator.render.camera import headset_eyes, pose_matrix
from emulator.render.morph import blend
from emulator.render.offscreen import OffscreenRenderer
from emulator.render.scene import TINTS, DrawItem
from tests.benchmarks.report import Section

WIDTH, HEIGHT = 1280, 720
COUNTS = (1, 8, 16, 32)
SECONDS_PER_CASE = 1.0
ROUNDS = 3  # GPU and CPU alternate, best of three each: other processes' load hits both alike
MOVING = [
    arkit_index(n)
    for n in ("jawOpen", "mouthSmileLeft", "eyeBlinkLeft", "eyeBlinkRight", "browInnerUp", "mouthFunnel")
]


def _poses(count: int) -> list[Pose]:
    """Avatars on arcs 1.5–4 m ahead, all inside a Vision Pro's field of view, facing the viewer."""
    out = []
    for i in range(count):
        ring = i // 8
        angle = math.radians(-40 + 80 * ((i % 8) + 0.5 * (ring % 2)) / 8)
        distance = 1.5 + 0.8 * ring
        out.append(
            Pose(
                Vec3(distance * math.sin(angle), 1.6, -distance * math.cos(angle)),
                Quat.from_euler(math.pi - angle),
            )
        )
    return out


def _items(avatars: list, poses: list[Pose], frame: int) -> list[DrawItem]:
    items = []
    for i, (avatar, pose) in enumerate(zip(avatars, poses, strict=True)):
        face = np.zeros(ARKIT_COUNT, np.float32)
        for k, index in enumerate(MOVING):
            face[index] = 0.5 + 0.5 * math.sin(0.21 * frame + 0.7 * k + 1.3 * i)
        weights = avatar.targets.weights(face)
        items.append(
            DrawItem(str(i), avatar, pose_matrix(pose), pose, weights, TINTS[i % len(TINTS)], f"P{i}", 0.5)
        )
    return items


def _fps(renderer: OffscreenRenderer, avatars: list, poses: list[Pose]) -> tuple[float, float]:
    """(frames per second, CPU milliseconds per frame summed over all threads: llvmpipe's too)."""
    from OpenGL import GL

    cameras = headset_eyes(Pose(Vec3(0, 1.6, 0)), load_profile("visionpro"))
    renderer.context.make_current()
    renderer.framebuffer.bind()
    for frame in range(5):  # warm-up: uploads, shader compiles
        renderer.renderer.draw_views(_items(avatars, poses, frame), cameras, WIDTH, HEIGHT)
    GL.glFinish()
    frames, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < SECONDS_PER_CASE:
        renderer.renderer.draw_views(_items(avatars, poses, frames), cameras, WIDTH, HEIGHT)
        GL.glFinish()
        frames += 1
    return frames / (time.perf_counter() - start), (time.process_time() - cpu) / frames * 1000


def _blend_ms(avatar) -> float:
    weights = np.zeros(len(avatar.target_names), np.float32)
    weights[:6] = 0.5
    out = np.empty_like(avatar.positions)
    start, n = time.perf_counter(), 200
    for _ in range(n):
        blend(avatar.positions, avatar.deltas, weights, out=out)
    return (time.perf_counter() - start) / n * 1000


def _with_display() -> tuple[subprocess.Popen[bytes] | None, str]:
    if os.environ.get("DISPLAY"):
        return None, os.environ["DISPLAY"]
    if shutil.which("Xvfb") is None:
        raise RuntimeError("bench_render needs DISPLAY or Xvfb")
    number = next(n for n in range(150, 250) if not Path(f"/tmp/.X{n}-lock").exists())
    process = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1920x1080x24", "-nolisten", "tcp"], start_new_session=True
    )
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{number}").exists():
            break
        time.sleep(0.05)
    return process, f":{number}"


def run() -> list[Section]:
    xvfb, display = _with_display()
    os.environ["DISPLAY"] = display
    try:
        avatars_all = [load_default_avatar(variant_for(i)) for i in range(4)]
        rows: list[list[str]] = []
        fps_by: dict[tuple[str, int], float] = {}
        cpu_by: dict[tuple[str, int], float] = {}
        renderers = {mode: OffscreenRenderer(WIDTH, HEIGHT, samples=0, morph=mode) for mode in ("gpu", "cpu")}
        try:
            for count in COUNTS:
                avatars = [avatars_all[i % 4] for i in range(count)]
                for _ in range(ROUNDS):
                    for mode, renderer in renderers.items():
                        fps, cpu_ms = _fps(renderer, avatars, _poses(count))
                        fps_by[(mode, count)] = max(fps, fps_by.get((mode, count), 0.0))
                        cpu_by[(mode, count)] = min(cpu_ms, cpu_by.get((mode, count), 1e9))
        finally:
            for renderer in renderers.values():
                renderer.close()
        for count in COUNTS:
            gpu, cpu = fps_by[("gpu", count)], fps_by[("cpu", count)]
            rows.append(
                [
                    str(count),
                    f"{gpu:.1f}",
                    f"{cpu:.1f}",
                    f"{gpu / cpu:.2f}",
                    f"{cpu_by[('gpu', count)]:.1f}",
                    f"{cpu_by[('cpu', count)]:.1f}",
                    "yes" if max(gpu, cpu) >= 90 else "no",
                ]
            )
        vertices = avatars_all[0].vertex_count
        return [
            Section(
                title=f"Avatar rendering, {WIDTH}x{HEIGHT}, Mesa llvmpipe (frames per second)",
                columns=[
                    "avatars",
                    "GPU morphing fps",
                    "CPU (numpy, batched) fps",
                    "GPU / CPU",
                    "GPU: CPU ms/frame",
                    "CPU: CPU ms/frame",
                    ">= 90 fps",
                ],
                rows=rows,
                notes=[
                    f"default head: {vertices} vertices, {len(avatars_all[0].indices) // 3} triangles, "
                    "52 targets, drawn at a coarser level of detail when small on screen (lod.py); 6 targets "
                    "change on every avatar every frame; background, labels and speaking bars on; no MSAA",
                    f"numpy blend of 6 active targets alone: {_blend_ms(avatars_all[0]):.2f} ms per avatar",
                    "llvmpipe renders on the CPU: on this 2-core machine shared with other engineers' "
                    "test runs the fps move with their load; compare the columns of one run, not runs",
                    "CPU ms/frame is process CPU time (Python plus llvmpipe's threads) per frame, the least "
                    "load-sensitive figure: 2 idle cores could at best give 2000 / that many fps",
                ],
            )
        ]
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
