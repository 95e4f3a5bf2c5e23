"""glTF materials as the avatar renderer uses them: base colour (factor × texture × COLOR_0), alpha,
emissive, two-sidedness and KHR_materials_unlit, read once per file into typed values.

What a material does to a vertex is baked at load time into per-vertex data (`Surface`), so a whole
crowd still draws with one call: the base colour texture's UV set with KHR_texture_transform applied
(it is affine, so exact), the texture layer, the alpha cutoff and the emissive colour.
Metallic-roughness and normal maps are not read: under the renderer's key-and-sky lighting they change
little at the 1-4 m a face is read from. VRM's MToon materials keep a glTF `pbrMetallicRoughness` with
their base colour texture, so they draw by it.
"""

from __future__ import annotations

import enum
import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pygltflib

from emulator.render.errors import AvatarError
from emulator.render.gltf_read import AccessorReader
from emulator.render.images import LAYER_SIZE, MAX_TEXTURES, decode_image

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
UvMatrix = tuple[tuple[float, float, float], tuple[float, float, float]]  # the top two rows of a 3×3
IDENTITY_UV: UvMatrix = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0))
NO_LAYER = -1.0
BLEND_CUTOFF = -1.0  # in Surface.params: the cutoff column is -1 for BLEND, 0 for OPAQUE, >0 for MASK


class AlphaMode(enum.Enum):
    OPAQUE = "OPAQUE"
    MASK = "MASK"
    BLEND = "BLEND"


@dataclass(frozen=True)
class TextureRef:
    image: int  # glTF image index, EXT_texture_webp's source when it has one
    tex_coord: int  # which TEXCOORD_n set
    uv: UvMatrix = IDENTITY_UV  # KHR_texture_transform


@dataclass(frozen=True)
class Material:
    name: str = ""
    base_color: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 1.0)
    base_texture: TextureRef | None = None
    alpha_mode: AlphaMode = AlphaMode.OPAQUE
    alpha_cutoff: float = 0.5
    double_sided: bool = False
    emissive: tuple[float, float, float] = (0.0, 0.0, 0.0)
    emissive_texture: TextureRef | None = None
    unlit: bool = False

    @property
    def vertex_key(self) -> tuple[object, ...]:
        """What this material puts into its vertices: primitives that share accessors and this key
        (materials differing only in doubleSided, say) can share vertices."""
        textures = (self.base_texture, self.emissive_texture)
        return (self.base_color, textures, self.cutoff_code, self.emissive, self.unlit)

    @property
    def cutoff_code(self) -> float:
        if self.alpha_mode is AlphaMode.MASK:
            return max(self.alpha_cutoff, 1e-3)
        return BLEND_CUTOFF if self.alpha_mode is AlphaMode.BLEND else 0.0


DEFAULT_MATERIAL = Material()


def _get(holder: Any, key: str) -> Any:
    if isinstance(holder, dict):
        return holder.get(key)
    return getattr(holder, key, None)


