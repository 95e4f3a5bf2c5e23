"""The room's limits on joined peers, on the sans-I/O core: budgets, cut-off, impossible messages."""

import time

from emulator.model.pose import Pose
from emulator.net.signaling.tokens import Grant, mint
from emulator.room.core import Close, Forward, MixStates, RoomCore
from emulator.room.ratelimit import CUT_OFF_AFTER_S, FLAGRANT_DROPS, profile_rate_hz
from emulator.wire import BatchPacker, Ping, Pong, State, Visemes
from emulator.wire.batch import BATCH_FIRST_BYTE
from emulator.wire.header import HEADER_SIZE
from emulator.wire.signaling import Join, Left

SECRET = b"s3cret"
T0 = 1000.0


def join(core: RoomCore, conn: str, identity: str, publish: bool = True, at: float = T0) -> None:
    token = mint(SECRET, Grant(core.name, identity, time.time() + 60, publish))
    core.join(conn, Join(core.name, token, identity.title()), at, time.time())


def pose_state(seq: int) -> bytes:
    return bytes(State(seq=seq, timestamp=seq, pose=Pose()))


def forwarded(actions: list) -> list[Forward]:
    return [a for a in actions if isinstance(a, Forward)]


def test_a_headset_sending_at_its_profiles_rates_in_a_room_of_40_loses_nothing_even_after_a_stall() -> None:
    core = RoomCore("lobby", SECRET)
    for i in range(40):
        join(core, f"c{i}", f"p{i}")
    alice = core.participant("c0")
    assert alice is not None
    rate = profile_rate_hz("visionpro")
    sent = delivered = 0
    now = T0
    for second in range(20):
        # every STATE, face and hand rate of the profile, a PING, and 39 PONGs, as the headset does
        stall = second == 10  # a 1.5 s host stall: what was queued goes out at once
        for k in range(int(rate)):
            at = now + (0.0 if stall else k / rate)
            delivered += len(forwarded(core.state_message("c0", pose_state(k), at, reliable=False)))
            sent += 1
        delivered += len(forwarded(core.state_message("c0", bytes(Ping(seq=1)), now + 0.5, reliable=False)))
        for j in range(1, 40):
            other = core.participant(f"c{j}")
            assert other is not None
            pong = bytes(Pong(ping_seq=1, to=other.info.number))
            delivered += len(forwarded(core.state_message("c0", pong, now + 0.6, reliable=False)))
        sent += 40
        now += 1.5 if stall else 1.0
        for j in range(1, 40):
            core.heard(f"c{j}", now)
        assert core.tick(now) == []
    assert delivered == sent
    assert core.stats.messages_over_budget == 0 and alice.budget.dropped == 0


def test_a_state_flood_is_dropped_over_budget_counted_then_cut_off_with_a_reason() -> None:
    core = RoomCore("lobby", SECRET)
    join(core, "c1", "mallory")
    join(core, "c2", "victim")
    packed = BatchPacker().pack([pose_state(k) for k in range(40)], timestamp=1)
    assert len(packed) == 1  # 40 STATEs in one 1,200-byte BATCH, 480 datagrams a second: 19,200 STATEs/s
    now, delivered, removed_at = T0, 0, None
    while now < T0 + 10 and removed_at is None:
        for _ in range(48):  # 1/10 s of the flood
            actions = core.state_message("c1", packed[0], now, reliable=False)
            delivered += len(forwarded(actions))
            if Close("c1", "rate-limited") in actions:
                removed_at = now
                break
        now += 0.1
        core.heard("c2", now)
        if Close("c1", "rate-limited") in core.tick(now):
            removed_at = now
    assert removed_at is not None and removed_at - T0 <= 5.0
    limit = profile_rate_hz("visionpro") * 2 * (2 + removed_at - T0) + 10 * (removed_at - T0)
    assert delivered < limit  # what got through is about one honest headset's worth, not 19,200/s
    assert core.stats.messages_over_budget >= FLAGRANT_DROPS and core.stats.removals_rate_limited == 1
    assert core.participant("c1") is None and core.participant("c2") is not None


