"""Fake headsets as a Locust load test: `HeadsetUser` (in `user`) is one headset in a room.

Locust is an optional extra (`pip install 'headset-emulator[load]'`): this package's `__init__`
imports nothing of it, so `headset-emulator locustfile` works on a base install. The design (a headset
engine in a child process per Locust worker, bridged over pipes) is explained in `bridge`.
"""

from importlib.resources import files
from pathlib import Path


def locustfile_path() -> Path:
    """The ready locustfile shipped with the package."""
    return Path(str(files(__name__) / "locustfile.py"))
