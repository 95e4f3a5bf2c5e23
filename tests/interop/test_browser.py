"""A browser in the bundled room: Debian's Chromium (headless, fake microphone) and a headless headset.

The browser hears the headset's tone (measured in the page with an AnalyserNode), the headset hears the
browser (its recording of the browser has the fake microphone's energy), the browser's map follows the
headset as it walks, and the headset sees the browser standing where the page says it stands.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.browser import leave_once_the_headset_ends
from tests.support.exchange import loud_blocks, read_wav
from tests.support.processes import stop_group
from tests.support.reports import read_report
from tests.support.room import RoomProcess, cli, cli_env

pytestmark = pytest.mark.slow

TONE_HZ = 440.0
WAIT_MS = 30_000


def walker(room: RoomProcess, tmp_path: Path) -> subprocess.Popen[bytes]:
    argv = cli(
        "join", room.url, "--room", "lobby", "--name", "walker", "--audio", f"tone:{TONE_HZ:g}",
        "--no-verdict", "--at=0,1.6,-2", "--motion", "orbit:radius=1.5,period=6", "--duration", "16",
        "--report", str(tmp_path / "walker.json"), "--record-dir", str(tmp_path / "walker"),
    )  # fmt: skip
    return subprocess.Popen(argv, env=cli_env(tmp_path), stderr=subprocess.PIPE, start_new_session=True)


def remote(page: Any, name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = page.evaluate(
        "name => window.emulatorRoom.participants().filter(p => p.name === name)", name
    )
    assert len(found) == 1, found
    return found[0]


def test_browser_and_headset_hear_and_see_each_other(
    room_process: RoomProcess, chromium: Any, tmp_path: Path
) -> None:
    headset = walker(room_process, tmp_path)
    try:
        page = chromium.new_page()
        page.goto(f"http://127.0.0.1:{room_process.port}/?room=lobby")
        page.fill("#name", "web")
        page.click("#join")
        page.wait_for_function("window.emulatorRoom.page.status === 'joined'", timeout=WAIT_MS)
        page.wait_for_function(
            """() => { const w = window.emulatorRoom.participants().find(p => p.name === 'walker');
                       return w && w.drawnAt && window.emulatorRoom.dominantFrequency(w.id); }""",
            timeout=WAIT_MS,
        )
        walker_id = remote(page, "walker")["id"]
        # The headset's voice, as the page hears it: its tone dominates the spectrum.
        peaks = []
        for _ in range(10):
            page.wait_for_timeout(200)
            peak = page.evaluate("id => window.emulatorRoom.dominantFrequency(id)", walker_id)
            peaks.append(peak["hz"])
        bin_hz = 48000 / 8192
        assert abs(statistics.median(peaks) - TONE_HZ) <= bin_hz, peaks
        # The map follows the headset round its circle: positions and drawn pixels both move.
        before = remote(page, "walker")
        page.wait_for_timeout(1500)
        after = remote(page, "walker")
        assert math.dist(before["position"], after["position"]) > 0.5, (before, after)
        assert math.dist(before["drawnAt"], after["drawnAt"]) > 20, (before, after)
        assert abs(after["position"][1] - 1.6) < 0.01  # orbiting at head height
        # Its hands (the default, relaxed) arrive too: both wrists below and near its head.
        for wrist in (after["hands"]["left"], after["hands"]["right"]):
            assert wrist is not None and math.dist(wrist, after["position"]) < 0.9, after
            assert wrist[1] < after["position"][1] - 0.3
        browser_id = leave_once_the_headset_ends(page, headset)
    finally:
        stop_group(headset)
    report = read_report(tmp_path / "walker.json")
    (seen,) = [r for r in report["remotes"] if r["id"] == browser_id]
    assert seen["name"] == "web" and seen["states"]["received"] > 20
    # The browser's fixed pose arrives as the browser's: standing at the centre.
    lines = (tmp_path / "walker" / f"{browser_id}.states.jsonl").read_text().splitlines()
    positions = np.array([json.loads(line)["p"] for line in lines])
    assert np.abs(positions - [0.0, 1.6, 0.0]).max() < 0.002
    # The fake microphone's beeps, as the headset recorded them.
    samples, rate = read_wav(tmp_path / "walker" / f"{browser_id}.wav")
    assert len(samples) > 3 * rate
    loud, blocks = loud_blocks(samples)
    assert loud >= 10, f"only {loud} loud 20 ms blocks in {blocks}"


def _hands_after_faces() -> list[Any]:
    from emulator.drive.hands import hands_from_spec
    from emulator.model.face import Face
    from emulator.model.meta_face import arkit_to_meta
    from emulator.model.pose import Pose
    from emulator.wire import FaceEncoder, FaceSet, State

    hands = hands_from_spec("talk").sample(0.7, Pose.at(1.0, 1.6, -2.0))
    messages = []
    for face_set in (FaceSet.ARKIT52, FaceSet.META70):
        encoder = FaceEncoder(face_set)
        faces = [Face.from_mapping({"jawOpen": jaw, "eyeBlinkLeft": 0.9}) for jaw in (0.4, 0.6)]
        shown = [arkit_to_meta(f) if face_set is FaceSet.META70 else f for f in faces]
        full = encoder.update(shown[0])  # the first update is a full face
        changed = encoder.update(shown[1])
        assert full is not None and full.full and changed is not None and not changed.full
        for face in (full, changed):
            messages.append(State(seq=1, sender=2, timestamp=3, pose=None, face=face, left_hand=hands.left,
                                  right_hand=hands.right))  # fmt: skip
    return messages


def _check_hands(decoded: Any, expected: Any, name: str) -> None:
    """The page's hands are the joints Python decodes (both are whole millimetres), or null."""
    from emulator.wire import State

    sides = {"left": getattr(expected, "left_hand", None), "right": getattr(expected, "right_hand", None)}
    if not isinstance(expected, State) or sides == {"left": None, "right": None}:
        assert decoded is None, name
        return
    for side, hand in sides.items():
        if hand is None:
            assert decoded[side] is None, name
            continue
        assert np.allclose(decoded[side]["joints"], hand.positions, atol=1e-9), name
        assert np.allclose(decoded[side]["wrist"], hand.positions[1], atol=1e-9), name
        assert np.allclose(decoded[side]["wristOrientation"], hand.orientations[1], atol=1e-6), name


