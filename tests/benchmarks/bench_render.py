"""Frames per second of the avatar renderer at 1280×720 on this machine's llvmpipe.

Two tables. GPU vs CPU morphing of the default avatar. Then skinned "RPM-class" avatars (generated:
~17k vertices, 12 base colour textures, 70 targets, a Mixamo skeleton with fingers) against today's
heads in the same run, both driven through the Scene as the app drives it: every frame each avatar
gets new face weights and a head yaw that swings (so posing and skinning run), and every other skinned
avatar waves a received hand. The time includes building the draw list and `glFinish`, not a readback.
Cases alternate within the process, best of three rounds each; the goal's ratio is the median of
`GOAL_PAIRS` back-to-back pairs. Issue 19's goal is a ratio to *the old heads*: the default avatar
before the textured, skinned work (a head without body or skeleton, read from git at OLD_HEAD_COMMIT),
drawn by today's code in the same run.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from emulator.model.face import ARKIT_COUNT, arkit_index
from emulator.model.hands import HandPose, HandSide, hand_pose
from emulator.model.pose import Pose, Quat, Vec3
from emulator.model.profiles import load_profile
from emulator.render.anim_lod import FAR_RATE_BELOW_PX, FINGERS_BELOW_PX
from emulator.render.avatar import Avatar, load_avatar
from emulator.render.avatar_gen import load_default_avatar, variant_for
from emulator.render.batch import Features
from emulator.render.camera import headset_eyes, pose_matrix
from emulator.render.flat import FLAT_BELOW_PX
from emulator.render.lod import HEAD_HEIGHT_M
from emulator.render.morph import blend
from emulator.render.offscreen import OffscreenRenderer
from emulator.render.posing import pose_skeleton
from emulator.render.scene import TINTS, DrawItem, Scene
from emulator.render.skinning import skin
from tests.benchmarks.report import Section
from tests.support.skinned import RPM_CLASS_DETAIL, RPM_HALF_BODY_DETAIL, write_skinned_avatar

WIDTH, HEIGHT = 1280, 720
COUNTS = (1, 8, 16, 32)
RPM_COUNTS = (1, 4, 8, 16)
HEAD_COUNTS = (8, 16)  # the default avatar beside them, for the ratio
GOAL_RATIO = 1.5  # issue 19: 8 (16) RPM-class avatars cost at most 1.5x the CPU ms of 8 (16) old heads
OLD_HEAD_COMMIT = "029528c"  # the last commit whose assets/avatars/default.glb was the untextured head
SECONDS_PER_CASE = 1.0
ROUNDS = 3  # GPU and CPU alternate, best of three each: other processes' load hits both alike
# The goal's ratio from back-to-back pairs (old heads, then half bodies, or the reverse), the median of
# this many: best-of-3 columns taken seconds apart moved the ratio by ±0.1 between runs on this host.
GOAL_PAIRS = 9
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
    return _measure(renderer, lambda frame: _items(avatars, poses, frame))


def _measure(renderer: OffscreenRenderer, items_at: Callable[[int], list[DrawItem]]) -> tuple[float, float]:
    """(frames per second, CPU milliseconds per frame summed over all threads: llvmpipe's too)."""
    from OpenGL import GL

    cameras = headset_eyes(Pose(Vec3(0, 1.6, 0)), load_profile("visionpro"))
    renderer.context.make_current()
    renderer.framebuffer.bind()
    for frame in range(5):  # warm-up: uploads, shader compiles, levels of detail
        renderer.renderer.draw_views(items_at(frame), cameras, WIDTH, HEIGHT)
    GL.glFinish()
    frames, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < SECONDS_PER_CASE:
        renderer.renderer.draw_views(items_at(frames + 5), cameras, WIDTH, HEIGHT)
        GL.glFinish()
        frames += 1
    return frames / (time.perf_counter() - start), (time.process_time() - cpu) / frames * 1000


def _covered(renderer: OffscreenRenderer, items: list[DrawItem]) -> int:
    """Pixels the avatars cover in the view (against the empty scene)."""
    cameras = headset_eyes(Pose(Vec3(0, 1.6, 0)), load_profile("visionpro"))
    empty = renderer.render([], cameras).astype(np.int32)
    drawn = renderer.render(items, cameras).astype(np.int32)
    return int((np.abs(drawn - empty).max(axis=-1) > 8).sum())


def _waves(pose: Pose, count: int = 16) -> list[HandPose]:
    """A cycle of received left hands waving beside the head of an avatar at `pose`."""
    out = []
    for k in range(count):
        swing = math.sin(2 * math.pi * k / count)
        local = Pose(
            Vec3(-0.35 + 0.08 * swing, 0.12, -0.05), Quat.from_euler(0.0, math.radians(80), 0.4 * swing)
        )
        out.append(hand_pose(HandSide.LEFT, pose.compose(local), curl=0.1))
    return out


class _Driven:
    """A Scene of `avatars` at `poses`, fed a new state per avatar per frame, as the app feeds it."""

    def __init__(
        self,
        avatars: list[Avatar],
        poses: list[Pose],
        hands: bool,
        sizes: Callable[[], Mapping[str, float]] | None = None,
    ) -> None:
        self.scene = Scene(delay_us=0)
        self.poses = poses
        self.sizes = sizes  # whose head sizes the scene poses by (anim_lod.py); None: all posed fully
        for i, avatar in enumerate(avatars):
            self.scene.add(str(i), avatar, name=f"P{i}", tint=TINTS[i % len(TINTS)])
        self.hands = [_waves(p) if hands and i % 2 == 0 else None for i, p in enumerate(poses)]

    def items(self, frame: int) -> list[DrawItem]:
        now = frame * 11_111  # 90 Hz
        for i, pose in enumerate(self.poses):
            face = np.zeros(ARKIT_COUNT, np.float32)
            for k, index in enumerate(MOVING):
                face[index] = 0.5 + 0.5 * math.sin(0.21 * frame + 0.7 * k + 1.3 * i)
            turn = Quat.from_euler(math.radians(25) * math.sin(0.05 * frame + i))
            hands = self.hands[i]
            left = hands[frame % len(hands)] if hands is not None else None
            state = Pose(pose.position, pose.orientation * turn)
            self.scene.update(str(i), state, face, time_us=now, left_hand=left)
        return self.scene.frame(now, None if self.sizes is None else self.sizes())


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
        skinned = _skinned_section(avatars_all)
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
                    f"default avatar: {vertices} vertices, {len(avatars_all[0].indices) // 3} triangles, "
                    f"{len(avatars_all[0].target_names)} targets, drawn at a coarser level of detail when small on screen (lod.py); 6 targets "
                    "change on every avatar every frame; background, labels and speaking bars on; no MSAA",
                    f"numpy blend of 6 active targets alone: {_blend_ms(avatars_all[0]):.2f} ms per avatar",
                    "llvmpipe renders on the CPU: on this 2-core machine shared with other engineers' "
                    "test runs the fps move with their load; compare the columns of one run, not runs",
                    "CPU ms/frame is process CPU time (Python plus llvmpipe's threads) per frame, the least "
                    "load-sensitive figure: 2 idle cores could at best give 2000 / that many fps",
                ],
            ),
            skinned,
        ]
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)


