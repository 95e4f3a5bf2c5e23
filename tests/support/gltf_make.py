"""glTF and VRM files made by tests: one small face in every layout and encoding the loader reads.

The face (glTF frame: +y up, facing +z, its own left at +x) is a skin-coloured sphere with a red
nose, two dark eyes and a dark mouth. Its targets: `jaw` drops the mouth's lower edge, `blink_L` /
`blink_R` sink one eye into the head. Written as:
- a .glb, a .gltf with a .bin and a PNG beside it, or a .gltf with data URIs (`layout`);
- plain floats or KHR_mesh_quantization integers (`quantize`), either compressed with
  EXT_meshopt_compression by the `meshopt` encoder, the views' own buffer a fallback with no bytes
  (`compress`);
- a VRM 1.0 (`VRMC_vrm`) or VRM 0.x (`VRM`, turned to face -z as 0.x files do) with humanoid bones
  and expressions bound to the targets, which then carry VRoid-style names nothing else maps.
The JSON is built as plain dicts so tests can add hostile URIs or extensions before writing.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import meshopt
import numpy as np

from emulator.render.png import encode_png

HEAD_Y = 1.5
SKIN = (0.85, 0.65, 0.55, 1.0)
DARK = (0.1, 0.08, 0.12, 1.0)
RED = (0.9, 0.1, 0.1, 1.0)
EYE_X, EYE_Y, MOUTH_Y = 0.035, HEAD_Y + 0.02, HEAD_Y - 0.045
PLAIN_TARGETS = {"jaw": "jawOpen", "blink_L": "eyeBlinkLeft", "blink_R": "eyeBlinkRight"}
VRM_TARGETS = {"jaw": "Fcl_MTH_A", "blink_L": "Fcl_EYE_Close_L", "blink_R": "Fcl_EYE_Close_R"}
Layout = Literal["glb", "files", "data-uri"]
# Vertex ranges of make_face's parts, in order: a 24 x 32 sphere, then four boxes of 8 corners.
NOSE, LEFT_EYE, RIGHT_EYE, MOUTH = (slice(768 + 8 * i, 776 + 8 * i) for i in range(4))


@dataclass
class Face:
    positions: np.ndarray  # (V, 3) float32
    normals: np.ndarray
    uvs: np.ndarray  # (V, 2)
    colors: np.ndarray  # (V, 4)
    indices: np.ndarray  # (3T,) uint32
    targets: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (V, 3) deltas


def _sphere(centre: tuple[float, float, float], radius: float, rows: int, cols: int) -> tuple[Any, Any]:
    theta = np.linspace(0, math.pi, rows)
    phi = np.linspace(0, 2 * math.pi, cols, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    d = np.stack([np.sin(t) * np.sin(p), np.cos(t), np.sin(t) * np.cos(p)], axis=-1).reshape(-1, 3)
    tris = []
    for i in range(rows - 1):
        for j in range(cols):
            a, b = i * cols + j, i * cols + (j + 1) % cols
            tris += [(a, a + cols, b), (b, a + cols, b + cols)]
    return np.asarray(centre) + radius * d, np.asarray(tris).ravel()


def _box(low: tuple[float, float, float], high: tuple[float, float, float]) -> tuple[Any, Any]:
    corners = np.array(
        [[x, y, z] for x in (low[0], high[0]) for y in (low[1], high[1]) for z in (low[2], high[2])]
    )
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    return corners, np.asarray([t for a, b, c, d in faces for t in ((a, b, c), (a, c, d))]).ravel()


def make_face() -> Face:
    parts = [
        (*_sphere((0.0, HEAD_Y, 0.0), 0.1, 24, 32), SKIN, None),
        (*_box((-0.012, HEAD_Y - 0.02, 0.09), (0.012, HEAD_Y + 0.005, 0.12)), RED, None),
        (*_box((EYE_X - 0.015, EYE_Y - 0.008, 0.08), (EYE_X + 0.015, EYE_Y + 0.008, 0.1)), DARK, "blink_L"),
        (*_box((-EYE_X - 0.015, EYE_Y - 0.008, 0.08), (-EYE_X + 0.015, EYE_Y + 0.008, 0.1)), DARK, "blink_R"),
        (*_box((-0.03, MOUTH_Y - 0.006, 0.075), (0.03, MOUTH_Y + 0.006, 0.097)), DARK, "jaw"),
    ]
    positions, indices, colors, owner = [], [], [], []
    count = 0
    for points, tris, color, target in parts:
        positions.append(points)
        indices.append(tris + count)
        colors.append(np.tile(color, (len(points), 1)))
        owner += [target] * len(points)
        count += len(points)
    pos = np.concatenate(positions).astype(np.float32)
    normals = pos - np.array([0.0, HEAD_Y, 0.0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    uvs = np.stack(
        [np.arctan2(normals[:, 0], normals[:, 2]) / (2 * math.pi) + 0.5, 0.5 - normals[:, 1] / 2], 1
    )
    face = Face(
        pos,
        normals.astype(np.float32),
        uvs.astype(np.float32),
        np.concatenate(colors).astype(np.float32),
        np.concatenate(indices).astype(np.uint32),
    )
    mine = np.asarray(owner)
    for name in ("jaw", "blink_L", "blink_R"):
        deltas = np.zeros_like(pos)
        if name == "jaw":
            deltas[(mine == "jaw") & (pos[:, 1] < MOUTH_Y), 1] = -0.03
        else:
            deltas[mine == name, 2] = -0.04  # the eye sinks into the head: skin shows instead
        face.targets[name] = deltas
    return face


def turn_half(face: Face) -> Face:
    """The same face turned half a turn about y (facing -z, its own left at -x), as VRM 0.x stores it."""
    flip = np.array([-1.0, 1.0, -1.0], np.float32)
    return Face(
        face.positions * flip,
        face.normals * flip,
        face.uvs,
        face.colors,
        face.indices,
        {k: v * flip for k, v in face.targets.items()},
    )


class Writer:
    """Accumulates buffer data and the glTF JSON; `quantize` and `compress` as KHR/EXT extensions say."""

    def __init__(self, quantize: bool = False, compress: bool = False) -> None:
        self.quantize, self.compress = quantize, compress
        self.data = bytearray()
        self.fallback = 0  # bytes the fallback buffer (buffer 1) would hold
        self.doc: dict[str, Any] = {
            "asset": {"version": "2.0", "generator": "tests/support/gltf_make"},
            "bufferViews": [],
            "accessors": [],
        }

    def _align(self) -> None:
        self.data.extend(b"\0" * (-len(self.data) % 4))

    def view(self, payload: bytes) -> int:
        self._align()
        self.doc["bufferViews"].append(
            {"buffer": 0, "byteOffset": len(self.data), "byteLength": len(payload)}
        )
        self.data.extend(payload)
        return len(self.doc["bufferViews"]) - 1

    def accessor(
        self,
        rows: np.ndarray,
        kind: str,
        component: int,
        *,
        normalized: bool = False,
        mode: str = "ATTRIBUTES",
        bounds: np.ndarray | None = None,
    ) -> int:
        """`rows`: (count, k) array padded so each row is whole words when compact (meshopt needs it)."""
        count, stride = len(rows), rows.nbytes // len(rows)
        if self.compress:
            packed = meshopt.encode_gltf_buffer(rows if mode == "ATTRIBUTES" else rows.ravel(), mode)
            self._align()
            ext = {
                "buffer": 0,
                "byteOffset": len(self.data),
                "byteLength": len(packed),
                "byteStride": stride,
                "count": count,
                "mode": mode,
            }
            self.data.extend(packed)
            view = {
                "buffer": 1,
                "byteOffset": self.fallback,
                "byteLength": count * stride,
                "extensions": {"EXT_meshopt_compression": ext},
            }
            self.fallback += -(-count * stride // 4) * 4
            self.doc["bufferViews"].append(view)
            index = len(self.doc["bufferViews"]) - 1
        else:
            index = self.view(rows.tobytes())
        if mode == "ATTRIBUTES" and stride % 4 == 0 and kind != "SCALAR":
            self.doc["bufferViews"][index]["byteStride"] = stride
        accessor: dict[str, Any] = {
            "bufferView": index,
            "componentType": component,
            "count": count,
            "type": kind,
        }
        if normalized:
            accessor["normalized"] = True
        if bounds is not None:
            accessor["min"], accessor["max"] = bounds.min(axis=0).tolist(), bounds.max(axis=0).tolist()
        self.doc["accessors"].append(accessor)
        return len(self.doc["accessors"]) - 1

    def finish(self, path: Path, layout: Layout, image: bytes | None = None) -> Path:
        doc = self.doc
        path.parent.mkdir(parents=True, exist_ok=True)
        if image is not None:
            if layout == "glb":
                doc["images"] = [{"bufferView": self.view(image), "mimeType": "image/png", "name": "skin"}]
            elif layout == "files":
                (path.parent / "skin.png").write_bytes(image)
                doc["images"] = [{"uri": "skin.png", "name": "skin"}]
            else:
                doc["images"] = [{"uri": "data:image/png;base64," + base64.b64encode(image).decode()}]
            doc["samplers"] = [{}]
            doc["textures"] = [{"source": 0, "sampler": 0}]
        self._align()
        buffer: dict[str, Any] = {"byteLength": len(self.data)}
        if layout == "files":
            buffer["uri"] = path.stem + ".bin"
            (path.parent / buffer["uri"]).write_bytes(bytes(self.data))
        elif layout == "data-uri":
            buffer["uri"] = (
                "data:application/octet-stream;base64," + base64.b64encode(bytes(self.data)).decode()
            )
        doc["buffers"] = [buffer]
        if self.compress:
            doc["buffers"].append(
                {"byteLength": self.fallback, "extensions": {"EXT_meshopt_compression": {"fallback": True}}}
            )
        for name, used in (
            ("EXT_meshopt_compression", self.compress),
            ("KHR_mesh_quantization", self.quantize),
        ):
            if used:
                doc.setdefault("extensionsUsed", []).append(name)
                doc.setdefault("extensionsRequired", []).append(name)
        if layout == "glb":
            path.write_bytes(glb_bytes(doc, bytes(self.data)))
        else:
            path.write_text(json.dumps(doc))
        return path


def glb_bytes(doc: dict[str, Any], binary: bytes) -> bytes:
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    body = (
        struct.pack("<II", len(text), 0x4E4F534A)
        + text
        + struct.pack("<II", len(binary), 0x004E4942)
        + binary
    )
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


def _attributes(w: Writer, face: Face) -> tuple[dict[str, int], dict[str, float | list[float]]]:
    """Accessors for the face's attributes, and the node transform a quantized copy needs."""
    n = len(face.positions)
    rgba = np.round(face.colors * 255).astype(np.uint8)
    if not w.quantize:
        attributes = {
            "POSITION": w.accessor(face.positions, "VEC3", 5126, bounds=face.positions),
            "NORMAL": w.accessor(face.normals, "VEC3", 5126),
            "TEXCOORD_0": w.accessor(face.uvs, "VEC2", 5126),
            "COLOR_0": w.accessor(rgba, "VEC4", 5121, normalized=True),
        }
        return attributes, {}
    low, high = face.positions.min(axis=0), face.positions.max(axis=0)
    scale = float((high - low).max()) / 65000.0
    offset = (low + high) / 2
    quantized = np.zeros((n, 4), np.int16)  # VEC3 padded to 8 bytes a vertex
    quantized[:, :3] = np.round((face.positions - offset) / scale)
    normals = np.zeros((n, 4), np.int8)
    normals[:, :3] = np.round(face.normals * 127)
    uvs = np.round(np.clip(face.uvs, 0, 1) * 65535).astype(np.uint16)
    attributes = {
        "POSITION": w.accessor(quantized, "VEC3", 5122, bounds=quantized[:, :3]),
        "NORMAL": w.accessor(normals, "VEC3", 5120, normalized=True),
        "TEXCOORD_0": w.accessor(uvs, "VEC2", 5123, normalized=True),
        "COLOR_0": w.accessor(rgba, "VEC4", 5121, normalized=True),
    }
    return attributes, {"translation": offset.tolist(), "scale": [scale] * 3}


