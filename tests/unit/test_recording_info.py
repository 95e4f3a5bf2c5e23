"""`headset-emulator recording info FILE`: participants, how long, and what each carries."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.cli import main
from emulator.headset.recording.sessionfile import RecordingWriter
from emulator.model.pose import Pose
from emulator.wire import State
from tests.unit.test_qa_units import recorded_walk


def test_info_lists_each_participant_with_its_span_and_what_it_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "walk.hemurec"
    recorded_walk(path)  # alpha: 2 s of states at 60 Hz and 2 s of voice; its face never changes
    # bob only sent poses, and only for a second, and said nothing.
    writer = RecordingWriter(tmp_path / "two.hemurec", {"room": "r", "name": "alpha", "created": "today"})
    bob = writer.declare("state", "b", "bob", profile="visionpro")
    for i in range(31):
        writer.state(
            bob, 500_000 + i * 33_333, bytes(State(seq=i + 1, sender=2, timestamp=i, pose=Pose.at(1, 1.6, 0)))
        )
    writer.close()

    assert main(["recording", "info", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("recorded ? by '?' in room 'r': 1 participants, 2.1 s, 0 join/leave events")
    assert out[1] == (
        "  'alpha' (id 'a', the recording headset), quest3: 0.1-2.1 s (2.0 s): "
        "121 states (121 pose, 3 face, 0 hands), 2.0 s of voice"  # an unchanged face is not resent
    )
    assert main(["recording", "info", str(tmp_path / "two.hemurec")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[1]
        == "  'bob' (id 'b'), visionpro: 0.5-1.5 s (1.0 s): 31 states (31 pose, 0 face, 0 hands), no voice"
    )


def test_a_missing_or_broken_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.hemurec"
    broken.write_bytes(b"not a recording at all")
    for path in (tmp_path / "missing.hemurec", broken):
        assert main(["recording", "info", str(path)]) != 0
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(path.name) in err[0] and "Traceback" not in err[0], err


def test_a_replay_at_another_speed_says_that_the_pitch_changes() -> None:
    import asyncio

    from emulator.qa.tools import JoinTools

    notes = asyncio.run(JoinTools(replay=Path("any.hemurec"), replay_as="a", speed=1.5).attach(None))  # type: ignore[arg-type]
    assert notes == [
        "replaying at 1.5x: the voice's pitch changes with the speed (×1.5: 440 Hz sounds at 660 Hz);"
        " --speed 1 keeps it"
    ]
    assert asyncio.run(JoinTools(replay=Path("any.hemurec"), replay_as="a").attach(None)) == []  # type: ignore[arg-type]
