"""WebRTC for headsets and the room, on aiortc: the room session and other signaling adapters, join
tokens and ICE (loopback-only by default), Opus encoding, fan-out and the receive tap into our playout
buffer, network conditions, and every patch of aiortc's and aioice's internals (`patches.py`).
"""
