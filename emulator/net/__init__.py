"""WebRTC for headsets and the room, on aiortc, by what each part holds: `media/` (Opus, fan-out,
the receive tap and playout), `signaling/` (sessions, adapters, tokens) and `transport/` (ICE, SCTP,
the network conditioner, the aiortc/aioice patches). Beside them: `builtin_adapters.py` (the target
of the package's published entry points, so its path stays), the local HTTP servers' guard, the
Prometheus exposition and task helpers.
"""
