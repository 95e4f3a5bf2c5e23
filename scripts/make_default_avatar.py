"""Regenerate assets/avatars/*.glb, the bundled procedural busts: `python scripts/make_default_avatar.py`."""

from emulator.render.avatar_gen import main

if __name__ == "__main__":
    raise SystemExit(main())
