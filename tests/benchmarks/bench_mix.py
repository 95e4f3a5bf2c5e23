"""The room's audio work per listener: binaural mix (`room --mix binaural`) beside forward mode, one run.

Both modes run the room's own code on real Opus packets, tick by tick as the room's loop would:
- forward: each speaker's packet goes into its `RelayFanout`, which offers it to one track per
  listener; every listener's track hands its packets over (`recv()`, what aiortc's sender pulls);
- binaural: each speaker's packet goes into its `PlayoutBuffer` (decoded once), then
  `BinauralMix.mix_once` renders every speaker for each listener (each listener turning 90°/s, so
  every filter changes every block: the worst case), encodes one stereo Opus frame per listener and
  each listener's track hands it over.
Then the transport, which differs in count: forward mode sends K streams to each listener, binaural
one. Its cost per stream is measured on a real aiortc pair on loopback (the difference between 9
streams and 1, per extra stream, sender and tapped receiver together, so an upper bound for the
room's sending half) and added: K × stream for forward, 1 × stream for binaural.

CPU time is this process's (`time.process_time`), best of REPEATS, over the audio's duration; the
per-listener figure is (cost with LISTENERS listeners − cost with none) / LISTENERS.
"""

from __future__ import annotations

import asyncio
import math
import time

import numpy as np

from emulator.audio.source import FRAME_SAMPLES, SAMPLE_RATE
from emulator.audio.tone import ToneSource
from emulator.model.pose import Pose, Quat, Vec3
from emulator.net.media.fanout import EncodedAudioFanout, EncodedAudioTrack, RelayFanout
from emulator.net.media.opus import OpusEncoder, OpusSettings
from emulator.net.media.playout import PlayoutBuffer
from emulator.net.media.receive import receiver_for_track, tap_audio_receiver
from emulator.room.mix import BinauralMix
from tests.benchmarks.report import Section
from tests.support.peers import loopback_pair, negotiate, wait_connected

SECONDS = 2.0
REPEATS = 3
LISTENERS = 8
SPEAKERS = (1, 4, 8)
TICKS = int(SECONDS * SAMPLE_RATE / FRAME_SAMPLES)
FRAME_S = FRAME_SAMPLES / SAMPLE_RATE


def voice_packets(count: int) -> list[bytes]:
    """`count` 20 ms Opus frames of a voice-band tone with noise, as a speaker's headset sends them."""
    tone = ToneSource(220.0)
    encoder = OpusEncoder(OpusSettings())
    rng = np.random.default_rng(1)
    packets = []
    for _ in range(count):
        pcm = tone.read(FRAME_SAMPLES) + rng.normal(0, 0.02, FRAME_SAMPLES).astype(np.float32)
        packets.append(encoder.encode(pcm.astype(np.float32)))
    return packets


def speaker_pose(index: int) -> Pose:
    angle = 2 * math.pi * index / 8
    return Pose(Vec3(2 * math.cos(angle), 1.6, 2 * math.sin(angle)))


async def drain(tracks: list[EncodedAudioTrack]) -> int:
    sent = 0
    for track in tracks:
        while track._queue:  # what aiortc's sender would pull this tick
            await track.recv()
            sent += 1
    return sent


async def forward_cost(speakers: int, listeners: int, packets: list[bytes]) -> float:
    relays = [RelayFanout() for _ in range(speakers)]
    tracks = [relay.subscribe() for relay in relays for _ in range(listeners)]
    start = time.process_time()
    for tick in range(TICKS):
        for relay in relays:
            relay.push(tick * FRAME_SAMPLES, packets[tick % len(packets)], tick * FRAME_S)
        await drain(tracks)
    spent = time.process_time() - start
    for relay in relays:
        await relay.stop()
    return spent


