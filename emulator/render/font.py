"""Text for name labels: any Unicode string, in a proportional font file rasterised by Pillow.

The fonts are tried in order for each character, so a name mixing scripts ("José 李") takes each glyph
from the first font that has it: DejaVu Sans (Latin, Greek, Cyrillic, Hebrew, Arabic; fonts-dejavu-core),
then Droid Sans Fallback for CJK (fonts-droid-fallback, 7 MB installed, chosen over fonts-wqy-zenhei at
16 MB and fonts-noto-cjk at 89 MB, which are used when they are what is installed). A font "has" a
character when its rendering differs from its .notdef box. With no font file at all, Pillow's
built-in font is used after a one-line warning.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

# File names: Pillow finds them under the system's font folders (/usr/share/fonts and the XDG ones).
FONT_FILES: tuple[str, ...] = (
    "DejaVuSans.ttf",
    "DroidSansFallbackFull.ttf",
    "DroidSansFallback.ttf",
    "NotoSansCJK-Regular.ttc",
    "wqy-zenhei.ttc",
)
RASTER_PX = 32  # glyphs are drawn at this size and scaled down on screen (with mipmaps)
MAX_LABEL_CHARS = 32
_UNASSIGNED = "\U0010fffe"  # a noncharacter: every font draws its .notdef for it

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


class LabelFont:
    """Rasterises label text; one per process is enough (`label_font()`)."""

    def __init__(self, files: Sequence[str | Path] = FONT_FILES, size: int = RASTER_PX) -> None:
        self.fonts: list[Font] = []
        for file in files:
            try:
                self.fonts.append(ImageFont.truetype(str(file), size))
            except OSError:
                continue
        if not self.fonts:
            log.warning("no label font found (install fonts-droid-fallback): names may show as boxes")
            self.fonts.append(ImageFont.load_default(size))
        self._notdef = [self._mask(font, _UNASSIGNED) for font in self.fonts]
        primary = self.fonts[0]
        ascent, descent = primary.getmetrics() if isinstance(primary, ImageFont.FreeTypeFont) else (size, 0)
        self.ascent, self.height = int(ascent), int(ascent + descent)

    @staticmethod
    def _mask(font: Font, char: str) -> bytes:
        return bytes(font.getmask(char))

    def font_for(self, char: str) -> Font | None:
        """The first font with a glyph for `char`; None when none has one (it will show as a box)."""
        if char.isspace():
            return self.fonts[0]
        for font, notdef in zip(self.fonts, self._notdef, strict=True):
            if self._mask(font, char) != notdef:
                return font
        return None

    def render(self, text: str) -> npt.NDArray[np.uint8]:
        """(height, width) coverage image of one line of text, white on transparent."""
        text = " ".join(text.split())[:MAX_LABEL_CHARS] or " "
        # Runs of characters from the same font are drawn together: kerning and combining marks hold.
        runs: list[tuple[str, Font]] = []
        for char in text:
            font = self.font_for(char) or self.fonts[0]
            if runs and (runs[-1][1] is font or unicodedata.combining(char)):
                runs[-1] = (runs[-1][0] + char, runs[-1][1])
            else:
                runs.append((char, font))
        width = max(1, round(sum(font.getlength(run) for run, font in runs)) + 2)
        image = Image.new("L", (width, self.height), 0)
        draw = ImageDraw.Draw(image)
        x = 1.0
        for run, font in runs:
            draw.text((x, self.ascent), run, fill=255, font=font, anchor="ls")
            x += font.getlength(run)
        return np.asarray(image, np.uint8)


@lru_cache(maxsize=1)
def label_font() -> LabelFont:
    return LabelFont()
