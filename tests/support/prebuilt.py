"""The packaging tests' slow builds start with the session and run beside the other tests.

When a run collects tests from tests/packaging, one child process (tests/packaging/prebuild.py)
builds the desktop bundle, the wheel and its virtualenvs while the GUI, integration and interop tests
run; the packaging tests' fixtures wait for what they need with `prebuilt()`. Everything it made is
removed when the session ends.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from tests.support.processes import die_with_parent, stop_group

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "tests" / "packaging"


@dataclass
class _Prebuild:
    out: Path
    process: subprocess.Popen[bytes]
    log: IO[bytes]


_KEY = pytest.StashKey[_Prebuild]()


def pytest_collection_finish(session: pytest.Session) -> None:
    if not any(PACKAGING in Path(str(item.path)).parents for item in session.items):
        return
    out = Path(tempfile.mkdtemp(prefix="headset-emulator-prebuild-"))
    log = (out / "prebuild.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.packaging.prebuild", str(out)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    session.config.stash[_KEY] = _Prebuild(out, process, log)


def pytest_sessionfinish(session: pytest.Session) -> None:
    prebuild = session.config.stash.get(_KEY, None)
    if prebuild is None:
        return
    stop_group(prebuild.process)
    prebuild.log.close()
    shutil.rmtree(prebuild.out, ignore_errors=True)


def prebuilt(config: pytest.Config, name: str, timeout: float) -> dict[str, Any]:
    """What the prebuild made for `name` (bundle, wheel, base, app), waiting for it; fails the test
    with the build's own error when it could not be made."""
    prebuild = config.stash.get(_KEY, None)
    assert prebuild is not None, "the prebuild starts only when tests from tests/packaging are collected"
    announced = prebuild.out / f"{name}.json"
    deadline = time.monotonic() + timeout
    while not announced.exists():
        if prebuild.process.poll() is not None and not announced.exists():
            log = (prebuild.out / "prebuild.log").read_text(errors="replace")[-3000:]
            pytest.fail(f"the prebuild ended ({prebuild.process.returncode}) without the {name}:\n{log}")
        if time.monotonic() > deadline:
            pytest.fail(f"the prebuild did not make the {name} within {timeout:.0f} s")
        time.sleep(0.5)
    record: dict[str, Any] = json.loads(announced.read_text())
    if not record["ok"]:
        pytest.fail(f"the {name} could not be made: {record['error']}")
    return record
