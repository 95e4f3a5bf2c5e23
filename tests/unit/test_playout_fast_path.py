"""The playout buffer's cheap paths (cached frame limits, O(1) transit peaks, whole-frame pulls that
join nothing, the tap straight into `push`) change no number it reports.

Three checks: the transit peaks against their definition; an unheard buffer (`decode=False`, the
swarm's) against one that decodes (a stand-in decoder of silence), pull by pull, over random streams;
and those streams' traces against digests recorded from the code before the fast paths (main at
0f52aa0): a deliberate change of behaviour updates them."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.audio.source import SAMPLE_RATE, MonoBlock
from emulator.net.media import playout
from emulator.net.media.playout import PlayoutBuffer
from emulator.net.media.playout_timing import TransitPeaks
from emulator.net.media.receive import RtpAudioPacket, _Tap

# Opus TOC bytes of a CELT fullband packet of one frame: 20 ms (config 31) and 10 ms (config 30).
TOC = {960: 0xF8, 480: 0xF0}


def peaks_by_definition(steps: list[tuple[float, float]], buckets: int) -> float:
    """The spread after these (arrival, transit) steps: one bucket per run of arrivals in the same
    whole second, the last `buckets` of them; the second-latest maximum minus the second-earliest
    minimum (never negative), or 0 with fewer than two buckets."""
    runs: list[list[float]] = []
    second = None
    for now, transit in steps:
        if int(now) != second:
            second = int(now)
            runs.append([])
        runs[-1].append(transit)
    kept = runs[-buckets:]
    if len(kept) < 2:
        return 0.0
    latest = sorted(max(run) for run in kept)[-2]
    earliest = sorted(min(run) for run in kept)[1]
    return max(0.0, latest - earliest)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0.0, 1.5), st.floats(-0.5, 0.5)), max_size=200),
    st.integers(1, 6),
)
def test_transit_peaks_follow_their_definition(steps: list[tuple[float, float]], buckets: int) -> None:
    peaks, now, seen = TransitPeaks(buckets), 10.0, []
    for step, transit in steps:
        now += step
        peaks.add(now, transit)
        seen.append((now, transit))
        assert peaks.spread == peaks_by_definition(seen, buckets)


@dataclass(frozen=True)
class Stream:
    """What one listener receives and when it pulls: (time, packet) and (time, samples) events."""

    frame: int
    pushes: list[tuple[float, int, int, bytes]]
    pulls: list[tuple[float, int]]


def stream(seed: int, frame: int, pull: int, seconds: float) -> Stream:
    """A sender of `frame`-sample packets with talk spurts, losses, duplicates, jitter, late spikes (so
    packets reorder and some come after their time) and maybe a late start, near both counters'
    wraparound; a consumer pulling `pull` samples in real time, with the odd stall of its own."""
    rng = random.Random(seed)
    loss, dup, jitter = rng.choice([0.0, 0.02, 0.1]), rng.choice([0.0, 0.02]), rng.uniform(0.0, 0.03)
    spike, spike_s = rng.choice([0.0, 0.01, 0.05]), rng.uniform(0.02, 0.3)
    base, fs = rng.uniform(0.0, 0.02), frame / SAMPLE_RATE
    late_start = rng.choice([0.0, 0.015, 0.04])  # the first packets late (a join): the delay comes down
    seq, ts, sent = rng.randrange(65_536 - 300, 65_536), rng.randrange(2**32 - 100_000, 2**32), 0.5
    pushes = []
    while sent < seconds:
        if rng.random() < 0.01:  # a pause in speech: the timestamp jumps on, the sequence does not
            skipped = rng.randrange(2, 40)
            sent, ts = sent + skipped * fs, ts + skipped * frame
        payload = bytes([TOC[frame], rng.randrange(256), rng.randrange(256)])
        if rng.random() >= loss:
            delay = base + rng.uniform(0.0, jitter) + (spike_s if rng.random() < spike else 0.0)
            delay += late_start if len(pushes) < 5 else 0.0
            for _ in range(2 if rng.random() < dup else 1):
                pushes.append((sent + delay, seq & 0xFFFF, ts & 0xFFFFFFFF, payload))
                delay += rng.uniform(0.0, 0.05)
        seq, ts, sent = seq + 1, ts + frame, sent + fs
    pulls, now, step = [], 0.5 + rng.uniform(0.0, 0.02), pull / SAMPLE_RATE
    while now < seconds + 0.3:
        pulls.append((now, pull))
        now += step + (rng.uniform(0.02, 0.2) if rng.random() < 0.005 else 0.0)
    return Stream(frame, sorted(pushes, key=lambda p: p[0]), pulls)


def replay(buffer: PlayoutBuffer, s: Stream) -> list[tuple[object, ...]]:
    """After every pull: the block's shape, `underruns`, `media_end` and the whole stats dict."""
    trace: list[tuple[object, ...]] = []
    k = 0
    for now, samples in s.pulls:
        while k < len(s.pushes) and s.pushes[k][0] <= now:
            at, seq, ts, payload = s.pushes[k]
            buffer.push(seq, ts, payload, at)
            k += 1
        block = buffer.pull(samples, now)
        trace.append((block.shape, buffer.underruns, buffer.media_end, buffer.stats.as_dict()))
    return trace


