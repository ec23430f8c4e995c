"""Shared test isolation: every test gets its own parse cache and the bundled knowledge."""

from __future__ import annotations

import pytest

# Variables from the caller's shell that change what calcref draws or loads; every test starts
# without them, as a pipe would.
OUTSIDE_VARS = (
    "CALCREF_DATA",
    "CALCREF_FORMAT",
    "CALCREF_NO_CACHE",
    "_CALCREF_COMPLETE",
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR_FORCE",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "COLUMNS",
    "LINES",
)


@pytest.fixture(autouse=True)
def _isolate(tmp_path, monkeypatch):
    """A private XDG cache and none of OUTSIDE_VARS. (calcref reads the environment once per
    run, so nothing in process needs clearing between tests.)"""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in OUTSIDE_VARS:
        monkeypatch.delenv(name, raising=False)