def test_the_page_reads_the_state_stream_as_python_writes_it(
    room_process: RoomProcess, chromium: Any
) -> None:
    from emulator.wire import Batch, State, parse_message

    page = chromium.new_page()
    page.goto(f"http://127.0.0.1:{room_process.port}/")
    fixtures = sorted(Path(__file__).parents[1].joinpath("fixtures", "wire").glob("*.bin"))
    assert fixtures
    for fixture in fixtures:
        data = fixture.read_bytes()
        decoded = page.evaluate("bytes => StateWire.decode(new Uint8Array(bytes).buffer)", list(data))
        expected = parse_message(data)
        assert decoded["header"]["seq"] == expected.seq and decoded["header"]["sender"] == expected.sender
        assert decoded["header"]["timestamp"] == expected.timestamp, fixture.name
        _check_hands(decoded["hands"], expected, fixture.name)
        pose = expected.pose if isinstance(expected, State) else None
        if pose is None:
            assert decoded["pose"] is None, fixture.name
            continue
        assert np.allclose(decoded["pose"]["position"], pose.position.as_tuple(), atol=1e-9), fixture.name
        assert np.allclose(decoded["pose"]["orientation"], pose.orientation.as_tuple(), atol=1e-6), (
            fixture.name
        )
    # Hands past every kind of face block (which the page skips over without reading).
    for message in _hands_after_faces():
        decoded = page.evaluate(
            "bytes => StateWire.decode(new Uint8Array(bytes).buffer)", list(bytes(message))
        )
        _check_hands(decoded["hands"], parse_message(bytes(message)), repr(message.face))
    # A BATCH from the room comes apart into the very messages that went in.
    inner = [f.read_bytes() for f in fixtures if f.name.startswith(("state_pose", "ping"))]
    batch = bytes(Batch(seq=3, timestamp=99, messages=tuple(inner)))
    parts = page.evaluate(
        "bytes => StateWire.split(new Uint8Array(bytes).buffer).map(b => Array.from(new Uint8Array(b)))",
        list(batch),
    )
    assert [bytes(p) for p in parts] == inner
    # And what the page sends is a STATE Python reads back: standing at the given place, facing -z.
    sent = bytes(page.evaluate("Array.from(new Uint8Array(StateWire.encodeFixedPose(7, [1.25, 1.6, -0.5])))"))
    state = parse_message(sent)
    assert isinstance(state, State) and state.seq == 7 and state.pose is not None
    assert np.allclose(state.pose.position.as_tuple(), (1.25, 1.6, -0.5))
    assert np.allclose(state.pose.orientation.as_tuple(), (0, 0, 0, 1))


# The page answers the room's offers 1.5 s late: by then its connection has been up for a while.
SLOW_ANSWERS = """(() => {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    const late = typeof data === "string" && JSON.parse(data).type === "answer";
    if (late) setTimeout(() => send.call(this, data), 1500);
    else send.call(this, data);
  };
})();"""


def test_a_browser_that_answers_slowly_is_still_heard(
    room_process: RoomProcess, chromium: Any, tmp_path: Path
) -> None:
    """The room offers the page the headset's voice as soon as it has answered the page; a reply that
    comes after the connection is up must not leave the room deaf to the page's own microphone."""
    argv = cli(
        "join", room_process.url, "--room", "lobby", "--name", "listener", "--audio", "silence",
        "--no-verdict", "--duration", "10", "--report", str(tmp_path / "listener.json"),
        "--record-dir", str(tmp_path / "listener"),
    )  # fmt: skip
    headset = subprocess.Popen(argv, env=cli_env(tmp_path), stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while room_process.health()["rooms"] != {"lobby": 1}:
            assert time.monotonic() < deadline and headset.poll() is None, "the headset did not join"
            time.sleep(0.1)
        page = chromium.new_page()
        page.add_init_script(SLOW_ANSWERS)
        page.goto(f"http://127.0.0.1:{room_process.port}/?room=lobby")
        page.fill("#name", "web")
        page.click("#join")
        page.wait_for_function("window.emulatorRoom.page.status === 'joined'", timeout=WAIT_MS)
        browser_id = leave_once_the_headset_ends(page, headset)
    finally:
        stop_group(headset)
    (seen,) = [r for r in read_report(tmp_path / "listener.json")["remotes"] if r["id"] == browser_id]
    assert seen["audio"]["packets_received"] > 100, seen["audio"]
    samples, _ = read_wav(tmp_path / "listener" / f"{browser_id}.wav")
    assert loud_blocks(samples)[0] >= 5  # the fake microphone's beeps
