"""Avatar files made by tests with pygltflib: a Ready Player Me-style body and a target-less head.

The RPM-style file copies the shape of what Ready Player Me exports, not its art: several meshes
(`Wolf3D_Head`, `Wolf3D_Teeth`, `EyeLeft`, `EyeRight`, `Wolf3D_Body`), a skin with a small skeleton
(`Hips` → `Spine` → `Neck` → `Head` → `LeftEye`/`RightEye`), JOINTS_0/WEIGHTS_0 on every skinned
primitive, glTF's +z-forward convention, and on the head and teeth the 52 ARKit targets plus the
15 Oculus visemes named in `mesh.extras.targetNames`. Only jawOpen, viseme_aa and eyeBlinkLeft
move anything; the other targets are zero-filled accessors, as exporters write them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pygltflib

from emulator.model.face import ARKIT_NAMES
from emulator.render.faces import VISEME_NAMES

HEAD_Y = 1.62  # eye height of the RPM-style body, metres


class _Writer:
    def __init__(self) -> None:
        self.gltf = pygltflib.GLTF2(asset=pygltflib.Asset(version="2.0", generator="tests/support/avatars"))
        self.blob = bytearray()

    def accessor(
        self, array: np.ndarray, kind: str, *, target: int | None = None, bounds: bool = False
    ) -> int:
        while len(self.blob) % 4:
            self.blob.append(0)
        self.gltf.bufferViews.append(
            pygltflib.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=array.nbytes, target=target)
        )
        self.blob.extend(array.tobytes())
        component = {
            np.dtype(np.float32): pygltflib.FLOAT,
            np.dtype(np.uint16): pygltflib.UNSIGNED_SHORT,
            np.dtype(np.uint8): pygltflib.UNSIGNED_BYTE,
        }[array.dtype]
        acc = pygltflib.Accessor(
            bufferView=len(self.gltf.bufferViews) - 1, componentType=component, count=len(array), type=kind
        )
        if bounds:
            acc.min, acc.max = array.min(axis=0).tolist(), array.max(axis=0).tolist()
        self.gltf.accessors.append(acc)
        return len(self.gltf.accessors) - 1

    def zeros(self, count: int) -> int:
        self.gltf.accessors.append(
            pygltflib.Accessor(
                componentType=pygltflib.FLOAT, count=count, type=pygltflib.VEC3, min=[0, 0, 0], max=[0, 0, 0]
            )
        )
        return len(self.gltf.accessors) - 1

    def save(self, path: Path) -> None:
        self.gltf.buffers.append(pygltflib.Buffer(byteLength=len(self.blob)))
        self.gltf.set_binary_blob(bytes(self.blob))
        self.gltf.save_binary(str(path))


def _sphere(
    centre: tuple[float, float, float], radius: float, rows: int = 16, cols: int = 24
) -> tuple[np.ndarray, np.ndarray]:
    theta = np.linspace(0, math.pi, rows)
    phi = np.linspace(0, 2 * math.pi, cols, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    d = np.stack([np.sin(t) * np.cos(p), np.cos(t), np.sin(t) * np.sin(p)], axis=-1).reshape(-1, 3)
    tris = []
    for i in range(rows - 1):
        for j in range(cols):
            a, b = i * cols + j, i * cols + (j + 1) % cols
            tris += [(a, b, a + cols), (b, b + cols, a + cols)]  # counter-clockwise seen from outside
    return (np.asarray(centre) + radius * d).astype(np.float32), np.asarray(tris, np.uint16).ravel()


def _box(low: tuple[float, float, float], high: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    corners = np.array(
        [[x, y, z] for x in (low[0], high[0]) for y in (low[1], high[1]) for z in (low[2], high[2])],
        np.float32,
    )
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    tris = [t for a, b, c, d in faces for t in ((a, b, c), (a, c, d))]
    return corners, np.asarray(tris, np.uint16).ravel()


def _primitive(
    w: _Writer, points: np.ndarray, indices: np.ndarray, material: int, joint: int, targets: list[int] | None
) -> pygltflib.Primitive:
    n = len(points)
    attributes = pygltflib.Attributes(
        POSITION=w.accessor(points, pygltflib.VEC3, target=pygltflib.ARRAY_BUFFER, bounds=True),
        JOINTS_0=w.accessor(np.tile(np.array([joint, 0, 0, 0], np.uint8), (n, 1)), pygltflib.VEC4),
        WEIGHTS_0=w.accessor(np.tile(np.array([1, 0, 0, 0], np.float32), (n, 1)), pygltflib.VEC4),
    )
    prim = pygltflib.Primitive(
        attributes=attributes,
        indices=w.accessor(indices, pygltflib.SCALAR, target=pygltflib.ELEMENT_ARRAY_BUFFER),
        material=material,
    )
    if targets is not None:
        prim.targets = [pygltflib.Attributes(POSITION=t) for t in targets]
    return prim


def _face_targets(w: _Writer, points: np.ndarray, centre_y: float) -> list[int]:
    """One accessor per name: jawOpen and viseme_aa drop the lower front, eyeBlinkLeft squashes +x top."""
    names = [*ARKIT_NAMES, *VISEME_NAMES]
    jaw = np.zeros_like(points)
    lower_front = (points[:, 1] < centre_y - 0.02) & (points[:, 2] > 0.02)
    jaw[lower_front, 1] = -0.035
    jaw[lower_front, 2] = 0.01
    blink = np.zeros_like(points)
    blink[
        (points[:, 0] > 0.02) & (points[:, 1] > centre_y) & (points[:, 2] > 0.03), 1
    ] = -0.01  # its left is +x in glTF
    out = []
    for name in names:
        if name in ("jawOpen", "viseme_aa"):
            out.append(w.accessor(jaw, pygltflib.VEC3, bounds=True))
        elif name == "eyeBlinkLeft":
            out.append(w.accessor(blink, pygltflib.VEC3, bounds=True))
        else:
            out.append(w.zeros(len(points)))
    return out


def write_rpm_style_avatar(path: Path) -> Path:
    w = _Writer()
    g = w.gltf
    palette = [("Wolf3D_Skin", [0.85, 0.65, 0.55, 1]), ("Wolf3D_Teeth", [0.95, 0.95, 0.9, 1]),
               ("Wolf3D_Eye", [0.2, 0.3, 0.8, 1]), ("Wolf3D_Outfit", [0.2, 0.5, 0.3, 1])]  # fmt: skip
    for name, rgba in palette:
        g.materials.append(
            pygltflib.Material(
                name=name, pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(baseColorFactor=rgba)
            )
        )
    head_centre = (0.0, HEAD_Y + 0.02, 0.0)
    # Skeleton: nodes 0..5; meshes' nodes follow.
    joints = [
        ("Hips", [0.0, 1.0, 0.0], [1, 2]),
        ("Spine", [0.0, 0.3, 0.0], [2]),
        ("Neck", [0.0, 0.25, 0.0], [3]),
        ("Head", [0.0, 0.07, 0.0], [4, 5]),
        ("LeftEye", [0.032, 0.0, 0.075], []),
        ("RightEye", [-0.032, 0.0, 0.075], []),
    ]
    for i, (name, translation, _) in enumerate(joints):
        children = {0: [1], 1: [2], 2: [3], 3: [4, 5]}.get(i, [])
        g.nodes.append(pygltflib.Node(name=name, translation=translation, children=children))
    world = np.cumsum([j[1] for j in joints[:4]], axis=0)
    world_all = [*world, world[3] + joints[4][1], world[3] + joints[5][1]]
    inverse_bind = np.zeros((6, 4, 4), np.float32)
    for i, t in enumerate(world_all):
        m = np.eye(4, dtype=np.float32)
        m[:3, 3] = -np.asarray(t)
        inverse_bind[i] = m.T  # glTF stores column-major
    ibm = w.accessor(inverse_bind.reshape(6, 16), "MAT4")
    g.skins.append(pygltflib.Skin(joints=list(range(6)), inverseBindMatrices=ibm, skeleton=0))

    head_points, head_idx = _sphere(head_centre, 0.1)
    teeth_points, teeth_idx = _box((-0.025, HEAD_Y - 0.06, 0.07), (0.025, HEAD_Y - 0.03, 0.09))
    eye_l, eye_idx = _sphere((0.032, HEAD_Y, 0.085), 0.014, 8, 10)
    eye_r, _ = _sphere((-0.032, HEAD_Y, 0.085), 0.014, 8, 10)
    body_points, body_idx = _box((-0.2, 0.9, -0.12), (0.2, HEAD_Y - 0.12, 0.12))
    names = [*ARKIT_NAMES, *VISEME_NAMES]
    meshes = [
        ("Wolf3D_Head", head_points, head_idx, 0, 3, _face_targets(w, head_points, head_centre[1])),
        ("Wolf3D_Teeth", teeth_points, teeth_idx, 1, 3, _face_targets(w, teeth_points, HEAD_Y - 0.02)),
        ("EyeLeft", eye_l, eye_idx, 2, 4, None),
        ("EyeRight", eye_r, eye_idx, 2, 5, None),
        ("Wolf3D_Body", body_points, body_idx, 3, 1, None),
    ]
    for name, points, idx, material, joint, targets in meshes:
        mesh = pygltflib.Mesh(name=name, primitives=[_primitive(w, points, idx, material, joint, targets)])
        if targets is not None:
            mesh.extras = {"targetNames": names}
            mesh.weights = [0.0] * len(names)
        g.meshes.append(mesh)
        g.nodes.append(pygltflib.Node(name=name, mesh=len(g.meshes) - 1, skin=0))
    armature = pygltflib.Node(name="Armature", children=[0, *range(6, 6 + len(meshes))])
    g.nodes.append(armature)
    g.scenes.append(pygltflib.Scene(nodes=[len(g.nodes) - 1]))
    g.scene = 0
    w.save(path)
    return path


def write_static_head(path: Path) -> Path:
    """A plain sphere head with a nose, no morph targets, no colours: the least an avatar can be."""
    w = _Writer()
    points, idx = _sphere((0.0, 0.0, 0.0), 0.1)
    nose, nose_idx = _box((-0.01, -0.03, 0.09), (0.01, 0.0, 0.12))
    points = np.concatenate([points, nose])
    idx = np.concatenate([idx, nose_idx + 16 * 24]).astype(np.uint16)
    prim = pygltflib.Primitive(
        attributes=pygltflib.Attributes(POSITION=w.accessor(points, pygltflib.VEC3, bounds=True)),
        indices=w.accessor(idx, pygltflib.SCALAR),
    )
    w.gltf.meshes.append(pygltflib.Mesh(name="head", primitives=[prim]))
    w.gltf.nodes.append(pygltflib.Node(name="head", mesh=0, translation=[0.0, 1.5, 0.0]))
    w.gltf.scenes.append(pygltflib.Scene(nodes=[0]))
    w.gltf.scene = 0
    w.save(path)
    return path
