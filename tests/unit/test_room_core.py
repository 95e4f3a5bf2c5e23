"""The room's rules, exercised on the sans-I/O core alone."""

import logging
import time

import pytest

from emulator.net.signaling.tokens import Grant, mint
from emulator.room.core import Close, Forward, RoomCore, Send, Subscribe, Unsubscribe
from emulator.wire.signaling import MIX_OWNER, Error, Join, Joined, Left, Welcome

SECRET = b"s3cret"
NOW = 1000.0


def join(core: RoomCore, conn: str, identity: str, room: str = "lobby", publish: bool = True) -> list:
    token = mint(SECRET, Grant(room, identity, time.time() + 60, publish))
    return core.join(conn, Join(room, token, identity.title()), NOW, time.time())


def state(seq: int = 1, sender: int = 0) -> bytes:
    return bytes([0x40]) + seq.to_bytes(2, "big") + sender.to_bytes(2, "big") + bytes(4) + b"\x01" + bytes(11)


def test_join_welcomes_announces_and_subscribes_both_ways() -> None:
    core = RoomCore("lobby", SECRET)
    join(core, "c1", "alice")
    actions = join(core, "c2", "bob")
    welcome = next(a.message for a in actions if isinstance(a, Send) and a.conn == "c2")
    assert isinstance(welcome, Welcome) and [p.id for p in welcome.participants] == ["alice"]
    assert any(isinstance(a, Send) and a.conn == "c1" and isinstance(a.message, Joined) for a in actions)
    subs = {(a.listener, a.speaker) for a in actions if isinstance(a, Subscribe)}
    assert subs == {("c1", "c2"), ("c2", "c1")}


def test_state_is_restamped_with_the_senders_number_and_sent_to_everyone_else() -> None:
    core = RoomCore("lobby", SECRET)
    join(core, "c1", "alice")
    join(core, "c2", "bob")
    join(core, "c3", "carol")
    alice = core.participant("c1")
    assert alice is not None
    forged = state(sender=alice.info.number + 1)  # alice claims to be bob
    (forward,) = core.state_message("c1", forged, NOW, reliable=False)
    assert isinstance(forward, Forward)
    assert set(forward.to) == {"c2", "c3"}
    assert int.from_bytes(forward.data[3:5], "big") == alice.info.number
    assert forward.data[:3] == forged[:3] and forward.data[5:] == forged[5:]


def test_a_clients_batch_comes_apart_and_each_message_is_stamped_as_its_sender() -> None:
    from emulator.wire import BatchPacker

    core = RoomCore("lobby", SECRET)
    join(core, "c1", "alice")
    join(core, "c2", "bob")
    alice = core.participant("c1")
    assert alice is not None
    # alice packs two STATEs, the second claiming to be someone else
    (packed,) = BatchPacker().pack([state(seq=1), state(seq=2, sender=77)], timestamp=5)
    forwards = core.state_message("c1", packed, NOW, reliable=False)
    assert [f.data[1:3] for f in forwards] == [b"\x00\x01", b"\x00\x02"]  # both, in order
    assert all(isinstance(f, Forward) and f.to == ("c2",) for f in forwards)
    assert all(int.from_bytes(f.data[3:5], "big") == alice.info.number for f in forwards)
    assert alice.states_forwarded == 2 and core.stats.states_forwarded == 2
    # a BATCH holding a BATCH, or one cut short, is refused whole
    assert core.state_message("c1", packed[:-3], NOW, reliable=False) == []
    nested = packed[:9] + len(packed).to_bytes(2, "big") + packed
    assert core.state_message("c1", nested, NOW, reliable=False) == []
    assert core.stats.messages_dropped == 2 and alice.states_forwarded == 2


