"""PySide6 here loses a reference to None on every qasync callback; the app's keeper gives them back."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

pytestmark = pytest.mark.gui


def test_none_keeps_its_references_through_many_loop_callbacks(qapp: Any) -> None:
    import qasync

    from emulator.ui.app import _keepers

    keeper = _keepers[-1]
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)

    async def busy() -> int:
        for _ in range(30):
            for _ in range(1000):
                await asyncio.sleep(0)  # each one a Qt timer started, fired and killed
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.25)  # past the keeper's interval
        return sys.getrefcount(None)

    try:
        before = keeper.repaid
        after = loop.run_until_complete(busy())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    # 30 000 callbacks would cost None about as many references; the keeper gives back what was lost
    # (after some earlier app runs in the same process the loss is smaller or gone: then so is the debt).
    lost_without_keeper = keeper.floor - (after - (keeper.repaid - before))
    assert after >= keeper.floor - 1_000, f"None lost {lost_without_keeper} references and kept them lost"
