"""Write a single-mesh .glb with vertex colours and morph targets, the way three.js and RPM name them.

Colours are normalized bytes and indices 16-bit where they fit; normals are left out when the caller
passes none (readers compute smooth ones, as ours does). Targets are sparse accessors holding only the
vertices a target moves, which keeps the default avatar's 52 targets to a few hundred kilobytes; a
target that moves nothing has no data at all (an accessor without a bufferView reads as zeros).
Names go in `mesh.extras.targetNames`.
"""

from __future__ import annotations

from collections.abc import Mapping
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
        self, array: npt.NDArray[Any], kind: str, target: int | None = None, bounds: bool = False
    ) -> int:
        accessor = pygltflib.Accessor(
            bufferView=self.view(array.tobytes(), target),
            componentType=_COMPONENT[array.dtype.str],
            normalized=array.dtype == np.uint8,
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
    gltf.scenes.append(pygltflib.Scene(nodes=[0], extras=extras or {}))
    gltf.scene = 0
    gltf.buffers.append(pygltflib.Buffer(byteLength=len(blob.data)))
    gltf.set_binary_blob(bytes(blob.data))
    path.parent.mkdir(parents=True, exist_ok=True)
    gltf.save_binary(str(path))
    return path.stat().st_size
