"""Exit code 1 when the room, not the user, ends a headset's session (docs/cli.md, exit codes)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.support.processes import stop_group
from tests.support.room import cli, cli_env, start_room

pytestmark = pytest.mark.slow


def test_a_room_that_goes_away_is_a_failed_run(tmp_path: Path) -> None:
    rooms = start_room(tmp_path)
    room = next(rooms)
    # Its stderr goes to a file: the test waits for its own "joined" line, printed once its data
    # channels are open (the room lists a peer in health as soon as it is admitted, before that).
    log_path = tmp_path / "join.log"
    with log_path.open("wb") as log:
        joined = subprocess.Popen(
            cli("join", room.url, "--name", "left-behind", "--audio", "none", "--duration", "2m"),
            env=cli_env(tmp_path), stderr=log, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while b"joined " not in log_path.read_bytes() and time.monotonic() < deadline:
                if joined.poll() is not None:
                    break
                time.sleep(0.2)
            assert b"joined " in log_path.read_bytes(), log_path.read_text()
            rooms.close()  # the room process ends (SIGTERM) while the headset is in it
            joined.wait(timeout=60)
        finally:
            stop_group(joined)
    err = log_path.read_bytes()
    assert joined.returncode == 1, err
    assert "the room ended the session" in err.decode()
    assert b"Traceback" not in err