async def binaural_cost(speakers: int, listeners: int, packets: list[bytes]) -> float:
    clock = [0.0]
    mix = BinauralMix("bench", clock=lambda: clock[0])
    buffers = {f"s{i}": PlayoutBuffer(clock=mix.clock) for i in range(speakers)}
    mix.speakers.update(buffers)
    for i, conn in enumerate(buffers):
        mix.poses[conn] = speaker_pose(i)
    tracks = [mix.add_listener(f"l{i}").fanout.subscribe() for i in range(listeners)]
    start = time.process_time()
    for tick in range(TICKS):
        now = clock[0] = tick * FRAME_S
        for buffer in buffers.values():
            buffer.push(tick, tick * FRAME_SAMPLES, packets[tick % len(packets)], now)
        for i in range(listeners):
            mix.poses[f"l{i}"] = Pose(Vec3(0.0, 1.6, 0.0), Quat.from_yaw_degrees(90.0 * now + 45.0 * i))
        mix.mix_once(now + 0.01)  # pulled half a frame after the packets arrived
        await drain(tracks)
    spent = time.process_time() - start
    await mix.stop()
    return spent


async def streams_cost(streams: int) -> float:
    """CPU seconds for SECONDS of `streams` pre-encoded Opus streams between two loopback peers."""
    async with loopback_pair() as (sender, receiver):
        fanout = EncodedAudioFanout(ToneSource(220.0))  # encoded once, whatever the stream count
        for _ in range(streams):
            sender.addTrack(fanout.subscribe())

        @receiver.on("track")
        def on_track(track: object) -> None:
            tap_audio_receiver(receiver_for_track(receiver, track), lambda _packet: None)  # type: ignore[arg-type]

        await negotiate(sender, receiver)
        await wait_connected(sender, receiver)
        await asyncio.sleep(0.5)  # past DTLS and the first packets
        start = time.process_time()
        await asyncio.sleep(SECONDS)
        spent = time.process_time() - start
        await fanout.stop()
    return spent


def best(make: object, *args: object) -> float:
    assert callable(make)
    return min(asyncio.run(make(*args)) for _ in range(REPEATS))


def share(seconds: float) -> float:
    return 100.0 * seconds / SECONDS


def run() -> list[Section]:
    packets = voice_packets(50)
    stream = (best(streams_cost, 9) - best(streams_cost, 1)) / 8
    rows = []
    for k in SPEAKERS:
        fwd = (best(forward_cost, k, LISTENERS, packets) - best(forward_cost, k, 0, packets)) / LISTENERS
        mix = (best(binaural_cost, k, LISTENERS, packets) - best(binaural_cost, k, 0, packets)) / LISTENERS
        fwd_total, mix_total = fwd + k * stream, mix + stream
        rows.append(
            [
                str(k),
                f"{share(fwd):.2f}%",
                f"{share(fwd_total):.2f}%",
                f"{100 / share(fwd_total):.0f}",
                f"{share(mix):.2f}%",
                f"{share(mix_total):.2f}%",
                f"{100 / share(mix_total):.0f}",
                f"{mix_total / fwd_total:.1f}x",
            ]
        )
    notes = [
        f"{LISTENERS} listeners, {SECONDS:g} s of audio per figure, best of {REPEATS}; % of one core = "
        "CPU seconds / audio seconds, per listener (cost with listeners − cost without, / listeners).",
        "Binaural: KEMAR, each listener turning 90°/s (new filters and a crossfade every 10 ms block), "
        "one 64 kbps stereo Opus encode per listener per 20 ms; the speakers' decoding is shared and "
        "not counted per listener.",
        "Forward: the room's relay and per-listener track queues only; packets are neither decoded "
        "nor encoded.",
        f"Transport: one Opus stream over aiortc on loopback (SRTP, UDP, sender and tapped receiver) "
        f"measured at {share(stream):.2f}% of a core in this run; + K streams per listener forward, "
        "+ 1 binaural.",
    ]
    return [
        Section(
            "Room audio per listener: binaural mix vs forward",
            [
                "speakers K",
                "forward: room work",
                "forward: + transport",
                "forward listeners/core",
                "binaural: room work",
                "binaural: + transport",
                "binaural listeners/core",
                "binaural / forward",
            ],
            rows,
            notes,
        )
    ]
