"""Joining rooms: the `Session` every SFU connection provides, adapters found by URL scheme (the
bundled room's WebSocket session, Janus VideoRoom), and the room's join tokens.
"""
