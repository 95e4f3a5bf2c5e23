"""Textured avatar files made by tests: a square with a known picture on a known UV layout.

The square faces glTF's +z (so the loader turns it toward the viewer), 40 cm a side, centred on the
origin, which the file names as the eye centre so the avatar frame keeps those coordinates (x mirrored,
as the loader turns every file half a turn about y). Its picture is a 2×2 checker of four colours laid
out so that, seen from the front, the picture appears as painted: `QUADRANTS` gives the colour and the
avatar-frame point at the middle of each quadrant. The JSON and BIN are packed by hand so that the test
controls every field (extensions, alpha modes, several images).
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

HALF = 0.2  # metres: half the square's side
RED, GREEN, BLUE, YELLOW = (220, 40, 40), (40, 200, 60), (40, 70, 220), (230, 210, 40)
# (colour, avatar-frame point) of each quadrant: top-left, top-right, bottom-left, bottom-right as seen
QUADRANTS: tuple[tuple[tuple[int, int, int], tuple[float, float, float]], ...] = (
    (RED, (HALF / 2, HALF / 2, 0.0)),
    (GREEN, (-HALF / 2, HALF / 2, 0.0)),
    (BLUE, (HALF / 2, -HALF / 2, 0.0)),
    (YELLOW, (-HALF / 2, -HALF / 2, 0.0)),
)


def checker(size: int = 64, transparent_left: bool = False) -> npt.NDArray[np.uint8]:
    """(size, size, 4) RGBA: the four colours in quadrants; the left half alpha 0 if asked."""
    image = np.zeros((size, size, 4), np.uint8)
    half = size // 2
    image[:half, :half, :3], image[:half, half:, :3] = RED, GREEN
    image[half:, :half, :3], image[half:, half:, :3] = BLUE, YELLOW
    image[..., 3] = 255
    if transparent_left:
        image[:, :half, 3] = 0
    return image


def encode(image: npt.NDArray[np.uint8], fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "WEBP":
        Image.fromarray(image).save(out, "WEBP", lossless=True, exact=True)
    elif fmt == "JPEG":
        Image.fromarray(image[..., :3]).save(out, "JPEG", quality=95)
    else:
        Image.fromarray(image).save(out, fmt)
    return out.getvalue()


class GlbBuilder:
    """A glTF document and its BIN chunk, built field by field."""

    def __init__(self) -> None:
        self.doc: dict[str, Any] = {
            "asset": {"version": "2.0", "generator": "tests/support/textured"},
            "scene": 0,
            "scenes": [{"nodes": [], "extras": {"headsetEmulator": {"eyeCentre": [0.0, 0.0, 0.0]}}}],
            "nodes": [],
            "meshes": [],
            "materials": [],
            "textures": [],
            "images": [],
            "accessors": [],
            "bufferViews": [],
            "buffers": [],
        }
        self.blob = bytearray()

    def view(self, payload: bytes) -> int:
        while len(self.blob) % 4:
            self.blob.append(0)
        self.doc["bufferViews"].append(
            {"buffer": 0, "byteOffset": len(self.blob), "byteLength": len(payload)}
        )
        self.blob.extend(payload)
        return len(self.doc["bufferViews"]) - 1

    def accessor(self, array: npt.NDArray[Any], kind: str) -> int:
        component = {"float32": 5126, "uint16": 5123}[str(array.dtype)]
        entry: dict[str, Any] = {
            "bufferView": self.view(array.tobytes()),
            "componentType": component,
            "count": len(array),
            "type": kind,
        }
        if kind == "VEC3":
            entry["min"], entry["max"] = array.min(axis=0).tolist(), array.max(axis=0).tolist()
        self.doc["accessors"].append(entry)
        return len(self.doc["accessors"]) - 1

    def image(self, data: bytes, mime: str, name: str = "") -> int:
        self.doc["images"].append({"bufferView": self.view(data), "mimeType": mime, "name": name})
        return len(self.doc["images"]) - 1

    def texture(self, source: int | None = None, webp: int | None = None) -> int:
        entry: dict[str, Any] = {}
        if source is not None:
            entry["source"] = source
        if webp is not None:
            entry["extensions"] = {"EXT_texture_webp": {"source": webp}}
        self.doc["textures"].append(entry)
        return len(self.doc["textures"]) - 1

    def material(self, **fields: Any) -> int:
        self.doc["materials"].append(fields)
        return len(self.doc["materials"]) - 1

    def square(self, material: int | None, z: float = 0.0, half: float = HALF, uv1: bool = False) -> None:
        """A square facing +z at depth `z`, UV (0, 0) at its top-left as seen from the front; with `uv1`
        a second set, TEXCOORD_1, holding half the first."""
        positions = np.array(
            [[-half, half, z], [half, half, z], [-half, -half, z], [half, -half, z]], np.float32
        )
        normals = np.tile(np.array([0.0, 0.0, 1.0], np.float32), (4, 1))
        uvs = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
        indices = np.array([0, 2, 1, 1, 2, 3], np.uint16)  # counter-clockwise seen from +z
        attributes = {
            "POSITION": self.accessor(positions, "VEC3"),
            "NORMAL": self.accessor(normals, "VEC3"),
            "TEXCOORD_0": self.accessor(uvs, "VEC2"),
        }
        if uv1:
            attributes["TEXCOORD_1"] = self.accessor(uvs / 2, "VEC2")
        primitive: dict[str, Any] = {"attributes": attributes, "indices": self.accessor(indices, "SCALAR")}
        if material is not None:
            primitive["material"] = material
        self.doc["meshes"].append({"name": f"square{len(self.doc['meshes'])}", "primitives": [primitive]})
        self.doc["nodes"].append({"mesh": len(self.doc["meshes"]) - 1})
        self.doc["scenes"][0]["nodes"].append(len(self.doc["nodes"]) - 1)

    def require(self, *extensions: str) -> None:
        for key in ("extensionsUsed", "extensionsRequired"):
            self.doc.setdefault(key, []).extend(e for e in extensions if e not in self.doc.get(key, []))

    def glb(self) -> bytes:
        while len(self.blob) % 4:
            self.blob.append(0)
        self.doc["buffers"] = [{"byteLength": len(self.blob)}]
        document = json.dumps({k: v for k, v in self.doc.items() if v != []}).encode()
        document += b" " * (-len(document) % 4)
        chunks = struct.pack("<II", len(document), 0x4E4F534A) + document
        chunks += struct.pack("<II", len(self.blob), 0x004E4942) + bytes(self.blob)
        return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks

    def save(self, path: Path) -> Path:
        path.write_bytes(self.glb())
        return path


def textured_square(
    path: Path,
    *,
    fmt: str = "PNG",
    alpha_mode: str = "OPAQUE",
    unlit: bool = False,
    transparent_left: bool = False,
) -> Path:
    """The checker square; `fmt` "WEBP" names the image only through EXT_texture_webp (required)."""
    builder = GlbBuilder()
    mime = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}[fmt]
    image = builder.image(encode(checker(transparent_left=transparent_left), fmt), mime, "checker")
    if fmt == "WEBP":
        texture = builder.texture(webp=image)
        builder.require("EXT_texture_webp")
    else:
        texture = builder.texture(source=image)
    fields: dict[str, Any] = {
        "name": "checker",
        "pbrMetallicRoughness": {"baseColorTexture": {"index": texture}},
        "alphaMode": alpha_mode,
    }
    if unlit:
        fields["extensions"] = {"KHR_materials_unlit": {}}
        builder.require("KHR_materials_unlit")
    builder.square(builder.material(**fields))
    return builder.save(path)


def glass_over_red(path: Path, red: bool = True) -> Path:
    """A red opaque square with a half-transparent blue BLEND square 5 cm in front of it (nearer the
    viewer), written BLEND first in the file so that only draw order can make the blue show; with
    `red` False, the glass alone."""
    builder = GlbBuilder()
    glass = builder.material(
        name="glass",
        pbrMetallicRoughness={"baseColorFactor": [0.1, 0.2, 1.0, 0.5]},
        alphaMode="BLEND",
        extensions={"KHR_materials_unlit": {}},
    )
    opaque = builder.material(
        name="red",
        pbrMetallicRoughness={"baseColorFactor": [1.0, 0.0, 0.0, 1.0]},
        extensions={"KHR_materials_unlit": {}},
    )
    builder.square(glass, z=0.05, half=HALF / 2)
    if red:
        builder.square(opaque)
    return builder.save(path)


def _uv_sphere(
    radius: float, centre: tuple[float, float, float], rows: int = 32, cols: int = 48
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.uint16]]:
    """Positions, normals, equirectangular UVs (the front, +z, at u = 0.25) and triangles; the seam
    column is doubled so that UVs do not wrap inside a triangle."""
    t, p = np.meshgrid(np.linspace(0, np.pi, rows), np.linspace(0, 2 * np.pi, cols + 1), indexing="ij")
    d = np.stack([np.sin(t) * np.cos(p), np.cos(t), np.sin(t) * np.sin(p)], axis=-1).reshape(-1, 3)
    uvs = np.stack([p / (2 * np.pi), t / np.pi], axis=-1).reshape(-1, 2)
    stride = cols + 1
    tris = []
    for i in range(rows - 1):
        for j in range(cols):
            a, b = i * stride + j, i * stride + j + 1
            tris += [(a, b, a + stride), (b, b + stride, a + stride)]  # counter-clockwise from outside
    positions = (np.asarray(centre) + radius * d).astype(np.float32)
    return positions, d.astype(np.float32), uvs.astype(np.float32), np.asarray(tris, np.uint16).ravel()


def face_picture(size: int = 512) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """A painted face (skin, eyes, brows, lips) and a hair picture whose alpha cuts a fringe, both
    equirectangular with the face centred at u = 0.25."""
    from PIL import ImageDraw

    skin = Image.new("RGBA", (size, size), (224, 172, 140, 255))
    draw = ImageDraw.Draw(skin)
    s = size / 512

    def box(u: float, v: float, w: float, h: float) -> tuple[float, float, float, float]:
        return ((u - w) * size, (v - h) * size, (u + w) * size, (v + h) * size)

    for side in (-1, 1):
        u = 0.25 + side * 0.055
        draw.ellipse(box(u, 0.5, 0.028, 0.022), fill=(250, 250, 245, 255))
        draw.ellipse(box(u, 0.5, 0.013, 0.018), fill=(70, 110, 160, 255))
        draw.ellipse(box(u, 0.5, 0.006, 0.009), fill=(20, 20, 25, 255))
        draw.line(
            [box(u, 0.445, 0.03, 0)[:2], box(u, 0.445, 0.03, 0)[2:]], fill=(90, 60, 40, 255), width=int(7 * s)
        )
    draw.ellipse(box(0.25, 0.655, 0.05, 0.02), fill=(186, 80, 84, 255))
    draw.line(
        [box(0.25, 0.655, 0.05, 0)[:2], box(0.25, 0.655, 0.05, 0)[2:]],
        fill=(120, 40, 50, 255),
        width=int(3 * s),
    )
    draw.ellipse(box(0.25, 0.58, 0.012, 0.01), fill=(205, 150, 122, 255))
    hair = np.zeros((size, size, 4), np.uint8)
    hair[..., :3] = (92, 58, 34)
    u = np.linspace(0, 1, size)[None, :]
    v = np.linspace(0, 1, size)[:, None]
    front = np.abs(((u - 0.25 + 0.5) % 1.0) - 0.5)  # distance from the middle of the face, in u
    edge = np.where(front < 0.12, 0.40 + 0.02 * np.sin(u * 180), 0.62)  # a fringe over the forehead
    hair[..., 3] = np.where(v < edge, 255, 0).astype(np.uint8)
    streaks = (np.sin(u * 400) * 18).astype(np.int16)
    hair[..., :3] = np.clip(hair[..., :3].astype(np.int16) + streaks[..., None], 0, 255).astype(np.uint8)
    return np.asarray(skin), hair


def textured_head(path: Path) -> Path:
    """A head a person can read: a painted face on a sphere, and a MASK hair shell over it."""
    builder = GlbBuilder()
    skin, hair = face_picture()
    layers = [
        builder.texture(builder.image(encode(img, "PNG"), "image/png", name))
        for img, name in ((skin, "face"), (hair, "hair"))
    ]
    face_material = builder.material(
        name="face", pbrMetallicRoughness={"baseColorTexture": {"index": layers[0]}}
    )
    hair_material = builder.material(
        name="hair",
        pbrMetallicRoughness={"baseColorTexture": {"index": layers[1]}},
        alphaMode="MASK",
        alphaCutoff=0.5,
        doubleSided=True,
    )
    for material, radius in ((face_material, 0.1), (hair_material, 0.106)):
        positions, normals, uvs, indices = _uv_sphere(radius, (0.0, 0.0, -0.055))
        positions[:, 1] *= 1.22  # taller than wide
        attributes = {
            "POSITION": builder.accessor(positions, "VEC3"),
            "NORMAL": builder.accessor(normals, "VEC3"),
            "TEXCOORD_0": builder.accessor(uvs, "VEC2"),
        }
        primitive = {
            "attributes": attributes,
            "indices": builder.accessor(indices, "SCALAR"),
            "material": material,
        }
        builder.doc["meshes"].append({"name": "head", "primitives": [primitive]})
        builder.doc["nodes"].append({"mesh": len(builder.doc["meshes"]) - 1})
        builder.doc["scenes"][0]["nodes"].append(len(builder.doc["nodes"]) - 1)
    return builder.save(path)


def textured_copy(avatar: Any, layers: int = 10, layer_size: int = 512) -> Any:
    """`avatar` with spherical UVs and `layers` generated texture layers, one per horizontal band of
    the mesh, for benchmarks that want RPM-class texture counts on any mesh."""
    from dataclasses import replace

    p = avatar.positions - avatar.positions.mean(axis=0)
    d = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-9)
    uvs = np.stack(
        [np.arctan2(d[:, 0], -d[:, 2]) / (2 * np.pi) + 0.5, np.arccos(np.clip(d[:, 1], -1, 1)) / np.pi], 1
    )
    band = np.minimum(
        (
            (avatar.positions[:, 1] - avatar.positions[:, 1].min()) / np.ptp(avatar.positions[:, 1]) * layers
        ).astype(int),
        layers - 1,
    )
    surface = avatar.surface.copy()
    surface[:, 0] = band
    grid = (np.indices((layer_size, layer_size)).sum(axis=0) // 32) % 2
    textures = np.empty((layers, layer_size, layer_size, 4), np.uint8)
    for k in range(layers):
        textures[k, ..., :3] = np.where(grid[..., None], 255, 200 - 8 * k)
        textures[k, ..., 3] = 255
    return replace(
        avatar, name=f"{avatar.name}+tex", uvs=uvs.astype(np.float32), surface=surface, textures=textures
    )
