"""What ui/ and qa/ read and change of a headset, through `Headset.view` and its few controls."""

from __future__ import annotations

import asyncio

import numpy as np
import numpy.typing as npt
import pytest

from emulator.audio.factory import AudioSpec
from emulator.audio.hrtf import HrtfSpec
from emulator.headset import Headset, HeadsetConfig, HeadsetError
from emulator.model.pose import Pose, Vec3
from emulator.wire import State
from emulator.wire.signaling import ParticipantInfo

BOB = ParticipantInfo(id="bob", number=4, name="bob", profile="quest3")


def headset(**options: object) -> Headset:
    config = HeadsetConfig(url="ws://127.0.0.1:9/ws", room="lobby", name="me", **options)  # type: ignore[arg-type]
    return Headset(config)


class Ghost:
    def read(self, frames: int) -> npt.NDArray[np.float32]:
        return np.zeros(frames, dtype=np.float32)

    def position(self) -> Vec3:
        return Vec3(1.0, 1.6, 0.0)


def test_a_headset_not_yet_joined_has_a_complete_view_with_nothing_in_it() -> None:
    quiet = headset(audio=AudioSpec.parse("none"))
    view = quiet.view
    assert view.room_mode() is None and view.participants() == [] and view.peer_connection() is None
    assert view.remote_stats() == {} and view.round_trips_ms() == [] and dict(view.mouth_to_ear()) == {}
    assert view.bytes_sent() == 0 and view.states_sent() == 0 and view.audio_bytes_encoded() == 0
    assert not view.sends_voice() and not view.muted() and not view.listen_only()
    with pytest.raises(LookupError, match="sends no voice"):
        quiet.set_muted(True)


def test_the_view_shows_a_remote_s_states_and_cannot_change_them() -> None:
    listener = headset(audio=AudioSpec.parse("none"))
    listener.state_link.remote_joined(BOB)
    listener.session.callbacks.on_state(bytes(State(seq=1, sender=4, timestamp=1, pose=Pose.at(0, 1.6, 0))))
    stats = listener.view.remote_stats()
    assert stats[BOB.number].states_received == 1 and stats[BOB.number].id == "bob"
    with pytest.raises(TypeError):
        stats[9] = stats[BOB.number]  # type: ignore[index]


async def test_muting_a_voice_shows_in_the_view() -> None:
    speaker = headset(audio=AudioSpec.parse("tone:440"))
    try:
        assert speaker.view.sends_voice() and not speaker.view.muted()
        speaker.set_muted(True)
        assert speaker.view.muted()
        speaker.set_muted(False)
        assert not speaker.view.muted()
    finally:
        await speaker.stop()
    await asyncio.sleep(0)


def test_the_hrtf_and_placed_voices_change_what_the_ears_render() -> None:
    listener = headset(audio=AudioSpec.parse("none"), hrtf=HrtfSpec.parse("off"))
    assert listener.ears.renderer is None
    listener.use_hrtf(None)  # the bundled KEMAR
    assert listener.ears.renderer is not None
    listener.use_hrtf(HrtfSpec.parse("off"))
    assert listener.ears.renderer is None
    listener.place_voice("ghost", Ghost())
    assert set(listener.ears.placed) == {"ghost"}
    listener.unplace_voice("ghost")
    listener.unplace_voice("ghost")  # twice is fine
    assert listener.ears.placed == {}


class Source:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"url": "ws://192.0.2.1:9/ws"}, "join token"),  # another machine, no token: nothing is sent
        ({"hrtf": HrtfSpec.parse("/no/such/hrtf.sofa")}, "HRTF /no/such/hrtf.sofa"),
    ],
)
def test_a_headset_that_cannot_be_built_says_which_value_and_closes_the_source_it_was_given(
    options: dict[str, object], says: str
) -> None:
    source = Source()
    config = HeadsetConfig(**{"url": "ws://127.0.0.1:9/ws", "room": "lobby", "name": "me", **options})  # type: ignore[arg-type]
    with pytest.raises(HeadsetError, match=says) as raised:
        Headset(config, source=source)  # type: ignore[arg-type]
    assert "--" not in str(raised.value), "a value, not a command line flag"
    assert source.closed