def test_a_flagrant_flood_is_cut_off_at_once_and_a_slow_one_after_the_full_while() -> None:
    ping = bytes(Ping(seq=1))
    removed = {}
    for per_second in (27_000, 40):  # a PING flood as the hostile bench sends it, and 10x the budget
        core = RoomCore("lobby", SECRET)
        join(core, "c1", "mallory")
        join(core, "c2", "victim")
        now, step = T0, 0.1
        while now < T0 + 10 and per_second not in removed:
            for k in range(round(per_second * step)):
                at = now + k / per_second
                if Close("c1", "rate-limited") in core.state_message("c1", ping, at, reliable=False):
                    removed[per_second] = at - T0
                    break
            now += step
            core.heard("c2", now)
            if per_second not in removed and Close("c1", "rate-limited") in core.tick(now):
                removed[per_second] = now - T0
    assert removed[27_000] <= 0.01, "past FLAGRANT_PINGS within a hundredth of a second, cut at once"
    assert CUT_OFF_AFTER_S <= removed[40] <= CUT_OFF_AFTER_S + 0.5


def test_a_long_host_stall_releasing_its_queued_states_at_once_is_not_cut_off() -> None:
    core = RoomCore("lobby", SECRET)
    join(core, "c1", "alice")
    join(core, "c2", "bob")
    rate = profile_rate_hz("visionpro")
    queued = int(25 * rate)  # 25 s of states, sent together when the host wakes
    assert queued < FLAGRANT_DROPS
    for k in range(queued):
        core.state_message("c1", pose_state(k), T0, reliable=False)
    core.heard("c2", T0 + 0.5)
    assert core.tick(T0 + 0.5) == []
    assert core.participant("c1") is not None


def test_pings_are_capped_so_a_ping_flood_is_not_reflected_as_pongs() -> None:
    core = RoomCore("lobby", SECRET)
    join(core, "c1", "mallory")
    join(core, "c2", "victim")
    ping = bytes(Ping(seq=1))
    through = sum(
        len(core.state_message("c1", ping, T0 + k / 150, reliable=False)) for k in range(150)
    )  # 150 PINGs in a second (at FLAGRANT_PINGS dropped, the sender would be cut off instead)
    assert through <= 8 + 4  # the burst and one second at the PING rate
    # the same peer's STATEs are still within their own budget
    assert forwarded(core.state_message("c1", pose_state(1), T0 + 1, reliable=False))


def test_pings_over_budget_in_a_batch_are_each_counted_and_the_state_beside_them_goes_through() -> None:
    core = RoomCore("lobby", SECRET)
    join(core, "c1", "mallory")
    join(core, "c2", "victim")
    ping = bytes(Ping(seq=1))
    (batch,) = BatchPacker().pack([ping] * 50 + [pose_state(1)], timestamp=1)
    assert len(forwarded(core.state_message("c1", batch, T0, reliable=False))) == 8 + 1  # the burst
    mallory = core.participant("c1")
    assert mallory is not None and mallory.states_refused == 42
    assert core.stats.messages_over_budget == core.stats.messages_dropped == 42
    assert core.state_message("c1", ping, T0, reliable=False) == []  # a lone dropped PING asks for nothing
    assert core.stats.messages_over_budget == core.stats.messages_dropped == mallory.states_refused == 43


def test_a_control_channel_flood_is_capped() -> None:
    core = RoomCore("lobby", SECRET)
    join(core, "c1", "mallory")
    join(core, "c2", "victim")
    message = pose_state(1)
    actions = [a for k in range(800) for a in core.state_message("c1", message, T0 + k / 5000, reliable=True)]
    assert len(forwarded(actions)) <= 200 + 50 * 800 / 5000 + 1  # the burst and what refilled meanwhile
    assert Close("c1", "rate-limited") in actions, "500 dropped on the reliable channel is a flood: cut off"
    assert core.participant("c1") is None


