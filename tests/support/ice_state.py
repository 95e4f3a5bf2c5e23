"""Every test starts with the process's ICE as aioice left it.

A room or headset run inside the test process restricts ICE to loopback for good
(`emulator.net.transport.ice.restrict_to_loopback`, as a real process wants), so without this a test
that checks gathering or the restriction itself would depend on which tests ran before it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from emulator.net.transport import ice


def _set(depth: int, widened: int) -> None:
    """Counts and patches agree afterwards: installed exactly when something holds a restriction."""
    with ice._lock:
        ice._depth, ice._widened = depth, widened
        if depth and not ice.restricted():
            ice._install()
        elif not depth and ice.restricted():
            ice._uninstall()


@contextlib.contextmanager
def ice_as_found() -> Iterator[None]:
    """Whatever the block restricts for good is lifted when it ends."""
    depth, widened = ice._depth, ice._widened
    try:
        yield
    finally:
        _set(depth, widened)


@contextlib.contextmanager
def ice_unrestricted() -> Iterator[None]:
    """aioice as shipped while the block runs (for tests of the restriction itself), then as found."""
    with ice_as_found():
        _set(0, 0)
        yield


@pytest.fixture(autouse=True)
def _ice_as_found() -> Iterator[None]:
    with ice_as_found():
        yield
