"""Encode a source once every frame (or relay a received one) and hand the same Opus packets to any
number of aiortc tracks.

Why: a swarm of headsets speaking the same source, or a room forwarding one speaker to many listeners,
must encode at most once. aiortc 1.16 packetizes an `av.Packet` returned by a track's `recv()` as is
(`RTCRtpSender._next_encoded_frame` calls the codec's `pack()`, which converts `pts` from the packet's
`time_base` to the 48 kHz RTP clock), so the RTP timestamp is our frame counter and the payload is ours.

Threads: everything here runs on the asyncio loop. `EncodedAudioFanout.stop()` cancels its pacing task
and awaits it, and ends every subscribed track.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from emulator.audio.source import AudioSource
from emulator.net.media.direct_send import DirectRtpSender, ntp_now
from emulator.net.media.opus import TIME_BASE, OpusEncoder, OpusSettings
from emulator.net.media.receive import RtpAudioPacket
from emulator.net.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

SUBSCRIBER_BACKLOG = 4  # frames a slow sender may fall behind before the oldest are dropped
MAX_RELAYED_GAP = 1000  # packets missing upstream that a listener's copy shows as lost (20 s of 20 ms)


@dataclass(frozen=True)
class EncodedFrame:
    payload: bytes
    pts: int  # in 1/48000 s, counted from the fanout's first frame
    captured_at: float  # clock time the frame's last sample was "captured" (the block was read)
    skipped: int = 0  # a relayed frame: packets the speaker sent just before it that never arrived


class EncodedAudioTrack(MediaStreamTrack):
    """An audio track whose `recv()` returns pre-encoded Opus `av.Packet`s, paced by its fanout."""

    kind = "audio"

    def __init__(self, fanout: PacketFanout) -> None:
        super().__init__()
        self._fanout = fanout
        self._queue: collections.deque[EncodedFrame | None] = collections.deque(maxlen=SUBSCRIBER_BACKLOG)
        self._ready = asyncio.Event()
        self._first = True
        self._direct: DirectRtpSender | None = None
        self.dropped = 0

    def send_directly(self, sender: DirectRtpSender) -> None:
        """From now on, frames go out through `sender` as they are published (`direct_send.py`), and
        `recv()` (aiortc's sender task) waits for good: the room's relay path."""
        self._direct = sender
        self._queue.clear()

    def _offer(self, frame: EncodedFrame | None, ntp: int) -> None:
        """`frame` None ends the track; `ntp` (`ntp_now()`) is the publish time, read once for all."""
        if self._direct is not None:
            if frame is None:
                self.stop()
            else:
                self._direct.send(frame.payload, frame.pts, ntp, skipped=frame.skipped)
            return
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(frame)
        self._ready.set()

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        if self._first:
            # A sender that starts late gets the newest frame, not a burst of stale ones.
            self._first = False
            while len(self._queue) > 1:
                self._queue.popleft()
        frame = self._queue.popleft()
        if frame is None:
            self.stop()
            raise MediaStreamError
        packet = av.Packet(frame.payload)
        packet.pts = frame.pts
        packet.time_base = TIME_BASE
        return packet

    def stop(self) -> None:
        self._fanout._unsubscribe(self)
        super().stop()


class PacketFanout:
    """Offers the same encoded frames to any number of tracks: what encoding and relaying share.

    `on_frame` hooks (e.g. a marker log, an uplink meter) see every frame as it is published.
    """

    def __init__(self) -> None:
        self._tracks: list[EncodedAudioTrack] = []
        self.on_frame: list[Callable[[EncodedFrame], None]] = []
        self.frames_published = 0
        self.bytes_published = 0

    def subscribe(self) -> EncodedAudioTrack:
        """A new track for one peer connection."""
        track = EncodedAudioTrack(self)
        self._tracks.append(track)
        return track

    def _unsubscribe(self, track: EncodedAudioTrack) -> None:
        if track in self._tracks:
            self._tracks.remove(track)

    @property
    def subscribers(self) -> int:
        return len(self._tracks)

    def publish(self, frame: EncodedFrame) -> None:
        self.frames_published += 1
        self.bytes_published += len(frame.payload)
        for hook in self.on_frame:
            hook(frame)
        ntp = ntp_now()  # one clock read for every listener's abs-send-time
        for track in self._tracks:
            track._offer(frame, ntp)

    async def stop(self) -> None:
        """End every subscribed track (their senders stop cleanly)."""
        for track in list(self._tracks):
            track._offer(None, 0)
        self._tracks.clear()


class RelayFanout(PacketFanout):
    """Forwards one speaker's received Opus packets to many listeners: no decoding, no re-encoding.

    Feed it from a receive tap (`tap_audio_receiver(receiver, relay.push_rtp)`); timestamps stay the
    speaker's, so a packet lost upstream reaches listeners as a timestamp gap their playout conceals,
    and as a gap in the sequence numbers the listener's copy carries, so their loss counts (and the
    E-model scores made from them) include it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._first_ts: int | None = None
        self._last_pts = -1
        self._last_sequence: int | None = None

    def push(self, timestamp: int, payload: bytes, arrival: float, sequence: int | None = None) -> None:
        if self._first_ts is None:
            self._first_ts = timestamp
        pts = (timestamp - self._first_ts) % (1 << 32)
        if pts <= self._last_pts and self._last_pts - pts < (1 << 31):
            return  # late or duplicate: listeners' senders must see time move forward
        self._last_pts = pts
        skipped = 0
        if sequence is not None:
            if self._last_sequence is not None:
                gap = (sequence - self._last_sequence - 1) & 0xFFFF
                skipped = gap if gap <= MAX_RELAYED_GAP else 0  # farther: the speaker restarted its stream
            self._last_sequence = sequence
        self.publish(EncodedFrame(payload, pts, arrival, skipped))

    def push_rtp(self, packet: RtpAudioPacket) -> None:
        self.push(packet.timestamp, packet.payload, packet.arrival, packet.sequence_number)


class EncodedAudioFanout(PacketFanout):
    """Reads `source` every frame (20 or 10 ms) in real time, encodes it once and offers the packet to
    each track."""

    def __init__(
        self,
        source: AudioSource,
        settings: OpusSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.source = source
        self.encoder = OpusEncoder(settings)
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    @property
    def frames_encoded(self) -> int:
        return self.frames_published

    @property
    def bytes_encoded(self) -> int:
        return self.bytes_published

    def subscribe(self) -> EncodedAudioTrack:
        """A new track for one peer connection; starts the pacing on first use."""
        track = super().subscribe()
        self.start()
        return track

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="opus-fanout")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait([task])
        await super().stop()

    def encode_next(self) -> EncodedFrame:
        """Read, encode and publish one frame now (the pacing task calls this every frame)."""
        samples = self.encoder.settings.frame_samples
        pcm = self.source.read(samples)
        captured_at = self._clock()
        frame = EncodedFrame(self.encoder.encode(pcm), self.frames_published * samples, captured_at)
        self.publish(frame)
        return frame

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        frame_s = self.encoder.settings.frame_ms / 1000
        while True:
            self.encode_next()
            deadline += frame_s
            delay = deadline - loop.time()
            if delay < -0.1:
                # Far behind (a stalled loop): skip ahead rather than send a burst.
                logger.debug("fanout fell %.0f ms behind; resynchronising", -delay * 1000)
                deadline = loop.time()
                delay = 0.0
            await asyncio.sleep(max(delay, 0.0))
