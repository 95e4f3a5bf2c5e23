"""The bundle's entry point: the same `headset-emulator` command a pip install gives.

Started with no arguments (a double-click, a file manager) it opens the desktop app, as the .desktop
entry does; any argument runs that command.
"""

import sys

from emulator.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["app"]))