def _paired_ratios(renderer: OffscreenRenderer, pools: Mapping[str, list[Avatar]], count: int) -> list[float]:
    """Half bodies' CPU ms over the old heads', each pair measured back to back (the order alternating),
    so a change in the machine's load between cases moves both sides of a ratio alike."""
    ratios = []
    for k in range(GOAL_PAIRS):
        ms = {}
        for kind in ("old", "half") if k % 2 == 0 else ("half", "old"):
            pool = pools[kind]
            driven = _Driven(
                [pool[i % 4] for i in range(count)],
                _poses(count),
                kind == "half",
                lambda: renderer.renderer.head_pixels,
            )
            ms[kind] = _measure(renderer, driven.items)[1]
        ratios.append(ms["half"] / ms["old"])
    return ratios


def _skin_ms(avatar: Avatar) -> float:
    """numpy posing plus skinning of one full-detail avatar, milliseconds."""
    assert avatar.skeleton is not None
    pose = Pose(Vec3(0, 1.6, 0), Quat.from_euler(0.3, 0.1))
    out, normals = np.empty_like(avatar.positions), np.empty_like(avatar.normals)
    start, n = time.perf_counter(), 100
    for _ in range(n):
        posed = pose_skeleton(avatar.skeleton, pose, 0.0)
        assert posed is not None
        skin(avatar, posed.skin, avatar.positions, avatar.normals, out, normals)
    return (time.perf_counter() - start) / n * 1000


