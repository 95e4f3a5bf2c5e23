"""The bundle's entry point: the same `headset-emulator` command a pip install gives."""

import sys

from emulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
