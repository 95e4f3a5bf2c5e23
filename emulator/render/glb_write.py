"""Write a single-mesh .glb with vertex colours and morph targets, the way three.js and RPM name them.

Colours are normalized bytes and indices 16-bit where they fit; normals are left out when the caller
passes none (readers compute smooth ones, as ours does). Targets are sparse accessors holding only the
vertices a target moves, which keeps the default avatar's 52 targets to a few hundred kilobytes; a
target that moves nothing has no data at all (an accessor without a bufferView reads as zeros).
Names go in `mesh.extras.targetNames`. With a `Skin`, the bones become a node hierarchy (translations
only: the bind pose is the rest pose) and every vertex gets JOINTS_0 / WEIGHTS_0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pygltflib

_FLOAT = pygltflib.FLOAT
_COMPONENT = {
    "<f4": pygltflib.FLOAT,
    "<u4": pygltflib.UNSIGNED_INT,
    "<u2": pygltflib.UNSIGNED_SHORT,
    "|u1": pygltflib.UNSIGNED_BYTE,
}
_EPSILON = 1e-4  # 0.1 mm: below what any screen shows


class _Blob:
    def __init__(self, gltf: pygltflib.GLTF2) -> None:
        self.gltf = gltf
        self.data = bytearray()

    def view(self, payload: bytes, target: int | None = None) -> int:
        while len(self.data) % 4:
            self.data.append(0)
        self.gltf.bufferViews.append(
            pygltflib.BufferView(buffer=0, byteOffset=len(self.data), byteLength=len(payload), target=target)
        )
        self.data.extend(payload)
        return len(self.gltf.bufferViews) - 1

    def accessor(
        self,
        array: npt.NDArray[Any],
        kind: str,
        target: int | None = None,
        bounds: bool = False,
        normalized: bool | None = None,
    ) -> int:
        accessor = pygltflib.Accessor(
            bufferView=self.view(array.tobytes(), target),
            componentType=_COMPONENT[array.dtype.str],
            normalized=array.dtype == np.uint8 if normalized is None else normalized,
            count=len(array),
            type=kind,
        )
        if bounds:
            accessor.min = [float(v) for v in array.min(axis=0)]
            accessor.max = [float(v) for v in array.max(axis=0)]
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1

    def sparse_target(self, deltas: npt.NDArray[np.float32]) -> int:
        moved = _compact(np.where(np.abs(deltas).max(axis=1) > _EPSILON)[0])
        accessor = pygltflib.Accessor(componentType=_FLOAT, count=len(deltas), type=pygltflib.VEC3)
        values = deltas[moved].astype(np.float32)
        if len(moved):
            accessor.sparse = pygltflib.Sparse(
                count=len(moved),
                indices=pygltflib.AccessorSparseIndices(
                    bufferView=self.view(moved.tobytes()), componentType=_COMPONENT[moved.dtype.str]
                ),
                values=pygltflib.AccessorSparseValues(bufferView=self.view(values.tobytes())),
            )
            accessor.min = [float(v) for v in np.minimum(values.min(axis=0), 0.0)]
            accessor.max = [float(v) for v in np.maximum(values.max(axis=0), 0.0)]
        else:
            accessor.min, accessor.max = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1


@dataclass(frozen=True)
class Skin:
    """Bones as (name, parent name or None, position in the model frame), parents listed first, and
    each vertex's four bone indices and weights."""

    bones: tuple[tuple[str, str | None, tuple[float, ...]], ...]
    joints: npt.NDArray[np.uint8]  # (V, 4)
    weights: npt.NDArray[np.float32]  # (V, 4)


