"""A relayed voice sent through `DirectRtpSender`, between two real aiortc peer connections on loopback:
the listener gets every frame, byte for byte and in order, and the sender's own counters (its RTCP
sender reports, `getStats()`) count them."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from aiortc.mediastreams import MediaStreamTrack

from emulator.audio.tone import ToneSource
from emulator.net.media.direct_send import DirectRtpSender, run_now
from emulator.net.media.fanout import RelayFanout
from emulator.net.media.opus import OpusEncoder
from emulator.net.media.receive import RtpAudioPacket, receiver_for_track, tap_audio_receiver
from tests.support.peers import loopback_pair, negotiate, wait_connected

pytestmark = pytest.mark.slow


async def relay_through_direct_sender(
    payloads: list[bytes], missing: frozenset[int] = frozenset()
) -> tuple[DirectRtpSender, list[RtpAudioPacket], Any]:
    """The speaker's packets `payloads` (sequence numbers from 40_000, those in `missing` lost before
    the room) relayed to a listener peer: (the room's direct sender, what the listener got, its stats)."""
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
            if i not in missing:
                relay.push(base + 960 * i, payload, arrival=0.0, sequence=(40_000 + i) & 0xFFFF)
            await asyncio.sleep(0.005)
        for _ in range(200):
            if len(received) == len(payloads) - len(missing):
                break
            await asyncio.sleep(0.01)
        stats = await transceiver.sender.getStats()
    return direct, received, stats


def tone_frames(count: int) -> list[bytes]:
    encoder, tone = OpusEncoder(), ToneSource(660)
    return [encoder.encode(tone.read(960)) for _ in range(count)]


async def test_relayed_frames_arrive_whole_in_order_and_are_counted_by_the_sender() -> None:
    payloads = tone_frames(100)
    direct, received, stats = await relay_through_direct_sender(payloads)
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


async def test_packets_lost_before_the_room_are_gaps_the_listener_counts() -> None:
    """A relay renumbers each listener's copy, but keeps the speaker's losses in it: the listener's
    loss count (and the E-model made from it) sees what never reached the room."""
    payloads = tone_frames(60)
    missing = frozenset({10, 30, 31, 32})
    direct, received, _ = await relay_through_direct_sender(payloads, missing)
    assert direct.sent == len(payloads) - len(missing)
    assert [p.payload for p in received] == [p for i, p in enumerate(payloads) if i not in missing]
    gaps = [(b - a) & 0xFFFF for a, b in itertools.pairwise(p.sequence_number for p in received)]
    assert sorted(gaps)[-2:] == [2, 4] and gaps.count(1) == len(gaps) - 2  # 1 lost, then 3 in a row
    assert (received[-1].sequence_number - received[0].sequence_number) & 0xFFFF == len(payloads) - 1