def test_a_pong_goes_only_to_the_participant_whose_ping_it_answers() -> None:
    from emulator.wire import BatchPacker, Ping, Pong

    core = RoomCore("lobby", SECRET)
    for conn, name in (("c1", "alice"), ("c2", "bob"), ("c3", "carol"), ("c4", "dave")):
        join(core, conn, name)
    alice, bob = core.participant("c1"), core.participant("c2")
    assert alice is not None and bob is not None
    (ping,) = core.state_message("c1", bytes(Ping(seq=3, timestamp=100)), NOW, reliable=False)
    assert isinstance(ping, Forward) and set(ping.to) == {"c2", "c3", "c4"}  # everyone answers a PING
    # bob answers what he received (stamped with alice's number), packed with a STATE of his own
    answer = Pong.answer(Ping.parse(ping.data), received_at=150, sent_at=160)
    assert answer.to == alice.info.number
    (packed,) = BatchPacker().pack([bytes(answer), state(seq=9)], timestamp=5)
    pong, own_state = core.state_message("c2", packed, NOW, reliable=False)
    assert isinstance(pong, Forward) and pong.to == ("c1",)
    assert int.from_bytes(pong.data[3:5], "big") == bob.info.number
    assert isinstance(own_state, Forward) and set(own_state.to) == {"c1", "c3", "c4"}
    # an answer to someone who has left, or to oneself, goes nowhere; an unaddressed one to everyone
    gone = Pong(ping_seq=3, ping_timestamp=100, to=999)
    assert core.state_message("c2", bytes(gone), NOW, reliable=False) == []
    itself = Pong(ping_seq=3, ping_timestamp=100, to=bob.info.number)
    assert core.state_message("c2", bytes(itself), NOW, reliable=False) == []
    (legacy,) = core.state_message("c2", bytes(Pong(ping_seq=3, ping_timestamp=100)), NOW, reliable=False)
    assert isinstance(legacy, Forward) and set(legacy.to) == {"c1", "c3", "c4"}
    core.leave("c1", NOW)
    assert core.state_message("c2", bytes(answer), NOW, reliable=False) == []


def test_garbage_and_listen_only_states_are_counted_not_forwarded() -> None:
    core = RoomCore("lobby", SECRET)
    join(core, "c1", "alice")
    join(core, "c2", "bob", publish=False)
    assert core.state_message("c1", b"\xff\x00", NOW, reliable=False) == []
    assert core.state_message("c2", state(), NOW, reliable=False) == []
    assert core.state_message("nobody", state(), NOW, reliable=False) == []
    assert core.stats.messages_dropped == 3


def test_refused_tokens_close_the_connection_with_the_reason() -> None:
    core = RoomCore("lobby", SECRET)
    actions = join(core, "c1", "alice", room="other")
    error = next(a.message for a in actions if isinstance(a, Send))
    assert isinstance(error, Error) and error.code == "token-wrong-room"
    assert any(isinstance(a, Close) for a in actions)
    assert len(core) == 0


def test_a_silent_participant_is_removed_and_everyone_is_told() -> None:
    core = RoomCore("lobby", SECRET)
    join(core, "c1", "alice")
    join(core, "c2", "bob")
    core.heard("c1", NOW + 1)
    core.heard("c2", NOW + 1)
    for k in range(2, 10):  # the server ticks twice a second
        assert core.tick(NOW + k / 2) == []
    core.heard("c2", NOW + 4.5)
    assert core.tick(NOW + 5) == []
    actions = core.tick(NOW + 5.5)
    assert Close("c1", "transport-lost") in actions
    left = [a.message for a in actions if isinstance(a, Send) and isinstance(a.message, Left)]
    assert [(m.id, m.reason) for m in left] == [("alice", "transport-lost")]
    assert Unsubscribe("c2", "c1") in actions
    assert core.participant("c1") is None and core.participant("c2") is not None


def test_the_same_identity_replaces_its_old_connection() -> None:
    core = RoomCore("lobby", SECRET)
    join(core, "c1", "alice")
    actions = join(core, "c9", "alice")
    assert Close("c1", "replaced") in actions
    assert [p.conn for p in core.participants.values()] == ["c9"]


