"""Our playout buffer for one remote speaker: adaptive delay, concealment, never a growing backlog.

Why not aiortc's: its audio jitter buffer holds 4 frames before releasing one (~80 ms) and, after a
single loss, waits until 16 are queued and keeps that ~280 ms backlog for good, with no concealment.

How this one works (in the sender's Opus frames, pulled by the consumer on the asyncio loop):
- The frame size (20 ms by default, 10 ms with `--opus-frame 10`) is read from the first packet's TOC
  byte; every number below that is in frames scales with it, and the time limits are in seconds.
- Packets are keyed by their unwrapped RTP timestamp; the consumer's `pull()` decodes the next frame
  when it needs one. Nothing is ever waited for: a frame that is not there when it is due is concealed.
- A missing frame with nothing newer buffered is concealed provisionally (libopus PLC) without moving
  on. If the frame then arrives it plays next (the delay grew by a frame: it was late); if a newer packet
  arrives instead, the frame was lost and the concealment already stood in for it (no delay added). A
  lost frame right before a buffered packet is rebuilt from that packet's in-band FEC.
- Delay follows jitter: an RFC 3550 interarrival jitter J gives target = clamp(max(min_delay, k·J)).
  The slack of each played frame (decode time − arrival time) is kept over a window; when even the
  smallest slack in the window is at least target + one frame, one frame is dropped (crossfaded). A
  consumer pulling blocks shorter than a frame (the headset's 10 ms) can lose less: when the slack is
  above the target by one or more whole pulls, or output was always still queued when frames were
  decoded, the next frame is played that much shorter (a crossfaded cut). At most one change per
  window; when the slack falls below target − 10 ms, one concealment frame is inserted. A backlog far
  above target (a burst after a stall) is dropped a frame per frame until it is back in range.
- The floor: the delay never goes below `min_delay_ms`, nor below `min_delay_frames` frames when that
  is given (a swarm's members play a frame late, whatever the frame size).
- After more than `max_conceal_s` of nothing (100 ms) the output goes silent. When packets resume late
  (a stall), playout restarts from the newest ones rather than replaying the stale burst; when the
  first packet after the gap is not due yet (a run of losses), it plays when due, the delay kept.
"""

from __future__ import annotations

import collections
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from emulator.audio.source import FRAME_SAMPLES, SAMPLE_RATE, MonoBlock
from emulator.net.media.opus_decoder import OpusDecodeError, OpusDecoder, packet_samples
from emulator.net.media.playout_timing import TransitPeaks, Unwrapper

logger = logging.getLogger(__name__)

CROSSFADE = 120  # 2.5 ms: hides the seam where a frame is dropped
MIN_SHORTEN = 96  # 2 ms: smaller corrections are not worth a seam
MAX_GAP_S = 0.2  # a timestamp jump larger than this is a new talk spurt, not a loss
SEEN_MEMORY = 512  # sequence numbers remembered to tell a duplicate (10 s of 20 ms frames, 5 s of 10)
RAISE_EVERY_S = 0.2  # the delay rises by at most a frame this often (see _wants_more_delay)
PEAK_MARGIN_S = 0.012  # the slack may sink 10 ms under the target before a frame is added


@dataclass
class PlayoutStats:
    packets_received: int = 0
    payload_bytes: int = 0  # Opus payload of the packets received (the app's bitrate-in plot)
    packets_lost: int = 0
    duplicates: int = 0
    late_drops: int = 0
    decode_errors: int = 0
    played_frames: int = 0
    concealed_frames: int = 0
    fec_frames: int = 0
    silent_frames: int = 0
    underruns: int = 0
    stretched_frames: int = 0
    skipped_frames: int = 0
    shortened_ms: float = 0.0
    jitter_ms: float = 0.0
    target_ms: float = 0.0
    delay_ms: float = 0.0
    buffered_ms: float = 0.0
    level_dbfs: float = -120.0

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items()}


@dataclass(slots=True)
class _Packet:
    payload: bytes
    arrival: float


