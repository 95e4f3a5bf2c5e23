"""Where config, cache and recordings live (emulator/model/paths.py): the platform's places, and the
places earlier versions used still read when only they have the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.model import paths
from emulator.net.signaling.tokens import default_secret_path, load_secret


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DOCUMENTS_DIR", "HEADSET_EMULATOR_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_linux_places_are_the_xdg_ones_and_follow_the_environment(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert paths.config_dir() == home / ".config" / "headset-emulator"
    assert paths.cache_dir() == home / ".cache" / "headset-emulator"
    assert paths.recordings_dir() == home / "Documents" / "headset-emulator recordings"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "elsewhere"))
    assert default_secret_path() == home / "elsewhere" / "headset-emulator" / "room-secret"


def test_the_secret_an_earlier_version_wrote_is_still_read(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy = home / ".config" / "headset-emulator" / "room-secret"
    legacy.parent.mkdir(parents=True)
    legacy.write_text("the-old-secret\n")
    # As on a platform whose config folder is not ~/.config (macOS, Windows).
    monkeypatch.setattr(paths, "config_dir", lambda: home / "Library" / "headset-emulator")
    assert default_secret_path() == legacy
    assert load_secret() == b"the-old-secret"
    assert not (home / "Library").exists(), "no second secret was made"


def test_a_new_secret_goes_to_the_platform_place(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "config_dir", lambda: home / "Library" / "headset-emulator")
    secret = load_secret()
    assert (home / "Library" / "headset-emulator" / "room-secret").read_text().strip().encode() == secret


def test_recordings_stay_in_the_earlier_folder_until_the_new_one_exists(home: Path) -> None:
    legacy = home / "headset-emulator-recordings"
    legacy.mkdir()
    assert paths.recordings_dir() == legacy
    current = home / "Documents" / "headset-emulator recordings"
    current.mkdir(parents=True)
    assert paths.recordings_dir() == current
