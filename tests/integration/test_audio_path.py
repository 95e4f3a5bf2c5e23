"""Our audio path between two real aiortc peer connections on loopback: fanout → RTP → tap → playout."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack

from emulator.audio.marker import MarkedSource, MarkerDetector, match_latencies
from emulator.audio.source import MonoBlock
from emulator.audio.tone import ToneSource
from emulator.net.media.fanout import EncodedAudioFanout, RelayFanout
from emulator.net.media.loss import PacketDropper, drop_incoming_rtp
from emulator.net.media.opus import OpusSettings
from emulator.net.media.playout import PlayoutBuffer
from emulator.net.media.receive import (
    ReceiverInternalsChanged,
    attach_playout,
    receiver_for_track,
    tap_audio_receiver,
)
from tests.support.media import coverage, dominant_hz, pace
from tests.support.peers import loopback_pair, negotiate, wait_connected

pytestmark = pytest.mark.slow


@dataclass
class Listener:
    pc: RTCPeerConnection
    drop: float = 0.0
    buffers: list[PlayoutBuffer] = field(default_factory=list)
    droppers: list[PacketDropper] = field(default_factory=list)

    def __post_init__(self) -> None:
        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            receiver = receiver_for_track(self.pc, track)
            dropper = PacketDropper(self.drop, seed=42)
            drop_incoming_rtp(receiver, dropper)
            self.droppers.append(dropper)
            self.buffers.append(attach_playout(receiver))


@contextlib.asynccontextmanager
async def speaking(fanout: EncodedAudioFanout, drop: float = 0.0) -> AsyncIterator[Listener]:
    async with loopback_pair() as (a, b):
        a.addTrack(fanout.subscribe())
        listener = Listener(b, drop)
        await negotiate(a, b)
        await wait_connected(a, b)
        yield listener


async def listen(
    buffer: PlayoutBuffer,
    seconds: float,
    detector: MarkerDetector | None = None,
    on_pull: Callable[[], None] | None = None,
) -> list[MonoBlock]:
    blocks: list[MonoBlock] = []

    def on_block(block: MonoBlock, at: float) -> None:
        blocks.append(block)
        if detector is not None:
            detector.feed(block, at)
        if on_pull is not None:
            on_pull()

    await pace(lambda now: buffer.pull(960, now), seconds, on_block)
    return blocks


async def test_a_tone_arrives_as_that_tone() -> None:
    fanout = EncodedAudioFanout(ToneSource(440))
    try:
        async with speaking(fanout) as listener:
            blocks = await listen_when_ready(listener, 2.0)
    finally:
        await fanout.stop()
    pcm = np.concatenate(blocks[10:])
    assert abs(dominant_hz(pcm) - 440) < 3
    stats = listener.buffers[0].stats
    assert stats.packets_received > 80 and stats.packets_lost == 0
    assert -16 < stats.level_dbfs < -8  # a 0.3 sine is -13.5 dBFS RMS


async def listen_when_ready(
    listener: Listener,
    seconds: float,
    detector: MarkerDetector | None = None,
    on_pull: Callable[[], None] | None = None,
) -> list[MonoBlock]:
    for _ in range(200):
        if listener.buffers and listener.buffers[0].stats.packets_received:
            break
        await asyncio.sleep(0.02)
    return await listen(listener.buffers[0], seconds, detector, on_pull)


async def test_five_percent_loss_is_concealed_and_the_delay_does_not_grow() -> None:
    fanout = EncodedAudioFanout(ToneSource(440))
    delays: list[float] = []
    try:
        async with speaking(fanout, drop=0.05) as listener:
            buffer = listener.buffers[0]
            blocks = await listen_when_ready(
                listener, 6.0, on_pull=lambda: delays.append(buffer.stats.buffered_ms)
            )
    finally:
        await fanout.stop()
    stats = buffer.stats
    assert listener.droppers[0].dropped > 5
    assert stats.packets_lost == listener.droppers[0].dropped
    assert coverage(blocks[10:]) >= 0.99
    half = len(delays) // 2
    assert np.median(delays[half:]) <= np.median(delays[:half]) + 20, "no creeping backlog"
    assert abs(dominant_hz(np.concatenate(blocks[half:])) - 440) < 3


async def test_the_marker_is_heard_with_a_plausible_latency() -> None:
    source = MarkedSource(ToneSource(440))
    fanout = EncodedAudioFanout(source)
    detector = MarkerDetector()

    async def inject() -> None:
        while True:
            await asyncio.sleep(0.3)
            source.inject()

    try:
        async with speaking(fanout) as listener:
            injector = asyncio.create_task(inject())
            try:
                await listen_when_ready(listener, 3.0, detector)
            finally:
                injector.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await injector
    finally:
        await fanout.stop()
    latencies = match_latencies(source.injections, detector.detections, max_latency=0.28)
    assert len(latencies) >= len(source.injections) - 3  # the first may precede playout, the last trail it
    # Physically at least the 20 ms capture frame; every detection pairs with the marker just before it.
    assert all(x > 0.02 for x in latencies)
    # Steady: the adaptive delay may move by a frame or two under load, never drift away.
    assert np.ptp(latencies) < 0.05


async def test_ten_ms_frames_play_through_loss_with_markers_sooner_than_a_frame_of_twenty() -> None:
    source = MarkedSource(ToneSource(440))
    fanout = EncodedAudioFanout(source, OpusSettings(frame_ms=10))
    detector = MarkerDetector()

    async def inject() -> None:
        while True:
            await asyncio.sleep(0.3)
            source.inject()

    try:
        async with speaking(fanout, drop=0.05) as listener:
            injector = asyncio.create_task(inject())
            try:
                blocks = await listen_when_ready(listener, 4.0, detector)
            finally:
                injector.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await injector
    finally:
        await fanout.stop()
    buffer = listener.buffers[0]
    stats = buffer.stats
    assert buffer.frame_samples == 480  # learned from the packets: nothing told the receiver
    assert stats.packets_received > 300 and stats.packets_lost == listener.droppers[0].dropped > 5
    assert coverage(blocks[10:]) >= 0.99
    assert abs(dominant_hz(np.concatenate(blocks[10:])) - 440) < 3
    latencies = match_latencies(source.injections, detector.detections, max_latency=0.28)
    assert len(latencies) >= len(source.injections) - 3
    assert all(x > 0.01 for x in latencies)  # physically at least the 10 ms capture frame


async def test_one_encoder_feeds_two_listeners() -> None:
    fanout = EncodedAudioFanout(ToneSource(660))
    try:
        async with speaking(fanout) as one, speaking(fanout) as two:
            assert fanout.subscribers == 2
            blocks_one, blocks_two = await asyncio.gather(
                listen_when_ready(one, 1.5), listen_when_ready(two, 1.5)
            )
            encoded = fanout.frames_encoded
    finally:
        await fanout.stop()
    for blocks in (blocks_one, blocks_two):
        assert abs(dominant_hz(np.concatenate(blocks[10:])) - 660) < 3
    sent = one.buffers[0].stats.packets_received + two.buffers[0].stats.packets_received
    assert encoded < sent, "each frame was encoded once and sent twice"


async def test_the_tap_refuses_a_receiver_it_does_not_understand() -> None:
    async with loopback_pair() as (_a, b):
        transceiver = b.addTransceiver("audio", direction="recvonly")
        receiver = transceiver.receiver
        tap_audio_receiver(receiver, lambda p: None)
        with pytest.raises(ValueError):
            tap_audio_receiver(receiver, lambda p: None)
        other = b.addTransceiver("audio", direction="recvonly").receiver
        del other._RTCRtpReceiver__jitter_buffer
        with pytest.raises(ReceiverInternalsChanged):
            tap_audio_receiver(other, lambda p: None)


def test_the_drop_hook_is_deterministic() -> None:
    a, b = PacketDropper(0.05, seed=9), PacketDropper(0.05, seed=9)
    pattern_a = [a.should_drop() for _ in range(2000)]
    pattern_b = [b.should_drop() for _ in range(2000)]
    assert pattern_a == pattern_b
    assert 60 < sum(pattern_a) < 140


async def test_a_relay_forwards_one_speaker_to_two_listeners_without_reencoding() -> None:
    """The room's forward mode in miniature: speaker → relay peer → two listeners, one encode in all."""
    fanout = EncodedAudioFanout(ToneSource(880))
    relay = RelayFanout()
    try:
        async with loopback_pair() as (speaker, room_in):

            @room_in.on("track")
            def on_track(track: MediaStreamTrack) -> None:
                tap_audio_receiver(receiver_for_track(room_in, track), relay.push_rtp)

            speaker.addTrack(fanout.subscribe())
            await negotiate(speaker, room_in)
            await wait_connected(speaker, room_in)
            async with loopback_pair() as (room_a, one), loopback_pair() as (room_b, two):
                listeners = []
                for room_out, pc in ((room_a, one), (room_b, two)):
                    room_out.addTrack(relay.subscribe())
                    listeners.append(Listener(pc))
                    await negotiate(room_out, pc)
                    await wait_connected(room_out, pc)
                heard = await asyncio.gather(*(listen_when_ready(x, 1.5) for x in listeners))
                await relay.stop()
    finally:
        await fanout.stop()
    for blocks in heard:
        assert abs(dominant_hz(np.concatenate(blocks[10:])) - 880) < 3
    assert relay.frames_published <= fanout.frames_encoded, "every forwarded frame is one the speaker encoded"
    received = sum(x.buffers[0].stats.packets_received for x in listeners)
    assert received > relay.frames_published, "each relayed frame reached both listeners"
