"""Shared test isolation: every test gets its own parse cache and the bundled knowledge."""

from __future__ import annotations

import pytest

from calcref.load import load


@pytest.fixture(autouse=True)
def _isolate(tmp_path, monkeypatch):
    """A private XDG cache, no CALCREF_DATA/CALCREF_FORMAT overrides, a fresh in-process load."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CALCREF_DATA", raising=False)
    monkeypatch.delenv("CALCREF_FORMAT", raising=False)
    load.cache_clear()
    yield
    load.cache_clear()
