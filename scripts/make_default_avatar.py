"""Regenerate emulator/assets/avatars/*.glb, the bundled procedural busts (this script, no arguments)."""

from emulator.render.avatar_gen import main

if __name__ == "__main__":
    raise SystemExit(main())
