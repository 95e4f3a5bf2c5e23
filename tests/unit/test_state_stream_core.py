"""`StateStreamCore` alone, on an explicit clock: clock sync, gaps, reordering, PONG addressing, rates,
batching and events. No sockets, no loop: `tests/support/stream_room.py` carries datagrams between
cores with exact delays."""

from __future__ import annotations

import pytest

from emulator.headset.stream import (
    ClockOffsetUpdated,
    FaceUpdated,
    RemoteJoined,
    RemoteLeft,
    StateReceived,
    StatesSent,
    StateStreamCore,
    StreamSettings,
)
from emulator.model.face import Face
from emulator.model.room_state import RoomState
from emulator.wire import (
    BatchPacker,
    Ping,
    Pong,
    State,
    is_batch,
    messages_in,
    parse_message,
    split_batch,
    stamp_datagram,
)
from emulator.wire.signaling import ParticipantInfo
from tests.support.stream_room import POSE, SimRoom

US = 1e-6


def make_core(states_per_packet: int = 2, light: bool = False) -> StateStreamCore:
    settings = StreamSettings(90.0, 60.0, 30.0, states_per_packet, light=light)
    return StateStreamCore(settings, RoomState())


def info(number: int) -> ParticipantInfo:
    return ParticipantInfo(id=f"p{number}", number=number, name=f"p{number}", profile="visionpro")


def state(seq: int, sender: int = 3, timestamp: int = 0) -> bytes:
    return bytes(State(seq=seq, sender=sender, timestamp=timestamp, pose=POSE))


# --- clock sync -----------------------------------------------------------------------------------


@pytest.mark.parametrize("answerer_sends", [False, True], ids=["pong-alone", "pong-rides"])
def test_clock_sync_measures_the_round_trip_exactly_and_the_offset_within_half_the_asymmetry(
    answerer_sends: bool,
) -> None:
    """NTP's arithmetic: the round trip is the two delays; the offset is off by half their difference,
    whatever the answerer's clock reads. A PONG riding in the next STATE datagram waits up to two pose
    periods, and that wait must drop out of both."""
    room = SimRoom()
    asker = room.join(1, make_core(), skew_s=100.0)
    answerer = room.join(2, make_core(), skew_s=3.25)  # its clock reads 96.75 s behind the asker's
    room.delays[(1, 2)], room.delays[(2, 1)] = 0.030, 0.010
    asker.core.start(room.local(asker), sending=False)
    answerer.core.start(room.local(answerer), sending=answerer_sends)
    room.run_until(3.5)
    stats = asker.core.remotes[2]
    assert stats.round_trip.added >= 3, "a PING a second, each answered"
    for rtt_ms in stats.round_trip.values_ms:
        assert rtt_ms == pytest.approx(40.0, abs=0.005)
    true_offset_us = (3.25 - 100.0) * 1e6
    assert stats.clock_offset_us == pytest.approx(true_offset_us + (0.030 - 0.010) / 2 * 1e6, abs=5)
    assert asker.core.offset_for("p2") == stats.clock_offset_us
    # The answerer asks too, the other way round: the same asymmetry, the other sign.
    back = answerer.core.remotes[1]
    assert back.round_trip.added >= 3
    assert back.clock_offset_us == pytest.approx(-true_offset_us - (0.030 - 0.010) / 2 * 1e6, abs=5)


def test_a_slow_sample_does_not_replace_a_better_one_and_a_better_one_is_announced() -> None:
    room = SimRoom()
    asker = room.join(1, make_core())
    answerer = room.join(2, make_core(), skew_s=0.5)
    updates: list[ClockOffsetUpdated] = []
    asker.core.want(ClockOffsetUpdated)
    asker.core.start(0.0, sending=False)
    answerer.core.start(room.local(answerer), sending=False)
    room.run_until(0.5)  # one exchange at 10 ms round trip
    room.delays[(2, 1)] = 0.200  # then the way back queues for 200 ms
    room.run_until(1.5)
    while (event := asker.core.next_event()) is not None:
        assert isinstance(event, ClockOffsetUpdated)
        updates.append(event)
    stats = asker.core.remotes[2]
    assert [round(v) for v in stats.round_trip.values_ms] == [10, 205]
    assert len(updates) == 1 and updates[0].round_trip_us == pytest.approx(10_000, abs=2)
    assert stats.clock_offset_us == pytest.approx(0.5e6, abs=5), "the 205 ms sample was not trusted"


