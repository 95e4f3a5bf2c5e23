"""Start helper programs (Xvfb, PulseAudio, Janus, …) for tests and always stop them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence


class HelperProcessError(RuntimeError):
    pass


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the test process dies, so a run killed mid-test (a
    timeout, Ctrl+C) leaves no room or server behind. Only for children of the main thread: the
    signal follows the thread that forked, and a worker thread may end long before the test."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


@contextlib.contextmanager
def running(
    argv: Sequence[str],
    *,
    ready: Callable[[], bool],
    timeout: float = 15.0,
    env: dict[str, str] | None = None,
    name: str | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` in its own process group until the block ends; wait until `ready()` is true.

    The whole group is terminated (then killed) on exit, so nothing a helper forks outlives the test.
    """
    label = name or os.path.basename(argv[0])
    # stderr goes to a file, not a pipe: a pipe nobody reads fills up and freezes a chatty helper.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below, after the helper ends
    process = subprocess.Popen(
        list(argv),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
        preexec_fn=die_with_parent if threading.current_thread() is threading.main_thread() else None,
    )
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            if process.poll() is not None:
                log.seek(0)
                err = log.read().decode(errors="replace")
                raise HelperProcessError(f"{label} exited with {process.returncode}: {err.strip()[-2000:]}")
            if time.monotonic() > deadline:
                raise HelperProcessError(f"{label} was not ready within {timeout:.0f} s")
            time.sleep(0.05)
        yield process
    finally:
        stop_group(process)
        log.close()


def stop_group(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(grace)
    else:
        # The leader is gone; children it left in the group still go.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    if process.stderr:
        process.stderr.close()


def interrupt(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Ctrl-C (a room's orderly stop), then SIGKILL if it has not ended within `grace` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def finish_all(processes: dict[str, subprocess.Popen[bytes]], timeout: float = 90.0) -> None:
    """Wait for CLI runs that end by themselves; each must exit 0 (its stderr tail says why not)."""
    try:
        for name, process in processes.items():
            _, err = process.communicate(timeout=timeout)
            assert process.returncode == 0, f"{name} failed: {err.decode(errors='replace')[-3000:]}"
    finally:
        for process in processes.values():
            stop_group(process)


def run_in_group(
    argv: list[str], *, timeout: float, merged: bool = False, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """subprocess.run in a process group of its own, killed whole at the end (a timeout included), so
    nothing it started outlives it; stderr apart, or `merged` into stdout."""
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merged else subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,  # type: ignore[arg-type]
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        raise AssertionError(
            f"{argv[:3]} did not finish within {timeout:.0f} s:\n{(out + (err or ''))[-4000:]}"
        ) from None
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(argv, process.returncode, out, err or "")
