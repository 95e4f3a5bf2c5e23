"""The Audio dock's "Mirror left/right" checkbox: remembered, and the headset's ears swap at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from emulator.audio.factory import AudioSpec
from emulator.audio.hrtf import HrtfSpec
from emulator.headset import Headset, HeadsetConfig
from emulator.ui.app import settings
from tests.support.sofa import sphere_grid, write_sofa


def mirrored_sofa(path: Path) -> Path:
    grid = sphere_grid()
    side = -np.sin(np.radians(grid[:, 0])) * np.cos(np.radians(grid[:, 1]))  # left louder in the right ear
    ir = np.zeros((len(grid), 2, 32))
    ir[:, 0, 3] = 1.0 + 0.8 * side
    ir[:, 1, 3] = 1.0 - 0.8 * side
    return write_sofa(path, ir, grid)


def left_ear_louder_for_a_source_on_the_left(headset: Headset) -> bool:
    assert headset.ears is not None and headset.ears.renderer is not None
    hrtf = headset.ears.renderer.hrtf
    left = int(np.flatnonzero((hrtf.azimuth_deg == 90) & (hrtf.elevation_deg == 0))[0])
    energy = np.sum(hrtf.hrir[left].astype(np.float64) ** 2, axis=-1)
    return bool(energy[0] > energy[1])


def test_the_mirror_checkbox_swaps_the_ears_now_and_is_remembered(qapp: Any, tmp_path: Path) -> None:
    from emulator.ui.docks.audio import AudioPanel
    from emulator.ui.session import AppSession

    sofa = str(mirrored_sofa(tmp_path / "mirrored.sofa"))
    ini = tmp_path / "settings.ini"
    session = AppSession()
    headset = Headset(
        HeadsetConfig(
            "ws://127.0.0.1:9/ws", "lobby", "me", audio=AudioSpec.parse("none"), hrtf=HrtfSpec.parse(sofa)
        )
    )
    session.tools.headset = headset
    panel = AudioPanel(session, settings(ini))
    try:
        panel.hrtf.addItem(sofa, sofa)
        panel.hrtf.setCurrentIndex(panel.hrtf.count() - 1)
        assert not panel.mirror.isChecked() and not left_ear_louder_for_a_source_on_the_left(headset)
        panel.mirror.setChecked(True)
        assert panel.hrtf_mirror() and left_ear_louder_for_a_source_on_the_left(headset)
        assert "mirrored" in headset.ears.renderer.hrtf.name  # type: ignore[union-attr]
        panel.settings.sync()
    finally:
        panel.deleteLater()
    again = AudioPanel(AppSession(), settings(ini))
    try:
        assert again.mirror.isChecked()
    finally:
        again.deleteLater()
    qapp.processEvents()