def _targets(w: Writer, face: Face, transform: dict[str, Any]) -> list[dict[str, int]]:
    out = []
    for deltas in face.targets.values():
        if w.quantize:
            rows = np.zeros((len(deltas), 4), np.int16)
            rows[:, :3] = np.round(deltas / transform["scale"][0])
            out.append({"POSITION": w.accessor(rows, "VEC3", 5122, bounds=rows[:, :3])})
        else:
            out.append({"POSITION": w.accessor(deltas, "VEC3", 5126, bounds=deltas)})
    return out


def write_face(
    path: Path,
    *,
    layout: Layout = "glb",
    quantize: bool = False,
    compress: bool = False,
    textured: bool = True,
    face: Face | None = None,
    names: dict[str, str] | None = None,
) -> Writer:
    """The face as one mesh on one node; returns the writer (call `finish`, or edit `doc` first)."""
    face = face or make_face()
    w = Writer(quantize, compress)
    attributes, transform = _attributes(w, face)
    index_rows = face.indices.astype(np.uint32)
    indices = w.accessor(index_rows.reshape(-1, 1), "SCALAR", 5125, mode="TRIANGLES")
    material: dict[str, Any] = {"name": "skin", "pbrMetallicRoughness": {"baseColorFactor": [1, 1, 1, 1]}}
    if textured:
        material["pbrMetallicRoughness"]["baseColorTexture"] = {"index": 0}
    w.doc["materials"] = [material]
    names = names or PLAIN_TARGETS
    primitive = {
        "attributes": attributes,
        "indices": indices,
        "material": 0,
        "targets": _targets(w, face, transform),
    }
    w.doc["meshes"] = [
        {
            "name": "face",
            "primitives": [primitive],
            "extras": {"targetNames": [names[k] for k in face.targets]},
        }
    ]
    w.doc["nodes"] = [{"name": "face", "mesh": 0, **transform}]
    w.doc["scenes"] = [{"nodes": [0]}]
    w.doc["scene"] = 0
    return w


