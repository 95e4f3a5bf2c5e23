"""The playout buffer alone, with real Opus packets and synthetic arrival times (no clock, no network)."""

from __future__ import annotations

import math
import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.audio.tone import ToneSource
from emulator.net.media.opus import OpusEncoder, OpusSettings
from emulator.net.media.playout import PlayoutBuffer, PlayoutStats
from tests.support.media import coverage, dominant_hz

FRAME = 0.02


def packets(n: int, hz: float = 440) -> list[bytes]:
    enc, src = OpusEncoder(), ToneSource(hz)
    return [enc.encode(src.read(960)) for _ in range(n)]


def simulate(
    payloads: list[bytes],
    *,
    delay_of: callable = lambda i: 0.003,  # type: ignore[valid-type]
    lost: set[int] = frozenset(),  # type: ignore[assignment]
    phase: float = 0.007,
    buffer: PlayoutBuffer | None = None,
    pull: int = 960,
) -> tuple[PlayoutBuffer, list[np.ndarray], list[PlayoutStats]]:
    """Packet i is sent at i·20 ms and arrives delay_of(i) later; the consumer pulls `pull` samples
    (20 ms) at a time in real time. Returns the buffer, the blocks and its stats after each pull."""
    buf = buffer or PlayoutBuffer()
    arrivals = sorted((i * FRAME + delay_of(i), i) for i in range(len(payloads)) if i not in lost)
    blocks, ticks = [], []
    k = 0
    for tick in range((len(payloads) + 10) * 960 // pull):
        now = tick * pull / 48_000 + phase
        while k < len(arrivals) and arrivals[k][0] <= now:
            at, i = arrivals[k]
            buf.push((1000 + i) & 0xFFFF, (4_294_000_000 + i * 960) & 0xFFFFFFFF, payloads[i], at)
            k += 1
        blocks.append(buf.pull(pull, now))
        ticks.append(buf.stats)
    return buf, blocks, ticks


def test_steady_stream_plays_everything_with_little_delay_across_wraparounds() -> None:
    buf, blocks, _buffered = simulate(packets(300))
    st_ = buf.stats
    assert st_.played_frames == 300 and st_.packets_lost == 0
    # Only after the stream ends: a few concealed frames fading out, then silence.
    assert st_.concealed_frames == buf.max_conceal_frames and st_.silent_frames == 10 - buf.max_conceal_frames
    assert abs(dominant_hz(np.concatenate(blocks[20:290])) - 440) < 2
    assert st_.delay_ms < 25, "a frame never waits a whole extra frame"


def test_target_delay_follows_jitter() -> None:
    rng = random.Random(3)
    jitter = [rng.uniform(0, 0.035) for _ in range(500)]
    calm, _, _ = simulate(packets(500))
    jittery, blocks, _ = simulate(packets(500), delay_of=lambda i: 0.003 + jitter[i])
    assert jittery.stats.jitter_ms > 5 * max(calm.stats.jitter_ms, 0.5)
    assert jittery.stats.target_ms > calm.stats.target_ms + 10
    assert coverage(blocks[25:495]) == 1.0, "jitter is absorbed or concealed, never a gap"
    late_first = jittery.stats.underruns
    assert late_first > 0
    again, _, _ = simulate(packets(500), delay_of=lambda i: 0.003 + jitter[i], buffer=jittery)
    assert again.stats.underruns - late_first < late_first, "once adapted, fewer frames come late"


def test_loss_is_concealed_and_the_delay_does_not_grow() -> None:
    rng = random.Random(7)
    lost = {i for i in range(20, 1000) if rng.random() < 0.05}
    buf, blocks, ticks = simulate(packets(1000), lost=lost)
    buffered = [t.buffered_ms for t in ticks]
    st_ = buf.stats
    assert st_.packets_lost == len(lost)
    assert st_.concealed_frames >= len(lost)
    assert coverage(blocks[5:1000]) >= 0.99
    assert max(buffered[500:]) <= max(buffered[50:500]), "no backlog builds up"
    assert st_.stretched_frames == 0, "a lost packet must not be waited for"


def test_fec_rebuilds_a_loss_when_the_next_packet_is_already_there() -> None:
    buf = PlayoutBuffer(min_delay_ms=30)
    _, _, _ = simulate(packets(200), lost={100}, delay_of=lambda i: 0.003, phase=0.007 + 0.021, buffer=buf)
    assert buf.stats.fec_frames >= 1


def test_a_run_of_losses_longer_than_concealment_keeps_the_delay() -> None:
    """Eight packets lost in a row (160 ms) with a 60 ms delay: the packet after them is already
    there when concealment runs out. It plays when due: silence in between, nothing stretched or
    dropped late that the same stream without the losses does not have (the playout used to start
    from that packet at once, cutting its delay, then raise it again by inserting concealment)."""

    def run(lost: set[int]) -> tuple[PlayoutBuffer, list[PlayoutStats]]:
        buf = PlayoutBuffer(min_delay_ms=60)
        _, _, ticks = simulate(packets(300), lost=lost, phase=0.007 + 0.06, buffer=buf)
        return buf, ticks

    (clean, clean_ticks), (lossy, ticks) = run(set()), run(set(range(150, 158)))
    a, b = clean.stats, lossy.stats
    assert b.packets_lost == 8 and b.fec_frames == 1, b
    for counter in ("stretched_frames", "skipped_frames", "late_drops"):
        assert getattr(b, counter) == getattr(a, counter), (counter, a, b)
    assert b.silent_frames - a.silent_frames == 2 and b.underruns - a.underruns == 1, (a, b)
    delays = [t.delay_ms for t in ticks[140:200]]
    assert delays == [t.delay_ms for t in clean_ticks[140:200]], delays


def test_a_stall_then_burst_does_not_leave_a_backlog() -> None:
    burst = {i: 0.6 - i * FRAME + 0.003 for i in range(50, 80)}  # 30 packets held, then all at once
    buf, _blocks, ticks = simulate(packets(300), delay_of=lambda i: burst.get(i, 0.003))
    buffered = [t.buffered_ms for t in ticks]
    assert buf.stats.underruns >= 1
    assert max(buffered[-100:]) <= 40, "playout is back near the live edge after the burst"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), st.binary(max_size=60)),
        max_size=40,
    )
)
def test_hostile_packets_never_break_the_output(items: list[tuple[int, int, bytes]]) -> None:
    buf = PlayoutBuffer()
    for n, (seq, ts, payload) in enumerate(items):
        buf.push(seq, ts, payload, n * 0.01)
        out = buf.pull(480, n * 0.01)
        assert out.shape == (480,) and np.all(np.isfinite(out))
    buf.close()


