"""`python -m emulator` runs the same command line as the `headset-emulator` script."""

from emulator.cli import main

raise SystemExit(main())
