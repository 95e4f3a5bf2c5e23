"""Write and read 8-bit RGB(A) PNG files with zlib and struct: snapshots need no imaging library."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def encode_png(image: npt.NDArray[np.uint8]) -> bytes:
    """An (H, W, 3|4) uint8 image, top row first, as PNG bytes."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 3|4) uint8 image, got {image.dtype} {image.shape}")
    height, width, channels = image.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, -1)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if channels == 4 else 2, 0, 0, 0)
    return (
        _SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + _chunk(b"IEND", b"")
    )


def write_png(path: Path, image: npt.NDArray[np.uint8]) -> None:
    path.write_bytes(encode_png(image))


def decode_png(data: bytes) -> npt.NDArray[np.uint8]:
    """Read back the PNGs `encode_png` writes (8-bit RGB/RGBA, filter 0 or any of the five filters)."""
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG file")
    offset, idat, header = len(_SIGNATURE), b"", None
    while offset + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        payload = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", payload)
        elif kind == b"IDAT":
            idat += payload
        offset += 12 + length
    if header is None:
        raise ValueError("PNG without IHDR")
    width, height, depth, color_type, _, _, interlace = header
    if depth != 8 or color_type not in (2, 6) or interlace:
        raise ValueError("only 8-bit RGB/RGBA non-interlaced PNGs are read")
    channels = 4 if color_type == 6 else 3
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + width * channels)
    out = np.zeros((height, width * channels), np.int32)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        prev = out[y - 1] if y else np.zeros_like(line)
        if kind == 0:
            out[y] = line
        elif kind == 2:
            out[y] = (line + prev) & 0xFF
        else:
            for x in range(len(line)):
                left = out[y, x - channels] if x >= channels else 0
                up, corner = prev[x], (prev[x - channels] if x >= channels else 0)
                if kind == 1:
                    out[y, x] = (line[x] + left) & 0xFF
                elif kind == 3:
                    out[y, x] = (line[x] + (left + up) // 2) & 0xFF
                else:
                    p = left + up - corner
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                    pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                    out[y, x] = (line[x] + pred) & 0xFF
    return out.astype(np.uint8).reshape(height, width, channels)