def test_a_buffer_that_does_not_decode_counts_the_same_and_plays_silence() -> None:
    rng = random.Random(11)
    jitter = [rng.uniform(0, 0.05) for _ in range(400)]
    lost = {i for i in range(400) if rng.random() < 0.05}
    payloads = packets(400)
    heard, _blocks, _ = simulate(payloads, delay_of=lambda i: jitter[i], lost=lost)
    counted, silent, _ = simulate(
        payloads, delay_of=lambda i: jitter[i], lost=lost, buffer=PlayoutBuffer(decode=False)
    )
    for name in ("played_frames", "concealed_frames", "underruns", "packets_lost", "skipped_frames"):
        assert getattr(counted.stats, name) == getattr(heard.stats, name), name
    assert heard.stats.underruns > 0 and heard.stats.packets_lost > 0  # the run exercised both paths
    assert not np.any(np.concatenate(silent)) and heard.stats.level_dbfs > -40


def test_late_packets_that_recur_raise_the_delay_once_instead_of_underrunning_each_time() -> None:
    # Once a second a packet comes 60 ms late (a busy machine's scheduler, a radio scanning).
    late = {i for i in range(25, 1000, 50)}
    buf, blocks, _ = simulate(packets(1000), delay_of=lambda i: 0.003 + (0.060 if i in late else 0.0))
    st_ = buf.stats
    assert st_.target_ms > 60, "the buffer holds the recurring peak"
    assert st_.underruns <= 3, f"{st_.underruns} underruns for {len(late)} late packets: only the first ones"
    assert st_.stretched_frames > st_.underruns, (
        "frames added on purpose to raise the delay are not underruns"
    )
    assert coverage(blocks[30:995]) >= 0.995


