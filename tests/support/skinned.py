"""A generated full-body skinned avatar in T-pose, with a Mixamo / Ready Player Me skeleton.

`write_skinned_avatar` builds it from spheres, cylinders and boxes, each part rigidly on its bone
(the torso blends between the spine bones by height): head with eyes, teeth, a red nose and hair,
neck, torso with yellow shoulder markers (on `Spine2`), blue sleeves, green hands with five
three-bone fingers, legs and shoes. The head and teeth carry 70 morph targets (ARKit's 52, the 15
visemes, 3 more as RPM exports them); every target moves something. `detail` scales every part's
resolution (`RPM_CLASS_DETAIL`: ~17k vertices, an "RPM-class" avatar for the render bench);
`textures` gives each of the 12 materials a small PNG base colour texture and every vertex a
TEXCOORD_0.
glTF frame: +z forward, +y up, the avatar's own left at +x.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pygltflib

from emulator.model.face import ARKIT_NAMES
from emulator.render.faces import VISEME_NAMES
from emulator.render.png import encode_png
from tests.support.avatars import _Writer

EYE_Y = 1.63  # eye height, metres
SHOULDER_Y = 1.44
RPM_CLASS_DETAIL = 0.55  # ~17k vertices
RPM_HALF_BODY_DETAIL = 0.62  # ~17k vertices without legs
TARGET_NAMES = (*ARKIT_NAMES, *VISEME_NAMES, "mouthOpen", "mouthSmile", "eyesClosed")
MATERIALS = (
    ("Head", (0.85, 0.65, 0.55)), ("Eyes", (0.12, 0.08, 0.05)), ("Teeth", (0.95, 0.95, 0.9)),
    ("Nose", (0.95, 0.05, 0.05)), ("Hair", (0.25, 0.15, 0.08)), ("Shirt", (0.85, 0.85, 0.85)),
    ("Sleeves", (0.1, 0.2, 0.95)), ("Hands", (0.05, 0.8, 0.1)), ("Pants", (0.2, 0.2, 0.25)),
    ("Shoes", (0.1, 0.08, 0.05)), ("Markers", (0.95, 0.9, 0.05)), ("Neck", (0.82, 0.62, 0.52)),
)  # fmt: skip
_FINGERS = {  # Mixamo digit: (first bone offset from the hand in its +x frame, bone lengths)
    "Thumb": ((0.02, 0.0, 0.035), (0.035, 0.03, 0.025)),
    "Index": ((0.09, 0.0, 0.03), (0.04, 0.025, 0.02)),
    "Middle": ((0.095, 0.0, 0.008), (0.045, 0.028, 0.02)),
    "Ring": ((0.09, 0.0, -0.014), (0.04, 0.026, 0.02)),
    "Pinky": ((0.08, 0.0, -0.034), (0.032, 0.02, 0.018)),
}


class _Skeleton:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.parents: list[int] = []
        self.local: list[np.ndarray] = []
        self.world: list[np.ndarray] = []

    def add(self, name: str, parent: int, offset: tuple[float, float, float]) -> int:
        self.names.append(name)
        self.parents.append(parent)
        self.local.append(np.asarray(offset, np.float64))
        base = self.world[parent] if parent >= 0 else np.zeros(3)
        self.world.append(base + np.asarray(offset))
        return len(self.names) - 1

    def index(self, name: str) -> int:
        return self.names.index(name)


def _skeleton(legs: bool) -> _Skeleton:
    s = _Skeleton()
    hips = s.add("Hips", -1, (0.0, 1.0, 0.0))
    spine = s.add("Spine", hips, (0.0, 0.1, 0.0))
    spine1 = s.add("Spine1", spine, (0.0, 0.12, 0.0))
    spine2 = s.add("Spine2", spine1, (0.0, 0.12, 0.0))
    neck = s.add("Neck", spine2, (0.0, 0.14, 0.0))
    head = s.add("Head", neck, (0.0, 0.08, 0.0))
    s.add("LeftEye", head, (0.032, EYE_Y - 1.56, 0.08))
    s.add("RightEye", head, (-0.032, EYE_Y - 1.56, 0.08))
    for side, x in (("Left", 1.0), ("Right", -1.0)):
        shoulder = s.add(f"{side}Shoulder", spine2, (0.03 * x, 0.1, 0.0))
        arm = s.add(f"{side}Arm", shoulder, (0.12 * x, 0.0, 0.0))
        fore = s.add(f"{side}ForeArm", arm, (0.28 * x, 0.0, 0.0))
        hand = s.add(f"{side}Hand", fore, (0.25 * x, 0.0, 0.0))
        for digit, (offset, lengths) in _FINGERS.items():
            parent = s.add(f"{side}Hand{digit}1", hand, (offset[0] * x, offset[1], offset[2]))
            for k, length in enumerate(lengths):
                parent = s.add(f"{side}Hand{digit}{k + 2}", parent, (length * x, 0.0, 0.0))
        if legs:
            up = s.add(f"{side}UpLeg", hips, (0.1 * x, -0.05, 0.0))
            leg = s.add(f"{side}Leg", up, (0.0, -0.45, 0.0))
            s.add(f"{side}Foot", leg, (0.0, -0.42, 0.0))
    return s


def _sphere(centre: np.ndarray, radii: tuple[float, float, float], rows: int, cols: int,
            top: float = math.pi) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    theta = np.linspace(0, top, rows)
    phi = np.linspace(0, 2 * math.pi, cols, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    d = np.stack([np.sin(t) * np.sin(p), np.cos(t), np.sin(t) * np.cos(p)], axis=-1).reshape(-1, 3)
    uv = np.stack([p / (2 * math.pi), t / math.pi], axis=-1).reshape(-1, 2)
    return (centre + d * np.asarray(radii)).astype(np.float32), _grid(rows, cols), uv.astype(np.float32)


def _grid(rows: int, cols: int) -> np.ndarray:
    tris = []
    for i in range(rows - 1):
        for j in range(cols):
            a, b = i * cols + j, i * cols + (j + 1) % cols
            tris += [(a, a + cols, b), (b, a + cols, b + cols)]  # counter-clockwise from outside
    return np.asarray(tris, np.uint32).ravel()


def _tube(a: np.ndarray, b: np.ndarray, radius: float, rings: int, cols: int
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """A closed-ended cylinder from `a` to `b` (ends pinched to points)."""
    axis = b - a
    length = float(np.linalg.norm(axis))
    f = axis / length
    side = np.cross(f, [0.0, 0.0, 1.0] if abs(f[2]) < 0.9 else [1.0, 0.0, 0.0])
    side /= np.linalg.norm(side)
    up = np.cross(side, f)
    t = np.linspace(0, 1, rings)
    scale = np.sin(np.linspace(0, math.pi, rings)) ** 0.15  # rounded, closed ends
    phi = np.linspace(0, 2 * math.pi, cols, endpoint=False)
    tt, pp = np.meshgrid(t, phi, indexing="ij")
    ss = np.broadcast_to(scale[:, None], tt.shape)
    points = (
        a
        + tt[..., None] * axis
        + radius * ss[..., None] * (np.cos(pp)[..., None] * side + np.sin(pp)[..., None] * up)
    )
    uv = np.stack([pp / (2 * math.pi), tt], axis=-1).reshape(-1, 2)
    indices = _grid(rings, cols).reshape(-1, 3)[:, ::-1].ravel()  # this tube's rings turn the other way
    return points.reshape(-1, 3).astype(np.float32), indices, uv.astype(np.float32)


def _texture(rgb: tuple[float, float, float], seed: int) -> bytes:
    """A 64x64 base colour texture: the material's colour with a faint check, so sampling shows."""
    y, x = np.mgrid[0:64, 0:64]
    check = ((x // 8 + y // 8 + seed) % 2).astype(np.float64)
    image = np.asarray(rgb) * (0.92 + 0.08 * check[..., None])
    rgba = np.concatenate([image, np.ones((64, 64, 1))], axis=-1)
    return encode_png(np.clip(rgba * 255, 0, 255).astype(np.uint8))


def _targets(points: np.ndarray, head_centre: np.ndarray, count: int) -> list[np.ndarray]:
    """70 targets: jawOpen drops the lower front, blinks squash the lid bands, the rest each push a band."""
    rel = points - head_centre
    out = []
    for t, name in enumerate(TARGET_NAMES[:count]):
        d = np.zeros_like(points)
        if name in ("jawOpen", "viseme_aa", "mouthOpen"):
            m = (rel[:, 1] < -0.03) & (rel[:, 2] > 0.03)
            d[m, 1] = -0.03
        elif name.startswith("eyeBlink") or name == "eyesClosed":
            side = 1.0 if name.endswith("Left") else -1.0
            m = (rel[:, 1] > -0.02) & (rel[:, 1] < 0.02) & (rel[:, 2] > 0.05)
            if name != "eyesClosed":
                m &= rel[:, 0] * side > 0.01
            d[m, 1] = -0.006
        else:
            band = (np.arctan2(rel[:, 0], rel[:, 2]) * 7 + t) % 5 < 1
            d[band & (rel[:, 2] > 0), 2] = 0.002 + 0.0001 * t
        out.append(d.astype(np.float32))
    return out


def write_skinned_avatar(
    path: Path, *, detail: float = 0.35, textures: bool = False, legs: bool = True
) -> Path:
    """`legs=False`: a half body (head, torso, arms and hands), as Ready Player Me exported for VR."""
    s = _skeleton(legs)
    w = _Writer()
    g = w.gltf
    for m, (name, rgb) in enumerate(MATERIALS):
        pbr = pygltflib.PbrMetallicRoughness(
            baseColorFactor=[1.0, 1.0, 1.0, 1.0] if textures else [*rgb, 1.0]
        )
        if textures:
            while len(w.blob) % 4:
                w.blob.append(0)
            png = _texture(rgb, m)
            g.bufferViews.append(pygltflib.BufferView(buffer=0, byteOffset=len(w.blob), byteLength=len(png)))
            w.blob.extend(png)
            g.images.append(pygltflib.Image(bufferView=len(g.bufferViews) - 1, mimeType="image/png"))
            g.textures.append(pygltflib.Texture(source=m))
            pbr.baseColorTexture = pygltflib.TextureInfo(index=m)
        g.materials.append(pygltflib.Material(name=name, pbrMetallicRoughness=pbr))
    for name, offset in zip(s.names, s.local, strict=True):
        g.nodes.append(pygltflib.Node(name=name, translation=[float(v) for v in offset]))
    for b, parent in enumerate(s.parents):
        if parent >= 0:
            g.nodes[parent].children.append(b)
    bones = len(s.names)
    inverse_bind = np.zeros((bones, 4, 4), np.float32)
    for b, position in enumerate(s.world):
        m4 = np.eye(4, dtype=np.float32)
        m4[:3, 3] = -position
        inverse_bind[b] = m4.T  # column-major
    g.skins.append(
        pygltflib.Skin(
            joints=list(range(bones)), inverseBindMatrices=w.accessor(inverse_bind.reshape(bones, 16), "MAT4")
        )
    )

    def n(base: int) -> int:
        return max(6, round(base * detail))

    at = {name: s.world[s.index(name)] for name in s.names}
    centre = at["Head"] + np.array([0.0, 0.085, 0.0])
    parts: list[tuple[str, int, tuple[np.ndarray, np.ndarray, np.ndarray], str, bool]] = []

    def part(
        name: str, material: str, geometry: tuple[np.ndarray, ...], bone: str, morphs: bool = False
    ) -> None:
        points, indices, uv = geometry
        parts.append((name, [m for m, _ in MATERIALS].index(material), (points, indices, uv), bone, morphs))

    def v(x: float, y: float, z: float) -> np.ndarray:
        return np.array([x, y, z])

    part("Head", "Head", _sphere(centre, (0.1, 0.12, 0.11), n(100), n(130)), "Head", morphs=True)
    part(
        "Hair", "Hair", _sphere(centre + v(0, 0.01, -0.01), (0.106, 0.125, 0.115), n(50), n(130), 1.2), "Head"
    )
    part("Nose", "Nose", _sphere(centre + v(0, -0.03, 0.11), (0.014, 0.022, 0.02), 8, 10), "Head")
    part(
        "Teeth",
        "Teeth",
        _sphere(centre + v(0, -0.06, 0.085), (0.025, 0.008, 0.01), 6, 10),
        "Head",
        morphs=True,
    )
    neck = _tube(at["Neck"] - v(0, 0.03, 0), at["Head"] + v(0, 0.03, 0), 0.05, n(16), n(48))
    part("Neck", "Neck", neck, "Neck")
    part(
        "Torso",
        "Shirt",
        _tube(at["Hips"] - v(0, 0.05, 0), at["Neck"] + v(0, 0.01, 0), 0.16, n(60), n(96)),
        "torso",
    )
    for side, x in (("Left", 1.0), ("Right", -1.0)):
        part(
            f"Eye{side}",
            "Eyes",
            _sphere(at[f"{side}Eye"] + v(0, 0, 0.02), (0.014,) * 3, 10, 14),
            f"{side}Eye",
        )
        marker = at[f"{side}Arm"] + v(-0.06 * x, 0.04, 0.0)
        part(f"Marker{side}", "Markers", _sphere(marker, (0.05, 0.025, 0.05), 8, 12), "Spine2")
        for bone, child, radius in (
            (f"{side}Arm", f"{side}ForeArm", 0.05),
            (f"{side}ForeArm", f"{side}Hand", 0.042),
        ):
            part(bone, "Sleeves", _tube(at[bone], at[child], radius, n(30), n(48)), bone)
        hand = f"{side}Hand"
        part(
            f"{side}Palm",
            "Hands",
            _sphere(at[hand] + v(0.05 * x, 0, 0), (0.055, 0.02, 0.045), n(20), n(30)),
            hand,
        )
        for digit in _FINGERS:
            for k in range(1, 4):
                bone = f"{side}Hand{digit}{k}"
                part(
                    bone, "Hands", _tube(at[bone], at[f"{side}Hand{digit}{k + 1}"], 0.009, n(12), n(24)), bone
                )
        if not legs:
            continue
        for bone, child, radius in (
            (f"{side}UpLeg", f"{side}Leg", 0.075),
            (f"{side}Leg", f"{side}Foot", 0.055),
        ):
            part(bone, "Pants", _tube(at[bone], at[child], radius, n(40), n(64)), bone)
        foot = f"{side}Foot"
        part(
            f"{side}Shoe",
            "Shoes",
            _sphere(at[foot] + v(0, -0.03, 0.06), (0.05, 0.04, 0.12), n(20), n(40)),
            foot,
        )
    spine = [s.index(b) for b in ("Hips", "Spine", "Spine1", "Spine2", "Neck")]
    heights = np.array([s.world[b][1] for b in spine])
    for name, material, (points, indices, uv), bone, morphs in parts:
        count = len(points)
        joints = np.zeros((count, 4), np.uint16)
        weights = np.zeros((count, 4), np.float32)
        if bone == "torso":
            k = np.clip(np.searchsorted(heights, points[:, 1]) - 1, 0, len(spine) - 2)
            f = np.clip((points[:, 1] - heights[k]) / (heights[k + 1] - heights[k]), 0, 1)
            joints[:, 0], joints[:, 1] = np.asarray(spine)[k], np.asarray(spine)[k + 1]
            weights[:, 0], weights[:, 1] = 1 - f, f
        else:
            joints[:, 0] = s.index(bone)
            weights[:, 0] = 1.0
        attributes = pygltflib.Attributes(
            POSITION=w.accessor(points, pygltflib.VEC3, target=pygltflib.ARRAY_BUFFER, bounds=True),
            JOINTS_0=w.accessor(joints, pygltflib.VEC4),
            WEIGHTS_0=w.accessor(weights, pygltflib.VEC4),
        )
        if textures:
            attributes.TEXCOORD_0 = w.accessor(uv, pygltflib.VEC2)
        index_type = np.uint16 if count < 65536 else np.uint32
        prim = pygltflib.Primitive(
            attributes=attributes,
            indices=w.accessor(indices.astype(index_type), pygltflib.SCALAR),
            material=material,
        )
        mesh = pygltflib.Mesh(name=name, primitives=[prim])
        if morphs:
            targets = _targets(points, centre, len(TARGET_NAMES))
            prim.targets = [
                pygltflib.Attributes(POSITION=w.accessor(d, pygltflib.VEC3, bounds=True)) for d in targets
            ]
            mesh.extras = {"targetNames": list(TARGET_NAMES)}
            mesh.weights = [0.0] * len(TARGET_NAMES)
        g.meshes.append(mesh)
        g.nodes.append(pygltflib.Node(name=name, mesh=len(g.meshes) - 1, skin=0))
    g.nodes.append(pygltflib.Node(name="Armature", children=[0, *range(bones, len(g.nodes))]))
    g.scenes.append(pygltflib.Scene(nodes=[len(g.nodes) - 1]))
    g.scene = 0
    w.save(path)
    return path
