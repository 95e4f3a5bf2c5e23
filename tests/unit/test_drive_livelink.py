import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.drive.errors import FaceCsvError
from emulator.drive.faces import face_from_spec
from emulator.drive.livelink import FaceTrack, HeadFromFace, infer_rate, parse_livelink_csv
from emulator.drive.motions import Still
from emulator.drive.spec import placement
from emulator.model.assets import asset_path
from emulator.model.face import ARKIT_NAMES

SAMPLE = asset_path("faces", "sample_livelinkface.csv")
HEADER = [
    "Timecode",
    "BlendShapeCount",
    *(n[0].upper() + n[1:] for n in ARKIT_NAMES),
    "HeadYaw",
    "HeadPitch",
    "HeadRoll",
]


def row(timecode: str, jaw: float = 0.0, smile: float = 0.0, yaw: float = 0.0) -> list[str]:
    values = {"JawOpen": jaw, "MouthSmileLeft": smile, "HeadYaw": yaw}
    return [timecode, "55", *(f"{values.get(name, 0.0):.4f}" for name in HEADER[2:])]


def csv_text(*rows: list[str], header: list[str] | None = None) -> str:
    return "\n".join(",".join(r) for r in [header or HEADER, *rows]) + "\n"


def test_frames_are_timed_interpolated_and_mapped_by_name() -> None:
    text = csv_text(
        row("10:00:00:58.000", jaw=0.0),
        row("10:00:00:59.000", jaw=0.2),
        row("10:00:01:00.000", jaw=0.6, smile=1.0),
        row("10:00:01:01.500", jaw=0.3),
    )
    track = parse_livelink_csv(text, "take.csv", loop=False)
    assert np.allclose(track.times, [0.0, 1 / 60, 2 / 60, 3.5 / 60])
    assert track.sample(2 / 60)["jawOpen"] == pytest.approx(0.6)
    assert track.sample(2 / 60)["mouthSmileLeft"] == pytest.approx(1.0)
    assert track.sample(1.5 / 60)["jawOpen"] == pytest.approx(0.4, abs=1e-5)
    assert track.sample(10.0)["jawOpen"] == pytest.approx(0.3)  # once: holds the last frame


def test_rate_is_inferred_from_the_frame_numbers() -> None:
    assert infer_rate([(0, 0.0), (0, 29.0), (1, 0.0)]) == 30
    assert infer_rate([(0, 10.0), (1, 24.0)]) == 25
    assert infer_rate([(5, 3.0), (5, 4.0)]) == 60  # never crossed a second: the app's default
    rows = [row(f"00:00:{s:02d}:{f:02d}.000", jaw=s / 10) for s in range(2) for f in range(30)]
    assert parse_livelink_csv(csv_text(*rows)).duration == pytest.approx(59 / 30)


def test_header_names_match_in_any_case_and_extra_columns_are_ignored() -> None:
    header = ["timecode", "jawopen", "EYEBLINKLEFT", "LeftEyeYaw", "Unrelated"]
    track = parse_livelink_csv(csv_text(["00:00:00:00.0", "0.5", "1.5", "0.1", "x?"], header=header))
    face = track.sample(0.0)
    assert face["jawOpen"] == 0.5 and face["eyeBlinkLeft"] == 1.0  # clamped to 0..1
    assert track.head_rotation(0.0) is None


def test_head_angles_turn_the_head_unless_switched_off() -> None:
    text = csv_text(row("00:00:00:00.000", yaw=0.0), row("00:00:00:30.000", yaw=0.5))
    track = parse_livelink_csv(text)
    start = placement("0,1.6,0", 0.0)
    moving = HeadFromFace(Still(start), track)
    yaw, _, _ = moving.sample(0.25).yaw_pitch_roll()
    assert yaw == pytest.approx(0.25, abs=1e-6)  # halfway to 0.5 rad, to the left
    assert moving.sample(0.25).position == start.position
    assert parse_livelink_csv(text, drive_head=False).head_rotation(0.25) is None


