"""Coarser levels of detail keep what matters: fewer vertices, the mouth still opens, the eyes still close."""

from __future__ import annotations

import numpy as np

from emulator.model.face import ARKIT_NAMES
from emulator.render.avatar_gen import load_default_avatar
from emulator.render.lod import LEVELS, level_for, simplified


def test_levels_get_coarser_as_the_head_gets_smaller_on_screen() -> None:
    cells = [level_for(px) for px in (400, 150, 60, 10)]
    assert cells == sorted(cells) and cells[0] == 0.0 and cells[-1] == LEVELS[-1][0]


def test_a_coarse_head_has_far_fewer_vertices_and_keeps_its_expressions() -> None:
    """The coarsest level: still two lips, a left lid that closes, and eyes with an iris."""
    head = load_default_avatar()
    coarse = simplified(head, 0.016)
    assert simplified(head, 0.016) is coarse  # made once per avatar and level
    assert simplified(head, 0.0) is head
    assert coarse.vertex_count < head.vertex_count / 4
    assert coarse.target_names == head.target_names and coarse.missing_arkit == ()
    assert coarse.indices.max() < coarse.vertex_count
    jaw = coarse.deltas[ARKIT_NAMES.index("jawOpen")]
    # Upper and lower lips stay separate clusters: under jawOpen the upper lip stays, the lower drops 1.5 cm+.
    p = coarse.positions
    middle = (np.abs(p[:, 0]) < 0.012) & (p[:, 2] < -0.024)  # skin, in front of the teeth
    upper = middle & (p[:, 1] > -0.058) & (p[:, 1] < -0.05)
    lower = middle & (p[:, 1] < -0.058) & (p[:, 1] > -0.07)
    assert upper.any() and lower.any()
    assert jaw[upper, 1].max() > -0.003 and jaw[lower, 1].min() < -0.015
    blink = coarse.deltas[ARKIT_NAMES.index("eyeBlinkLeft")]
    moved = np.abs(blink).max(axis=1) > 1e-3
    assert moved.any() and (coarse.positions[moved, 0] < 0).all()
    # Colours are picked, not averaged: the iris blue survives (no grey eyes at a distance).
    blue = (coarse.colors[:, 2] > coarse.colors[:, 0] + 0.3) & (np.abs(coarse.positions[:, 1]) < 0.01)
    assert (blue & (coarse.positions[:, 0] < 0)).sum() >= 3 and (
        blue & (coarse.positions[:, 0] > 0)
    ).sum() >= 3