@dataclass
class _Window:
    """Slack samples (time, seconds) over the last `span` seconds, and their minimum.

    The minimum is asked for up to three times a frame: a deque of the samples that could still be
    the minimum (each smaller than every later one) keeps it O(1) instead of a scan of the window.
    """

    span: float
    items: collections.deque[tuple[float, float]] = field(default_factory=collections.deque)
    _candidates: collections.deque[tuple[float, float]] = field(default_factory=collections.deque)

    def add(self, now: float, value: float) -> None:
        sample, items, candidates = (now, value), self.items, self._candidates
        items.append(sample)
        while candidates and candidates[-1][1] >= value:
            candidates.pop()
        candidates.append(sample)
        horizon = now - self.span
        while items and items[0][0] < horizon:
            items.popleft()
        while candidates[0][0] < horizon:
            candidates.popleft()

    def clear(self) -> None:
        self.items.clear()
        self._candidates.clear()

    def full(self, now: float) -> bool:
        return bool(self.items) and now - self.items[0][0] >= 0.8 * self.span

    def minimum(self) -> float:
        return self._candidates[0][1]


class PlayoutBuffer:
    """One remote speaker. `push` and `pull` run on the asyncio loop's thread (not thread-safe)."""

    def __init__(
        self,
        *,
        min_delay_ms: float = 5.0,
        max_delay_ms: float = 200.0,
        jitter_factor: float = 3.0,
        window_s: float = 1.0,
        peak_window_s: int = 20,
        max_conceal_s: float = 0.1,
        min_delay_frames: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        channels: int = 1,
        decode: bool = True,
    ) -> None:
        """`channels=2`: a stereo stream (the room's binaural mix); blocks are then (frames, 2).

        `decode=False`: a listener nobody hears (a swarm member) keeps the timing, loss and underrun
        accounting but plays silence instead of decoding, and reports no level."""
        self._min_delay = min_delay_ms / 1000
        self._min_delay_frames = min_delay_frames
        self.max_delay = max_delay_ms / 1000
        self.jitter_factor = jitter_factor
        self._max_conceal_s = max_conceal_s
        self.clock = clock
        self._channels = channels
        self._set_frame(FRAME_SAMPLES)  # until the first packet says otherwise
        self._frame_known = False
        self.decodes = decode
        self._decoder: OpusDecoder | _Undecoded = (
            OpusDecoder(channels) if decode else _Undecoded(self._frame_shape)
        )
        self._packets: dict[int, _Packet] = {}
        self._ts = Unwrapper(32)
        self._seq = Unwrapper(16)
        self._first_seq: int | None = None
        self._max_seq: int | None = None
        # The last 512 sequence numbers, in order (to forget the oldest) and as a set (to look up).
        self._seen: collections.deque[int] = collections.deque()
        self._seen_set: set[int] = set()
        self._jitter = 0.0
        self._last_transit: float | None = None
        self._next_ts: int | None = None
        self._gap = 0  # frames emitted since the last real one without moving `_next_ts`
        self._added = 0  # of those, concealment frames inserted on purpose to raise the delay
        self._counted = 0  # of those, frames already counted as stretched (see _next_frame)
        self._slack = _Window(window_s)
        self._peaks = TransitPeaks(peak_window_s)
        self._last_adjust = -math.inf
        self._pending = np.zeros((0, *self._frame_shape[1:]), dtype=np.float32)
        self._lead = 0  # samples still queued for output when the frame being made was decoded
        self._pull_frames = FRAME_SAMPLES  # what the consumer asks for at a time (the last pull's)
        self._leads = _Window(window_s)
        self._power = 0.0
        self._stats = PlayoutStats()
        self._media_lead: collections.deque[tuple[float, float]] = collections.deque(maxlen=150)
        self.media_end: float | None = None
        """Media time (unwrapped RTP timestamp / 48 kHz) just after the last block `pull` returned."""

    @property
    def frame_samples(self) -> int:
        """Samples per Opus frame of this stream (960 for 20 ms, 480 for 10 ms)."""
        return self._frame

    @property
    def frame_s(self) -> float:
        return self._frame_s

    @property
    def min_delay(self) -> float:
        """The floor of the delay, seconds: `min_delay_ms`, or `min_delay_frames` frames if more."""
        return self._floor

    @property
    def max_conceal_frames(self) -> int:
        return self._max_conceal_frames

    @property
    def min_delay_frames(self) -> float:
        return self._min_delay_frames

    @min_delay_frames.setter
    def min_delay_frames(self, frames: float) -> None:
        self._min_delay_frames = frames
        self._derive_limits()

    @property
    def max_conceal_s(self) -> float:
        return self._max_conceal_s

    @max_conceal_s.setter
    def max_conceal_s(self, seconds: float) -> None:
        self._max_conceal_s = seconds
        self._derive_limits()

    def _set_frame(self, samples: int) -> None:
        """The frame size, and the limits in frames that follow from it (computed here once: the
        frame path reads them several times a frame)."""
        self._frame = samples
        self._frame_shape: tuple[int, ...] = (samples,) if self._channels == 1 else (samples, self._channels)
        self._frame_s = samples / SAMPLE_RATE
        self._spurt_frames = round(MAX_GAP_S / self._frame_s)
        self._derive_limits()

    def _derive_limits(self) -> None:
        self._floor = max(self._min_delay, self._min_delay_frames * self._frame_s)
        self._max_conceal_frames = max(1, round(self._max_conceal_s / self._frame_s))

    def _learn_frame(self, payload: bytes) -> None:
        """Take the frame size from the first decodable packet (its TOC byte says how long it is)."""
        samples = packet_samples(payload)
        if samples is None or samples % 120:
            return
        self._frame_known = True
        if samples == self._frame:
            return
        self._set_frame(samples)
        if isinstance(self._decoder, OpusDecoder):
            self._decoder.set_frame_samples(samples)
        else:
            self._decoder = _Undecoded(self._frame_shape)
        self._pending = np.zeros((0, *self._frame_shape[1:]), dtype=np.float32)

    # ---- input -------------------------------------------------------------------------------------

    def push(self, seq: int, timestamp: int, payload: bytes, arrival: float | None = None) -> None:
        """One received RTP packet (sequence number, RTP timestamp at 48 kHz, Opus payload)."""
        now = self.clock() if arrival is None else arrival
        s = self._seq(seq)
        ts = self._ts(timestamp)
        media = ts / SAMPLE_RATE
        self._media_lead.append((now, media - now))
        stats = self._stats
        if s in self._seen_set:
            stats.duplicates += 1
            return
        self._remember(s)
        stats.packets_received += 1
        stats.payload_bytes += len(payload)
        if self._first_seq is None:
            self._first_seq = s
        transit = now - media
        self._peaks.add(now, transit)  # every packet: the late ones are the ones overtaken
        if self._max_seq is None or s > self._max_seq:
            self._max_seq = s
            if self._last_transit is not None:
                self._jitter += (abs(transit - self._last_transit) - self._jitter) / 16
            self._last_transit = transit
        if self._next_ts is not None and ts < self._next_ts:
            stats.late_drops += 1
            return
        if not payload:
            stats.decode_errors += 1
            return
        if not self._frame_known and self._next_ts is None and not self._packets:
            self._learn_frame(payload)
        self._packets[ts] = _Packet(payload, now)

    def _remember(self, seq: int) -> None:
        """Note a sequence number as seen, forgetting the oldest past SEEN_MEMORY."""
        self._seen.append(seq)
        self._seen_set.add(seq)
        if len(self._seen) > SEEN_MEMORY:
            self._seen_set.discard(self._seen.popleft())

    # ---- output ------------------------------------------------------------------------------------

    @property
    def target(self) -> float:
        target = max(self._floor, self.jitter_factor * self._jitter)
        if self._peaks.spread > target + PEAK_MARGIN_S:
            # Late packets recur beyond what the jitter predicts (a busy machine's scheduling, a
            # radio's periodic scans): hold the delay over those peaks instead of underrunning at each.
            target = self._peaks.spread + PEAK_MARGIN_S
        return min(target, self.max_delay)

    def pull(self, frames: int = FRAME_SAMPLES, now: float | None = None) -> MonoBlock:
        """Exactly `frames` samples of 48 kHz mono (or stereo) to play now: decoded, concealed or silence."""
        t = self.clock() if now is None else now
        self._pull_frames = frames
        pending = self._pending
        if frames == self._frame and not len(pending):
            self._lead = 0  # whole frames (an unheard swarm member's pulls): usually nothing to join
            pending = self._next_frame(t)
            if len(pending) == frames:  # nothing left over: `_pending` stays the empty block it was
                self._update_media_end()
                return pending
        while len(pending) < frames:
            # A frame must have arrived by the time it is decoded (now), whenever it starts playing.
            self._lead = len(pending)
            pending = np.concatenate([pending, self._next_frame(t)])
        if len(pending) == frames:
            out, self._pending = pending, pending[:0]
        else:
            out, self._pending = pending[:frames], pending[frames:]
        self._update_media_end()
        return out

    def _update_media_end(self) -> None:
        if self._next_ts is not None:
            self.media_end = (self._next_ts + self._gap * self._frame - len(self._pending)) / SAMPLE_RATE

    def media_minus_arrival(self, since: float = -math.inf) -> float | None:
        """(media time − arrival time) of the least delayed packet that arrived at or after `since`
        (of the last 150), in seconds; None if there is none.

        Another stream sent in step with this audio (a talking agent's visemes) uses it to find the
        media time of what arrives with it; the least delayed packet is the one that queued least (in
        the network, or behind a busy loop), so two streams' least delays compare like with like."""
        leads = [lead for arrival, lead in self._media_lead if arrival >= since]
        return max(leads) if leads else None

    def _next_frame(self, now: float) -> MonoBlock:
        if self._next_ts is None:
            if not self._packets:
                return self._silence()
            self._resume()  # packets that queued before the consumer started are stale: skip them
        assert self._next_ts is not None
        earliest = self._earliest_due()
        if earliest is None:
            return self._starved()
        missing = round((earliest - self._next_ts) / self._frame)
        if self._gap > self._max_conceal_frames and missing < self._gap:
            # An outage the packets ended late (a stall): start from the newest, not the stale
            # backlog. One whose next packet is not due yet was a run of losses: that packet plays
            # when it is due, at the delay the playout had (restarting from it at once cut the delay,
            # which the next frames then had to raise again with inserted concealment).
            earliest, missing = self._resume(), 0
        if missing > self._gap + self._spurt_frames:
            self._next_ts, missing, self._gap = earliest, 0, 0  # a new talk spurt (or a sender restart)
            self._added = self._counted = 0
        if missing > self._gap:
            # Frames before `earliest` are lost: the last one is rebuilt from earliest's FEC, the
            # others concealed and, past `max_conceal_s`, silence (as when nothing is buffered).
            self._gap += 1
            if missing == self._gap:
                self._stats.concealed_frames += 1
                self._stats.fec_frames += 1
                try:
                    return self._level(self._decoder.recover(self._packets[earliest].payload))
                except OpusDecodeError:
                    self._stats.decode_errors += 1
                    return self._level(self._decoder.conceal())
            return self._missing_frame()
        if self._gap > missing:
            # The delay grew. Unless only by the frames we inserted to raise it, the buffer ran dry
            # and the frame came after its time: an underrun. Counted once: a raise may put a frame
            # before it (below) and this branch comes round again, with the same gap and one more.
            self._stats.stretched_frames += self._gap - missing - self._counted
            if self._gap - self._added > missing and not self._counted:
                self._stats.underruns += 1
            self._counted = self._gap - missing
        target = self.target  # read once: only a push moves it
        if missing == 0 and self._wants_more_delay(now, target):
            self._gap += 1
            self._added += 1
            self._stats.concealed_frames += 1
            return self._level(self._decoder.conceal())
        return self._play(earliest, now, target)

    def _play(self, ts: int, now: float, target: float) -> MonoBlock:
        packet = self._packets.pop(ts)
        self._next_ts, self._gap, self._added, self._counted = ts + self._frame, 0, 0, 0
        frame = self._decode(packet.payload)
        self._stats.played_frames += 1
        self._slack.add(now, now - packet.arrival)
        self._leads.add(now, self._lead)
        adjustable = self._may_adjust(now)  # may the delay come down (asked of the helpers below)
        following = self._packets.get(self._next_ts)
        if following is not None and (
            self._backlog_too_large(target) or (adjustable and self._frame_to_spare(target))
        ):
            # Far behind: drop this frame, play the next one in its place, crossfading over the seam.
            self._packets.pop(self._next_ts)
            self._next_ts += self._frame
            frame = _splice(frame, self._decode(following.payload), 0)
            self._stats.skipped_frames += 1
            self._adjusted(now)
        else:
            excess = max(self._excess_lead(), self._excess_slack(target)) if adjustable else 0
            if excess > 0:
                # Play this frame `excess` samples short: the whole stream moves that much earlier.
                frame = _splice(frame, frame, excess)
                self._stats.shortened_ms += 1000 * excess / SAMPLE_RATE
                self._adjusted(now)
        return self._level(frame)

    def _adjusted(self, now: float) -> None:
        self._last_adjust = now
        self._slack.clear()
        self._leads.clear()

    def _decode(self, payload: bytes) -> MonoBlock:
        try:
            return self._decoder.decode(payload)
        except OpusDecodeError as exc:
            self._stats.decode_errors += 1
            logger.debug("undecodable Opus packet (%s); concealing", exc)
            return self._decoder.conceal()

    def _starved(self) -> MonoBlock:
        # Nothing buffered: conceal provisionally; the next arrival tells a loss from lateness.
        self._gap += 1
        return self._missing_frame()

    def _missing_frame(self) -> MonoBlock:
        """The `_gap`th frame in a row with nothing to decode: concealed, then silence."""
        if self._gap <= self._max_conceal_frames:
            self._stats.concealed_frames += 1
            return self._level(self._decoder.conceal())
        if self._gap == self._max_conceal_frames + 1:
            self._stats.underruns += 1  # an outage: concealment ran out, the output goes silent
        self._stats.silent_frames += 1
        return self._level(self._silence())

    def _resume(self) -> int:
        """After an outage, start from the newest packets the target needs, dropping the stale rest."""
        keep = max(1, math.ceil(self.target / self._frame_s))
        newest = max(self._packets)
        for ts in [ts for ts in self._packets if ts <= newest - keep * self._frame]:
            del self._packets[ts]
            self._stats.late_drops += 1
        earliest = min(self._packets)
        self._next_ts, self._gap, self._added, self._counted = earliest, 0, 0, 0
        self._slack.clear()
        return earliest

    def _earliest_due(self) -> int | None:
        """The earliest buffered packet, once those whose time has passed are dropped (late drops)."""
        assert self._next_ts is not None
        if not self._packets:
            return None
        earliest = min(self._packets)
        if earliest >= self._next_ts:
            return earliest  # the usual case: nothing stale, no list to build
        for ts in [ts for ts in self._packets if ts < self._next_ts]:
            del self._packets[ts]
            self._stats.late_drops += 1
        return min(self._packets) if self._packets else None

    def _backlog_too_large(self, target: float) -> bool:
        return self._buffered_s() > target + max(0.1, target)

    def _may_adjust(self, now: float) -> bool:
        """A window has passed since the last change and is (nearly) full: the delay may be lowered."""
        return now - self._last_adjust >= self._slack.span and self._slack.full(now)

    def _frame_to_spare(self, target: float) -> bool:
        """Every frame in the window arrived at least a frame plus `target` before it was decoded."""
        return self._slack.minimum() - self._frame_s >= target

    def _excess_lead(self) -> int:
        """Samples of output always still queued when a frame was decoded: cutting them costs no slack."""
        excess = int(self._leads.minimum())
        if excess < MIN_SHORTEN:
            return 0
        return min(excess, self._frame - CROSSFADE)

    def _excess_slack(self, target: float) -> int:
        """Whole pulls' worth of samples by which every frame in the window was decoded later than
        `target` after it arrived, when that is less than a frame: cutting them brings the delay
        closer to the target. A frame is decoded at a pull, so its slack moves in steps of one pull
        (10 ms for the headset's blocks): a cut of part of a pull would only move the next decode a
        whole pull earlier. Without this, a session's delay settles anywhere from target to target
        + a frame, where its first frames happened to leave it; with it, within one pull of the target."""
        block = self._pull_frames
        if block >= self._frame:
            return 0
        excess = int((self._slack.minimum() - target) * SAMPLE_RATE) // block * block
        return excess if 0 < excess <= self._frame - CROSSFADE else 0

    def _wants_more_delay(self, now: float, target: float) -> bool:
        """A frame in the window had less slack than the target (less 10 ms): raise the delay a frame.

        Lowering the delay waits for a full window, since every frame in it must have had slack to
        spare; raising it need not, since one frame short of the target is proof enough. Waiting a
        window per frame let the delay follow a target raised by peaks (20 to 80 ms when a machine
        becomes busy) at one frame a second, and every late packet in those seconds was an underrun.
        RAISE_EVERY_S leaves the frames after each raise time to show their new slack."""
        if now - self._last_adjust < RAISE_EVERY_S or not self._slack.items:
            return False
        if self._slack.minimum() < target - 0.010:
            self._last_adjust = now
            self._slack.clear()
            return True
        return False

    def _buffered_s(self) -> float:
        if not self._packets or self._next_ts is None:
            return 0.0
        return (max(self._packets) + self._frame - self._next_ts) / SAMPLE_RATE

    def _silence(self) -> MonoBlock:
        return np.zeros(self._frame_shape, dtype=np.float32)

    def _level(self, frame: MonoBlock) -> MonoBlock:
        if not self.decodes:
            return frame
        self._power += 0.1 * (float(np.mean(np.square(frame, dtype=np.float64))) - self._power)
        return frame

    def _update_delay_stats(self) -> None:
        st = self._stats
        st.jitter_ms = self._jitter * 1000
        st.target_ms = self.target * 1000
        st.buffered_ms = (self._buffered_s() + len(self._pending) / SAMPLE_RATE) * 1000
        if self._slack.items:
            st.delay_ms = self._slack.items[-1][1] * 1000
        st.level_dbfs = 10 * math.log10(self._power) if self._power > 1e-12 else -120.0
        if self._first_seq is not None and self._max_seq is not None:
            expected = self._max_seq - self._first_seq + 1
            st.packets_lost = max(0, expected - st.packets_received)

    @property
    def underruns(self) -> int:
        """`stats.underruns` without the rest of the stats (a swarm reads it 20 times a second)."""
        return self._stats.underruns

    @property
    def stats(self) -> PlayoutStats:
        self._update_delay_stats()
        return PlayoutStats(**self._stats.__dict__)

    def close(self) -> None:
        self._decoder.close()
        self._packets.clear()


def _splice(head: MonoBlock, tail: MonoBlock, offset: int) -> MonoBlock:
    """`tail[offset:]`, its first samples crossfaded from `head`'s start so the seam does not click."""
    out = tail[offset:].copy()
    ramp = np.linspace(0.0, 1.0, CROSSFADE, dtype=np.float32).reshape(-1, *([1] * (out.ndim - 1)))
    out[:CROSSFADE] = head[:CROSSFADE] * (1 - ramp) + out[:CROSSFADE] * ramp
    return out


class _Undecoded:
    """Stands in for the decoder of a buffer that does not decode: every frame is silence."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self._frame = np.zeros(shape, dtype=np.float32)
        self._frame.flags.writeable = False

    def decode(self, payload: bytes) -> MonoBlock:
        return self._frame

    def conceal(self) -> MonoBlock:
        return self._frame

    def recover(self, next_payload: bytes) -> MonoBlock:
        return self._frame

    def close(self) -> None:
        pass
