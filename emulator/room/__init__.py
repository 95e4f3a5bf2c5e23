"""The bundled spatial SFU: a sans-I/O routing core (`core.py`) inside a thin aiohttp/aiortc layer
(`server.py`) that forwards voices (or mixes them binaurally per listener) and the state stream,
screens and rate-limits what participants send, and serves browsers and metrics.
"""