def test_a_batch_over_1200_bytes_is_refused_whole() -> None:
    core = RoomCore("lobby", SECRET)
    join(core, "c1", "mallory")
    join(core, "c2", "victim")
    message = pose_state(1)
    entry = len(message).to_bytes(2, "big") + message
    big = bytes([BATCH_FIRST_BYTE]) + bytes(8) + entry * (64_900 // len(entry))
    assert len(big) > 60_000
    assert core.state_message("c1", big, T0, reliable=False) == []
    assert core.stats.messages_malformed == 1


def test_structurally_impossible_messages_are_dropped_and_future_state_parts_pass() -> None:
    core = RoomCore("lobby", SECRET)
    join(core, "c1", "mallory")
    join(core, "c2", "victim")
    ping = bytes(Ping(seq=1))
    pong = bytes(Pong(ping_seq=1))
    visemes = bytes(Visemes(seq=1))
    state = pose_state(1)
    impossible = [
        ping + b"\x00" * 500,  # a PING carries nothing
        pong + b"\x00" * 7,
        visemes[:HEADER_SIZE] + bytes([5]) + b"\x00" * 4,  # says 5 entries, carries less than one
        state[: HEADER_SIZE + 3],  # says it has a pose, too short for one
        bytes([0x40 | (7 << 3)]) + bytes(8),  # type 7: unknown under v1
    ]
    for k, bad in enumerate(impossible):
        assert core.state_message("c1", bad, T0 + k, reliable=False) == [], bad[:12]
    assert core.stats.messages_malformed == len(impossible)
    # a STATE with a part this room does not know (a future face set) passes as it is
    future = state + b"\x2a" * 100
    (forward,) = core.state_message("c1", future, T0 + 10, reliable=False)
    assert isinstance(forward, Forward) and forward.data[5:] == future[5:]


def test_a_listen_only_peers_states_reach_nobody_but_still_turn_its_own_binaural_mix() -> None:
    core = RoomCore("lobby", SECRET, mode="binaural")
    join(core, "c1", "speaker")
    join(core, "c2", "listener", publish=False)
    assert core.may_publish("c1") and not core.may_publish("c2")
    actions = core.state_message("c2", pose_state(1), T0, reliable=False)
    assert not forwarded(actions)
    assert [a.conn for a in actions if isinstance(a, MixStates)] == ["c2"]


def test_a_rate_limited_peer_is_announced_as_left_with_the_reason() -> None:
    core = RoomCore("lobby", SECRET)
    join(core, "c1", "mallory")
    join(core, "c2", "victim")
    ping = bytes(Ping(seq=1))
    actions: list = []
    for k in range(400):
        now = T0 + k / 100
        actions += core.state_message("c1", ping, now, reliable=False)
        core.heard("c2", now)
        if k % 50 == 0:
            actions += core.tick(now)
    left = [a.message for a in actions if hasattr(a, "message") and isinstance(a.message, Left)]
    assert [(m.id, m.reason) for m in left] == [("mallory", "rate-limited")]


def test_a_room_too_busy_to_tick_does_not_count_its_own_deafness_as_anyones_silence() -> None:
    core = RoomCore("lobby", SECRET)
    join(core, "c1", "alice")
    join(core, "c2", "bob")
    core.heard("c1", T0)
    core.heard("c2", T0)
    assert core.tick(T0 + 0.5) == []
    # the room's loop stalls 6 s (a burst of handshakes): nobody could be heard, nobody is dropped
    assert core.tick(T0 + 6.5) == []
    core.heard("c1", T0 + 6.6)  # alice's queued data arrives; bob's does not: bob is really gone
    actions: list = []
    now = T0 + 6.5
    while core.participant("c2") is not None and now < T0 + 20:
        now += 0.5
        core.heard("c1", now)
        actions += core.tick(now)
    assert Close("c2", "transport-lost") in actions and core.participant("c1") is not None
    assert now - (T0 + 6.5) <= 5.0  # gone within 5 s of the room hearing again