def test_the_delay_follows_a_raised_target_within_a_second_not_a_frame_a_second() -> None:
    # From 4 s on, three packets a second come 80 ms late (a machine that has become busy). Once the
    # peaks have raised the target, every late packet the delay has not caught up with is an underrun.
    late = {i for i in range(200, 1500) if i % 17 == 0}
    buf, _, ticks = simulate(packets(1500), delay_of=lambda i: 0.003 + (0.080 if i in late else 0.0))
    raised = next(k for k, t in enumerate(ticks) if t.target_ms > 60)
    caught_up = next(k for k, t in enumerate(ticks) if k > raised and t.delay_ms >= t.target_ms - 10)
    following_s = (caught_up - raised) * FRAME
    assert following_s < 1.0, f"the delay took {following_s:.2f} s to follow"
    assert ticks[-11].underruns - ticks[raised].underruns <= 2, "once raised, late packets are covered"
    assert buf.stats.target_ms > 80


def test_one_stall_is_one_underrun_however_the_delay_is_raised_after_it() -> None:
    # The sender (or the network) stalls: every packet due in the stall arrives at its end. The buffer
    # runs dry once; a raise right after the late frame must not count it a second time.
    payloads = packets(300)
    for min_delay_ms, stall_s, phase in ((5, 0.050, 0.007), (5, 0.090, 0.015), (20, 0.090, 0.015)):
        end = 150 * FRAME + 0.003 + stall_s

        def arrival_delay(i: int, end: float = end) -> float:
            return max(0.003, end - i * FRAME) if i >= 150 and i * FRAME < end else 0.003

        steady, _, _ = simulate(payloads, phase=phase, buffer=PlayoutBuffer(min_delay_ms=min_delay_ms))
        buf, _, _ = simulate(
            payloads, delay_of=arrival_delay, phase=phase, buffer=PlayoutBuffer(min_delay_ms=min_delay_ms)
        )
        assert buf.stats.underruns - steady.stats.underruns == 1, (min_delay_ms, stall_s, phase)
        assert (buf.underruns, steady.underruns) == (buf.stats.underruns, steady.stats.underruns)
        stretched = buf.stats.stretched_frames - steady.stats.stretched_frames
        # The frames it ran dry for, and at most one added on purpose: each counted once.
        assert stretched <= math.ceil(stall_s / FRAME) + 1, (min_delay_ms, stall_s, phase, stretched)


def test_a_single_late_burst_does_not_hold_the_delay_up() -> None:
    buf, _, _ = simulate(packets(600), delay_of=lambda i: 0.003 + (0.2 if i == 200 else 0.0))
    assert buf.stats.target_ms < 10, "one spike is not a pattern"


def test_late_packets_for_seconds_hold_the_delay_20_s_then_it_comes_back_down() -> None:
    # A flood (the hostile bench's): for 4 s packets come up to 150 ms late, then on time again. The
    # peaks recur within those seconds, so the buffer holds the delay over them for 20 s (as NetEq
    # does), then brings it down within seconds; the hostile bench's last window waits for that.
    rng = random.Random(1)
    late = {i: rng.uniform(0.0, 0.150) for i in range(500, 700)}  # 10 s to 14 s
    _, _, ticks = simulate(
        packets(2500),
        delay_of=lambda i: 0.003 + late.get(i, 0.0),
        buffer=PlayoutBuffer(decode=False),
        pull=480,
    )
    at = {s: ticks[s * 100] for s in (9, 16, 28, 44)}  # 10 ms pulls: 100 a second
    assert at[9].target_ms < 10 and at[9].delay_ms < 20
    assert at[16].target_ms > 100 and at[28].target_ms > 100, "held over the flood's peaks for 20 s"
    assert at[44].target_ms < 10 and at[44].delay_ms < 20, "back down once the hold lapsed"
    assert at[44].underruns == at[16].underruns, "no underrun on the way down"


