"""Decoding an avatar's texture images with Pillow: PNG, JPEG and WebP, bounded before decoding.

Files from elsewhere are untrusted, so an image's dimensions are read from its header (Pillow's `open`
is lazy) and checked before any pixel is decoded; a broken or oversized image raises an `AvatarError`
naming it. Every texture is resized to one square layer size so that all of them fit one
GL_TEXTURE_2D_ARRAY (see `textures_gl.py`): one draw call for every avatar, whatever its textures.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from emulator.render.errors import AvatarError
from emulator.render.gltf_images import MAX_IMAGE_SIDE

FORMATS = ("PNG", "JPEG", "WEBP")
MAX_SIDE = MAX_IMAGE_SIDE  # gltf_images.check_image refuses bigger headers first; Pillow's own reading agrees
MAX_PIXELS = MAX_SIDE * MAX_SIDE
MAX_TEXTURES = 64  # decoded images per avatar (512×512 RGBA: 1 MiB each); RPM-class avatars have 10-20
LAYER_SIZE = 512  # side of every texture layer: a face at 1-4 m covers a few hundred pixels at most


def decode_image(data: bytes, name: str, layer_size: int = LAYER_SIZE) -> npt.NDArray[np.uint8]:
    """(layer_size, layer_size, 4) RGBA uint8, top row first (glTF's UV origin is the top left)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size
                if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE) or width * height > MAX_PIXELS:
                    raise AvatarError(
                        f"{name}: {width}x{height} pixels is too big for a texture "
                        f"(at most {MAX_SIDE} a side)"
                    )
                image.draft("RGB", (layer_size, layer_size))  # JPEG: decode at a reduced scale when it can
                rgba = image.convert("RGBA")
    except AvatarError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise AvatarError(f"{name}: too big for a texture ({_first_line(error)})") from None
    except UnidentifiedImageError as error:
        raise AvatarError(f"{name}: not a PNG, JPEG or WebP image ({_first_line(error)})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:  # truncated or corrupt pixel data
        raise AvatarError(f"{name}: broken image ({_first_line(error)})") from None
    if rgba.size != (layer_size, layer_size):
        # Colour and alpha apart: Pillow premultiplies RGBA when resizing, which would blacken texels
        # that are transparent but drawn anyway (an OPAQUE material ignores alpha).
        size = (layer_size, layer_size)
        bands = [b.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0) for b in rgba.split()]
        rgba = Image.merge("RGBA", bands)
    return np.asarray(rgba, dtype=np.uint8).copy()


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
