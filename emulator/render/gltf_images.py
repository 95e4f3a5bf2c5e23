"""An image's kind and size from its first bytes, so an oversized texture is refused before decoding.

PNG (IHDR), JPEG (the first SOFn marker) and WebP (VP8, VP8L, VP8X) headers are read by hand: a few
dozen bytes each. A file of another kind, or whose header gives no size, is refused.
"""

from __future__ import annotations

import struct

MAX_IMAGE_SIDE = 8192  # pixels; 4096 is the largest texture avatar pipelines export
MAX_IMAGE_BYTES = 64 * 1024 * 1024
MAX_IMAGES = 256

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def sniff_mime(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    offset = 2
    while offset + 9 <= len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            offset += 2
            continue
        (length,) = struct.unpack_from(">H", data, offset + 2)
        if marker in _SOF:
            height, width = struct.unpack_from(">HH", data, offset + 5)
            return width, height
        offset += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    kind = data[12:16]
    if kind == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack_from("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L" and len(data) >= 25:
        (bits,) = struct.unpack_from("<I", data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X" and len(data) >= 30:
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    return None


def image_size(data: bytes, mime: str) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG, JPEG or WebP image; None when it gives none."""
    if mime == "image/png" and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack_from(">II", data, 16)
        return int(width), int(height)
    if mime == "image/jpeg":
        return _jpeg_size(data)
    if mime == "image/webp":
        return _webp_size(data)
    return None


def check_image(data: bytes, declared: str) -> tuple[str, str | None]:
    """The image's MIME type, and why it may not be decoded (None when it may)."""
    mime = sniff_mime(data) or declared
    if mime not in ("image/png", "image/jpeg", "image/webp"):
        return mime, f"not a PNG, JPEG or WebP image ({mime or 'unknown kind'})"
    size = image_size(data, mime)
    if size is None:
        return mime, f"its {mime} header gives no size (truncated or corrupt)"
    width, height = size
    if not (0 < width <= MAX_IMAGE_SIDE and 0 < height <= MAX_IMAGE_SIDE):
        return mime, f"{width}x{height} pixels is over the {MAX_IMAGE_SIDE}x{MAX_IMAGE_SIDE} limit"
    return mime, None