def test_duplicates_are_counted_not_played_and_old_numbers_are_forgotten() -> None:
    payloads = packets(600)
    buffer = PlayoutBuffer(clock=lambda: 0.0)
    for i in range(600):
        buffer.push(i, i * 960, payloads[i], arrival=i * 0.02)
    buffer.push(599, 599 * 960, payloads[599], arrival=12.0)  # a duplicate
    buffer.push(100, 100 * 960, payloads[100], arrival=12.0)  # within the last 512 numbers
    buffer.push(50, 50 * 960, payloads[50], arrival=12.0)  # older: not known as a duplicate
    stats = buffer.stats
    assert stats.duplicates == 2 and stats.packets_received == 601


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 0.5), st.floats(-1.0, 1.0), st.booleans()), max_size=300))
def test_the_window_minimum_is_the_minimum_of_the_last_span(steps: list[tuple[float, float, bool]]) -> None:
    from emulator.net.media.playout import _Window

    window, now, kept = _Window(1.0), 0.0, []
    for step, value, clear in steps:
        now += step
        if clear:
            window.clear()
            kept = []
        window.add(now, value)
        kept = [(t, v) for t, v in [*kept, (now, value)] if t >= now - 1.0]
        assert window.minimum() == min(v for _, v in kept)
        assert list(window.items) == kept


def test_with_10_ms_pulls_the_delay_comes_down_to_within_a_pull_of_the_target() -> None:
    """A late start leaves the slack 19 ms above the target: a whole frame cannot go (that would break
    the target), but a consumer of 10 ms blocks can lose one pull's worth: the stream plays 10 ms sooner."""
    # The first frames come 15 ms late (a join, a busy loop): playout starts with that much delay.
    buf, blocks, ticks = simulate(packets(600), delay_of=lambda i: 0.018 if i < 5 else 0.003, pull=480)
    slack = [t.delay_ms for t in ticks]
    st_ = buf.stats
    assert st_.target_ms == 5.0
    assert min(slack[20:100]) >= 20.0, "it started late"
    assert 5.0 <= st_.delay_ms < 15.0 and max(slack[-300:-30]) < 15.0, "then came within 10 ms of the target"
    assert st_.shortened_ms == 10.0 and st_.skipped_frames == 0
    assert ticks[2 * 600 - 1].underruns == 0, "none while the stream lasted (its end is an outage)"
    assert coverage(blocks[10:1190]) == 1.0 and abs(dominant_hz(np.concatenate(blocks[600:1190])) - 440) < 2


def test_ten_ms_frames_are_learned_from_the_packets_and_played_whole() -> None:
    enc, src = OpusEncoder(OpusSettings(frame_ms=10)), ToneSource(440)
    payloads = [enc.encode(src.read(480)) for _ in range(600)]
    buf = PlayoutBuffer(min_delay_frames=1.0)
    arrivals = sorted((i * 0.01 + 0.003, i) for i in range(600) if i % 37 != 5)  # a few lost
    blocks, k = [], 0
    for tick in range(610):
        now = tick * 0.01 + 0.007
        while k < len(arrivals) and arrivals[k][0] <= now:
            at, i = arrivals[k]
            buf.push(i, i * 480, payloads[i], at)
            k += 1
        blocks.append(buf.pull(480, now))
    st_ = buf.stats
    assert buf.frame_samples == 480 and buf.frame_s == 0.01
    assert buf.min_delay == 0.01  # the swarm's floor of one frame is 10 ms here, not 20
    lost = sum(1 for i in range(600) if i % 37 == 5)
    assert st_.packets_lost == lost and st_.played_frames == 600 - lost
    assert coverage(blocks[10:590]) == 1.0
    assert abs(dominant_hz(np.concatenate(blocks[20:590])) - 440) < 2
    assert buf.max_conceal_frames == 10  # 100 ms of concealment, in 10 ms frames
    assert st_.delay_ms < 25
