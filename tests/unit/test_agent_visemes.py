"""The agent's viseme stream and a receiver's remote mouths, one class at a time, without a network."""

from __future__ import annotations

import numpy as np
import pytest

from emulator.audio.source import FRAME_SAMPLES, SAMPLE_RATE
from emulator.audio.speech import SpeechSource
from emulator.audio.tone import ToneSource
from emulator.audio.wavfile import SourceError
from emulator.cli import main
from emulator.headset.agent import FrameVisemes, SpokenFace, VisemeSender, VisemeTap, talking_source
from emulator.headset.mouths import RemoteMouths
from emulator.model.face import Face
from emulator.model.room_state import RemoteParticipant, RoomState
from emulator.model.viseme_timeline import SIL
from emulator.model.visemes import Viseme
from emulator.wire import VisemeEntry, Visemes, parse_message, wrapped_difference
from tests.support.speech import TEST_SCRIPT

FRAME_S = FRAME_SAMPLES / SAMPLE_RATE


class StepClock:
    """A clock the test moves: reads are not evenly spaced, as on a busy loop."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def _speak(seconds: float, release_after: int = 10) -> tuple[SpeechSource, list[Visemes], VisemeTap]:
    source = SpeechSource(TEST_SCRIPT[:2])
    clock = StepClock()
    tap = VisemeTap(source, clock=clock)
    sent: list[Visemes] = []

    def send(timestamp_us: int, entries: tuple[VisemeEntry, ...]) -> int:
        data = bytes(Visemes(seq=len(sent), sender=0, timestamp=timestamp_us % 2**32, entries=entries))
        parsed = parse_message(data)
        assert isinstance(parsed, Visemes)
        sent.append(parsed)
        return len(data)

    sender = VisemeSender(send)
    tap.listeners.append(sender.on_frame)
    for frame in range(round(seconds / FRAME_S)):
        if frame == release_after:
            tap.release()
        # Bursty reads: three frames at once, then a pause.
        clock.now += 3 * FRAME_S if frame % 3 == 0 else 0.0005
        block = tap.read(FRAME_SAMPLES)
        if frame < release_after:
            assert not block.any()
    return source, sent, tap


def test_every_key_is_sent_with_its_frame_on_the_audio_schedule() -> None:
    source, sent, _ = _speak(4.0)
    first = sent[0].timestamp
    # Timestamps are the frames' first samples on the audio's schedule: whole frames apart, bursts or not.
    for message in sent:
        frames = wrapped_difference(message.timestamp, first) / 1e6 / FRAME_S
        assert abs(frames - round(frames)) < 1e-3
    received = [
        (wrapped_difference(m.timestamp, first) / 1e6 + e.offset_ms / 1000, int(e.viseme))
        for m in sent
        for e in m.entries
    ]
    lead_in = 10 * FRAME_S
    for key in source.visemes.between(0.0, 4.0 - lead_in):
        t = key.time + lead_in
        assert any(abs(t - rt) <= 0.001 and v == key.viseme for rt, v in received), key


def test_messages_restate_the_viseme_in_force_and_refresh_when_quiet() -> None:
    _, sent, _ = _speak(4.0)
    first = sent[0].timestamp
    frames = [round(wrapped_difference(m.timestamp, first) / 1e6 / FRAME_S) for m in sent]
    assert max(np.diff(frames)) <= 5  # a refresh at least every 100 ms
    for message in sent:
        assert message.entries[0].offset_ms == 0
        assert all(0 <= e.offset_ms < 20 for e in message.entries)
    # Far fewer messages than frames: most frames start no new viseme.
    assert len(sent) < 0.6 * frames[-1]


def test_the_tap_finishes_only_after_it_was_released_and_the_script_ended() -> None:
    source = SpeechSource(TEST_SCRIPT[:1])
    tap = VisemeTap(source)
    for _ in range(round((source.duration + 1) / FRAME_S)):
        tap.read(FRAME_SAMPLES)
    assert not tap.finished
    tap.release()
    for _ in range(round((source.duration + 0.1) / FRAME_S)):
        tap.read(FRAME_SAMPLES)
    assert tap.finished


def test_the_agents_own_face_talks_with_the_frames_it_sends() -> None:
    source = SpeechSource(TEST_SCRIPT[:1])
    clock = StepClock()
    face = SpokenFace(clock=clock)
    tap = VisemeTap(source, clock=clock)
    tap.listeners.append(face.on_frame)
    tap.release()
    jaw = []
    for _ in range(round(source.duration / FRAME_S)):
        clock.now += FRAME_S
        tap.read(FRAME_SAMPLES)
        jaw.append(face.sample(0.0)["jawOpen"])
    start = round(TEST_SCRIPT[0].start / FRAME_S)
    assert max(jaw[:start]) < 0.01 and max(jaw[start:]) > 0.4


def test_a_source_without_visemes_is_lip_synced() -> None:
    talker = talking_source("speech:Hello")
    assert isinstance(talker, SpeechSource)
    synced = talking_source("tone:220")
    assert hasattr(synced, "visemes_between") and not isinstance(synced, ToneSource)
    with pytest.raises(SourceError, match="bot number"):
        talking_source("bot:x")


# --- the receiver ---------------------------------------------------------------------------------------


class FakePlayout:
    """Stands in for a PlayoutBuffer: the media time of what was just played, and of what arrives."""

    def __init__(self, media_minus_arrival: float) -> None:
        self.lead = media_minus_arrival
        self.media_end: float | None = None

    def media_minus_arrival(self, since: float = 0.0) -> float:
        return self.lead


def _room() -> tuple[RoomState, RemoteParticipant]:
    state = RoomState()
    participant = RemoteParticipant("bot", 1, "bot", "visionpro")
    state.add(participant)
    return state, participant


def test_keys_are_shown_when_their_audio_is_played_not_when_they_arrive() -> None:
    state, _ = _room()
    mouths = RemoteMouths(state)
    # Sender schedule: frame k starts at 10 + 0.02 k (its clock); arrival 35 ms later on ours (at 500+).
    # The audio's media time is sender time + 1000, and our playout plays it 120 ms after it arrives:
    # a key should show 155 ms after its message arrived, whatever the clocks' offset.
    playout = FakePlayout(media_minus_arrival=(1000 + 10) - (500 + 0.035))
    silence = np.zeros(FRAME_SAMPLES, np.float32)
    aa = VisemeEntry(Viseme.aa, 1.0, 7)
    for k in range(60):
        sender_t = 10 + k * FRAME_S
        arrive = 500 - 10 + sender_t + 0.035
        entries = (
            (VisemeEntry(Viseme.sil, 1.0, 0),)
            if k < 30
            else (aa if k == 30 else VisemeEntry(Viseme.aa, 1.0, 0),)
        )
        mouths.on_visemes(
            "bot", Visemes(seq=k, sender=1, timestamp=round(sender_t * 1e6), entries=entries), arrive
        )
        now = arrive + 0.001
        playout.media_end = now - (500 - 10) - 0.035 - 0.120 + 1000 + FRAME_S  # where the block pulled ends
        mouths.update(now, {"bot": silence}, {"bot": playout})  # type: ignore[dict-item]
    onset = next(k.time for k in mouths.mouths["bot"].keys if k.viseme != SIL)
    expected = 500 - 10 + (10 + 30 * FRAME_S + 0.007) + 0.035 + 0.120
    assert onset == pytest.approx(expected, abs=0.002)
    assert mouths.mouths["bot"].source == "visemes"
    # The face shows it then, and not at arrival.
    arrival = expected - 0.155
    assert mouths.mouths["bot"].driver.face_at(arrival)["jawOpen"] < 0.01
    assert mouths.mouths["bot"].driver.face_at(expected + 0.05)["jawOpen"] > 0.5


def test_a_voice_without_a_face_is_lip_synced_and_a_moving_face_wins() -> None:
    state, participant = _room()
    mouths = RemoteMouths(state)
    speech = SpeechSource(TEST_SCRIPT[:1])
    audio = speech.read(round(speech.duration * SAMPLE_RATE))
    participant.face = Face.from_mapping({"eyeBlinkLeft": 1.0})
    mouths.on_state_face(participant, now=0.0)
    jaw = []
    for i in range(len(audio) // FRAME_SAMPLES):
        block = audio[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
        mouths.update(i * FRAME_S, {"bot": block}, {})
        jaw.append(participant.face["jawOpen"])
        assert participant.face["eyeBlinkLeft"] == 1.0  # the sender's own face stays
    assert mouths.mouths["bot"].source == "audio"
    assert max(jaw) > 0.3 and max(jaw[: round(0.15 / FRAME_S)]) < 0.01
    # Now its STATE faces move the mouth: they win, and lip-sync stops writing over them.
    t = len(jaw) * FRAME_S
    for step, value in enumerate((0.1, 0.4, 0.2)):
        participant.face = Face.from_mapping({"jawOpen": value})
        mouths.on_state_face(participant, now=t + step * 0.03)
    mouths.update(t + 0.1, {"bot": audio[:FRAME_SAMPLES] * 0}, {})
    assert mouths.mouths["bot"].source == "face"
    assert participant.face["jawOpen"] == pytest.approx(0.2)


def test_agent_command_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = "ws://127.0.0.1:9/ws"
    assert main(["agent", url]) == 2
    assert "exactly one of --say, --script, --wav or --audio" in capsys.readouterr().err
    assert main(["agent", url, "--say", "hi", "--wav", "x.wav"]) == 2
    capsys.readouterr()
    assert main(["agent", url, "--script", "/nonexistent/lines.tsv"]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_frame_visemes_is_plain_data() -> None:
    frame = FrameVisemes(0.0, 0.02, 1.0, ())
    assert frame.stop - frame.start == pytest.approx(FRAME_S)
