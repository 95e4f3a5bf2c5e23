"""Fixtures shared by the GUI tests."""

from __future__ import annotations

import os
from typing import Any

import pytest


@pytest.fixture(scope="module")
def qapp(xvfb_display: str) -> Any:
    """pytest-qt's QApplication, made by the app's own code so the GL format is set first."""
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    from emulator.ui.app import application

    return application()