def test_sample_asset_is_a_talking_face_with_head_motion() -> None:
    track = face_from_spec(f"csv:{SAMPLE}")
    assert isinstance(track, FaceTrack)
    assert track.duration == pytest.approx(179 / 60)
    jaw = np.array([track.sample(i / 60)["jawOpen"] for i in range(180)])
    assert jaw.max() > 0.3 and jaw.min() < 0.01
    yaws = [track.head_rotation(i / 10) for i in range(30)]
    assert all(q is not None for q in yaws)
    assert face_from_spec(f"csv:{SAMPLE},nohead").head_rotation(1.0) is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        (csv_text(), "no frames"),
        ("00:00:00:00.000,0.1,0.2\n", "line 1: expected a header with a Timecode column"),
        (csv_text(header=["Timecode", "Foo", "Bar"]), "line 1: the header names none of the 52"),
        (csv_text(header=["Timecode", "JawOpen", "jawopen"]), "line 1: column 3 .jawopen. appears twice"),
        (csv_text(row("00:00:00:00.000"), row("00:00:00:01.000")[:-2]), "line 3: expected 57 fields"),
        (
            csv_text(row("00:00:00:00.000"), ["00:00:00:01.000", "55", "x", *row("")[3:]]),
            "line 3, column 3 .EyeBlinkLeft.: 'x' is not a number",
        ),
        (
            csv_text(row("00:00:00:00.000"), ["00:00:00:01.000", "55", "nan", *row("")[3:]]),
            "line 3, column 3 .EyeBlinkLeft.: 'nan' is not a finite",
        ),
        (csv_text(row("0:0:0"), row("00:00:00:01.000")), "line 2, column 1 .Timecode.: timecode '0:0:0'"),
        (csv_text(row("00:00:61:00.000")), "line 2.*above 59"),
        (csv_text(row("00:00:01:00.000"), row("00:00:00:05.000")), "line 3: the timecode is earlier"),
    ],
)
def test_broken_csvs_name_line_and_column(text: str, message: str) -> None:
    with pytest.raises(FaceCsvError, match=message) as caught:
        parse_livelink_csv(text, "take.csv")
    assert str(caught.value).startswith("take.csv")


def test_bytes_that_are_not_text_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "take.csv"
    path.write_bytes(b"Timecode,JawOpen\n\xff\xfe\n")
    with pytest.raises(FaceCsvError, match="not UTF-8"):
        face_from_spec(f"csv:{path}")


def test_a_bom_and_a_trailing_comma_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "take.csv"
    path.write_bytes("\ufeffTimecode,JawOpen,\n00:00:00:00.000,0.7,\n".encode())
    assert face_from_spec(f"csv:{path}").sample(0.0)["jawOpen"] == pytest.approx(0.7)


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(list('Timecode,JawOpen0123456789:.;-\n"naeEx\x00 ')), max_size=200))
def test_random_text_gives_only_face_csv_errors(text: str) -> None:
    try:
        track = parse_livelink_csv(text)
    except FaceCsvError:
        return
    assert np.isfinite(track.weights).all() and math.isfinite(track.duration)


@settings(max_examples=200)
@given(st.integers(0, 3), st.integers(0, 56), st.text(max_size=12))
def test_any_corrupted_cell_gives_only_face_csv_errors(line: int, column: int, junk: str) -> None:
    rows = [HEADER, *(row(f"00:00:00:{i:02d}.000", jaw=i / 4) for i in range(3))]
    rows[line] = [*rows[line][:column], junk, *rows[line][column + 1 :]]
    text = "\n".join(",".join(r) for r in rows)
    try:
        track = parse_livelink_csv(text)
    except FaceCsvError:
        return
    assert ((track.weights >= 0) & (track.weights <= 1)).all()
