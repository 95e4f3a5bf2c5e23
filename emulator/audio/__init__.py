"""Sound in and out of a headset: sources (tone, WAV, speech, microphone), latency markers, HRTF sets
(KEMAR, SOFA), the binaural renderer, and the devices (PortAudio, with a silent fallback).

Blocks are 20 ms of 48 kHz float32; the sound card's callback only copies ring buffers (`ring.py`),
everything else runs on the headset's asyncio loop. No networking here.
"""
