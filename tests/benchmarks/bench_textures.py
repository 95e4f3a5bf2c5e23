"""What materials cost on llvmpipe: the same heads untextured and with 10 texture layers each, at
1280×720, with numpy morphing in one batched draw (the default) and with GPU morphing.

The textured heads are the default head with spherical UVs and ten 512×512 layers, one per band of
the mesh (`tests/support/textured.textured_copy`), so every pixel of every head samples a texture.
Each case runs in the same process, alternating, best of three rounds: load hits all alike.
"""

from __future__ import annotations

import os

from emulator.render.avatar_gen import load_default_avatar, variant_for
from emulator.render.offscreen import OffscreenRenderer
from tests.benchmarks.bench_render import HEIGHT, WIDTH, _fps, _poses, _with_display
from tests.benchmarks.report import Section
from tests.support.textured import textured_copy

COUNTS = (8, 16)
ROUNDS = 3
LAYERS = 10


def run() -> list[Section]:
    xvfb, display = _with_display()
    os.environ["DISPLAY"] = display
    try:
        plain = [load_default_avatar(variant_for(i)) for i in range(4)]
        textured = [textured_copy(a, layers=LAYERS) for a in plain]
        cpu_ms: dict[tuple[str, str, int], float] = {}
        renderers = {mode: OffscreenRenderer(WIDTH, HEIGHT, samples=0, morph=mode) for mode in ("cpu", "gpu")}
        try:
            for count in COUNTS:
                for _ in range(ROUNDS):
                    for kind, heads in (("untextured", plain), ("textured", textured)):
                        for mode, renderer in renderers.items():
                            avatars = [heads[i % 4] for i in range(count)]
                            _, ms = _fps(renderer, avatars, _poses(count))
                            key = (kind, mode, count)
                            cpu_ms[key] = min(ms, cpu_ms.get(key, 1e9))
        finally:
            for renderer in renderers.values():
                renderer.close()
        rows = []
        for count in COUNTS:
            cpu_u, cpu_t = cpu_ms[("untextured", "cpu", count)], cpu_ms[("textured", "cpu", count)]
            gpu_u, gpu_t = cpu_ms[("untextured", "gpu", count)], cpu_ms[("textured", "gpu", count)]
            rows.append(
                [
                    str(count),
                    f"{cpu_u:.1f}",
                    f"{cpu_t:.1f}",
                    f"{cpu_t / cpu_u:.2f}",
                    f"{gpu_u:.1f}",
                    f"{gpu_t:.1f}",
                ]
            )
        return [
            Section(
                title=f"Textured avatars, {WIDTH}x{HEIGHT}, Mesa llvmpipe (CPU ms per frame)",
                columns=[
                    "avatars",
                    "CPU morphing: untextured",
                    "CPU morphing: textured",
                    "textured / untextured",
                    "GPU morphing: untextured",
                    "GPU morphing: textured",
                ],
                rows=rows,
                notes=[
                    f"default head ({plain[0].vertex_count} vertices), 4 colour variants; textured: "
                    f"{LAYERS} layers of 512x512 per variant, all in one texture array, every pixel sampled "
                    "(bilinear, nearest mip level)",
                    "CPU ms/frame is process CPU time (Python plus llvmpipe's threads) per frame; the "
                    "cases alternate in one process, best of three",
                ],
            )
        ]
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
