"""The frame-rate benchmark's remote headsets: the demo's room and N talking bots in a process of their own.

`python -m tests.benchmarks.app_crowd N` prints `crowd URL SECRET` once the bots are in, then runs until
its stdin closes (the benchmark ends it by closing the pipe, or by killing its process group). On a
desk the remote headsets are other devices; in the app's process they would hold its interpreter
lock while it paints, so the benchmark keeps them apart and reports their CPU separately.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from emulator.cli.demo_bots import Demo


async def _main(bots: int) -> None:
    demo = Demo(bots=bots)
    try:
        await demo.start()
        print(f"crowd {demo.url} {demo.secret}", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # returns when the benchmark closes the pipe
    finally:
        await demo.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_main(int(sys.argv[1])))
