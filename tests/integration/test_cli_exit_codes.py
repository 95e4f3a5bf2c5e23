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
    joined = subprocess.Popen(
        cli("join", room.url, "--name", "left-behind", "--audio", "none", "--duration", "2m", "-q"),
        env=cli_env(tmp_path), stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not room.health().get("rooms") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert room.health().get("rooms"), "the headset never joined"
        rooms.close()  # the room process ends (SIGTERM) while the headset is in it
        _, err = joined.communicate(timeout=60)
    finally:
        stop_group(joined)
    assert joined.returncode == 1, err
    assert "the room ended the session" in err.decode()
    assert b"Traceback" not in err
