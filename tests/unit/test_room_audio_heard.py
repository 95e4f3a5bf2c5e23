"""The room's silence check counts voice packets as a sign of life: `RoomAudio.heard_since_last`."""

from __future__ import annotations

from emulator.net.media.fanout import RelayFanout
from emulator.net.media.playout import PlayoutBuffer
from emulator.room.audio import RoomAudio
from emulator.room.core import RoomCore
from emulator.wire.signaling import RoomMode
from tests.unit.test_room_core import NOW, SECRET, join

OPUS_SILENCE = b"\xf8\xff\xfe"


def test_forwarded_speakers_count_as_heard_once_per_new_packet() -> None:
    audio = RoomAudio("lobby", RoomMode.FORWARD)
    audio.voices["c1"], audio.voices["c2"] = RelayFanout(), RelayFanout()
    assert audio.heard_since_last() == []
    audio.voices["c1"].push(960, OPUS_SILENCE, NOW, sequence=1)
    assert audio.heard_since_last() == ["c1"]
    assert audio.heard_since_last() == [], "nothing new since the last tick"
    audio.voices["c2"].push(960, OPUS_SILENCE, NOW, sequence=7)
    audio.voices["c1"].push(1920, OPUS_SILENCE, NOW, sequence=2)
    assert sorted(audio.heard_since_last()) == ["c1", "c2"]


def test_mixed_speakers_count_as_heard_by_the_packets_their_playout_took() -> None:
    audio = RoomAudio("lobby", RoomMode.BINAURAL)
    assert audio.mix is not None
    audio.mix.speakers["c1"] = PlayoutBuffer()
    assert audio.heard_since_last() == []
    audio.mix.speakers["c1"].push(1, 960, OPUS_SILENCE, NOW)
    assert audio.heard_since_last() == ["c1"]
    assert audio.heard_since_last() == []


def test_a_speaker_heard_only_by_its_voice_stays_past_the_silence_timeout() -> None:
    core, audio = RoomCore("lobby", SECRET), RoomAudio("lobby", RoomMode.FORWARD)
    join(core, "c1", "alice")
    join(core, "c2", "bob")
    audio.voices["c1"] = RelayFanout()
    for tick in range(1, 61):  # 30 s of ticks, twice a second, as the server runs them
        now = NOW + tick / 2
        audio.voices["c1"].push(960 * tick, OPUS_SILENCE, now, sequence=tick)
        for conn in audio.heard_since_last():
            core.heard(conn, now)
        core.tick(now)
    assert core.participant("c1") is not None, "its voice kept it in the room"
    assert core.participant("c2") is None, "bob sent nothing at all"
