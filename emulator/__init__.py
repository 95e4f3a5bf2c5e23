"""headset-emulator: an emulated Apple Vision Pro or Meta Quest for WebRTC rooms."""

__version__ = "0.1.0"
