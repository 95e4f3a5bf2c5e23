"""Regenerate tests/fixtures/wire/: one .bin (and its JSON twin, .json) per sample message.

Run from the repository root: `.venv/bin/python scripts/make_wire_fixtures.py`. Only do this when the
protocol changes on purpose (with a version bump, see emulator/wire/PROTOCOL.md); the fixtures exist
to catch accidental changes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulator.wire import to_json  # noqa: E402
from tests.support.wire_samples import samples  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "wire"


def main() -> int:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for stale in [*FIXTURES.glob("*.bin"), *FIXTURES.glob("*.json")]:
        stale.unlink()
    for name, message in samples().items():
        (FIXTURES / f"{name}.bin").write_bytes(bytes(message))
        (FIXTURES / f"{name}.json").write_text(to_json(message) + "\n", encoding="utf-8")
        print(f"{name}: {len(bytes(message))} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
