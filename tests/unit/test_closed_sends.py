"""aiortc's sends that outlive their transport: counted, not printed; every other loop error goes on to
the handler that was there before."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from aiortc import RTCCertificate, RTCDtlsTransport, RTCIceGatherer, RTCIceTransport

from emulator.net.transport import closed_sends
from emulator.net.transport.closed_sends import is_closed_send, quiet_closed_sends


async def _raises_connection_error() -> None:
    raise ConnectionError("ours, not aiortc's")


async def _drop_unretrieved(task: asyncio.Future[Any]) -> None:
    """Let `task` fail, then lose it unretrieved, as aiortc's fire-and-forget sends are lost."""
    await asyncio.sleep(0)
    assert task.done()  # failed: asking which way would mark it retrieved
    del task
    gc.collect()


async def test_an_aiortc_send_after_its_transport_closed_is_counted_and_nothing_else_is_hidden() -> None:
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    try:
        quiet_closed_sends(loop)
        quiet_closed_sends(loop)  # once per loop: a second call does not wrap the filter again
        dtls = RTCDtlsTransport(RTCIceTransport(RTCIceGatherer()), [RTCCertificate.generateCertificate()])
        before = closed_sends.closed_sends

        await _drop_unretrieved(asyncio.ensure_future(dtls._send_data(b"state")))
        assert closed_sends.closed_sends == before + 1
        assert seen == [], "the closed send reached no handler"

        await _drop_unretrieved(asyncio.ensure_future(_raises_connection_error()))
        assert closed_sends.closed_sends == before + 1
        assert [str(c.get("exception")) for c in seen] == ["ours, not aiortc's"], "ours goes on as before"
    finally:
        loop.set_exception_handler(None)


def test_only_a_connection_error_of_an_aiortc_task_counts_as_a_closed_send() -> None:
    loop = asyncio.new_event_loop()
    try:
        dtls = RTCDtlsTransport(RTCIceTransport(RTCIceGatherer()), [RTCCertificate.generateCertificate()])
        aiortc_task = loop.create_task(dtls._send_data(b"state"))
        our_task = loop.create_task(_raises_connection_error())
        assert is_closed_send({"exception": ConnectionError("x"), "future": aiortc_task})
        assert not is_closed_send({"exception": ValueError("x"), "future": aiortc_task})
        assert not is_closed_send({"exception": ConnectionError("x"), "future": our_task})
        assert not is_closed_send({"message": "no exception", "future": aiortc_task})
        for task in (aiortc_task, our_task):
            task.cancel()
        loop.run_until_complete(asyncio.gather(aiortc_task, our_task, return_exceptions=True))
    finally:
        loop.close()
