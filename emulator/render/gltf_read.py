"""Read a .glb safely: the container, the JSON document (pygltflib) and accessors as numpy arrays.

Every offset and length is checked against the data actually present, so a truncated or hostile
file gives an `AvatarError` naming the problem instead of an IndexError deep in numpy.
"""

from __future__ import annotations

import json
import struct
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
import pygltflib

from emulator.render.errors import AvatarError

GLB_MAGIC = b"glTF"
_HEADER = struct.Struct("<4sII")
_CHUNK = struct.Struct("<II")
_JSON_CHUNK = 0x4E4F534A
_BIN_CHUNK = 0x004E4942

_COMPONENTS: dict[int, np.dtype[Any]] = {
    5120: np.dtype(np.int8),
    5121: np.dtype(np.uint8),
    5122: np.dtype("<i2"),
    5123: np.dtype("<u2"),
    5125: np.dtype("<u4"),
    5126: np.dtype("<f4"),
}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_NORMALIZE = {5120: 127.0, 5121: 255.0, 5122: 32767.0, 5123: 65535.0}
MAX_COUNT = 50_000_000  # no avatar has 50 M of anything; a bigger count is a corrupt file


def split_glb(data: bytes, source: str) -> tuple[pygltflib.GLTF2, bytes]:
    """The document and the BIN chunk of a binary glTF file."""
    if len(data) < _HEADER.size:
        raise AvatarError(f"{source}: too short to be a .glb ({len(data)} bytes)")
    magic, version, length = _HEADER.unpack_from(data)
    if magic != GLB_MAGIC:
        raise AvatarError(f"{source}: not a binary glTF file (no 'glTF' magic)")
    if version != 2:
        raise AvatarError(f"{source}: glTF version {version}; only glTF 2.0 is supported")
    if length > len(data):
        raise AvatarError(f"{source}: truncated: header says {length} bytes, file has {len(data)}")
    offset, document, binary = _HEADER.size, None, b""
    while offset + _CHUNK.size <= length:
        chunk_length, chunk_type = _CHUNK.unpack_from(data, offset)
        start, end = offset + _CHUNK.size, offset + _CHUNK.size + chunk_length
        if end > length:
            raise AvatarError(f"{source}: truncated: a chunk runs {end - length} bytes past the end")
        if chunk_type == _JSON_CHUNK and document is None:
            document = data[start:end]
        elif chunk_type == _BIN_CHUNK and not binary:
            binary = data[start:end]
        offset = (end + 3) & ~3
    if document is None:
        raise AvatarError(f"{source}: no JSON chunk")
    try:
        parsed = json.loads(document.decode("utf-8"))
        if not isinstance(parsed, dict):
            raise ValueError("the document is not a JSON object")
        with warnings.catch_warnings():
            # dataclasses_json warns about missing required fields; the accessor checks below say which.
            warnings.simplefilter("ignore", RuntimeWarning)
            gltf = pygltflib.GLTF2.from_dict(parsed)
    except Exception as error:  # dataclasses_json can raise almost anything on hostile JSON
        raise AvatarError(f"{source}: the glTF JSON is invalid ({error})") from None
    return gltf, binary


