"""EXT_meshopt_compression bufferViews decoded with meshoptimizer's own decoder (the `meshopt` binding).

Such a view's real bytes sit compressed in another buffer; the view's own buffer is usually a
fallback with no bytes at all, which is never read. Sizes are checked before decoding, and a
corrupt stream is one clear error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import meshopt

from emulator.render.errors import AvatarError
from emulator.render.gltf_extensions import MESHOPT

MAX_DECODED_BYTES = 256 * 1024 * 1024
_MODES = ("ATTRIBUTES", "TRIANGLES", "INDICES")
_FILTERS = ("NONE", "OCTAHEDRAL", "QUATERNION", "EXPONENTIAL", "COLOR")


def compression(view: Any) -> dict[str, Any] | None:
    """The view's meshopt extension object, if it has one."""
    extensions = view.extensions if isinstance(view.extensions, dict) else {}
    for name in MESHOPT:
        found = extensions.get(name)
        if isinstance(found, dict):
            return found
    return None


def decode_view(ext: dict[str, Any], buffers: Sequence[bytes], source: str, view_index: int) -> bytes:
    """The decoded bytes of bufferView `view_index` (count × byteStride)."""

    def fail(why: str) -> AvatarError:
        return AvatarError(f"{source}: meshopt-compressed bufferView {view_index}: {why}")

    buffer, offset, length = ext.get("buffer"), ext.get("byteOffset", 0), ext.get("byteLength")
    count, stride = ext.get("count"), ext.get("byteStride")
    mode, filt = ext.get("mode"), ext.get("filter", "NONE")
    if not all(
        isinstance(v, int) and not isinstance(v, bool) for v in (buffer, offset, length, count, stride)
    ):
        raise fail("buffer, byteOffset, byteLength, count and byteStride must be integers")
    assert isinstance(buffer, int) and isinstance(offset, int) and isinstance(length, int)
    assert isinstance(count, int) and isinstance(stride, int)
    if mode not in _MODES or filt not in _FILTERS:
        raise fail(f"unknown mode {mode!r} or filter {filt!r}")
    if not 0 <= buffer < len(buffers):
        raise fail(f"buffer {buffer} does not exist")
    data = buffers[buffer]
    if offset < 0 or length < 0 or offset + length > len(data):
        raise fail(f"bytes {offset}..{offset + length} lie past the {len(data)}-byte buffer {buffer}")
    if count <= 0 or not 0 < stride <= 256 or count * stride > MAX_DECODED_BYTES:
        raise fail(f"count {count} × byteStride {stride} is out of range")
    if mode == "ATTRIBUTES" and stride % 4:
        raise fail(f"an ATTRIBUTES byteStride must be a multiple of 4, not {stride}")
    if mode != "ATTRIBUTES" and stride not in (2, 4):
        raise fail(f"an index byteStride must be 2 or 4, not {stride}")
    try:
        decoded = meshopt.decode_gltf_buffer(
            data[offset : offset + length], count, stride, mode, None if filt == "NONE" else filt
        )
    except ValueError as error:
        raise fail(f"the compressed data is corrupt ({error})") from None
    return bytes(decoded.tobytes())
