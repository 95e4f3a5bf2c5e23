"""The headset's state stream alone: how STATEs are packed into datagrams, and how a light receiver (a
swarm member) counts a room's BATCH. The session is a recorder of what would go on the channel."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest

from emulator.audio.factory import AudioSpec
from emulator.headset import Headset, HeadsetConfig
from emulator.headset.events import EventHub
from emulator.headset.state_link import StateLink
from emulator.headset.stream import StateStreamCore, StreamSettings
from emulator.model.pose import Pose
from emulator.wire import (
    BatchPacker,
    Ping,
    Pong,
    State,
    is_batch,
    parse_message,
    pong_recipient,
    split_batch,
    stamp_datagram,
)
from emulator.wire.clock import wrapped_difference
from emulator.wire.signaling import ParticipantInfo


class RecordingSession:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send_state(self, data: bytes) -> bool:
        self.sent.append(data)
        return True


def make_link(states_per_packet: int = 2, light: bool = False) -> tuple[StateLink, RecordingSession]:
    config = HeadsetConfig(
        url="ws://127.0.0.1:9/ws",
        room="lobby",
        name="me",
        audio=AudioSpec.parse("none"),
        states_per_packet=states_per_packet,
        light_receive=light,
    )
    headset = Headset(config)
    settings = StreamSettings.for_device(headset.profile, states_per_packet, light)
    session = RecordingSession()
    link = StateLink(StateStreamCore(settings, headset.room_state), headset, session, EventHub())
    return link, session


def headset_of(link: StateLink) -> Headset:
    assert isinstance(link.sampler, Headset)
    return link.sampler


def test_states_go_two_to_a_datagram_in_order_and_are_all_counted() -> None:
    link, session = make_link(states_per_packet=2)
    for step in range(5):
        link.send_state(Pose.at(0.1 * step, 1.6, 0.0), None)
    assert len(session.sent) == 2, "the fifth STATE waits for its partner"
    assert all(is_batch(d) for d in session.sent)
    states = [parse_message(m) for d in session.sent for m in split_batch(d)]
    assert all(isinstance(s, State) for s in states)
    assert [s.seq for s in states] == [1, 2, 3, 4]
    assert [round(s.pose.position.x, 3) for s in states if isinstance(s, State) and s.pose] == [
        0,
        0.1,
        0.2,
        0.3,
    ]
    assert link.states_sent == 4 and link.packets_sent == 2
    assert link.bytes_sent == sum(len(d) for d in session.sent)


def test_one_state_per_datagram_sends_plain_states() -> None:
    link, session = make_link(states_per_packet=1)
    link.send_state(Pose.at(0, 1.6, 0), None)
    assert len(session.sent) == 1 and not is_batch(session.sent[0])
    assert isinstance(parse_message(session.sent[0]), State)


def test_a_light_receiver_counts_a_batch_per_sender_and_still_answers_pings() -> None:
    link, session = make_link(light=True)
    for number, name in ((3, "alice"), (4, "bob")):
        link.remote_joined(ParticipantInfo(id=name, number=number, name=name, profile="quest3"))
    messages = [bytes(State(seq=s, sender=3, timestamp=1000 * s, pose=Pose.at(0, 1.6, 0))) for s in (1, 2, 4)]
    messages.append(bytes(State(seq=9, sender=4, timestamp=5, pose=Pose.at(1, 1.6, 0))))
    messages.append(bytes(State(seq=1, sender=99, timestamp=5, pose=None)))  # nobody we know
    messages.append(bytes(Ping(seq=7, sender=4, timestamp=123)))
    (batch,) = BatchPacker().pack(messages, timestamp=0)
    link.on_message(batch)
    alice, bob = link.remotes[3], link.remotes[4]
    assert (alice.states_received, alice.states_lost) == (3, 1)
    assert bob.states_received == 1
    assert link.core.unknown_sender == 1 and link.core.malformed == 0
    (pong,) = [parse_message(d) for d in session.sent]
    assert isinstance(pong, Pong) and pong.ping_seq == 7
    link.on_message(batch[:-4])  # cut inside its last entry
    assert link.core.malformed == 1
    assert alice.states_received == 6, "what came before the damage still counts"


@pytest.mark.parametrize("light", [False, True], ids=["full", "light"])
def test_a_pong_to_someone_else_is_not_counted_lost_by_the_others(light: bool) -> None:
    """Bob asks Alice the time with every STATE she sends; the room hands her PONGs to Bob alone.
    Carol gets every other message of Alice's and must count none of hers lost."""
    alice, alice_out = make_link(states_per_packet=2)
    for number, name in ((4, "bob"), (5, "carol")):
        alice.remote_joined(ParticipantInfo(id=name, number=number, name=name, profile="quest3"))
    carol, _ = make_link(light=light)
    carol.remote_joined(ParticipantInfo(id="alice", number=3, name="alice", profile="visionpro"))
    for step in range(10):
        alice.send_state(Pose.at(0, 1.6, 0), None)
        alice.on_message(bytes(Ping(seq=step + 1, sender=4, timestamp=step)))
    alice.send_ping()  # her own PING still takes a number: a gap there would be a lost message
    alice.send_state(Pose.at(0, 1.6, 0), None)
    alice.send_state(Pose.at(0, 1.6, 0), None)
    # The room's part, as RoomCore does it: each message stamped with Alice's number, a PONG to its
    # asker only, and what is left for Carol packed per datagram.
    pongs_to_bob = 0
    for datagram in alice_out.sent:
        for_carol = []
        for message in stamp_datagram(datagram, 3):
            if pong_recipient(message) == 4:
                pongs_to_bob += 1
            else:
                for_carol.append(message)
        for packet in BatchPacker().pack(for_carol, timestamp=0):
            carol.on_message(packet)
    assert pongs_to_bob == 10
    heard = carol.remotes[3]
    assert heard.states_received == 12
    assert heard.states_lost == 0, "Alice's PONGs to Bob showed as gaps in her sequence"
    carol.on_message(bytes(State(seq=(heard.last_seq or 0) + 2, sender=3, timestamp=0, pose=None)))
    assert heard.states_lost == 1, "a real gap still counts"


