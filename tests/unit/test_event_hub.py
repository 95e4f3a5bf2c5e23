"""The headset's event hub: subscribers get typed events, a kind nobody wants is never asked of the
state stream's core, and subscribers come and go in any order (two recorders on one headset)."""

from __future__ import annotations

from typing import Any

from emulator.audio.factory import AudioSpec
from emulator.headset import Headset, HeadsetConfig
from emulator.headset.events import BlocksHeard, DatagramReceived, EventHub, RemoteJoined, StateReceived
from emulator.model.pose import Pose
from emulator.wire import State
from emulator.wire.signaling import ParticipantInfo

BOB = ParticipantInfo(id="bob", number=4, name="bob", profile="quest3")


def listener() -> Headset:
    return Headset(
        HeadsetConfig(url="ws://127.0.0.1:9/ws", room="lobby", name="me", audio=AudioSpec.parse("none"))
    )


def state_from_bob(seq: int) -> bytes:
    return bytes(State(seq=seq, sender=BOB.number, timestamp=seq, pose=Pose.at(0.1 * seq, 1.6, 0.0)))


def test_the_hub_tells_its_watchers_when_a_kind_gets_its_first_subscriber_and_loses_its_last() -> None:
    hub = EventHub()
    changes: list[tuple[type[Any], bool]] = []
    hub.watch(lambda kind, wanted: changes.append((kind, wanted)))
    first, second = [], []  # type: ignore[var-annotated]
    hub.subscribe(DatagramReceived, first.append)
    hub.subscribe(DatagramReceived, second.append)
    assert changes == [(DatagramReceived, True)] and hub.wants(DatagramReceived)
    hub.emit(DatagramReceived(b"x"))
    hub.unsubscribe(DatagramReceived, first.append)
    hub.unsubscribe(DatagramReceived, first.append)  # twice: nothing more happens
    hub.emit(DatagramReceived(b"y"))
    assert [e.data for e in first] == [b"x"] and [e.data for e in second] == [b"x", b"y"]
    hub.unsubscribe(DatagramReceived, second.append)
    assert changes == [(DatagramReceived, True), (DatagramReceived, False)]
    assert not hub.wants(DatagramReceived)
    hub.emit(DatagramReceived(b"z"))  # nobody: nothing is called
    assert len(second) == 2


def test_a_handler_may_unsubscribe_itself_while_it_is_called() -> None:
    hub = EventHub()
    calls: list[str] = []

    def once(event: DatagramReceived) -> None:
        calls.append("once")
        hub.unsubscribe(DatagramReceived, once)

    hub.subscribe(DatagramReceived, once)
    hub.subscribe(DatagramReceived, lambda event: calls.append("always"))
    hub.emit(DatagramReceived(b"1"))
    hub.emit(DatagramReceived(b"2"))
    assert calls == ["once", "always", "always"]


def test_a_headset_s_subscribers_get_the_remote_states_it_receives_and_stop_when_they_leave() -> None:
    headset = listener()
    joined: list[RemoteJoined] = []
    headset.subscribe(RemoteJoined, joined.append)
    headset.state_link.remote_joined(BOB)
    assert [e.info.id for e in joined] == ["bob"]
    states: list[StateReceived] = []
    raw: list[DatagramReceived] = []
    headset.subscribe(StateReceived, states.append)
    headset.subscribe(DatagramReceived, raw.append)
    headset.session.callbacks.on_state(state_from_bob(1))
    assert [(e.participant.id, e.message.seq) for e in states] == [("bob", 1)]
    assert [e.data for e in raw] == [state_from_bob(1)]
    headset.unsubscribe(StateReceived, states.append)
    headset.session.callbacks.on_state(state_from_bob(2))
    assert len(states) == 1, "an unsubscribed handler is not called again"
    assert len(raw) == 2, "the other subscriber still is"
    assert headset.state_link.remotes[BOB.number].states_received == 2, "the stream counts all the same"


def test_two_recorders_nested_on_one_headset_each_keep_getting_what_they_subscribed_to() -> None:
    headset = listener()
    headset.state_link.remote_joined(BOB)
    outer: list[bytes] = []
    inner: list[bytes] = []

    def record_outer(event: DatagramReceived) -> None:
        outer.append(event.data)

    def record_inner(event: DatagramReceived) -> None:
        inner.append(event.data)

    headset.subscribe(DatagramReceived, record_outer)
    headset.subscribe(DatagramReceived, record_inner)
    headset.session.callbacks.on_state(state_from_bob(1))
    headset.unsubscribe(DatagramReceived, record_outer)  # the first one stops first
    headset.session.callbacks.on_state(state_from_bob(2))
    headset.unsubscribe(DatagramReceived, record_inner)
    headset.session.callbacks.on_state(state_from_bob(3))
    assert outer == [state_from_bob(1)]
    assert inner == [state_from_bob(1), state_from_bob(2)]
    assert headset.state_link.remotes[BOB.number].states_received == 3


def test_the_voice_hands_its_blocks_to_the_hub_only_when_someone_listens() -> None:
    headset = listener()
    heard: list[BlocksHeard] = []
    headset.voice.pull_all(0.0)
    headset.subscribe(BlocksHeard, heard.append)
    headset.voice.pull_all(0.01)
    headset.unsubscribe(BlocksHeard, heard.append)
    headset.voice.pull_all(0.02)
    assert [e.blocks for e in heard] == [{}], "one pull while subscribed, no remote speaking yet"
