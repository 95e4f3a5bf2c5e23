"""A relayed voice sent through `DirectRtpSender`, between two real aiortc peer connections on loopback:
the listener gets every frame, byte for byte and in order, and the sender's own counters (its RTCP
sender reports, `getStats()`) count them."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from aiortc.mediastreams import MediaStreamTrack

from emulator.audio.tone import ToneSource
from emulator.net.media.direct_send import DirectRtpSender, run_now
from emulator.net.media.fanout import RelayFanout
from emulator.net.media.opus import OpusEncoder
from emulator.net.media.receive import RtpAudioPacket, receiver_for_track, tap_audio_receiver
from tests.support.peers import loopback_pair, negotiate, wait_connected

pytestmark = pytest.mark.slow


async def test_relayed_frames_arrive_whole_in_order_and_are_counted_by_the_sender() -> None:
    encoder, tone = OpusEncoder(), ToneSource(660)
    payloads = [encoder.encode(tone.read(960)) for _ in range(100)]
    relay = RelayFanout()
    received: list[RtpAudioPacket] = []
    async with loopback_pair() as (room, listener):
        track = relay.subscribe()
        transceiver = room.addTransceiver(track, direction="sendonly")
        direct = DirectRtpSender(transceiver)
        track.send_directly(direct)

        @listener.on("track")
        def on_track(remote: MediaStreamTrack) -> None:
            tap_audio_receiver(receiver_for_track(listener, remote), received.append)

        await negotiate(room, listener)
        await wait_connected(room, listener)
        for _ in range(500):
            if transceiver.sender._RTCRtpSender__started:
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the room's sender never started")
        base = 123_456
        for i, payload in enumerate(payloads):
            relay.push(base + 960 * i, payload, arrival=0.0)
            await asyncio.sleep(0.005)
        for _ in range(200):
            if len(received) == len(payloads):
                break
            await asyncio.sleep(0.01)
        stats = await transceiver.sender.getStats()

    assert direct.sent == len(payloads) and direct.dropped == 0
    assert [p.payload for p in received] == payloads  # every frame, whole, in order
    sequence = [p.sequence_number for p in received]
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(sequence))
    stamps = [p.timestamp for p in received]
    assert all((b - a) & 0xFFFF_FFFF == 960 for a, b in itertools.pairwise(stamps))
    outbound = next(s for s in stats.values() if s.type == "outbound-rtp")
    assert outbound.packetsSent == len(payloads)
    assert outbound.bytesSent == sum(len(p) for p in payloads)


async def test_a_send_that_has_to_wait_finishes_on_the_loop() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    steps: list[str] = []

    async def waits() -> None:
        steps.append("started")
        await gate
        steps.append("finished")

    run_now(waits())
    assert steps == ["started"]  # it ran here up to its wait
    gate.set_result(None)
    for _ in range(10):
        await asyncio.sleep(0)
    assert steps == ["started", "finished"]


async def test_a_send_that_does_not_wait_is_done_before_run_now_returns() -> None:
    steps: list[str] = []

    async def plain() -> None:
        steps.append("done")

    run_now(plain())
    assert steps == ["done"]
