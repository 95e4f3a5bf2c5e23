"""Device profiles: what a headset's displays, sensors and audio look like, from assets/profiles/*.toml.

Reading a profile is the one piece of file I/O in the model layer: profiles are data the model owns,
and every layer above needs them the same way. A broken file names itself and the field at fault.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.model.assets import asset_path
from emulator.model.errors import ModelError

FACE_SETS = ("arkit52", "meta70")
INPUT_KINDS = ("eyes-and-hands", "controllers-and-hands")


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    key: str
    name: str
    vendor: str
    eye_pixels: tuple[int, int]
    fov_horizontal_deg: float
    fov_vertical_deg: float
    refresh_rates_hz: tuple[int, ...]
    default_refresh_hz: int
    ipd_mm: float
    pose_rate_hz: int
    face_rate_hz: int
    hand_rate_hz: int
    face_set: str
    input_kind: str
    audio_sample_rate: int
    audio_channels: int
    rolloff: float
    min_distance_m: float
    notes: str = ""


def _field(table: dict[str, Any], name: str, kind: type | tuple[type, ...], source: str) -> Any:
    if name not in table:
        raise ModelError(f"{source}: missing field {name!r}")
    value = table[name]
    if isinstance(value, bool) or not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ModelError(f"{source}: field {name!r} should be {expected}, got {value!r}")
    return value


def _positive(value: float, name: str, source: str) -> float:
    if not value > 0:
        raise ModelError(f"{source}: field {name!r} must be positive, got {value!r}")
    return value


def parse_profile(data: dict[str, Any], key: str, source: str) -> DeviceProfile:
    """A profile from a parsed TOML document; `source` names the file in every error."""
    display = _field(data, "display", dict, source)
    tracking = _field(data, "tracking", dict, source)
    audio = _field(data, "audio", dict, source)
    number = (int, float)

    eye = _field(display, "eye_pixels", list, f"{source} [display]")
    if len(eye) != 2 or not all(isinstance(v, int) and v > 0 for v in eye):
        raise ModelError(f"{source} [display]: field 'eye_pixels' should be [width, height], got {eye!r}")
    rates = _field(display, "refresh_rates_hz", list, f"{source} [display]")
    if not rates or not all(isinstance(r, int) and r > 0 for r in rates):
        raise ModelError(f"{source} [display]: field 'refresh_rates_hz' should list whole Hz, got {rates!r}")
    default_rate = _field(display, "default_refresh_hz", int, f"{source} [display]")
    if default_rate not in rates:
        raise ModelError(
            f"{source} [display]: 'default_refresh_hz' {default_rate} is not in refresh_rates_hz"
        )
    fov_h = _positive(
        _field(display, "fov_horizontal_deg", number, f"{source} [display]"), "fov_horizontal_deg", source
    )
    fov_v = _positive(
        _field(display, "fov_vertical_deg", number, f"{source} [display]"), "fov_vertical_deg", source
    )
    if fov_h >= 180 or fov_v >= 180:
        raise ModelError(f"{source} [display]: a field of view must be under 180 degrees")

    face_set = _field(tracking, "face_set", str, f"{source} [tracking]")
    if face_set not in FACE_SETS:
        raise ModelError(
            f"{source} [tracking]: field 'face_set' must be one of {FACE_SETS}, got {face_set!r}"
        )
    input_kind = _field(tracking, "input", str, f"{source} [tracking]")
    if input_kind not in INPUT_KINDS:
        raise ModelError(
            f"{source} [tracking]: field 'input' must be one of {INPUT_KINDS}, got {input_kind!r}"
        )

    def rate(table: dict[str, Any], name: str, section: str) -> int:
        return int(_positive(_field(table, name, int, f"{source} [{section}]"), name, source))

    channels = rate(audio, "channels", "audio")
    if channels not in (1, 2):
        raise ModelError(f"{source} [audio]: field 'channels' must be 1 or 2, got {channels}")
    return DeviceProfile(
        key=key,
        name=_field(data, "name", str, source),
        vendor=_field(data, "vendor", str, source),
        eye_pixels=(eye[0], eye[1]),
        fov_horizontal_deg=float(fov_h),
        fov_vertical_deg=float(fov_v),
        refresh_rates_hz=tuple(rates),
        default_refresh_hz=default_rate,
        ipd_mm=float(_positive(_field(display, "ipd_mm", number, f"{source} [display]"), "ipd_mm", source)),
        pose_rate_hz=rate(tracking, "pose_rate_hz", "tracking"),
        face_rate_hz=rate(tracking, "face_rate_hz", "tracking"),
        hand_rate_hz=rate(tracking, "hand_rate_hz", "tracking"),
        face_set=face_set,
        input_kind=input_kind,
        audio_sample_rate=rate(audio, "sample_rate", "audio"),
        audio_channels=channels,
        rolloff=float(_positive(_field(audio, "rolloff", number, f"{source} [audio]"), "rolloff", source)),
        min_distance_m=float(
            _positive(_field(audio, "min_distance_m", number, f"{source} [audio]"), "min_distance_m", source)
        ),
        notes=str(data.get("notes", "")),
    )


def load_profile_file(path: Path) -> DeviceProfile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ModelError(f"{path}: cannot read ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ModelError(f"{path}: not valid TOML ({error})") from None
    return parse_profile(data, path.stem, str(path))


def load_profiles(directory: Path | None = None) -> dict[str, DeviceProfile]:
    """Every profile in the directory (default: the bundled ones), keyed by file stem."""
    directory = directory or asset_path("profiles")
    profiles = {p.stem: load_profile_file(p) for p in sorted(directory.glob("*.toml"))}
    if not profiles:
        raise ModelError(f"{directory}: no device profiles (*.toml) found")
    return profiles


def load_profile(key_or_path: str) -> DeviceProfile:
    """A bundled profile by key (`visionpro`, `quest3`, …) or any profile file by path."""
    if key_or_path.endswith(".toml"):
        return load_profile_file(Path(key_or_path))
    profiles = load_profiles()
    if key_or_path not in profiles:
        raise ModelError(f"unknown device profile {key_or_path!r}; known: {', '.join(profiles)}")
    return profiles[key_or_path]
