"""Issue 9's proof: an agent talks in a room; a headset sees its mouth move in step with what it hears.

One session is run for the module and each test checks one thing a user would look at. The room, the
agent (`headset-emulator agent --script`) and a face-tracked headset (`join --face talk`) are real
processes on loopback; the listening headset and a voice-only headset run in the test's process.
Everything the listener holds came the real way: espeak-ng → Opus → WebRTC through the room → playout.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from emulator.audio.factory import AudioSpec
from emulator.audio.source import SAMPLE_RATE
from emulator.headset import Headset, HeadsetConfig
from emulator.headset.events import BlocksHeard
from emulator.headset.mouths import RemoteMouth
from emulator.model.face import Face
from emulator.model.viseme_timeline import VisemeTimeline
from tests.support.processes import stop_group
from tests.support.reports import read_report
from tests.support.room import SECRET, RoomProcess, cli, cli_env, start_room
from tests.support.speech import energy_onsets, envelope_db

pytestmark = pytest.mark.slow

SCRIPT = "0.3\tHello, everyone.\n2.2\tMaybe we should ask Peter.\n4.4\tSix thoughtful things.\n"
LINES = 3
MOUTH = ("jawOpen", "mouthFunnel", "mouthPucker", "mouthStretchLeft", "mouthSmileLeft", "mouthPressLeft")


@dataclass
class Heard:
    """What the listener played and showed for one remote, on the listener's monotonic clock."""

    block_times: list[float] = field(default_factory=list)
    blocks: list[npt.NDArray[np.float32]] = field(default_factory=list)
    face_times: list[float] = field(default_factory=list)
    faces: list[Face] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    @property
    def audio(self) -> npt.NDArray[np.float32]:
        return np.concatenate(self.blocks) if self.blocks else np.zeros(0, np.float32)

    def time_of_sample(self, index: int) -> float:
        """When the listener played sample `index` of what it recorded: its block's pull time + the rest."""
        starts = np.cumsum([0] + [len(b) for b in self.blocks])
        block = int(np.searchsorted(starts, index, side="right")) - 1
        block = min(max(block, 0), len(self.blocks) - 1)
        return self.block_times[block] + (index - int(starts[block])) / SAMPLE_RATE

    def jaw(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        return np.array(self.face_times), np.array([f["jawOpen"] for f in self.faces])


@dataclass
class Session:
    heard: dict[str, Heard]
    keys: VisemeTimeline
    agent_report: dict[str, object]


def _config(url: str, name: str, **options: object) -> HeadsetConfig:
    return HeadsetConfig(url, "lobby", name, secret=SECRET, marker_period_s=0, **options)  # type: ignore[arg-type]


async def _listen(room: RoomProcess, tmp_path: Path) -> Session:
    ears = Headset(_config(room.url, "ears", audio=AudioSpec.parse("none")))
    # Voice only: its face never moves the mouth, so the listener lip-syncs it from the sound.
    plain = Headset(
        _config(room.url, "plain", audio=AudioSpec.parse("speech:Hello there, how are you today?"))
    )
    heard: dict[str, Heard] = {}
    procs: list[subprocess.Popen[bytes]] = []
    started: list[Headset] = []
    kept: dict[str, RemoteMouth] = {}
    try:
        await ears.start()
        started.append(ears)
        assert ears.voice is not None and ears.voice.mouths is not None
        mouths = ears.voice.mouths

        def on_blocks(blocks: dict[str, npt.NDArray[np.float32]]) -> None:
            now = time.monotonic()
            for pid, block in blocks.items():
                h = heard.setdefault(pid, Heard())
                h.block_times.append(now)
                h.blocks.append(block.copy())

        ears.subscribe(BlocksHeard, lambda event: on_blocks(event.blocks))
        script = tmp_path / "lines.tsv"
        script.write_text(SCRIPT)
        env = cli_env(tmp_path)
        agent_argv = cli(
            "agent", "--no-verdict", room.url, "--room", "lobby", "--name", "agent", "--script", str(script),
            "--report", str(tmp_path / "agent.json"),
        )  # fmt: skip
        tracked_argv = cli(
            "join", "--no-verdict", room.url, "--room", "lobby", "--name", "tracked", "--audio", "tone:300",
            "--face", "talk", "--duration", "30",
        )  # fmt: skip
        for argv in (agent_argv, tracked_argv):
            procs.append(subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, start_new_session=True))
        await plain.start()
        started.append(plain)
        deadline = time.monotonic() + 60
        agent_joined = False
        while time.monotonic() < deadline:
            now = time.monotonic()
            for participant in ears.room_state:
                agent_joined |= participant.name == "agent"
                h = heard.setdefault(participant.id, Heard())
                h.face_times.append(now)
                h.faces.append(participant.face.copy())
                if participant.id in mouths.mouths:
                    h.sources.append(mouths.mouths[participant.id].source)
                    kept[participant.id] = mouths.mouths[participant.id]  # it goes when they leave
            if agent_joined and procs[0].poll() is not None:
                break  # the agent has said everything and left
            await asyncio.sleep(0.01)
        _, err = procs[0].communicate(timeout=30)
        assert procs[0].returncode == 0, err.decode()[-2000:]
        # Identities default to the names, so `heard` is keyed by name.
        keys = VisemeTimeline(kept["agent"].keys) if "agent" in kept else VisemeTimeline()
    finally:
        for proc in procs:
            stop_group(proc)
        for headset in (plain, ears):
            await headset.stop()
    return Session(heard, keys, read_report(tmp_path / "agent.json"))


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    tmp_path = tmp_path_factory.mktemp("talking")
    for room in start_room(tmp_path):
        yield asyncio.run(_listen(room, tmp_path))


