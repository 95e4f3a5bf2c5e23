"""Blendshape avatars in OpenGL: geometry and morph targets in numpy, a GL 3.3 core renderer, no Qt.

How the pieces fit (docs/avatars.md):
- `avatar.load_avatar(path)` → `Avatar` (glTF 2.0 .glb/.gltf or VRM; `AvatarError` when unusable);
  `avatar_gen.load_default_avatar(variant)` for the bundled procedural bust.
- `scene.Scene`: participants by id with an avatar, a name, a tint and a speaking level; `update()` takes
  each state (pose, ARKit or Meta face, visemes, hands) and `frame(now_us)` interpolates them
  `delay_us` back.
- `hand_mesh`: simple hands from the 26 joints (relaxed ones when none are sent); `overlay` and `font`:
  name labels as real text.
- `camera`: `headset_eyes(pose, profile, stereo)` for the local headset's view, `orbit_camera` to debug.
- `renderer.Renderer`: draws into the bound framebuffer, which needs a depth buffer (ask Qt's default
  QSurfaceFormat for 3.3 core with depth 24). In a Qt GL surface (QOpenGLWindow or QOpenGLWidget):
  create it in `initializeGL`, call `draw_scene(scene, now_us, cameras, width_px, height_px)` in
  `paintGL` (device pixels) and `release()` with the context current before the surface goes away.
- `offscreen.OffscreenRenderer`: a headless GLX context + framebuffer for snapshots, tests, benchmarks.
"""
