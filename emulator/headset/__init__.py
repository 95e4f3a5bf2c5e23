"""The emulated device, used the same way by the GUI and by headless runs."""

from emulator.headset.config import HeadsetConfig
from emulator.headset.core import Headset, HeadsetError, JoinError
from emulator.headset.view import HeadsetView
from emulator.headset.voice import SharedEncoders

__all__ = ["Headset", "HeadsetConfig", "HeadsetError", "HeadsetView", "JoinError", "SharedEncoders"]
