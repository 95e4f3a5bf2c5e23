"""Read glTF 2.0 safely: .glb or .gltf, the JSON document (pygltflib), buffers, images and accessors.

Every offset and length is checked against the data actually present, so a truncated or hostile
file gives an `AvatarError` naming the problem instead of an IndexError deep in numpy. Buffers and
images come from a .glb's BIN chunk, base64 data URIs, or files beside the file (gltf_uri.py says
which URIs are refused); counts and sizes are bounded before anything is read or decoded.
Integer accessors (KHR_mesh_quantization) read as floats, normalized ones scaled to [-1, 1] or
[0, 1]; EXT_meshopt_compression views are decoded on first use (gltf_meshopt.py).
"""

from __future__ import annotations

import json
import struct
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pygltflib

from emulator.render.errors import AvatarError
from emulator.render.gltf_extensions import check_extensions
from emulator.render.gltf_images import MAX_IMAGE_BYTES, MAX_IMAGES, check_image
from emulator.render.gltf_meshopt import compression, decode_view
from emulator.render.gltf_uri import read_uri

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
MAX_BUFFERS = 64
MAX_BUFFER_BYTES = 512 * 1024 * 1024  # all buffers together, as the largest avatar file we open


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
    return parse_json(document, source), binary


def parse_json(document: bytes, source: str) -> pygltflib.GLTF2:
    """The glTF JSON document, parsed by pygltflib; any failure is one AvatarError."""
    try:
        parsed = json.loads(document.decode("utf-8-sig"))
        if not isinstance(parsed, dict):
            raise ValueError("the document is not a JSON object")
        with warnings.catch_warnings():
            # dataclasses_json warns about missing required fields; the accessor checks below say which.
            warnings.simplefilter("ignore", RuntimeWarning)
            return pygltflib.GLTF2.from_dict(parsed)
    except Exception as error:  # dataclasses_json can raise almost anything on hostile JSON
        raise AvatarError(f"{source}: the glTF JSON is invalid ({error})") from None


def _fallback(buffer: Any) -> bool:
    ext = buffer.extensions if isinstance(buffer.extensions, dict) else {}
    return any(isinstance(v, dict) and v.get("fallback") for v in ext.values())


def load_document(data: bytes, source: str, base: Path | None = None) -> tuple[pygltflib.GLTF2, list[bytes]]:
    """The document and its buffers' bytes from a .glb or .gltf; `base` is the folder URIs may name files in.

    A buffer with no bytes (a meshopt fallback, or one nothing reads) is b''.
    """
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        gltf, binary = parse_json(data, source), None
    else:
        gltf, binary = split_glb(data, source)
    version = str(getattr(gltf.asset, "version", "") or "")
    if binary is None and not version.startswith("2."):
        raise AvatarError(f"{source}: glTF version {version or '(none)'}; only glTF 2.0 is supported")
    check_extensions(gltf, source)
    declared = gltf.buffers or []
    if len(declared) > MAX_BUFFERS or len(gltf.images or []) > MAX_IMAGES:
        raise AvatarError(
            f"{source}: {len(declared)} buffers and {len(gltf.images or [])} images; "
            f"at most {MAX_BUFFERS} and {MAX_IMAGES} are read"
        )
    buffers: list[bytes] = []
    budget = MAX_BUFFER_BYTES
    for index, buffer in enumerate(declared):
        if buffer.uri is None:
            content = binary if index == 0 and binary is not None else b""
            if not content and not _fallback(buffer) and (buffer.byteLength or 0) > 0:
                raise AvatarError(f"{source}: buffer {index} has no URI and no data")
        else:
            content, _ = read_uri(buffer.uri, base, source, f"buffer {index}", budget)
        length = buffer.byteLength
        if content and (not isinstance(length, int) or not 0 <= length <= len(content)):
            raise AvatarError(f"{source}: buffer {index} declares {length} bytes but holds {len(content)}")
        budget -= len(content)
        buffers.append(content)
    return gltf, buffers


class AccessorReader:
    """Decodes accessors of one document against its BIN chunk; caches by index."""

    def __init__(
        self,
        gltf: pygltflib.GLTF2,
        buffers: bytes | Sequence[bytes],
        source: str,
        base: Path | None = None,
    ) -> None:
        """`buffers`: every buffer's bytes (load_document), or a .glb's BIN chunk alone as buffer 0."""
        self.gltf = gltf
        self.buffers: list[bytes] = [buffers] if isinstance(buffers, bytes) else list(buffers)
        self.source = source
        self.base = base
        self._cache: dict[int, npt.NDArray[np.float32]] = {}
        self._decoded: dict[int, bytes] = {}

    def _fail(self, what: str) -> AvatarError:
        return AvatarError(f"{self.source}: {what}")

    def _view_bytes(self, view_index: int) -> tuple[bytes, int | None]:
        views = self.gltf.bufferViews or []
        if not isinstance(view_index, int) or not 0 <= view_index < len(views):
            raise self._fail(f"bufferView {view_index} does not exist")
        view = views[view_index]
        ext = compression(view)
        if ext is not None:
            if view_index not in self._decoded:
                self._decoded[view_index] = decode_view(ext, self.buffers, self.source, view_index)
            return self._decoded[view_index], view.byteStride or ext.get("byteStride")
        if not isinstance(view.buffer, int) or not 0 <= view.buffer < len(self.buffers):
            raise self._fail(f"bufferView {view_index} uses buffer {view.buffer}, which does not exist")
        data = self.buffers[view.buffer]
        start = view.byteOffset or 0
        end = start + (view.byteLength or 0)
        if not data and end > 0:
            raise self._fail(f"bufferView {view_index} uses buffer {view.buffer}, which holds no bytes")
        if start < 0 or end > len(data):
            raise self._fail(
                f"bufferView {view_index} reaches byte {end}, past the {len(data)}-byte buffer {view.buffer}"
            )
        return data[start:end], view.byteStride

    def image_bytes(self, image_index: int) -> tuple[bytes, str]:
        """Image `image_index`'s encoded bytes and MIME type, checked (kind, pixel size) before decoding.

        From a bufferView (.glb), a data URI or a file beside the .gltf; AvatarError names what is wrong.
        """
        images = self.gltf.images or []
        if not isinstance(image_index, int) or not 0 <= image_index < len(images):
            raise self._fail(f"image {image_index} does not exist")
        image = images[image_index]
        what = f"image {image_index}" + (f" ({image.name!r})" if image.name else "")
        declared = image.mimeType if isinstance(image.mimeType, str) else ""
        if image.bufferView is not None:
            data, _ = self._view_bytes(image.bufferView)
            if len(data) > MAX_IMAGE_BYTES:
                raise self._fail(f"{what}: {len(data)} bytes is over the {MAX_IMAGE_BYTES}-byte limit")
        else:
            data, from_uri = read_uri(image.uri, self.base, self.source, what, MAX_IMAGE_BYTES)
            declared = declared or from_uri
        mime, refusal = check_image(data, declared)
        if refusal is not None:
            raise self._fail(f"{what} refused: {refusal}")
        return data, mime

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