def _scene_ms(pool: list[Avatar]) -> tuple[float, float]:
    """Process CPU ms per frame of driving the Scene (states in, posed items out) for 8 half bodies,
    every one posed fully vs by its size: medians of 15 alternating rounds, no GL, little noise."""
    by: dict[bool, list[float]] = {False: [], True: []}
    sizes = {str(i): _head_pixels(1.5) for i in range(8)}  # what the renderer reports for this view
    for _ in range(15):
        for lod in (False, True):
            driven = _Driven(
                [pool[i % 4] for i in range(8)], _poses(8), True, (lambda: sizes) if lod else None
            )
            for frame in range(4):
                driven.items(frame)
            start, n = time.process_time(), 60
            for frame in range(4, 4 + n):
                driven.items(frame)
            by[lod].append((time.process_time() - start) / n * 1000)
    return statistics.median(by[False]), statistics.median(by[True])


def _extra(cpu_by: dict[tuple[str, int], float], pixels: dict[str, int]) -> str:
    """Where 8 half bodies' CPU ms over 8 old heads go, from the same run's columns."""
    half, unposed, old = (cpu_by.get((kind, 8)) for kind in ("half", "unposed", "old"))
    if half is None or unposed is None or old is None:
        return "-"
    return (
        f"8 half bodies over 8 old heads: {half - old:.1f} ms, of which posing, skinning and the waved hands "
        f"(half body - unposed) {half - unposed:.1f} ms, more geometry and "
        f"{pixels['half'] / max(1, pixels['old']):.1f}x the pixels, textured "
        f"(unposed - old heads) {unposed - old:.1f} ms; the goal ({GOAL_RATIO}x) would need the half "
        f"bodies at {GOAL_RATIO * old:.1f} ms"
    )


def _every_feature(renderer: OffscreenRenderer) -> OffscreenRenderer:
    """`renderer` drawing its batch with every material feature compiled in and lit per pixel,
    whatever the batch uses."""
    inner = renderer.renderer
    compile_for = inner._cpu_program
    inner._cpu_program = lambda features: compile_for(Features(mask=True, emissive_map=True))  # type: ignore[method-assign]
    return renderer


def _head_pixels(distance: float) -> float:
    """How tall a head `distance` m ahead is in the bench's view, as the renderer reckons it."""
    camera = headset_eyes(Pose(Vec3(0, 1.6, 0)), load_profile("visionpro"))[0]
    return HEAD_HEIGHT_M * camera.pixels_per_metre(WIDTH / HEIGHT, HEIGHT) / distance


