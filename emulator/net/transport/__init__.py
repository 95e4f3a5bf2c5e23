"""Below the media and the state stream: ICE (loopback-only by default, STUN/TURN servers, socket
tuning), delayed SCTP SACKs, the network conditioner and its loss model, and `patches.py`, the one
module that names aiortc's and aioice's internals.
"""
