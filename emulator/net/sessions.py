"""The old import path of `Session`, kept only for emulator/headset/state_link.py; use
`emulator.net.signaling.connect`. Remove once state_link.py imports from there."""

from emulator.net.signaling.connect import Session

__all__ = ["Session"]
