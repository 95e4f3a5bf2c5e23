import json
import math
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.drive.drivers import build_drivers
from emulator.drive.errors import DriveError
from emulator.drive.livelink import HeadFromFace
from emulator.drive.trace import parse_trace
from emulator.model.assets import asset_path

SAMPLE_CSV = asset_path("faces", "sample_livelinkface.csv")


def test_options_build_a_placed_motion_and_a_face() -> None:
    drivers = build_drivers("walk", "smile", "1,1.7,2", 90.0)
    pose, face = drivers.sample(1.0)
    assert pose.position.x == pytest.approx(0.0) and pose.position.z == pytest.approx(2.0)
    assert face["mouthSmileLeft"] > 0.5


@pytest.mark.parametrize("face", [f"csv:{SAMPLE_CSV}", f"blink+csv:{SAMPLE_CSV}"])
def test_a_recorded_head_turns_the_head_on_top_of_the_motion(face: str) -> None:
    drivers = build_drivers("still", face)
    assert isinstance(drivers.motion, HeadFromFace)
    yaws = [drivers.motion.sample(i / 10).yaw_pitch_roll()[0] for i in range(30)]
    assert max(yaws) > 0.1 and min(yaws) < -0.1  # the sample sways its head ±0.12 rad
    plain = build_drivers("still", f"csv:{SAMPLE_CSV},nohead")
    assert not isinstance(plain.motion, HeadFromFace)


def test_bad_options_are_drive_errors() -> None:
    with pytest.raises(DriveError, match="placement"):
        build_drivers(at="1,2")
    with pytest.raises(DriveError, match="unknown face"):
        build_drivers(face="wink")


def test_the_drive_command_records_a_replayable_trace(tmp_path: Path) -> None:
    out = tmp_path / "walk.jsonl"
    assert (
        main(
            ["drive", "--motion", "walk", "--face", "talk", "--duration", "2", "--rate", "10", "-o", str(out)]
        )
        == 0
    )
    samples = parse_trace(out.read_text(), str(out))
    assert len(samples) == 21 and samples[-1][0] == pytest.approx(2.0)
    assert samples[-1][1].position.z == pytest.approx(-2.0, abs=1e-5)  # 1 m/s for 2 s, straight ahead
    faces = [json.loads(line)["face"] for line in out.read_text().splitlines()]
    assert any(f.get("jawOpen", 0) > 0.1 for f in faces)
    replay = build_drivers(f"trace:{out},absolute")
    assert math.isclose(replay.motion.sample(1.0).position.z, -1.0, abs_tol=1e-5)
    # The faces written come back with the poses: the default face gives way to the trace's.
    written = {
        round(json.loads(line)["t"], 3): json.loads(line)["face"] for line in out.read_text().splitlines()
    }
    for t in (0.5, 1.2):
        face = replay.face.sample(t)
        for name, weight in written[t].items():
            assert face[name] == pytest.approx(weight, abs=1e-3), (t, name)
    from emulator.drive.trace_faces import TraceFace

    assert not isinstance(build_drivers(f"trace:{out}", face="smile").face, TraceFace)  # --face wins


def test_a_face_trace_without_faces_is_a_one_line_error(tmp_path: Path) -> None:
    bare = tmp_path / "bare.jsonl"
    bare.write_text(
        '{"t": 0, "p": [0, 1.6, 0], "q": [0, 0, 0, 1]}\n{"t": 1, "p": [0, 1.6, -1], "q": [0, 0, 0, 1]}\n'
    )
    with pytest.raises(DriveError, match="no line of the trace carries a face"):
        build_drivers(face=f"trace:{bare}")
    assert build_drivers(f"trace:{bare}").face.sample(0.5).weights.max() == 0.0  # neutral, as before
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"t": 0, "p": [0, 1.6, 0], "q": [0, 0, 0, 1], "face": {"notAShape": 1}}\n')
    with pytest.raises(DriveError, match=r"line 1.*notAShape"):
        build_drivers(f"trace:{broken}")


def test_the_drive_command_reports_a_broken_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "take.csv"
    broken.write_text("Timecode,JawOpen\n00:00:00:00.000,zero\n")
    assert main(["drive", "--face", f"csv:{broken}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "line 2, column 2 (JawOpen)" in err and "Traceback" not in err
