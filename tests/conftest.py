"""Shared test isolation: every test gets its own parse cache and the bundled knowledge."""

from __future__ import annotations

import pytest

from calcref.knowledge import load, stack
from calcref.model import KnowledgeBase

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


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> str:
    """One parse cache for the session. Entries are keyed by the knowledge's exact bytes and
    paths, so tests with different knowledge never meet each other's entries; sharing spares
    each test a cold parse of the bundled files."""
    return str(tmp_path_factory.mktemp("xdg-cache"))


@pytest.fixture(autouse=True)
def _isolate(monkeypatch, shared_cache):
    """The session's cache and none of OUTSIDE_VARS. (calcref reads the environment once per
    run, so nothing in process needs clearing between tests.) A test of the cache itself
    sets XDG_CACHE_HOME to a directory of its own."""
    monkeypatch.setenv("XDG_CACHE_HOME", shared_cache)
    for name in OUTSIDE_VARS:
        monkeypatch.delenv(name, raising=False)
    # In process, as in CI: no controlling terminal lends its width to piped output.
    monkeypatch.setattr("calcref.settings.controlling_terminal_width", lambda: None)


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """A parse cache of this test's own, for tests of the cache itself (cold, then warm)."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(directory))
    return directory


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The shipped knowledge, loaded once per session (per xdist worker) straight from its
    files, without any cache. Shared: read it, never change it (records are immutable by
    convention; a test that needs other knowledge loads a copy of its own)."""
    return load(stack.bundled(), None)