class SilentDecoder:
    """Stands in for OpusDecoder: decodes every packet to silence, a fresh frame each time."""

    def __init__(self, channels: int = 1, frame_samples: int = 960) -> None:
        self.channels = channels
        self.set_frame_samples(frame_samples)

    def set_frame_samples(self, frame_samples: int) -> None:
        self._shape = (frame_samples,) if self.channels == 1 else (frame_samples, self.channels)

    def decode(self, payload: bytes) -> MonoBlock:
        return np.zeros(self._shape, dtype=np.float32)

    def conceal(self) -> MonoBlock:
        return np.zeros(self._shape, dtype=np.float32)

    def recover(self, next_payload: bytes) -> MonoBlock:
        return np.zeros(self._shape, dtype=np.float32)

    def close(self) -> None:
        pass


def buffer(decode: bool, min_delay_frames: float = 1.0, channels: int = 1) -> PlayoutBuffer:
    """The swarm's buffer (a frame's floor) by default; every time is given, so no clock is read."""
    return PlayoutBuffer(
        decode=decode, min_delay_frames=min_delay_frames, channels=channels, clock=lambda: 0.0
    )


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    frame=st.sampled_from([480, 960]),
    pull=st.sampled_from([480, 960]),
    min_delay_frames=st.sampled_from([0.0, 1.0]),
    channels=st.sampled_from([1, 2]),
)
def test_an_unheard_buffer_reports_what_a_decoding_one_does(
    seed: int, frame: int, pull: int, min_delay_frames: float, channels: int
) -> None:
    s = stream(seed, frame, pull, seconds=8.0)
    unheard = replay(buffer(False, min_delay_frames, channels), s)
    with mock.patch.object(playout, "OpusDecoder", SilentDecoder):
        heard = replay(buffer(True, min_delay_frames, channels), s)
    assert unheard == heard


# (seed, frame, pull): 20 ms frames pulled whole (the swarm) and in 10 ms blocks (the headset), 10 ms
# frames pulled whole and two at a time. Each digest is main's (0f52aa0) trace of that stream.
RECORDED = {
    (1, 960, 960): "d46fe644306c9da6",
    (5, 960, 960): "7cf1bd8f4137113e",  # with losses and duplicates
    (6, 960, 960): "9b52cfeed79af0fe",
    (1, 960, 480): "79bbd3d296131833",  # shortened by a pull
    (8, 960, 480): "1548826a501aa0e8",
    (5, 480, 480): "51f273b5b1add9fd",
    (7, 480, 480): "495ba6bc108220ea",
    (3, 480, 960): "a7a8204d9fcd9a54",
}


def digest(trace: list[tuple[object, ...]]) -> str:
    return hashlib.sha256(repr(trace).encode()).hexdigest()[:16]


def test_the_traces_are_those_of_the_code_before_the_fast_paths() -> None:
    found = {key: digest(replay(buffer(False), stream(key[0], key[1], key[2], 20.0))) for key in RECORDED}
    assert found == RECORDED


def test_the_tap_hands_a_playout_buffer_the_packet_fields() -> None:
    got: list[tuple[int, int, bytes, float]] = []
    tap = _Tap(lambda *fields: got.append(fields), clock=lambda: 7.5)
    packet = mock.Mock(sequence_number=65_535, timestamp=2**32 - 960, payload=b"\xf8ab")
    assert tap.add(packet) == (False, None)
    assert got == [(65_535, 2**32 - 960, b"\xf8ab", 7.5)]


def test_the_tap_still_gives_other_consumers_whole_packets() -> None:
    got: list[RtpAudioPacket] = []
    tap = _Tap.for_packets(got.append, clock=lambda: 7.5)
    tap.add(mock.Mock(sequence_number=3, timestamp=960, payload=b"\xf8ab"))
    assert got == [RtpAudioPacket(3, 960, b"\xf8ab", 7.5)]
