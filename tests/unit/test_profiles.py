import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.model.errors import ModelError
from emulator.model.profiles import load_profile, load_profile_file, load_profiles

GOOD = (Path(__file__).parents[2] / "emulator" / "assets" / "profiles" / "quest3.toml").read_text()


def test_the_bundled_profiles_carry_the_published_figures() -> None:
    profiles = load_profiles()
    assert set(profiles) == {"visionpro", "quest3", "quest3s", "questpro"}
    quest3 = profiles["quest3"]
    assert quest3.eye_pixels == (2064, 2208)
    assert (quest3.fov_horizontal_deg, quest3.fov_vertical_deg) == (110, 96)
    assert quest3.refresh_rates_hz == (72, 80, 90, 120)
    assert quest3.face_set == "meta70"
    vision = profiles["visionpro"]
    assert vision.face_set == "arkit52" and 90 in vision.refresh_rates_hz and vision.pose_rate_hz == 90
    assert load_profile("questpro").eye_pixels == (1800, 1920)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda t: t.replace("eye_pixels = [2064, 2208]", "eye_pixels = [2064]"), "eye_pixels"),
        (lambda t: t.replace("default_refresh_hz = 90", "default_refresh_hz = 60"), "default_refresh_hz"),
        (lambda t: t.replace('face_set = "meta70"', 'face_set = "blendy"'), "face_set"),
        (lambda t: t.replace("pose_rate_hz = 90", 'pose_rate_hz = "fast"'), "pose_rate_hz"),
        (lambda t: t.replace("ipd_mm = 63.0\n", ""), "ipd_mm"),
        (lambda t: t.replace("channels = 1", "channels = 6"), "channels"),
        (lambda t: t.replace("[audio]", "[audio"), "not valid TOML"),
    ],
)
def test_a_broken_profile_names_its_file_and_field(
    tmp_path: Path, edit: Callable[[str], str], field: str
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(edit(GOOD))
    with pytest.raises(ModelError) as error:
        load_profile_file(path)
    assert str(path) in str(error.value) and field in str(error.value)


def test_an_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ModelError, match=r"known: .*quest3"):
        load_profile("quest9")


def test_the_cli_reports_a_version_and_the_profiles() -> None:
    version = subprocess.run([sys.executable, "-m", "emulator", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("headset-emulator ")
    listing = subprocess.run([sys.executable, "-m", "emulator", "profiles"], capture_output=True, text=True)
    assert listing.returncode == 0 and "Meta Quest 3S" in listing.stdout


def test_the_installed_console_script_answers() -> None:
    script = Path(sys.executable).parent / "headset-emulator"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip().startswith("headset-emulator 0.")
    assert "usage:" in subprocess.run([str(script), "--help"], capture_output=True, text=True).stdout
