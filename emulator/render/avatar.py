"""Avatars: glTF 2.0 .glb/.gltf and VRM with ARKit-named morph targets, flattened into one mesh to draw.

The avatar frame: metres, +y up, the avatar looks toward -z (like the headset it stands for, so its own
left is -x), origin between the eyes, because a participant's head pose is its headset's pose.
glTF and VRM 1.0 models face +z, so the loader turns them half a turn about y; VRM 0.x models already
face -z and are not turned (vrm.py). Then it moves the eyes to the origin: from our own files'
`scene.extras.headsetEmulator.eyeCentre`, else a VRM's leftEye/rightEye bones, else from nodes named
like `LeftEye`/`RightEye` (Ready Player Me's joints), else from the top of the bounding box. VRM
expressions become ARKit/viseme-named targets (vrm.synthesise_targets).

Every primitive of every mesh in the default scene is baked with its node's transform into one vertex
array (skinned meshes are taken in bind pose, as their vertices are stored; a file with skins also gets
its skeleton and per-vertex joints and weights, skeleton.py, so it can be posed), colour = material
`baseColorFactor` × `COLOR_0`, times the base colour texture when drawn; each vertex carries its
material's UVs, texture layer, alpha mode and emissive colour (`materials.py`). Morph targets are merged
by name across meshes, so an RPM avatar's head, teeth and eyes all follow `jawOpen` together.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pygltflib

from emulator.render.errors import AvatarError
from emulator.render.faces import TargetMap, map_targets
from emulator.render.gltf_read import AccessorReader, load_document
from emulator.render.materials import (
    NO_LAYER,
    AlphaMode,
    ImageLayers,
    Material,
    primitive_surface,
    read_material,
)
from emulator.render.meshmath import vertex_normals
from emulator.render.skeleton import Skeleton, SkinBuilder, has_skins
from emulator.render.vrm import VrmInfo, mtoon_fallback, read_vrm, synthesise_targets

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
_GLTF_TO_AVATAR = np.diag([-1.0, 1.0, -1.0, 1.0])  # a half turn about y
_TRIANGLES = 4
_MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass
class Avatar:
    """One avatar's geometry and morph targets, in the avatar frame. Shared by all who wear it."""

    name: str
    positions: F32  # (V, 3)
    normals: F32  # (V, 3)
    colors: F32  # (V, 4)
    indices: npt.NDArray[np.uint32]  # (3 * triangles,)
    target_names: tuple[str, ...]
    deltas: F32  # (T, V, 3)
    single_sided: int = 0  # the first this many indices may be back-face culled; the rest are two-sided
    # Materials, per vertex (materials.py); left empty by a caller they default to untextured and opaque.
    uvs: F32 = field(default_factory=lambda: np.zeros((0, 2), np.float32))  # (V, 2)
    surface: F32 = field(default_factory=lambda: np.zeros((0, 4), np.float32))  # (V, 4) layer, cutoff, …
    emissive: F32 = field(default_factory=lambda: np.zeros((0, 3), np.float32))  # (V, 3)
    textures: npt.NDArray[np.uint8] = field(default_factory=lambda: np.zeros((0, 1, 1, 4), np.uint8))
    blend_start: int = -1  # indices from here on are BLEND triangles, drawn after everything opaque
    humanoid: dict[str, int] = field(default_factory=dict, compare=False)  # VRM bone name -> glTF node
    draws_own_hands: bool = False  # it poses its own finger bones; else hand_mesh.py draws simple hands
    skeleton: Skeleton | None = None  # with the two arrays below when the file has skins
    skin_joints: npt.NDArray[np.uint16] | None = None  # (V, 4) skeleton slots
    skin_weights: F32 | None = None  # (V, 4), each row summing to 1
    targets: TargetMap = field(init=False)
    levels: dict[float, Avatar] = field(default_factory=dict, init=False, repr=False, compare=False)  # lod.py

    def __post_init__(self) -> None:
        self.targets = map_targets(self.target_names)
        n = len(self.positions)
        if len(self.uvs) != n:
            self.uvs = np.zeros((n, 2), np.float32)
        if len(self.surface) != n:
            self.surface = np.tile(np.array([NO_LAYER, 0.0, NO_LAYER, 0.0], np.float32), (n, 1))
        if len(self.emissive) != n:
            self.emissive = np.zeros((n, 3), np.float32)
        if not 0 <= self.blend_start <= len(self.indices):
            self.blend_start = len(self.indices)

    @property
    def vertex_count(self) -> int:
        return len(self.positions)

    @property
    def missing_arkit(self) -> tuple[str, ...]:
        return self.targets.missing_arkit


