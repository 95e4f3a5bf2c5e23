"""Fixtures shared by the whole suite; each helper program has its own module in tests/support."""

pytest_plugins = [
    "tests.support.leaks",
    "tests.support.ice_state",
    "tests.support.xvfb",
    "tests.support.gamepad",
    "tests.support.room",
    "tests.support.speech",
    "tests.support.pulse",
    "tests.support.turn",
    "tests.support.janus",
    "tests.support.browser",
    "tests.support.prebuilt",
]
