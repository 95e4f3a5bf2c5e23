"""Which local files the control API may open: only those under the directory `join` was given.

`/audio` and `/motion` take the same specs as `--audio` and `--motion`, and some of those name a file
(`wav:FILE`, `script:FILE`, `trace:FILE`). Whoever holds the control token could otherwise stream
any file the user can read into the room, so a file spec is refused unless `--control-dir DIR` was
given, and then must resolve (symlinks followed) to a file inside DIR; relative names are taken
from DIR. What a file holds is never echoed back in an error.
"""

from __future__ import annotations

from pathlib import Path

from emulator.drive.spec import split_flags, split_spec

_AUDIO_FILE_KINDS = ("wav", "script")
_MOTION_FILE_KINDS = ("trace",)


class FileRefused(Exception):
    """A spec names a file the control API may not open; the message says why, not what it holds."""


def confine(path_text: str, root: Path | None) -> Path:
    """`path_text` resolved inside `root`, or FileRefused."""
    if root is None:
        raise FileRefused("this control API opens no files: start join with --control-dir DIR to allow some")
    base = root.resolve()
    resolved = (base / path_text).resolve()
    if not resolved.is_relative_to(base):
        raise FileRefused(f"{path_text!r} is outside the control directory {str(base)!r}")
    if not resolved.is_file():
        raise FileRefused(f"{path_text!r}: no such file in the control directory")
    return resolved


def audio_spec(spec: str, root: Path | None) -> tuple[str, bool]:
    """The spec with any file made absolute inside `root`, and whether it names a file."""
    kind, _, arg = spec.strip().partition(":")
    if kind.lower() not in _AUDIO_FILE_KINDS:
        return spec, False
    path = arg[: -len(":loop")] if kind.lower() == "wav" and arg.endswith(":loop") else arg
    return f"{kind}:{confine(path, root)}{arg[len(path) :]}", True


def motion_spec(spec: str, root: Path | None) -> tuple[str, bool]:
    name, rest = split_spec(spec)
    if name not in _MOTION_FILE_KINDS:
        return spec, False
    path, _ = split_flags(rest, ("once", "absolute", "loop"))
    if not rest.startswith(path):
        raise FileRefused("cannot tell the file from the flags in this spec")
    return f"{name}:{confine(path, root)}{rest[len(path) :]}", True