def _weight_bytes(weights: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """Normalized bytes (a quarter of the floats' size) whose rows still sum to exactly 255."""
    q = np.round(np.asarray(weights, np.float64) * 255.0).astype(np.int64)
    rows = np.arange(len(q))
    biggest = np.argmax(q, axis=1)
    q[rows, biggest] += 255 - q.sum(axis=1)
    return np.ascontiguousarray(np.clip(q, 0, 255), np.uint8)


def _add_skin(gltf: pygltflib.GLTF2, blob: _Blob, skin: Skin) -> tuple[int, int]:
    """Bone nodes and the skin; returns (skin index, root bone node)."""
    first = len(gltf.nodes)
    index = {name: first + i for i, (name, _, _) in enumerate(skin.bones)}
    where = {name: np.asarray(at, np.float64) for name, _, at in skin.bones}
    for name, parent, _ in skin.bones:
        local = where[name] - (where[parent] if parent else 0.0)
        gltf.nodes.append(pygltflib.Node(name=name, translation=[float(v) for v in local], children=[]))
        if parent:
            gltf.nodes[index[parent]].children.append(index[name])
    inverse_bind = np.stack([np.eye(4) for _ in skin.bones])
    for i, (name, _, _) in enumerate(skin.bones):
        inverse_bind[i, :3, 3] = -where[name]
    matrices = np.ascontiguousarray(inverse_bind.transpose(0, 2, 1), np.float32)  # glTF: column-major
    gltf.skins.append(
        pygltflib.Skin(
            joints=[index[name] for name, _, _ in skin.bones],
            inverseBindMatrices=blob.accessor(matrices.reshape(-1, 16), pygltflib.MAT4),
            skeleton=first,
        )
    )
    return len(gltf.skins) - 1, first


def _compact(indices: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Indices as uint16 when they fit (half the bytes), else uint32."""
    return indices.astype(np.uint16 if indices.size == 0 or indices.max() < 65535 else np.uint32)


def write_glb(
    path: Path,
    *,
    name: str,
    positions: npt.NDArray[np.float32],
    normals: npt.NDArray[np.float32] | None,
    colors: npt.NDArray[np.float32],
    indices: npt.NDArray[np.uint32],
    double_sided_indices: npt.NDArray[np.uint32] | None = None,
    targets: Mapping[str, npt.NDArray[np.float32]],
    extras: dict[str, Any] | None = None,
    skin: Skin | None = None,
) -> int:
    """Write the mesh to `path` (glTF 2.0 binary); returns the file's size in bytes."""
    gltf = pygltflib.GLTF2(asset=pygltflib.Asset(version="2.0", generator="headset-emulator avatar_gen"))
    blob = _Blob(gltf)
    rgba = np.clip(np.round(colors * 255.0), 0, 255).astype(np.uint8)
    attributes = pygltflib.Attributes(
        POSITION=blob.accessor(
            positions.astype(np.float32), pygltflib.VEC3, pygltflib.ARRAY_BUFFER, bounds=True
        ),
        COLOR_0=blob.accessor(rgba, pygltflib.VEC4, pygltflib.ARRAY_BUFFER),
    )
    if skin is not None:
        attributes.JOINTS_0 = blob.accessor(
            np.ascontiguousarray(skin.joints, np.uint8),
            pygltflib.VEC4,
            pygltflib.ARRAY_BUFFER,
            normalized=False,
        )
        attributes.WEIGHTS_0 = blob.accessor(
            _weight_bytes(skin.weights), pygltflib.VEC4, pygltflib.ARRAY_BUFFER
        )
    if normals is not None:
        attributes.NORMAL = blob.accessor(normals.astype(np.float32), pygltflib.VEC3, pygltflib.ARRAY_BUFFER)
    morphs = [
        pygltflib.Attributes(POSITION=blob.sparse_target(d.astype(np.float32))) for d in targets.values()
    ]
    primitives = []
    # Two primitives may share every attribute and target accessor: one single-sided, one double-sided.
    for double_sided, group in ((False, indices), (True, double_sided_indices)):
        if group is None or not len(group):
            continue
        gltf.materials.append(
            pygltflib.Material(
                name=f"{name}-{'double' if double_sided else 'single'}-sided",
                doubleSided=double_sided,
                pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
                    baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=0.0, roughnessFactor=0.8
                ),
            )
        )
        index_accessor = blob.accessor(_compact(group), pygltflib.SCALAR, pygltflib.ELEMENT_ARRAY_BUFFER)
        primitives.append(
            pygltflib.Primitive(
                attributes=attributes,
                indices=index_accessor,
                material=len(gltf.materials) - 1,
                targets=morphs,
            )
        )
    gltf.meshes.append(
        pygltflib.Mesh(
            name=name,
            primitives=primitives,
            weights=[0.0] * len(morphs),
            extras={"targetNames": list(targets)},
        )
    )
    gltf.nodes.append(pygltflib.Node(name=name, mesh=0))
    roots = [0]
    if skin is not None:
        gltf.nodes[0].skin, root = _add_skin(gltf, blob, skin)
        roots.append(root)
    gltf.scenes.append(pygltflib.Scene(nodes=roots, extras=extras or {}))
    gltf.scene = 0
    gltf.buffers.append(pygltflib.Buffer(byteLength=len(blob.data)))
    gltf.set_binary_blob(bytes(blob.data))
    path.parent.mkdir(parents=True, exist_ok=True)
    gltf.save_binary(str(path))
    return path.stat().st_size