def test_a_pong_answering_someone_elses_ping_is_ignored() -> None:
    core = make_core()
    core.remote_joined(info(2))
    core.send_ping(now=1.0)
    (ping_out,) = core.poll(1.0)
    ping = parse_message(ping_out.data)
    assert isinstance(ping, Ping)
    other = Pong(seq=1, sender=2, timestamp=5, ping_seq=ping.seq, ping_timestamp=ping.timestamp + 1,
                 receive_timestamp=4, to=None)  # fmt: skip
    core.feed(bytes(other), 1.01)
    assert core.remotes[2].round_trip.added == 0 and core.offsets_us == {}
    assert core.remotes[2].states_lost == 0 and core.remotes[2].last_seq is None, (
        "PONGs are outside the sequence"
    )


# --- gaps and reordering --------------------------------------------------------------------------


def test_gaps_count_as_lost_and_a_late_message_takes_its_loss_back() -> None:
    core = make_core()
    core.remote_joined(info(3))
    stats = core.remotes[3]
    for seq in (1, 2, 4):
        core.feed(state(seq), 0.1)
    assert (stats.states_received, stats.states_lost) == (3, 1)
    core.feed(state(3), 0.2)  # overtaken by 4 on a path with jitter
    assert (stats.states_received, stats.states_lost) == (4, 0)
    core.feed(state(4), 0.3)  # a duplicate is no gap
    core.feed(state(0xFFFF, timestamp=1), 0.3)  # far in the past: not taken as a wrap
    assert stats.states_lost == 0 and stats.last_seq == 4


def test_sequence_numbers_wrap_without_a_loss() -> None:
    core = make_core()
    core.remote_joined(info(3))
    for seq in (0xFFFE, 0xFFFF, 0, 1):
        core.feed(state(seq), 0.1)
    assert core.remotes[3].states_lost == 0


@pytest.mark.parametrize("light", [False, True], ids=["full", "light"])
def test_pongs_go_to_their_asker_only_and_cost_the_others_no_gap(light: bool) -> None:
    """Three in a room: the answerer sends STATEs steadily and answers the asker's PINGs; the third
    member sees every other message of the answerer's and must count none of them lost."""
    room = SimRoom()
    asker = room.join(1, make_core())
    answerer = room.join(2, make_core())
    third = room.join(3, make_core(light=light))
    asker.core.start(0.0, sending=False)
    answerer.core.start(0.0, sending=True)
    room.run_until(4.2)
    pongs_to = {1: 0, 3: 0}
    for member in (asker, third):
        messages = [parse_message(m) for m in member.delivered]
        pongs_to[member.number] = sum(isinstance(m, Pong) and m.sender == 2 for m in messages)
    assert pongs_to == {1: 5, 3: 0}, "five PINGs (t = 0 … 4 s), each answered to its asker alone"
    heard = third.core.remotes[2]
    assert heard.states_received == pytest.approx(4.2 * 90, abs=2)
    assert heard.states_lost == 0
    assert asker.core.remotes[2].states_lost == 0


# --- rates and batching ---------------------------------------------------------------------------


def test_states_follow_the_pose_rate_with_faces_and_hands_at_theirs() -> None:
    core = make_core()
    core.start(10.0, sending=True)
    dues = []
    now = 10.0
    while now < 12.0:
        due = core.state_due(now)
        if due is not None:
            dues.append(due)
        core.poll(now)  # PINGs share the deadlines
        deadline = core.next_deadline()
        assert deadline is not None and deadline > now
        now = deadline
    assert len(dues) == pytest.approx(180, abs=1)
    assert sum(d.face for d in dues) == pytest.approx(120, abs=2)
    assert sum(d.hands for d in dues) == pytest.approx(60, abs=2)
    assert dues[0].face and dues[0].hands, "the first STATE carries everything"


def test_after_a_stall_states_resume_on_the_grid_without_a_burst() -> None:
    core = make_core()
    core.start(0.0, sending=False)
    core.poll(0.0)
    core.stop()
    core.uplink.start(0.0)  # STATEs alone, without PINGs
    assert core.state_due(0.0) is not None
    assert core.state_due(1.0) is not None  # a second late: one STATE now …
    assert core.state_due(1.0) is None  # … not the 89 it missed
    deadline = core.next_deadline()
    assert deadline is not None and 1.0 < deadline <= 1.0 + 1 / 90 + 1e-9


def test_states_go_states_per_packet_to_a_datagram_with_waiting_pongs_riding_along() -> None:
    core = make_core(states_per_packet=3)
    core.remote_joined(info(2))
    core.start(0.0, sending=True)
    core.poll(0.0)  # its first PING
    core.feed(bytes(Ping(seq=9, sender=2, timestamp=77)), 0.001)
    assert core.poll(0.001) == [], "while STATEs flow, the PONG waits for their datagram"
    for k in range(3):
        core.send_state(POSE, None, at=0.01 * k)
        out = core.poll(0.01 * k)
        assert out == [] if k < 2 else len(out) == 1
    (datagram,) = out
    assert is_batch(datagram.data) and datagram.kind == "states"
    messages = [parse_message(m) for m in split_batch(datagram.data)]
    assert [type(m).__name__ for m in messages] == ["State", "State", "State", "Pong"]
    pong = messages[-1]
    assert isinstance(pong, Pong) and pong.to == 2 and pong.seq == messages[2].seq, "repeats the latest"
    assert pong.timestamp - pong.receive_timestamp == pytest.approx(19_000, abs=2), "stamped when it left"
    core.sent(datagram, 0.02)
    assert (core.uplink.states_sent, core.uplink.packets_sent) == (3, 1)
    assert core.uplink.bytes_sent == len(datagram.data)


