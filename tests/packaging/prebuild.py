"""Build the desktop bundle, the wheel and its two virtualenvs in a process of their own.

The suite starts this at the beginning of a run that includes tests/packaging (tests/support/prebuilt.py)
so the builds, which mostly wait on pip, the disk and PyInstaller, overlap the rest of the suite; the
packaging tests then wait for what they need. Each product is announced by `OUT/<name>.json`
(`{"ok": true, ...}` or `{"ok": false, "error": ...}`), written whole by a rename.

Run alone: `python -m tests.packaging.prebuild OUT` builds all four into OUT.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.packaging.bundle_build import build_bundle
from tests.packaging.wheel_venv import build_wheel, make_venv

# The bundle first: its tests run before the wheel's (the files sort that way).
PRODUCTS = ("bundle", "wheel", "base", "app")


def announce(out: Path, name: str, record: dict[str, Any]) -> None:
    part = out / f".{name}.json.part"
    part.write_text(json.dumps(record))
    part.rename(out / f"{name}.json")


def _step(out: Path, name: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    try:
        record = {"ok": True, **build()}
    except Exception as error:  # reported in full to the test that needs it
        record = {"ok": False, "error": f"{error}\n{traceback.format_exc()[-3000:]}"}
    announce(out, name, record)
    return record if record["ok"] else None


def main(out: Path) -> None:
    # At the lowest priority (pip and PyInstaller inherit it): the builds take the CPU the timing-
    # sensitive tests beside them leave idle, not the CPU they need.
    os.nice(19)
    out.mkdir(parents=True, exist_ok=True)
    _step(out, "bundle", lambda: {"executable": str(build_bundle(out / "bundle"))})
    wheel = _step(out, "wheel", lambda: {"path": str(build_wheel(out / "wheel"))})
    for name, extra in (("base", ""), ("app", "[app]")):
        if wheel is None:
            announce(out, name, {"ok": False, "error": "the wheel did not build (see the wheel test)"})
            continue
        requirement = f"{wheel['path']}{extra}"

        def venv(name: str = name, requirement: str = requirement) -> dict[str, Any]:
            made = make_venv(out / name / "venv", requirement)
            return {"path": str(made.path), "install_s": made.install_s, "size_bytes": made.size_bytes}

        _step(out, name, venv)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