def _old_head(directory: Path) -> Path:
    """The old default head, written from git into `directory` (the bench runs in a checkout)."""
    path = directory / "old_head.glb"
    try:
        data = subprocess.run(
            ["git", "show", f"{OLD_HEAD_COMMIT}:assets/avatars/default.glb"],
            cwd=Path(__file__).parent,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise RuntimeError(
            f"bench_render needs the git history for the old heads ({OLD_HEAD_COMMIT}): {error}"
        ) from error
    path.write_bytes(data)
    return path


def _llvmpipe_threads() -> str:
    setting = os.environ.get("LP_NUM_THREADS")
    cores = os.cpu_count() or 1
    if setting is None:
        return f"LP_NUM_THREADS unset: llvmpipe starts one rasterizer thread per core, {cores} here"
    return f"LP_NUM_THREADS={setting} of {cores} cores"


def _skinned_section(heads: list[Avatar]) -> Section:
    """RPM-class skinned avatars beside the default avatar, one CPU-morphing renderer, same run."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        half = write_skinned_avatar(
            Path(directory) / "half.glb", detail=RPM_HALF_BODY_DETAIL, textures=True, legs=False
        )
        full = write_skinned_avatar(Path(directory) / "full.glb", detail=RPM_CLASS_DETAIL, textures=True)
        # Four people, four copies of each: nothing shared but the file.
        pools = {"half": [load_avatar(half) for _ in range(4)], "full": [load_avatar(full) for _ in range(4)]}
        pools["old"] = [load_avatar(_old_head(Path(directory))) for _ in range(4)]
    pools["head"] = heads
    pools["unposed"] = pools["half"]
    cases = [("half", n) for n in RPM_COUNTS]
    cases += [(k, n) for k in ("unposed", "full", "old", "head") for n in HEAD_COUNTS]
    cases += [("half every", 8), ("old every", 8)]  # the shader with every material feature compiled in
    cases += [("half posed", 8)]  # every avatar posed fully every frame: no animation level of detail
    fps_by: dict[tuple[str, int], float] = {}
    cpu_by: dict[tuple[str, int], float] = {}
    pixels: dict[str, int] = {}
    renderer = OffscreenRenderer(WIDTH, HEIGHT, samples=0, morph="cpu")
    every = _every_feature(OffscreenRenderer(WIDTH, HEIGHT, samples=0, morph="cpu"))
    try:
        for _ in range(ROUNDS):
            for kind, count in cases:
                pool = pools[kind.split()[0]]
                hands = kind.startswith("half")
                sizes = None if kind == "half posed" else (lambda: renderer.renderer.head_pixels)
                driven = _Driven([pool[i % 4] for i in range(count)], _poses(count), hands, sizes)
                items = driven.items
                if kind == "unposed":  # what the geometry and pixels alone cost: drawn in bind pose

                    def items(frame: int, driven: _Driven = driven) -> list[DrawItem]:
                        return [dataclasses.replace(item, skin=None) for item in driven.items(frame)]

                fps, cpu_ms = _measure(every if kind.endswith("every") else renderer, items)
                if count == 8 and kind in ("half", "head", "old") and kind not in pixels:
                    pixels[kind] = _covered(renderer, items(100_000))  # later than any measured frame
                fps_by[(kind, count)] = max(fps, fps_by.get((kind, count), 0.0))
                cpu_by[(kind, count)] = min(cpu_ms, cpu_by.get((kind, count), 1e9))
        paired = {count: _paired_ratios(renderer, pools, count) for count in HEAD_COUNTS}
    finally:
        renderer.close()
        every.close()

    def cell(kind: str, count: int, value: dict[tuple[str, int], float]) -> str:
        return f"{value[(kind, count)]:.1f}" if (kind, count) in value else "-"

    def ratio(kind: str, count: int, of: str) -> str:
        if (kind, count) not in cpu_by or (of, count) not in cpu_by:
            return "-"
        return f"{cpu_by[(kind, count)] / cpu_by[(of, count)]:.2f}"

    def goal_cell(count: int) -> str:
        if count not in paired:
            return "-"
        median = statistics.median(paired[count])
        verdict = "yes" if median <= GOAL_RATIO else "no"
        return f"{median:.2f} ({min(paired[count]):.2f}-{max(paired[count]):.2f}) {verdict}"

    rows = []
    for count in RPM_COUNTS:
        goal = ratio("half", count, "old")
        rows.append(
            [
                str(count),
                cell("half", count, fps_by),
                cell("half", count, cpu_by),
                cell("unposed", count, cpu_by),
                cell("full", count, cpu_by),
                cell("old", count, cpu_by),
                cell("head", count, cpu_by),
                goal,
                ratio("full", count, "old"),
                ratio("half", count, "head"),
                goal_cell(count),
            ]
        )
    h, f = pools["half"][0], pools["full"][0]
    full_ms, lod_ms = _scene_ms(pools["half"])
    return Section(
        title=f"Skinned RPM-class avatars vs the old heads and the default bust, {WIDTH}x{HEIGHT}, Mesa "
        f"llvmpipe (goal: at most {GOAL_RATIO}x the old heads' CPU ms/frame, 8 and 16)",
        columns=[
            "avatars",
            "half body fps",
            "half body CPU ms/frame",
            "half body unposed, no hands",
            "full body CPU ms/frame",
            "old heads CPU ms/frame",
            "default bust CPU ms/frame",
            "half body / old heads",
            "full body / old heads",
            "half body / bust",
            f"half body / old heads, median of {GOAL_PAIRS} back-to-back pairs (range) <= {GOAL_RATIO}",
        ],
        rows=rows,
        notes=[
            f"RPM-class (generated, tests/support/skinned.py): half body (head, torso, arms, hands: Ready "
            f"Player Me's VR export) {h.vertex_count} vertices, {len(h.indices) // 3} triangles; full body "
            f"{f.vertex_count} vertices, {len(f.indices) // 3} triangles; both {len(h.target_names)} targets, "
            "a Mixamo skeleton with fingers, 12 base colour textures (64x64 PNG, sampled); default: "
            f"the default bust ({heads[0].vertex_count} vertices, untextured, "
            f"{'skinned and posed, relaxed simple hands' if heads[0].skeleton else 'no skeleton'}); old "
            f"heads: the default avatar at {OLD_HEAD_COMMIT} ({pools['old'][0].vertex_count} vertices, "
            "untextured, no skeleton, no hands), the goal's reference",
            "all driven through the Scene at 90 Hz: 6 face targets and the head yaw change on every avatar "
            "every frame, every other half body waves a received left hand (arm IK, fingers); numpy "
            "skinning in the CPU batch; coarser levels of detail when small on screen (a body coarser "
            "than its head, lod.py BODY_CELLS), drawn flat when far (flat.py); 'unposed': the same half bodies without hands, drawn in "
            "bind pose (T-pose) without skinning: what their geometry and pixels alone cost; full body: "
            "posed, no hands",
            f"numpy posing + skinning of one full-detail half body alone: {_skin_ms(h):.2f} ms",
            f"8 half bodies cover {pixels['half']} pixels of the {WIDTH}x{HEIGHT} view, 8 busts "
            f"{pixels['head']}, 8 old heads {pixels['old']}: every one shaded on the CPU by llvmpipe "
            f"({_llvmpipe_threads()})",
            f"far avatars drawn flat (flat.py: a head under {FLAT_BELOW_PX:.0f} px tall, here all of them: "
            f"{_head_pixels(1.5):.0f} px at 1.5 m, {_head_pixels(2.3):.0f} px at 2.3 m): textures baked into "
            "the coarsest level's vertex colours and light computed per vertex, so the fragment shader "
            "samples no texture (llvmpipe pays for a texture fetch even where an `if` skips it); against "
            "every material feature compiled in and lit per pixel (the shader before): 8 half bodies "
            f"{cell('half', 8, cpu_by)} vs {cell('half every', 8, cpu_by)} ms, 8 old heads "
            f"{cell('old', 8, cpu_by)} vs {cell('old every', 8, cpu_by)} ms",
            "flat far avatars and the background drawn after the opaque avatars (not under them), A/B "
            "alternating processes against 06ee9fb (2 x 3 rounds each, best per process, on a loaded "
            "machine): 8 half bodies 26.7-28.5 -> 18.0-19.4 ms, 8 old heads 12.5-13.3 -> 11.5-12.8 ms, "
            "half body / old heads 2.04-2.21 -> 1.52-1.61. Close-ups are unchanged (a 1366x768 snapshot "
            "at 0.6 m differs by at most 1 level per channel); far away a texture's detail finer than the "
            "coarse mesh (a shirt's checks) becomes its mean colour",
            _extra(cpu_by, pixels),
            "animation level of detail (anim_lod.py): a skinned avatar whose head is under "
            f"{FAR_RATE_BELOW_PX:.0f} px is re-posed at 30 Hz of the scene's clock (every third frame "
            "here, the frames at 90 Hz; a third of them on each frame), "
            "its face held with its skeleton in between (the batch then moves last frame's skinned "
            "vertices: world_vertices.py), and placed every frame; under "
            f"{FINGERS_BELOW_PX:.0f} px its fingers keep their rest shape. Here all 8 are under 100 and over "
            f"50 px: 8 half bodies {cell('half', 8, cpu_by)} ms against {cell('half posed', 8, cpu_by)} ms "
            "with every avatar posed fully every frame (same run, alternating); the Scene alone (states in, "
            f"posed items out, no GL; process CPU, medians of 15 alternating): {full_ms:.2f} -> {lod_ms:.2f} ms "
            "per frame. What a viewer loses at this size: head turns, the mouth and the wave step at 30 Hz, "
            "the rate hands arrive at. "
            "Moving held vertices instead of blending and skinning them again, with placing every avatar "
            "by one affine product (world_vertices.py), alternating trees at a366f09 vs fbf9a64, 16 flat "
            "half bodies: the batch's fill 2.5-2.6 -> 1.7-1.8 ms per frame (thread CPU, best of 5); "
            "the placing speeds the old heads too",
            "posing and skinning cut (finger bones posed five at a time, the placement folded into the skin "
            "matrices), A/B alternating against a4fc8ed in one process at 7224f4d, process CPU ms, "
            "medians of 15: posing with a waved hand 0.37 -> 0.29, without hands 0.055 -> 0.051; the "
            "batch's skinning step at full detail (16551 vertices) 0.91 -> 0.68, at a coarse level (3523) "
            "0.23 -> 0.18: about 0.7 ms of 8 half bodies' frame. Since far avatars are drawn flat, posing "
            "and skinning (half body - unposed) are a quarter to a half of what is left of the gap, "
            "depending on the load (the line above splits this run's)",
            "hands at the coarsest level in 3.2 cm cells, twice the face's (lod.py HAND_CELLS): a far half "
            "body's hands 792 -> 218 triangles (3854 -> 3280 in all); A/B in one process at 7892fca, both "
            "hand cells beside the old heads, best of 6 alternating rounds at load ~2: 16 half bodies "
            "22.97 -> 20.92 ms against 14.2 (1.62 -> 1.47x), 8: 15.0 -> 15.1 ms against 10.0 (within "
            "the noise). The fingers stay strokes 2-3 px wide; with 4.8 cm cells they vanish",
            "noisy: llvmpipe shares this machine's 2 cores with other engineers' test runs; compare "
            "the columns of one run, not runs",
        ],
    )