def skin_png() -> bytes:
    """A 16x16 two-tone checker, the kind of texture a test can find again in pixels."""
    checker = (np.indices((16, 16)).sum(axis=0) // 4) % 2
    image = np.where(checker[..., None] == 1, [230, 180, 150], [200, 140, 110]).astype(np.uint8)
    return encode_png(image)


def write_gltf(path: Path, layout: Layout = "glb", *, quantize: bool = False, compress: bool = False) -> Path:
    written = write_face(path, layout=layout, quantize=quantize, compress=compress)
    return written.finish(path, layout, skin_png())


def _add_bones(doc: dict[str, Any], face: Face, facing: float) -> dict[str, int]:
    """hips → spine → neck → head → eyes, and hands, as nodes after the mesh's (world = local here)."""
    eye_z = 0.09 * facing
    spots = {
        "hips": (0.0, 0.95, 0.0),
        "spine": (0.0, 1.1, 0.0),
        "neck": (0.0, HEAD_Y - 0.12, 0.0),
        "head": (0.0, HEAD_Y - 0.06, 0.0),
        "leftEye": (EYE_X * facing, EYE_Y, eye_z),
        "rightEye": (-EYE_X * facing, EYE_Y, eye_z),
        "leftHand": (0.7 * facing, 1.35, 0.0),
        "rightHand": (-0.7 * facing, 1.35, 0.0),
    }
    bones = {}
    for name, spot in spots.items():
        doc["nodes"].append({"name": f"J_{name}", "translation": list(spot)})
        bones[name] = len(doc["nodes"]) - 1
    doc["scenes"][0]["nodes"].extend(bones.values())
    return bones


def write_vrm(
    path: Path, version: Literal["1.0", "0.x"], *, with_blink_sides: bool = True, perfect_sync: bool = False
) -> Path:
    """A VRM face: expressions aa, blink (and blinkLeft/Right unless told not) on VRoid-named targets,
    or on ARKit-named ones (`perfect_sync`, as VRoid's "Perfect Sync" avatars name theirs)."""
    facing = 1.0 if version == "1.0" else -1.0
    face = make_face() if version == "1.0" else turn_half(make_face())
    w = write_face(path, face=face, names=PLAIN_TARGETS if perfect_sync else VRM_TARGETS, textured=False)
    doc = w.doc
    bones = _add_bones(doc, face, facing)
    order = list(face.targets)
    binds = {"aa": ["jaw"], "blink": ["blink_L", "blink_R"]}
    if with_blink_sides:
        binds |= {"blinkLeft": ["blink_L"], "blinkRight": ["blink_R"]}
    if version == "1.0":
        presets = {
            name: {"morphTargetBinds": [{"node": 0, "index": order.index(t), "weight": 1.0} for t in ts]}
            for name, ts in binds.items()
        }
        doc["extensions"] = {
            "VRMC_vrm": {
                "specVersion": "1.0",
                "meta": {"name": "test face", "licenseUrl": "https://vrm.dev/licenses/1.0/"},
                "humanoid": {"humanBones": {name: {"node": node} for name, node in bones.items()}},
                "expressions": {"preset": presets},
            }
        }
        doc["extensionsUsed"] = ["VRMC_vrm"]
    else:
        names_0x = {
            "aa": ("A", "a"),
            "blink": ("Blink", "blink"),
            "blinkLeft": ("Blink_L", "blink_l"),
            "blinkRight": ("Blink_R", "blink_r"),
        }
        groups = [
            {
                "name": names_0x[n][0],
                "presetName": names_0x[n][1],
                "binds": [{"mesh": 0, "index": order.index(t), "weight": 100} for t in ts],
            }
            for n, ts in binds.items()
        ]
        # A bare glTF material: the colour lives only in MToon's _Color, as some 0.x exporters leave it.
        doc["materials"] = [{"name": "skin"}]
        doc["extensions"] = {
            "VRM": {
                "specVersion": "0.0",
                "meta": {"title": "test face"},
                "humanoid": {"humanBones": [{"bone": name, "node": node} for name, node in bones.items()]},
                "blendShapeMaster": {"blendShapeGroups": groups},
                "materialProperties": [
                    {
                        "name": "skin",
                        "shader": "VRM/MToon",
                        "vectorProperties": {"_Color": [0.5, 0.8, 0.5, 1.0]},
                    }
                ],
            }
        }
        doc["extensionsUsed"] = ["VRM"]
    return w.finish(path, "glb")
