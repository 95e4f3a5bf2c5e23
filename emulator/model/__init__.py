"""Pure data and math that every layer shares: poses (metres, unit quaternions, µs timestamps), hands
(26 OpenXR joints), faces (ARKit's 52 and Meta's 70 weights), visemes, device profiles, the
participants' `RoomState`, durations and asset paths.

No I/O, no asyncio, no aiortc or GL (import-linter keeps it so): what sits here can be tested alone
and used by the codec (`wire/`) and everything above it.
"""