def test_rooms_share_nothing() -> None:
    lobby, other = RoomCore("lobby", SECRET), RoomCore("other", SECRET)
    join(lobby, "c1", "alice")
    join(other, "c2", "bob", room="other")
    (forward,) = [a for a in lobby.state_message("c1", state(), NOW, reliable=False)] or [None]
    assert forward is None  # alone in the lobby: nobody to forward to, and bob is in another room


def test_binaural_rooms_send_each_listener_its_mix_and_no_voices() -> None:
    core = RoomCore("lobby", SECRET, mode="binaural")
    first = join(core, "c1", "alice")
    second = join(core, "c2", "bob", publish=False)
    welcome = next(a.message for a in second if isinstance(a, Send) and a.conn == "c2")
    assert isinstance(welcome, Welcome) and welcome.mode == "binaural"
    subs = {(a.listener, a.speaker) for a in first + second if isinstance(a, Subscribe)}
    assert subs == {("c1", MIX_OWNER), ("c2", MIX_OWNER)}  # a listen-only participant hears the mix too
    assert not any(isinstance(a, Unsubscribe) for a in core.leave("c1", NOW))


def test_the_batch_window_grows_with_the_room_within_bounds() -> None:
    from emulator.room.server import BATCH_WINDOW_MAX_S, BATCH_WINDOW_S, batch_window_s

    windows = [batch_window_s(n) for n in range(1, 60)]
    assert windows[:8] == [BATCH_WINDOW_S] * 8
    assert windows == sorted(windows)
    assert batch_window_s(32) == BATCH_WINDOW_MAX_S == max(windows)


class _Channel:
    readyState = "open"
    bufferedAmount = 0

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, data: bytes) -> None:
        self.sent.append(data)


async def test_a_full_batch_goes_at_once_and_the_rest_when_the_window_ends() -> None:
    import asyncio

    from emulator.room.core import Forward
    from emulator.room.server import Connection, RoomServer, batch_window_s
    from emulator.wire import split_batch
    from emulator.wire.header import MAX_MESSAGE_SIZE

    server = RoomServer(SECRET)
    channel = _Channel()
    listener = Connection("c2", ws=None)  # type: ignore[arg-type]
    listener.channels["state"] = channel
    server.connections["c2"] = listener
    states = [state(seq=n) for n in range(1, 101)]  # 21 bytes each: 100 do not fit one datagram
    for data in states:
        server._forward(Forward(("c2",), data, False))
    assert len(channel.sent) == len(states) * (len(states[0]) + 2) // MAX_MESSAGE_SIZE
    assert all(len(d) <= MAX_MESSAGE_SIZE for d in channel.sent)
    assert all(len(d) > MAX_MESSAGE_SIZE - 23 for d in channel.sent), "full ones only, before the window"
    await asyncio.sleep(batch_window_s(1) + 0.01)
    received = [m for d in channel.sent for m in split_batch(d)]
    assert received == states, "every state, once, in order"


def test_joins_leaves_and_refusals_are_logged_at_info_with_reasons(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="emulator.room")
    core = RoomCore("lobby", SECRET)
    join(core, "c1", "alice")
    join(core, "c2", "bob\nERROR forged", publish=False)
    join(core, "c3", "carol", room="other")
    core.leave("c1", NOW, "left")
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert lines[0] == "room 'lobby': 'alice' joined as 'Alice' (number 1, 'visionpro')"
    # A user-supplied value goes in as repr: a forged log line stays on the one line.
    assert lines[1].startswith("room 'lobby': 'bob\\nERROR forged' joined as") and lines[1].endswith(
        "listen-only)"
    )
    assert lines[2].startswith("room 'lobby' refused a join: ") and "other" in lines[2]
    assert lines[3] == "room 'lobby': 'alice' ('Alice') left: left"
