"""A ready locustfile: fake headsets in a room (`headset-emulator locustfile --out FILE` to edit).

    locust -f "$(headset-emulator locustfile)" -H ws://ROOM-HOST:8765/ws --headless -u 24 -r 4

Options (`locust -f … --help`, group headset-emulator): --rooms, --profiles, --motion, --face, --hands,
--audio, --speakers, --measuring, --session-length, --token-file, --name-prefix. See
docs/load-testing.md. To shape the load, import a shape: `from emulator.qa.locust.shapes import Steps`.
"""

from emulator.qa.locust.user import HeadsetUser

__all__ = ["HeadsetUser"]