def _node_matrix(node: pygltflib.Node) -> npt.NDArray[np.float64]:
    if node.matrix:
        return np.asarray(node.matrix, dtype=np.float64).reshape(4, 4).T  # glTF stores column-major
    m = np.eye(4)
    if node.scale:
        m = np.diag([*map(float, node.scale), 1.0]) @ m
    if node.rotation:
        x, y, z, w = map(float, node.rotation)
        r = np.eye(4)
        r[:3, :3] = [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
        m = r @ m
    if node.translation:
        t = np.eye(4)
        t[:3, 3] = list(map(float, node.translation))
        m = t @ m
    return m


def _walk(gltf: pygltflib.GLTF2, source: str) -> list[tuple[int, npt.NDArray[np.float64]]]:
    """(node index, world matrix) of every node in the default scene, depth first, cycles refused."""
    nodes = gltf.nodes or []
    scenes = gltf.scenes or []
    if scenes:
        scene_index = gltf.scene if isinstance(gltf.scene, int) and 0 <= gltf.scene < len(scenes) else 0
        roots = list(scenes[scene_index].nodes or [])
    else:
        children = {c for n in nodes for c in (n.children or [])}
        roots = [i for i in range(len(nodes)) if i not in children]
    out: list[tuple[int, npt.NDArray[np.float64]]] = []
    stack = [(r, np.eye(4), 0) for r in reversed(roots)]
    seen: set[int] = set()
    while stack:
        index, parent, depth = stack.pop()
        if not isinstance(index, int) or not 0 <= index < len(nodes):
            raise AvatarError(f"{source}: node {index} does not exist")
        if index in seen or depth > 256:
            raise AvatarError(f"{source}: the node hierarchy has a cycle at node {index}")
        seen.add(index)
        world = parent @ _node_matrix(nodes[index])
        out.append((index, world))
        stack.extend((c, world, depth + 1) for c in reversed(nodes[index].children or []))
    return out


def _target_names(mesh: pygltflib.Mesh, primitive: pygltflib.Primitive, count: int) -> list[str]:
    for holder in (mesh.extras, primitive.extras):
        names = holder.get("targetNames") if isinstance(holder, dict) else None
        if isinstance(names, list) and len(names) == count and all(isinstance(n, str) for n in names):
            return names
    return [f"target{i}" for i in range(count)]


def _attr(holder: Any, key: str) -> Any:
    """pygltflib gives attribute sets as objects or plain dicts depending on how it parsed them."""
    if isinstance(holder, dict):
        return holder.get(key)
    return getattr(holder, key, None)


class _Merger:
    def __init__(self, layers: ImageLayers) -> None:
        self.layers = layers
        self.materials: dict[int | None, Material] = {}
        self.positions: list[F32] = []
        self.normals: list[F32] = []  # NaN rows: no NORMAL in the file, computed once all triangles are known
        self.colors: list[F32] = []
        self.single: list[npt.NDArray[np.uint32]] = []  # triangles that may be culled (glTF's default)
        self.double: list[npt.NDArray[np.uint32]] = []  # materials marked doubleSided
        self.blend: list[npt.NDArray[np.uint32]] = []  # alphaMode BLEND, drawn last
        self.uvs: list[F32] = []
        self.surface: list[F32] = []
        self.emissive: list[F32] = []
        self.targets: dict[str, list[tuple[int, F32]]] = {}
        self.morphs: dict[tuple[int, int], list[tuple[int, F32]]] = {}  # (mesh, target index): for VRM
        self.count = 0
        self._shared: dict[tuple[Any, ...], int] = {}
        self.skin: SkinBuilder | None = None

    def add_primitive(
        self,
        reader: AccessorReader,
        gltf: pygltflib.GLTF2,
        mesh: pygltflib.Mesh,
        prim: Any,
        world: Any,
        node_index: int,
        mesh_index: int = -1,
    ) -> None:
        attributes = prim.attributes
        if attributes is None or _attr(attributes, "POSITION") is None:
            raise AvatarError(f"{reader.source}: a primitive of mesh {mesh.name!r} has no POSITION")
        if prim.material not in self.materials:
            self.materials[prim.material] = read_material(gltf, prim.material, reader.source)
        material = self.materials[prim.material]
        group = self.double if material.double_sided else self.single
        if material.alpha_mode is AlphaMode.BLEND:
            group = self.blend
        # Primitives that share their vertex accessors and material share vertices here too.
        key = (
            node_index,
            _attr(attributes, "POSITION"),
            _attr(attributes, "NORMAL"),
            _attr(attributes, "COLOR_0"),
            material.vertex_key,
            tuple(_attr(t, "POSITION") for t in prim.targets or []),
        )
        positions = reader.read(_attr(attributes, "POSITION"))
        n = len(positions)
        if positions.shape[1] != 3:
            raise AvatarError(f"{reader.source}: POSITION of mesh {mesh.name!r} is not VEC3")
        if prim.indices is not None:
            indices = reader.read(prim.indices, as_float=False).ravel().astype(np.int64)
            if indices.size and (indices.min() < 0 or indices.max() >= n):
                raise AvatarError(f"{reader.source}: mesh {mesh.name!r} has an index past its {n} vertices")
        else:
            indices = np.arange(n, dtype=np.int64)
        indices = indices[: len(indices) // 3 * 3]
        linear = world[:3, :3]
        if np.linalg.det(linear) < 0:  # a mirroring transform turns front faces around (glTF spec)
            indices = indices.reshape(-1, 3)[:, ::-1].ravel()
        if key in self._shared:
            group.append((indices + self._shared[key]).astype(np.uint32))
            return
        self._shared[key] = self.count
        if self.skin is not None:
            self.skin.add(node_index, attributes, n)
        placed = (positions @ linear.T + world[:3, 3]).astype(np.float32)
        normal_index, color_index = _attr(attributes, "NORMAL"), _attr(attributes, "COLOR_0")
        if normal_index is not None and reader.read(normal_index).shape == (n, 3):
            normal_matrix = np.linalg.inv(linear).T if abs(np.linalg.det(linear)) > 1e-12 else linear
            normals = reader.read(normal_index) @ normal_matrix.T
            normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        else:
            normals = np.full((n, 3), np.nan, np.float32)
        color = np.broadcast_to(np.asarray(material.base_color, np.float32), (n, 4)).copy()
        if color_index is not None:
            vertex_color = reader.read(color_index)
            if len(vertex_color) == n and vertex_color.shape[1] in (3, 4):
                color[:, : vertex_color.shape[1]] *= vertex_color
        names = _target_names(mesh, prim, len(prim.targets or []))
        for k, (name, target) in enumerate(zip(names, prim.targets or [], strict=True)):
            index = _attr(target, "POSITION")
            if index is None:
                continue
            deltas = reader.read(index)
            if deltas.shape != (n, 3):
                raise AvatarError(
                    f"{reader.source}: target {name!r} of mesh {mesh.name!r} has the wrong size"
                )
            placed_deltas = (deltas @ linear.T).astype(np.float32)
            self.targets.setdefault(name, []).append((self.count, placed_deltas))
            self.morphs.setdefault((mesh_index, k), []).append((self.count, placed_deltas))
        self.positions.append(placed)
        self.normals.append(normals.astype(np.float32))
        self.colors.append(color.astype(np.float32))
        surface = primitive_surface(reader, attributes, material, n, self.layers)
        self.uvs.append(surface.uvs)
        self.surface.append(surface.params)
        self.emissive.append(surface.emissive)
        group.append((indices + self.count).astype(np.uint32))
        self.count += n

    def triangles(self) -> tuple[npt.NDArray[np.uint32], int, int]:
        """All indices (single-sided, two-sided, BLEND), how many are single-sided, where BLEND starts."""
        single, double, blend = (
            np.concatenate(g) if g else np.zeros(0, np.uint32) for g in (self.single, self.double, self.blend)
        )
        return (
            np.concatenate([single, double, blend]).astype(np.uint32),
            len(single),
            len(single) + len(double),
        )

    def all_normals(self, positions: F32, indices: npt.NDArray[np.uint32]) -> F32:
        normals = np.concatenate(self.normals)
        missing = np.isnan(normals[:, 0])
        if missing.any():
            normals[missing] = vertex_normals(positions, indices.reshape(-1, 3))[missing]
        return normals


def _eye_centre(
    gltf: pygltflib.GLTF2, world: dict[int, Any], positions: F32, vrm: VrmInfo | None
) -> npt.NDArray[np.float64]:
    """The point between the eyes, in the glTF frame (see the module docstring for the order tried)."""
    for scene in gltf.scenes or []:
        tag = scene.extras.get("headsetEmulator") if isinstance(scene.extras, dict) else None
        if isinstance(tag, dict) and isinstance(tag.get("eyeCentre"), list) and len(tag["eyeCentre"]) == 3:
            return np.asarray(tag["eyeCentre"], np.float64)
    bones = vrm.humanoid if vrm is not None else {}
    if bones.get("leftEye") in world and bones.get("rightEye") in world:
        return np.asarray((world[bones["leftEye"]][:3, 3] + world[bones["rightEye"]][:3, 3]) / 2)
    eyes: dict[str, npt.NDArray[np.float64]] = {}
    for index, node in enumerate(gltf.nodes or []):
        key = (node.name or "").lower().replace("_", "")
        for side in ("left", "right"):
            if key.endswith((f"{side}eye", f"eye{side}")) and index in world:
                eyes.setdefault(side, world[index][:3, 3])
    if len(eyes) == 2:
        return np.asarray((eyes["left"] + eyes["right"]) / 2)
    low, high = positions.min(axis=0), positions.max(axis=0)
    height = float(high[1] - low[1])
    centre = (low + high) / 2
    # A head-only model has its eyes near the middle; a full body about 12 cm under the top.
    eye_y = high[1] - 0.12 if height > 0.6 else centre[1]
    return np.array([centre[0], eye_y, centre[2]])


def _add_vrm_targets(merger: _Merger, vrm: VrmInfo, positions: F32, eye_x: float) -> None:
    """Append the ARKit/viseme-named targets made from the VRM's expressions (file frame)."""
    wanted = {(m, i) for binds in vrm.expressions.values() for m, i, _ in binds}
    morphs: dict[tuple[int, int], F32] = {}
    for key, blocks in merger.morphs.items():
        if key in wanted:
            morphs[key] = np.zeros((merger.count, 3), np.float32)
            for start, d in blocks:
                morphs[key][start : start + len(d)] += d
    for target_name, d in synthesise_targets(vrm, morphs, positions, eye_x).items():
        merger.targets.setdefault(target_name, [(0, d)])


def load_avatar(path: str | Path) -> Avatar:
    """Load a .glb, .gltf or .vrm; raises AvatarError (never anything else) when it cannot be used."""
    path = Path(path)
    source = str(path)
    try:
        size = path.stat().st_size
        if size > _MAX_FILE_BYTES:
            raise AvatarError(f"{source}: {size} bytes is too big for an avatar")
        data = path.read_bytes()
    except OSError as error:
        raise AvatarError(f"{source}: cannot read ({error.strerror})") from None
    return parse_avatar(data, source, name=path.stem, base=path.parent)


def parse_avatar(data: bytes, source: str, name: str = "avatar", base: Path | None = None) -> Avatar:
    """`base`: the folder a .gltf's URIs may name files in (None: only data URIs and a .glb's BIN)."""
    gltf, buffers = load_document(data, source, base)
    reader = AccessorReader(gltf, buffers, source, base)
    try:
        vrm = read_vrm(gltf)
        if vrm is not None and vrm.version == "0.x":
            mtoon_fallback(gltf)
        return _build(gltf, reader, source, name, vrm)
    except AvatarError:
        raise
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, np.linalg.LinAlgError) as error:
        raise AvatarError(f"{source}: malformed glTF ({type(error).__name__}: {error})") from None


def _build(
    gltf: pygltflib.GLTF2, reader: AccessorReader, source: str, name: str, vrm: VrmInfo | None = None
) -> Avatar:
    merger = _Merger(ImageLayers(reader))
    world: dict[int, Any] = {}
    meshes = gltf.meshes or []
    walk = _walk(gltf, source)
    if has_skins(gltf):
        merger.skin = SkinBuilder(gltf, reader, walk)
    for node_index, matrix in walk:
        world[node_index] = matrix
        node = (gltf.nodes or [])[node_index]
        if node.mesh is None:
            continue
        if not isinstance(node.mesh, int) or not 0 <= node.mesh < len(meshes):
            raise AvatarError(f"{source}: node {node_index} uses mesh {node.mesh}, which does not exist")
        mesh = meshes[node.mesh]
        # A skinned mesh's vertices are already in the skeleton's bind pose; its node transform is ignored.
        transform = np.eye(4) if node.skin is not None else matrix
        for prim in mesh.primitives or []:
            mode = prim.mode if prim.mode is not None else _TRIANGLES
            if mode != _TRIANGLES:
                log.info("%s: skipping a primitive of mode %d (only triangles are drawn)", source, mode)
                continue
            merger.add_primitive(reader, gltf, mesh, prim, transform, node_index, node.mesh)
    if merger.count == 0:
        raise AvatarError(f"{source}: no triangle meshes in the default scene")
    positions = np.concatenate(merger.positions)
    eye = _eye_centre(gltf, world, positions, vrm)
    turn = _GLTF_TO_AVATAR[:3, :3].astype(np.float32)
    if vrm is not None:
        turn = turn if vrm.faces_plus_z else np.eye(3, dtype=np.float32)
        _add_vrm_targets(merger, vrm, positions, float(eye[0]))
    names = tuple(merger.targets)
    deltas = np.zeros((len(names), merger.count, 3), np.float32)
    for t, target_name in enumerate(names):
        for start, d in merger.targets[target_name]:
            deltas[t, start : start + len(d)] = d @ turn.T
    indices, single_sided, blend_start = merger.triangles()
    skin: dict[str, Any] = {}
    if merger.skin is not None:
        to_avatar = np.eye(4)
        to_avatar[:3, :3] = turn
        to_avatar[:3, 3] = -(turn.astype(np.float64) @ eye)
        skeleton = merger.skin.skeleton(to_avatar)
        if vrm is not None and vrm.humanoid:
            skeleton = skeleton.with_humanoid(vrm.humanoid)  # the file's own bone map beats names
        fingers = ("Hand", "IndexProximal")
        skin = {
            "draws_own_hands": all(
                skeleton.bone(f"{side}{b}") is not None for side in ("left", "right") for b in fingers
            ),
            "skeleton": skeleton,
            "skin_joints": np.concatenate(merger.skin.joints),
            "skin_weights": np.concatenate(merger.skin.weights),
        }
    avatar = Avatar(
        name=name,
        positions=((positions - eye.astype(np.float32)) @ turn.T).astype(np.float32),
        normals=(merger.all_normals(positions, indices) @ turn.T).astype(np.float32),
        colors=np.concatenate(merger.colors),
        indices=indices,
        target_names=names,
        deltas=deltas,
        single_sided=single_sided,
        uvs=np.concatenate(merger.uvs),
        surface=np.concatenate(merger.surface),
        emissive=np.concatenate(merger.emissive),
        textures=merger.layers.stack(),
        blend_start=blend_start,
        humanoid=dict(vrm.humanoid) if vrm is not None else {},
        **skin,
    )
    if avatar.missing_arkit and len(avatar.missing_arkit) < 52:
        log.info("%s: no targets for %s (ignored)", source, ", ".join(avatar.missing_arkit))
    elif not names:
        log.info("%s: no morph targets: a static avatar", source)
    return avatar
