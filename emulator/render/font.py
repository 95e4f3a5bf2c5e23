"""A tiny 5×7 bitmap font drawn here, so name labels need no font file and no Qt.

Upper-case letters, digits and a little punctuation; lower case is shown as upper case and anything
else as a box. `atlas()` packs the glyphs into one texture (white on transparent, one glyph per cell).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

GLYPH_W, GLYPH_H = 5, 7
CELL_W, CELL_H = 6, 9  # a pixel of padding around each glyph keeps linear sampling clean

_GLYPHS: dict[str, str] = {
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.",
    "D": "####. #...# #...# #...# #...# #...# ####.",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .####",
    "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "N": "#...# ##..# #.#.# #..## #...# #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.",
    "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "####. ....# ....# .###. ....# ....# ####.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": ".###. #.... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ....# .###.",
    " ": "..... ..... ..... ..... ..... ..... .....",
    "-": "..... ..... ..... ##### ..... ..... .....",
    "_": "..... ..... ..... ..... ..... ..... #####",
    ".": "..... ..... ..... ..... ..... .##.. .##..",
    ",": "..... ..... ..... ..... .##.. ..#.. .#...",
    ":": "..... .##.. .##.. ..... .##.. .##.. .....",
    "'": "..#.. ..#.. .#... ..... ..... ..... .....",
    "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
    ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
    "/": "....# ....# ...#. ..#.. .#... #.... #....",
    "#": ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.",
    "!": "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",
    "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
    "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
    "@": ".###. #...# #.### #.#.# #.### #.... .###.",
    "\x00": "##### #...# #...# #...# #...# #...# #####",
}
CHARACTERS: tuple[str, ...] = tuple(_GLYPHS)
_INDEX = {c: i for i, c in enumerate(CHARACTERS)}
COLUMNS = 16


def glyph_index(char: str) -> int:
    return _INDEX.get(char.upper(), _INDEX["\x00"])


def glyph_bitmap(char: str) -> npt.NDArray[np.bool_]:
    rows = _GLYPHS[CHARACTERS[glyph_index(char)]].split()
    return np.array([[c == "#" for c in row] for row in rows], dtype=bool)


def atlas() -> tuple[npt.NDArray[np.uint8], int, int]:
    """(H, W) alpha image of all glyphs, top row first, and its columns and rows of cells."""
    rows = (len(CHARACTERS) + COLUMNS - 1) // COLUMNS
    image = np.zeros((rows * CELL_H, COLUMNS * CELL_W), np.uint8)
    for i, char in enumerate(CHARACTERS):
        r, c = divmod(i, COLUMNS)
        y, x = r * CELL_H + 1, c * CELL_W
        image[y : y + GLYPH_H, x : x + GLYPH_W] = glyph_bitmap(char) * 255
    return image, COLUMNS, rows


def text_quads(text: str, x: float, y: float, scale: float) -> npt.NDArray[np.float32]:
    """Screen-space quads (pixels, y down) for `text` starting at (x, y): rows of x0 y0 x1 y1 u0 v0 u1 v1."""
    image_rows = (len(CHARACTERS) + COLUMNS - 1) // COLUMNS
    out = []
    for k, char in enumerate(text):
        i = glyph_index(char)
        r, c = divmod(i, COLUMNS)
        x0 = x + k * CELL_W * scale
        out.append(
            (
                x0, y, x0 + CELL_W * scale, y + CELL_H * scale,
                c / COLUMNS, r / image_rows, (c + 1) / COLUMNS, (r + 1) / image_rows,
            )
        )  # fmt: skip
    return np.asarray(out, np.float32).reshape(-1, 8)