def _speech_spans(h: Heard) -> list[tuple[float, float]]:
    """(start, end) on the listener's clock of each stretch of sound it played (35 dB below the peak)."""
    audio = h.audio
    hop = SAMPLE_RATE // 200
    level = envelope_db(audio, hop, 2 * hop)
    loud = level > level.max() - 35
    spans: list[tuple[float, float]] = []
    start: int | None = None
    quiet = 0
    for i, on in enumerate(loud):
        if on:
            if start is None:
                start = i
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet * hop >= 0.25 * SAMPLE_RATE:  # a quarter second of quiet ends a line
                spans.append((h.time_of_sample(start * hop), h.time_of_sample((i - quiet) * hop)))
                start = None
    if start is not None:
        spans.append((h.time_of_sample(start * hop), h.time_of_sample(len(audio) - 1)))
    return spans


def test_the_agent_sends_a_viseme_stream_with_its_audio(session: Session) -> None:
    up = session.agent_report["uplink"]
    assert isinstance(up, dict)
    frames = up["audio_frames_encoded"]
    assert frames >= 5.7 * 50  # the script is 5.7 s long
    # A message per frame with news, a refresh every 100 ms otherwise: far fewer than the frames.
    assert frames / 5 * 0.9 <= up["visemes_messages_sent"] <= 0.6 * frames
    # The lossy channel may drop a few under load; each message restates the viseme in force.
    assert len(session.keys) >= 0.7 * up["visemes_entries_sent"], (len(session.keys), up)


def test_viseme_onsets_on_the_listeners_clock_match_the_sound_it_played(session: Session) -> None:
    h = session.heard["agent"]
    heard = [h.time_of_sample(round(t * SAMPLE_RATE)) for t in energy_onsets(h.audio)]
    seen = session.keys.speech_onsets()
    assert len(heard) >= LINES and len(seen) >= LINES, (heard, seen)
    for t in seen:
        assert min(abs(t - s) for s in heard) <= 0.060, f"viseme onset at {t:.3f} has no sound within 60 ms"
    for s in heard:
        assert min(abs(s - t) for t in seen) <= 0.060, f"sound at {s:.3f} has no viseme onset within 60 ms"


