"""The bundled avatar's colour variants, kept apart from the generator so the CLI can list them
without importing the glTF reader (a base install has none)."""

from __future__ import annotations

from emulator.render.head_geometry import Palette

VARIANTS: dict[str, Palette] = {
    "default": Palette(
        skin=(0.93, 0.74, 0.62),
        hair=(0.32, 0.2, 0.12),
        iris=(0.25, 0.45, 0.7),
        lips=(0.8, 0.5, 0.48),
        shirt=(0.22, 0.36, 0.55),
    ),
    "amber": Palette(
        skin=(0.62, 0.42, 0.3),
        hair=(0.08, 0.06, 0.05),
        iris=(0.35, 0.22, 0.1),
        lips=(0.55, 0.28, 0.26),
        shirt=(0.75, 0.45, 0.18),
    ),
    "mint": Palette(
        skin=(0.62, 0.85, 0.74),
        hair=(0.15, 0.35, 0.45),
        iris=(0.55, 0.25, 0.55),
        lips=(0.4, 0.55, 0.5),
        shirt=(0.3, 0.3, 0.32),
    ),
    "lilac": Palette(
        skin=(0.8, 0.72, 0.92),
        hair=(0.95, 0.8, 0.35),
        iris=(0.2, 0.55, 0.35),
        lips=(0.7, 0.42, 0.6),
        shirt=(0.45, 0.62, 0.4),
    ),
}
