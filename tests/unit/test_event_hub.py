"""The headset's event hub: subscribers get typed events, a kind nobody wants is never asked of the
state stream's core (nor are voice levels measured or stats sampled for nobody), and subscribers come
and go in any order (two recorders on one headset)."""

from __future__ import annotations

import asyncio
import math
import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from emulator.audio.factory import AudioSpec
from emulator.audio.level import SILENCE_DBFS
from emulator.headset import Headset, HeadsetConfig
from emulator.headset.events import (
    BlocksHeard,
    DatagramReceived,
    EventHub,
    RemoteJoined,
    StateReceived,
    StatsSampled,
    VoiceLevel,
)
from emulator.headset.voice import RemoteVoice
from emulator.model.pose import Pose
from emulator.net.media.playout import PlayoutStats
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


# --- voice levels and stats: built only for a subscriber --------------------------------------------


def count_built(monkeypatch: pytest.MonkeyPatch, kind: type[Any]) -> list[None]:
    """One entry per event of `kind` built from now on, wherever it is built."""
    built: list[None] = []
    init = kind.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(None)
        init(self, *args, **kwargs)

    monkeypatch.setattr(kind, "__init__", counting)
    return built


class SteadyPlayout:
    """A remote's playout that plays the same block every pull."""

    def __init__(self, block: np.ndarray) -> None:  # type: ignore[type-arg]
        self.block = block
        self.stats = PlayoutStats()

    def pull(self, frames: int, now: float) -> np.ndarray:  # type: ignore[type-arg]
        return self.block


def test_each_remote_s_voice_level_is_emitted_per_pull_only_while_someone_subscribes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headset = listener()
    built = count_built(monkeypatch, VoiceLevel)
    half = np.full(480, 0.5, dtype=np.float32)  # RMS 0.5: -6.02 dBFS
    headset.voice.remotes["0"] = RemoteVoice("0", SteadyPlayout(half), owner="bob")  # type: ignore[arg-type]
    headset.voice.pull_all(0.0)
    assert len(built) == 0, "nobody subscribed: no level is measured or built"
    levels: list[VoiceLevel] = []
    headset.subscribe(VoiceLevel, levels.append)
    headset.voice.pull_all(0.01)
    headset.voice.pull_all(0.02)
    headset.unsubscribe(VoiceLevel, levels.append)
    headset.voice.pull_all(0.03)
    assert [e.participant_id for e in levels] == ["bob", "bob"] and len(built) == 2
    assert levels[0].dbfs == pytest.approx(20 * math.log10(0.5))


def test_the_level_of_what_the_headset_sends_is_taken_after_the_mute(monkeypatch: pytest.MonkeyPatch) -> None:
    config = HeadsetConfig(
        url="ws://127.0.0.1:9/ws",
        room="lobby",
        name="me",
        audio=AudioSpec.parse("tone:440"),
        marker_period_s=0.0,
    )
    speaker = Headset(config)
    built = count_built(monkeypatch, VoiceLevel)
    gate = speaker.voice.gate
    assert gate is not None
    gate.read(960)
    assert len(built) == 0
    sent: list[VoiceLevel] = []
    speaker.subscribe(VoiceLevel, sent.append)
    gate.read(960)
    speaker.set_muted(True)
    gate.read(960)
    assert [e.participant_id for e in sent] == [None, None]
    assert sent[0].dbfs == pytest.approx(20 * math.log10(0.3 / math.sqrt(2)), abs=0.1)  # the tone's RMS
    assert sent[1].dbfs == SILENCE_DBFS, "muted: digital silence goes out, and the meter says so"
    speaker.voice.gate.close()  # type: ignore[union-attr]


async def test_stats_are_sampled_once_joined_and_only_while_subscribed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headset = listener()
    built = count_built(monkeypatch, StatsSampled)
    stats: list[StatsSampled] = []
    headset.subscribe(StatsSampled, stats.append)  # before joining: the first sample comes once joined

    async def joined(timeout: float) -> Any:
        return SimpleNamespace(participants=[BOB], you=SimpleNamespace(may_publish=True))

    monkeypatch.setattr(headset.session, "connect", joined)
    headset.session.callbacks.on_state(state_from_bob(1))
    assert len(built) == 0
    try:
        await headset.start()
        headset.session.callbacks.on_state(state_from_bob(1))
        headset.session.callbacks.on_state(state_from_bob(3))
        await asyncio.sleep(0.05)
        assert 1 <= len(stats) <= 2, "one sample at once (the next on the second's grid)"
        (bob,) = stats[0].remotes
        assert (bob.participant_id, bob.name, bob.states_received, bob.states_lost) == ("bob", "bob", 2, 1)
        assert bob.round_trip_ms is None and bob.mouth_to_ear_ms is None and bob.audio is None
        assert stats[0].bytes_sent == headset.view.bytes_sent() and stats[0].at <= time.monotonic()
        headset.unsubscribe(StatsSampled, stats.append)
        sampled = len(built)
        await asyncio.sleep(1.1)
        assert len(built) == sampled, "no subscriber: the sampler stopped"
        headset.subscribe(StatsSampled, stats.append)
        await asyncio.sleep(0.01)
        assert len(built) == sampled + 1 and len(stats) == sampled + 1
    finally:
        await headset.stop()
    headset.subscribe(StatsSampled, lambda event: None)  # stopped: nothing starts again
    await asyncio.sleep(0.01)
    assert len(built) == sampled + 1
