"""What moves the local headset: scripted motions, trace replay, face drivers, Live Link Face CSV,
lip-sync from audio, the keyboard/mouse controller and gamepads (`drivers.build_drivers` assembles a
headset's pair from its options).

Every driver here is *sampled*, not scheduled: a motion answers `sample(t) -> Pose` and a face driver
`sample(t) -> Face` for `t` seconds since it started, so the same driver serves a 90 Hz headless
headset, a GUI timer and a test that jumps straight to t = 37.5 s. Nothing here starts a thread or an
asyncio task; the caller owns the clock.
"""

from emulator.drive.errors import DriveError, FaceCsvError, TraceError

__all__ = ["DriveError", "FaceCsvError", "TraceError"]