def test_headset_config_defaults_to_two_states_per_datagram() -> None:
    assert HeadsetConfig(url="", room="r", name="n").states_per_packet == 2


async def test_while_states_flow_a_pong_rides_in_the_next_state_datagram() -> None:
    link, session = make_link(states_per_packet=2)
    link.remote_joined(ParticipantInfo(id="bob", number=4, name="bob", profile="quest3"))
    sending = asyncio.create_task(link.run())
    try:
        await _until(lambda: len(session.sent) >= 1)
        session.sent.clear()
        link.on_message(bytes(Ping(seq=7, sender=4, timestamp=123)))
        assert session.sent == [], "the answer waits for the next STATE datagram"
        await _until(lambda: len(session.sent) >= 1)
        (datagram,) = session.sent
        assert is_batch(datagram)
        messages = [parse_message(m) for m in split_batch(datagram)]
        pongs = [m for m in messages if isinstance(m, Pong)]
        assert len(pongs) == 1 and sum(isinstance(m, State) for m in messages) == 2
        (pong,) = pongs
        assert (pong.ping_seq, pong.ping_timestamp, pong.to) == (7, 123, 4)
        # Stamped when it left, so that the time it waited drops out of the round trip.
        assert wrapped_difference(pong.timestamp, pong.receive_timestamp) > 0
        link.on_message(bytes(Ping(seq=8, sender=4, timestamp=456)))
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
    # Sending stopped with a PING unanswered: its PONG went on its own.
    last = parse_message(session.sent[-1])
    assert isinstance(last, Pong) and last.ping_seq == 8


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.002)
    raise AssertionError("timed out")