def test_the_agents_mouth_is_open_while_it_is_heard_and_closed_in_silence(session: Session) -> None:
    h = session.heard["agent"]
    assert "visemes" in h.sources
    times, jaw = h.jaw()
    spans = _speech_spans(h)
    assert len(spans) == LINES, spans
    for start, end in spans:
        during = jaw[(times >= start) & (times <= end)]
        assert during.max() >= 0.3 and (during > 0.1).mean() >= 0.5, (start, end, during)
    for (_, end), (nxt, _) in itertools.pairwise(spans):
        quiet = (times >= end + 0.15) & (times <= nxt - 0.1)
        faces = [f for f, q in zip(h.faces, quiet, strict=True) if q]
        assert faces and max(f[name] for f in faces for name in MOUTH) < 0.02


def test_a_voice_without_a_face_gets_a_lip_synced_mouth(session: Session) -> None:
    h = session.heard["plain"]
    assert "audio" in h.sources
    times, jaw = h.jaw()
    spans = _speech_spans(h)
    assert spans
    start, end = spans[0]
    assert jaw[(times >= start) & (times <= end)].max() >= 0.3
    after = jaw[times >= end + 0.3]
    assert len(after) > 10 and after.max() < 0.02


def test_a_face_that_moves_its_own_mouth_wins_over_its_audio(session: Session) -> None:
    h = session.heard["tracked"]
    # Until its mouth has moved, its voice fills in; from then on its own face drives the mouth.
    assert "face" in h.sources
    assert set(h.sources[h.sources.index("face") :]) == {"face"}


def test_the_rendered_mouth_is_open_during_speech_and_closed_in_silence(
    session: Session, xvfb_display: str
) -> None:
    from emulator.model.pose import Pose, Quat, Vec3
    from emulator.render.avatar_gen import load_default_avatar
    from emulator.render.camera import Camera, pose_matrix
    from emulator.render.head_geometry import MOUTH_Y
    from emulator.render.offscreen import OffscreenRenderer
    from emulator.render.scene import Scene

    h = session.heard["agent"]
    times, jaw = h.jaw()
    spans = _speech_spans(h)
    (_, end), (nxt, _) = spans[0], spans[1]
    talking = h.faces[int(np.argmax(np.where((times >= spans[0][0]) & (times <= end), jaw, -1)))]
    quiet = [f for f, t in zip(h.faces, times, strict=True) if end + 0.15 <= t <= nxt - 0.1]
    silent = quiet[len(quiet) // 2]
    width, height = 640, 480
    viewer = Pose(Vec3(0.0, 1.6, 0.0))
    camera = Camera(viewer, 30.0)
    avatar_pose = Pose(Vec3(0.0, 1.6, -0.6), Quat.from_euler(np.pi))
    world = pose_matrix(avatar_pose) @ np.array([0.0, MOUTH_Y - 0.01, -0.05, 1.0])
    clip = camera.view_projection(width / height) @ world
    x = round((clip[0] / clip[3] + 1) / 2 * width)
    y = round((1 - clip[1] / clip[3]) / 2 * height)
    avatar = load_default_avatar()

    def render(face: Face) -> npt.NDArray[np.uint8]:
        scene = Scene(delay_us=0)
        scene.add("agent", avatar, name="agent")
        scene.update("agent", avatar_pose, face.weights, time_us=0)
        with OffscreenRenderer(width, height, labels=False) as renderer:
            return renderer.render(scene.frame(0), [camera])

    def mouth_changed(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> int:
        changed = np.abs(a.astype(np.int32) - b.astype(np.int32)).max(axis=-1) > 24
        return int(changed[y - 30 : y + 30, x - 40 : x + 40].sum())

    rest = render(Face())
    assert mouth_changed(render(talking), rest) > 300, "the talking mouth looks shut"
    assert mouth_changed(render(silent), rest) < 20, "the mouth moves in a silence"
