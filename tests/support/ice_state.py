"""Every test starts with the process's ICE as aioice left it.

A room or headset run inside the test process restricts ICE to loopback for good
(`emulator.net.ice.restrict_to_loopback`, as a real process wants), so without this a test that checks
gathering or the restriction itself would depend on which tests ran before it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.net import ice


@pytest.fixture(autouse=True)
def _ice_as_found() -> Iterator[None]:
    depth, widened = ice._depth, ice._widened
    yield
    with ice._lock:
        if ice._depth > depth or ice._widened > widened:
            ice._depth, ice._widened = depth, widened
            if depth == 0:
                ice._uninstall()
