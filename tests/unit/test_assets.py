"""The bundled assets are package data found through emulator.model.assets, and a folder of one's own
named by HEADSET_EMULATOR_ASSETS replaces them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import emulator
from emulator.model.assets import ENV_OVERRIDE, asset_path, assets_dir
from emulator.model.profiles import load_profile


def test_the_assets_are_inside_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_OVERRIDE, raising=False)
    assert assets_dir() == Path(emulator.__file__).parent / "assets"
    for part in (
        "profiles/visionpro.toml",
        "avatars/default.glb",
        "hrtf/mit_kemar_48k.npz",
        "speech/bot1.tsv",
    ):
        assert asset_path(*part.split("/")).is_file(), part


def test_a_folder_of_one_s_own_replaces_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_OVERRIDE, raising=False)
    mine = tmp_path / "my-assets"
    shutil.copytree(assets_dir() / "profiles", mine / "profiles")
    toml = mine / "profiles" / "visionpro.toml"
    text = toml.read_text()
    name_line = next(line for line in text.splitlines() if line.startswith("name"))
    toml.write_text(text.replace(name_line, 'name = "Lab Vision Pro"'))
    monkeypatch.setenv(ENV_OVERRIDE, str(mine))
    assert assets_dir() == mine
    assert load_profile("visionpro").name == "Lab Vision Pro"
