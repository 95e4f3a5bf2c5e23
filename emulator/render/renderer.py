"""The OpenGL 3.3 core renderer: sky, floor grid and horizon, lit avatars, name labels.

It draws into whatever framebuffer is bound when `draw` is called: the app's Qt surface's, an
`offscreen.Framebuffer` in snapshots, tests and benchmarks. It never binds framebuffer 0 and leaves
the bound framebuffer as it found it. Create, use and release it on the thread whose context is current.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from OpenGL import GL

from emulator.render.avatar import Avatar
from emulator.render.avatar_gl import AvatarCache, MorphMode
from emulator.render.background import Background
from emulator.render.batch import Batch, Features
from emulator.render.camera import Camera
from emulator.render.flat import FLAT_BELOW_PX, for_size
from emulator.render.gl_util import Program
from emulator.render.hand_gl import HandBatch
from emulator.render.lod import HEAD_HEIGHT_M
from emulator.render.morph import active_targets
from emulator.render.overlay import Overlay
from emulator.render.scene import DrawItem, Scene
from emulator.render.shaders import MAX_ACTIVE_TARGETS, avatar_fragment_shader, avatar_vertex_shader
from emulator.render.sided import draw_blended, draw_sided
from emulator.render.textures_gl import TEXTURE_UNIT, TextureLayers

log = logging.getLogger(__name__)

# BENCHMARKS.md (render): on llvmpipe numpy blending with one batched draw took less CPU per frame than
# GPU morphing at every avatar count (16 avatars: ~16.8 vs ~19.4 ms), so it is the default.
# Skinned avatars alike: numpy skinning in the batch took less than skinning in the vertex shader
# (8 RPM-class half bodies: 22.8 vs 24.0 ms; docs/skinned-avatars.md), so skinning is numpy only.
DEFAULT_MORPH = MorphMode.CPU

Viewport = tuple[int, int, int, int]  # x, y (from the bottom, as GL counts), width, height


class Renderer:
    def __init__(self, morph: MorphMode | str = DEFAULT_MORPH, labels: bool = True, lod: bool = True) -> None:
        self.morph = MorphMode(morph)
        self.labels = labels
        self.lod = lod  # coarser meshes for avatars small on screen (lod.py)
        self.flat_below_px = FLAT_BELOW_PX  # with lod and CPU morphing: heads this small drawn flat (flat.py)
        self._background = Background()
        # Both programs exist: a GPU renderer sends an avatar whose deltas exceed the texture-buffer limit
        # through the CPU batch instead.
        self._gpu_program = Program(avatar_vertex_shader(True), avatar_fragment_shader())
        # The CPU batch's program per set of material features it draws, compiled when first needed.
        self._cpu_programs: dict[Features, Program] = {}
        self._overlay = Overlay()
        self._cache = AvatarCache()
        self._batch = Batch()
        self._far_batch = Batch()  # avatars small on screen, lit per vertex (flat.py)
        self._hands = HandBatch()
        self._textures = TextureLayers()
        # How tall each item's head was on screen in the last view drawn, by item id: Scene.frame poses
        # the small ones less often (anim_lod.py). Empty without `lod`.
        self.head_pixels: dict[str, float] = {}
        self._gpu_program.use()
        GL.glUniform1i(self._gpu_program.loc("u_textures"), TEXTURE_UNIT)
        GL.glUseProgram(0)

    @property
    def textures(self) -> TextureLayers:
        """The texture array of this renderer's GL context (read-only use: tests check uploads)."""
        return self._textures

    def draw(self, items: Sequence[DrawItem], camera: Camera, viewport: Viewport) -> None:
        """One view of the items into `viewport` of the bound framebuffer."""
        x, y, width, height = viewport
        if width <= 0 or height <= 0:
            return
        GL.glViewport(x, y, width, height)
        GL.glEnable(GL.GL_SCISSOR_TEST)
        GL.glScissor(x, y, width, height)
        GL.glClearDepth(1.0)
        GL.glClear(GL.GL_DEPTH_BUFFER_BIT)
        view_projection = camera.view_projection(width / height)
        eye = camera.eye.position.as_tuple()
        self._background.clear()
        self._draw_avatars(items, view_projection, eye, camera.pixels_per_metre(width / height, height))
        if self.labels:
            self._overlay.draw(items, view_projection, eye, width, height)
        GL.glDisable(GL.GL_SCISSOR_TEST)
        GL.glBindVertexArray(0)
        GL.glUseProgram(0)

    def draw_views(
        self, items: Sequence[DrawItem], cameras: Sequence[Camera], width: int, height: int
    ) -> None:
        """Side by side views (one camera: the whole area; two: a headset's left and right eye)."""
        n = max(1, len(cameras))
        for i, camera in enumerate(cameras):
            x0, x1 = width * i // n, width * (i + 1) // n
            self.draw(items, camera, (x0, 0, x1 - x0, height))
        self._cache.end_frame()

    def draw_scene(
        self, scene: Scene, now_us: int, cameras: Sequence[Camera], width: int, height: int
    ) -> None:
        self.draw_views(scene.frame(now_us, self.head_pixels), cameras, width, height)

    def _draw_avatars(
        self,
        items: Sequence[DrawItem],
        view_projection: np.ndarray,
        eye: tuple[float, ...],
        pixels_at_1m: float,
    ) -> None:
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthFunc(GL.GL_LESS)
        chosen, far, sizes = [], set(), {}
        for item in items:
            distance = max(1e-3, float(np.linalg.norm(item.model[:3, 3] - np.asarray(eye))))
            head_pixels = HEAD_HEIGHT_M * pixels_at_1m / distance
            mesh, is_flat = item.avatar, False
            if self.lod:
                sizes[item.id] = head_pixels
                below = (
                    self.flat_below_px if self.morph is MorphMode.CPU else 0.0
                )  # the batch lights vertices
                mesh, is_flat = for_size(item.avatar, head_pixels, below)
            if is_flat:
                far.add(id(item))
            chosen.append((item, mesh))
        self.head_pixels = sizes
        self._textures.update(avatar for _, avatar in chosen)
        self._textures.bind()
        batched: Sequence[tuple[DrawItem, Avatar]] = chosen
        blended: list[tuple[DrawItem, Avatar]] = []
        if self.morph is MorphMode.GPU:
            batched, blended = self._draw_each(chosen, view_projection, eye)
        # Near avatars lit per pixel, then the hands, then far avatars lit per vertex (flat.py): two
        # batches, two programs; nearest first, so the far pass shades less of what is hidden.
        near = [entry for entry in batched if id(entry[0]) not in far]
        distant = [entry for entry in batched if id(entry[0]) in far]
        used = [self._draw_batch(self._batch, near, view_projection, eye, vertex_lit=False)]
        self._hands.draw(items, self._cache.frame)  # hands name no texture: any avatar program draws them
        if distant:
            used.append(self._draw_batch(self._far_batch, distant, view_projection, eye, vertex_lit=True))
        # The background after everything opaque (only where nothing is in front of it), then what
        # blends over both, farthest first.
        self._background.draw(view_projection, eye)
        GL.glDepthFunc(GL.GL_LESS)
        for program, batch, entries in reversed(used):  # farthest first
            program.use()
            batch.draw_blended(entries, eye)
        if blended:
            self._draw_blended(blended, eye)

    def _draw_batch(
        self,
        batch: Batch,
        entries: Sequence[tuple[DrawItem, Avatar]],
        view_projection: np.ndarray,
        eye: tuple[float, ...],
        vertex_lit: bool,
    ) -> tuple[Program, Batch, Sequence[tuple[DrawItem, Avatar]]]:
        """The opaque triangles of `entries`; leaves their program in use (set up even with none)."""
        features = batch.features(entries, self._textures)._replace(vertex_lit=vertex_lit)
        program = self._cpu_program(features)
        program.use()
        program.matrix("u_view_projection", view_projection)
        program.vec3("u_eye", eye)
        batch.draw(entries, self._cache.frame, self._textures)
        return program, batch, entries

    def _cpu_program(self, features: Features) -> Program:
        program = self._cpu_programs.get(features)
        if program is None:
            vertex = avatar_vertex_shader(False, vertex_lit=features.vertex_lit, textured=features.textured)
            program = Program(vertex, avatar_fragment_shader(*features))
            program.use()
            GL.glUniform1i(program.loc("u_textures"), TEXTURE_UNIT)
            self._cpu_programs[features] = program
        return program

    def _draw_each(
        self, chosen: Sequence[tuple[DrawItem, Avatar]], view_projection: np.ndarray, eye: tuple[float, ...]
    ) -> tuple[list[tuple[DrawItem, Avatar]], list[tuple[DrawItem, Avatar]]]:
        """GPU morphing, a draw call per avatar (opaque triangles); returns the ones that must go through
        the CPU batch, and the ones with BLEND triangles still to draw."""
        program = self._gpu_program
        program.use()
        program.matrix("u_view_projection", view_projection)
        program.vec3("u_eye", eye)
        GL.glUniform1i(program.loc("u_deltas"), 0)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        leftover, blended = [], []
        for item, avatar in chosen:
            if item.skin is not None:  # skinned avatars: numpy skinning in the batch (see DEFAULT_MORPH)
                leftover.append((item, avatar))
                continue
            mesh = self._cache.mesh(avatar)
            if not mesh.gpu_morph and avatar.target_names:
                leftover.append((item, avatar))
                continue
            if mesh.blend_start < mesh.index_count:
                blended.append((item, avatar))
            self._set_gpu_uniforms(item, avatar)
            GL.glBindVertexArray(mesh.vao)
            draw_sided(mesh.single_sided, mesh.blend_start)
        GL.glBindTexture(GL.GL_TEXTURE_BUFFER, 0)
        return leftover, blended

    def _set_gpu_uniforms(self, item: DrawItem, avatar: Avatar) -> None:
        program, mesh = self._gpu_program, self._cache.mesh(avatar)
        program.matrix("u_model", item.model)
        program.vec3("u_tint", item.tint)
        GL.glUniform1f(program.loc("u_layer_base"), float(self._textures.base(avatar)))
        targets, weights = active_targets(item.weights)
        count = min(len(targets), MAX_ACTIVE_TARGETS)
        GL.glUniform1i(program.loc("u_active"), count)
        GL.glUniform1i(program.loc("u_vertex_count"), mesh.vertex_count)
        if count:
            GL.glUniform1iv(program.loc("u_targets"), count, targets[:count])
            GL.glUniform1fv(program.loc("u_weights"), count, weights[:count])
        GL.glBindTexture(GL.GL_TEXTURE_BUFFER, mesh.delta_texture)

    def _draw_blended(self, blended: Sequence[tuple[DrawItem, Avatar]], eye: tuple[float, ...]) -> None:
        """GPU morphing's BLEND triangles, after everything opaque, farthest avatar first."""
        program = self._gpu_program
        program.use()
        here = np.asarray(eye)
        for item, avatar in sorted(blended, key=lambda e: -float(np.linalg.norm(e[0].model[:3, 3] - here))):
            mesh = self._cache.mesh(avatar)
            self._set_gpu_uniforms(item, avatar)
            GL.glBindVertexArray(mesh.vao)
            draw_blended([(item.model[:3, 3], mesh.blend_start, mesh.index_count - mesh.blend_start)], eye)
        GL.glBindTexture(GL.GL_TEXTURE_BUFFER, 0)

    def release(self) -> None:
        self._cache.release()
        self._batch.release()
        self._far_batch.release()
        self._textures.release()
        self._hands.release()
        self._overlay.release()
        self._background.release()
        self._gpu_program.delete()
        for program in self._cpu_programs.values():
            program.delete()