class AccessorReader:
    """Decodes accessors of one document against its BIN chunk; caches by index."""

    def __init__(self, gltf: pygltflib.GLTF2, binary: bytes, source: str) -> None:
        self.gltf = gltf
        self.binary = binary
        self.source = source
        self._cache: dict[int, npt.NDArray[np.float32]] = {}

    def _fail(self, what: str) -> AvatarError:
        return AvatarError(f"{self.source}: {what}")

    def _view_bytes(self, view_index: int) -> tuple[bytes, int | None]:
        views = self.gltf.bufferViews or []
        if not isinstance(view_index, int) or not 0 <= view_index < len(views):
            raise self._fail(f"bufferView {view_index} does not exist")
        view = views[view_index]
        if view.buffer != 0:
            raise self._fail(
                f"bufferView {view_index} uses buffer {view.buffer}: only the .glb's own BIN is read"
            )
        start = view.byteOffset or 0
        end = start + (view.byteLength or 0)
        if start < 0 or end > len(self.binary):
            raise self._fail(
                f"bufferView {view_index} reaches byte {end}, past the {len(self.binary)}-byte BIN chunk"
            )
        return self.binary[start:end], view.byteStride

    def image_bytes(self, image_index: int) -> tuple[bytes, str]:
        """The encoded bytes of image `image_index` and its MIME type ("" when the file names none)."""
        images = self.gltf.images or []
        if isinstance(image_index, bool) or not isinstance(image_index, int):
            raise self._fail(f"image {image_index} does not exist")
        if not 0 <= image_index < len(images):
            raise self._fail(f"image {image_index} does not exist")
        image = images[image_index]
        if image.bufferView is None:
            raise self._fail(f"image {image_index} is not in a bufferView: only the .glb's own BIN is read")
        raw, _ = self._view_bytes(image.bufferView)
        return raw, image.mimeType or ""

    def _read(
        self, raw: bytes, offset: int, stride: int | None, count: int, dtype: np.dtype[Any], width: int
    ) -> Any:
        element = dtype.itemsize * width
        step = stride or element
        if count == 0:
            return np.zeros((0, width), dtype)
        needed = offset + step * (count - 1) + element
        if offset < 0 or step < element or needed > len(raw):
            raise self._fail(f"an accessor needs {needed} bytes of a {len(raw)}-byte view")
        if step == element:
            return np.frombuffer(raw, dtype, count * width, offset).reshape(count, width)
        rows = np.lib.stride_tricks.as_strided(
            np.frombuffer(raw, np.uint8, len(raw) - offset, offset), shape=(count, element), strides=(step, 1)
        )
        return np.ascontiguousarray(rows).view(dtype).reshape(count, width)

    def read(self, index: int, *, as_float: bool = True) -> npt.NDArray[Any]:
        """Accessor `index` as a (count, width) array; floats unless `as_float` is False (indices)."""
        if as_float and index in self._cache:
            return self._cache[index]
        accessors = self.gltf.accessors or []
        if not isinstance(index, int) or not 0 <= index < len(accessors):
            raise self._fail(f"accessor {index} does not exist")
        acc = accessors[index]
        dtype = _COMPONENTS.get(acc.componentType)
        width = _WIDTH.get(acc.type or "")
        count = acc.count
        if dtype is None or width is None or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
            raise self._fail(f"accessor {index} has an unknown type or a bad count")
        if acc.bufferView is None:
            values = np.zeros((count, width), dtype)
        else:
            raw, stride = self._view_bytes(acc.bufferView)
            values = self._read(raw, acc.byteOffset or 0, stride, count, dtype, width).copy()
        if acc.sparse is not None and acc.sparse.count:
            values = self._apply_sparse(index, acc, values, dtype, width)
        if not as_float:
            return values
        result = values.astype(np.float32)
        if acc.normalized and acc.componentType in _NORMALIZE:
            result = np.maximum(result / _NORMALIZE[acc.componentType], -1.0).astype(np.float32)
        if not np.isfinite(result).all():
            raise self._fail(f"accessor {index} holds NaN or infinite values")
        self._cache[index] = result
        return result

    def _apply_sparse(self, index: int, acc: Any, values: Any, dtype: np.dtype[Any], width: int) -> Any:
        sparse = acc.sparse
        n = sparse.count
        if not isinstance(n, int) or not 0 < n <= acc.count:
            raise self._fail(f"accessor {index}: sparse count {n} is out of range")
        index_dtype = _COMPONENTS.get(sparse.indices.componentType)
        if index_dtype is None or index_dtype.kind != "u":
            raise self._fail(f"accessor {index}: sparse indices must be unsigned integers")
        raw, _ = self._view_bytes(sparse.indices.bufferView)
        where = self._read(raw, sparse.indices.byteOffset or 0, None, n, index_dtype, 1).ravel()
        if where.size and int(where.max()) >= acc.count:
            raise self._fail(f"accessor {index}: a sparse index points past its {acc.count} elements")
        raw, _ = self._view_bytes(sparse.values.bufferView)
        replacement = self._read(raw, sparse.values.byteOffset or 0, None, n, dtype, width)
        values = values.copy()
        values[where] = replacement
        return values
