"""A join that cannot reach its room says so with the URL as given, in the user's terms."""

from __future__ import annotations

import pytest

from emulator.cli import main
from tests.support.room import free_port


def test_a_refused_connection_names_the_url_without_library_internals(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADSET_EMULATOR_SECRET", "any-secret")
    url = f"ws://127.0.0.1:{free_port()}/ws"  # nothing listens there: refused at once
    assert main(["join", url, "--duration", "1", "--connect-timeout", "10"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert (
        f"cannot reach {url}: Connect call failed" in err[0]
        or f"cannot reach {url}: Connection refused" in err[0]
    ), err[0]
    assert "ssl:default" not in err[0] and "Traceback" not in err[0]