def _number(value: Any, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return default
    return float(value)


def _vector(value: Any, size: int, default: tuple[float, ...]) -> tuple[float, ...]:
    if isinstance(value, list) and len(value) == size:
        return tuple(min(max(_number(v, d), 0.0), 1.0) for v, d in zip(value, default, strict=True))
    return default


def uv_matrix(transform: Any) -> UvMatrix:
    """KHR_texture_transform's translation × rotation × scale, as the spec writes it."""
    offset = transform.get("offset") if isinstance(transform, dict) else None
    scale = transform.get("scale") if isinstance(transform, dict) else None
    ox, oy = (_number(v, 0.0) for v in offset) if isinstance(offset, list) and len(offset) == 2 else (0, 0)
    sx, sy = (_number(v, 1.0) for v in scale) if isinstance(scale, list) and len(scale) == 2 else (1, 1)
    r = _number(transform.get("rotation") if isinstance(transform, dict) else None, 0.0)
    c, s = math.cos(r), math.sin(r)
    return ((c * sx, s * sy, ox), (-s * sx, c * sy, oy))


def apply_uv(uvs: F32, matrix: UvMatrix) -> F32:
    if matrix == IDENTITY_UV:
        return uvs
    m = np.asarray(matrix, np.float64)
    return np.asarray(uvs @ m[:, :2].T + m[:, 2], np.float32)


def texture_image(gltf: pygltflib.GLTF2, texture: Any, source: str) -> int:
    """The image a texture samples: EXT_texture_webp's source first (we decode WebP), else `source`."""
    textures = gltf.textures or []
    if isinstance(texture, bool) or not isinstance(texture, int) or not 0 <= texture < len(textures):
        raise AvatarError(f"{source}: texture {texture} does not exist")
    entry = textures[texture]
    webp = (entry.extensions or {}).get("EXT_texture_webp")
    image = webp.get("source") if isinstance(webp, dict) else None
    if image is None:
        image = entry.source
    if isinstance(image, bool) or not isinstance(image, int) or not 0 <= image < len(gltf.images or []):
        raise AvatarError(f"{source}: texture {texture} names image {image}, which does not exist")
    return image


def _texture_ref(gltf: pygltflib.GLTF2, info: Any, source: str) -> TextureRef | None:
    """The texture `info` names; None (drawn untextured, with a warning) when it names nothing usable."""
    if info is None:
        return None
    try:
        image = texture_image(gltf, _get(info, "index"), source)
    except AvatarError as error:
        log.warning("%s (drawn untextured)", error)
        return None
    tex_coord = _get(info, "texCoord")
    extensions = _get(info, "extensions") or {}
    transform = extensions.get("KHR_texture_transform") if isinstance(extensions, dict) else None
    uv = IDENTITY_UV
    if isinstance(transform, dict):
        uv = uv_matrix(transform)
        tex_coord = transform.get("texCoord", tex_coord)  # the extension may override the set
    if isinstance(tex_coord, bool) or not isinstance(tex_coord, int) or not 0 <= tex_coord < 8:
        tex_coord = 0
    return TextureRef(image=image, tex_coord=tex_coord, uv=uv)


def _vrm0_properties(gltf: pygltflib.GLTF2, index: int) -> dict[str, Any]:
    """VRM 0.x's `materialProperties` entry for material `index` (by name, else in order, as
    vrm.mtoon_fallback finds it); {} when there is none."""
    vrm = (gltf.extensions or {}).get("VRM") if isinstance(gltf.extensions, dict) else None
    entries = vrm.get("materialProperties") if isinstance(vrm, dict) else None
    if not isinstance(entries, list):
        return {}
    name = (gltf.materials or [])[index].name
    by_name = [e for e in entries if isinstance(e, dict) and name and e.get("name") == name]
    if by_name:
        return dict(by_name[0])
    entry = entries[index] if index < len(entries) else None
    return dict(entry) if isinstance(entry, dict) else {}


def read_material(gltf: pygltflib.GLTF2, index: Any, source: str) -> Material:
    """Material `index` (DEFAULT_MATERIAL for a primitive without one)."""
    materials = gltf.materials or []
    if index is None:
        return DEFAULT_MATERIAL
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(materials):
        raise AvatarError(f"{source}: material {index} does not exist")
    m = materials[index]
    pbr = m.pbrMetallicRoughness
    mode = m.alphaMode if m.alphaMode in ("OPAQUE", "MASK", "BLEND") else "OPAQUE"
    extensions = m.extensions if isinstance(m.extensions, dict) else {}
    strength = extensions.get("KHR_materials_emissive_strength")
    gain = _number(strength.get("emissiveStrength"), 1.0) if isinstance(strength, dict) else 1.0
    emissive = _vector(m.emissiveFactor, 3, (0.0, 0.0, 0.0))
    base_texture = _texture_ref(gltf, _get(pbr, "baseColorTexture"), source)
    # MToon (VRM 1.0's extension, VRM 0.x's shader) is a lit toon shader: drawn lit by its base colour
    # texture (vrm.mtoon_fallback fills a bare VRM 0.x material's), although exporters add
    # KHR_materials_unlit for viewers that know no MToon.
    mtoon = "VRMC_materials_mtoon" in extensions or _vrm0_properties(gltf, index).get("shader") == "VRM/MToon"
    return Material(
        name=m.name or f"material{index}",
        base_color=_vector(_get(pbr, "baseColorFactor"), 4, DEFAULT_MATERIAL.base_color),  # type: ignore[arg-type]
        base_texture=base_texture,
        alpha_mode=AlphaMode(mode),
        alpha_cutoff=min(max(_number(m.alphaCutoff, 0.5), 0.0), 1.0),
        double_sided=bool(m.doubleSided),
        emissive=tuple(min(e * gain, 1.0) for e in emissive),  # type: ignore[arg-type]
        emissive_texture=_texture_ref(gltf, m.emissiveTexture, source),
        unlit="KHR_materials_unlit" in extensions and not mtoon,
    )


class ImageLayers:
    """The images an avatar's materials use, decoded once each into texture layers, in first-use order.

    An image that cannot be used (refused URI, oversized, broken, one too many) is logged once in one
    line naming it, and what uses it is drawn untextured: the avatar still loads."""

    def __init__(self, reader: AccessorReader, layer_size: int = LAYER_SIZE) -> None:
        self.reader = reader
        self.layer_size = layer_size
        self._layer: dict[int, int | None] = {}
        self._pixels: list[npt.NDArray[np.uint8]] = []

    def layer(self, image: int) -> int | None:
        """The layer of glTF image `image`, or None when it cannot be used."""
        if image not in self._layer:
            self._layer[image] = None
            try:
                if len(self._pixels) >= MAX_TEXTURES:
                    raise AvatarError(
                        f"{self.reader.source}: image {image}: over {MAX_TEXTURES} texture images"
                    )
                data, _mime = self.reader.image_bytes(image)
                name = (self.reader.gltf.images or [])[image].name or ""
                label = f"{self.reader.source}: image {image}" + (f" ({name!r})" if name else "")
                self._pixels.append(decode_image(data, label, self.layer_size))
                self._layer[image] = len(self._pixels) - 1
            except AvatarError as error:
                log.warning("%s (drawn untextured)", error)
        return self._layer[image]

    def stack(self) -> npt.NDArray[np.uint8]:
        """(layers, size, size, 4) RGBA."""
        if not self._pixels:
            return np.zeros((0, self.layer_size, self.layer_size, 4), np.uint8)
        return np.stack(self._pixels)


@dataclass
class Surface:
    """Per-vertex material data of one primitive."""

    uvs: F32  # (n, 2) of the base colour texture's set, transformed
    params: F32  # (n, 4): base layer, cutoff code, emissive layer, unlit (layers -1 when none)
    emissive: F32  # (n, 3)


def primitive_surface(
    reader: AccessorReader, attributes: Any, material: Material, n: int, layers: ImageLayers
) -> Surface:
    uvs = np.zeros((n, 2), np.float32)
    base_layer = emissive_layer = NO_LAYER
    texture = material.base_texture or material.emissive_texture
    if texture is not None:
        accessor = _get(attributes, f"TEXCOORD_{texture.tex_coord}")
        if accessor is None:
            log.info(
                "%s: material %r has a texture but no TEXCOORD_%d",
                reader.source,
                material.name,
                texture.tex_coord,
            )
        else:
            raw = reader.read(accessor)
            if raw.shape != (n, 2):
                raise AvatarError(f"{reader.source}: TEXCOORD_{texture.tex_coord} is not one VEC2 per vertex")
            uvs = apply_uv(raw, texture.uv)
            if material.base_texture is not None:
                base_layer = _or_none(layers.layer(material.base_texture.image))
            if material.emissive_texture is not None:  # sampled with the base texture's UVs
                emissive_layer = _or_none(layers.layer(material.emissive_texture.image))
    params = np.array(
        [base_layer, material.cutoff_code, emissive_layer, 1.0 if material.unlit else 0.0], np.float32
    )
    return Surface(
        uvs=np.ascontiguousarray(uvs, np.float32),
        params=np.broadcast_to(params, (n, 4)).copy(),
        emissive=np.broadcast_to(np.asarray(material.emissive, np.float32), (n, 3)).copy(),
    )


def _or_none(layer: int | None) -> float:
    return NO_LAYER if layer is None else float(layer)