def test_stopping_answers_the_waiting_pings_at_once() -> None:
    core = make_core()
    core.remote_joined(info(2))
    core.start(0.0, sending=True)
    core.feed(bytes(Ping(seq=4, sender=2, timestamp=1)), 0.5)
    assert not core.has_output
    core.stop()
    assert core.has_output and core.next_deadline() is None
    (out,) = core.poll(0.6)
    assert out.kind == "pongs" and isinstance(parse_message(out.data), Pong)


def test_the_senders_rate_is_measured_after_start_up() -> None:
    room = SimRoom()
    sender = room.join(1, make_core())
    receiver = room.join(2, make_core())
    sender.core.start(0.0, sending=True)
    room.run_until(6.0)
    assert sender.core.uplink.rate_hz() == pytest.approx(90, abs=0.5)
    assert receiver.core.remotes[1].state_rate_hz() == pytest.approx(90, abs=0.5)
    assert sender.core.uplink_report()["state_packets_sent"] == pytest.approx(6 * 45, abs=2)


# --- receiving and events -------------------------------------------------------------------------


def test_a_light_receiver_counts_from_headers_and_builds_no_events() -> None:
    core = make_core(light=True)
    for kind in (StateReceived, FaceUpdated, StatesSent):
        core.want(kind)
    core.remote_joined(info(3))
    (batch,) = BatchPacker().pack([state(1), state(2), state(5)], timestamp=0)
    core.feed(batch, 1.0)
    assert core.remotes[3].states_received == 3 and core.remotes[3].states_lost == 2
    assert core.next_event() is None
    assert core.room_state.get(3) is not None and core.room_state.get(3).pose is None  # type: ignore[union-attr]


def test_a_full_receiver_updates_the_room_and_announces_only_what_is_wanted() -> None:
    core = make_core()
    core.want(RemoteJoined)
    core.want(FaceUpdated)
    core.remote_joined(info(3))
    face = make_core().uplink.face_encoder.update(Face.from_mapping({"jawOpen": 0.5}))
    core.feed(bytes(State(seq=1, sender=3, timestamp=0, pose=POSE, face=face)), 2.0)
    joined, updated = core.next_event(), core.next_event()
    assert isinstance(joined, RemoteJoined) and joined.info.number == 3
    assert isinstance(updated, FaceUpdated) and updated.participant.face.as_dict()[
        "jawOpen"
    ] == pytest.approx(0.5, abs=0.01)
    assert core.next_event() is None, "no StateReceived: nobody wanted it"
    participant = core.room_state.get(3)
    assert participant is not None and participant.pose is not None and participant.last_state_at == 2.0


def test_a_participant_who_leaves_goes_from_the_room_but_stays_in_the_figures() -> None:
    core = make_core()
    core.want(RemoteLeft)
    core.remote_joined(info(3))
    core.feed(state(1), 1.0)
    core.remote_left(info(3), "left")
    assert core.room_state.get(3) is None and core.remotes[3].states_received == 1
    event = core.next_event()
    assert isinstance(event, RemoteLeft) and event.reason == "left"


def test_malformed_and_unknown_input_is_counted_and_dropped() -> None:
    core = make_core()
    core.remote_joined(info(3))
    core.feed(b"\x40\x00", 1.0)  # a truncated STATE
    core.feed(state(1, sender=99), 1.0)  # nobody in the room
    (batch,) = BatchPacker().pack([state(1), state(2)], timestamp=0)
    core.feed(batch[:-3], 1.0)  # its last entry cut
    assert (core.malformed, core.unknown_sender) == (2, 1)
    assert core.remotes[3].states_received == 1, "what came before the damage still counts"


def test_visemes_and_pings_take_a_number_from_the_same_sequence() -> None:
    core = make_core(states_per_packet=1)
    core.send_state(POSE, None, at=0.0)
    core.send_ping(0.0)
    visemes = core.visemes(0, ())
    datagrams = [o.data for o in core.poll(0.0)] + [visemes.data]
    seqs = [parse_message(m).seq for d in datagrams for m in messages_in(d)]
    assert sorted(seqs) == [1, 2, 3]
    assert all(m == d for d in datagrams for m in stamp_datagram(d, 0))
