"""The shared fixtures: isolation (the session's own parse cache, none of the caller's
variables), the bundled knowledge loaded once, and an editable copy of it.

Also how the suite runs in parallel: pyproject's addopts give `-n auto` (pytest-xdist), which
`pytest_xdist_auto_num_workers` below turns into a number of worker processes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import copy_knowledge

from calcref.knowledge import load, stack
from calcref.model import KnowledgeBase

# Rewriting files of the repository that other tests read: never from parallel workers.
REGENERATE_VARS = ("CALCREF_REGENERATE_GOLDEN", "CALCREF_REGENERATE_DOCS")


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: absent under -p no:xdist
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """How many workers `-n auto` starts: none where the command line names single tests
    (`pytest tests/test_x.py::test_y`), or while golden files or docs are regenerated (a test
    rewrites a file that others read): then the tests run in this process, as without xdist
    (print, -s and --pdb as usual).
    Otherwise one per CPU this process may use, within its cgroup's CPU quota (a container
    may see more CPUs than it may use); PYTEST_XDIST_AUTO_NUM_WORKERS still overrides."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    if any(os.environ.get(name) for name in REGENERATE_VARS):
        return 0
    if config.args and all("::" in arg for arg in config.args):
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, _cpu_quota() or cpus or 1))


def _cpu_quota() -> int | None:
    """The CPUs a cgroup v2 quota allows (cpu.max: "200000 100000" is 2), if there is one."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        return max(1, int(quota) // int(period))
    except (OSError, ValueError):  # no cgroup v2, or "max": no quota
        return None


# Variables from the caller's shell that change what calcref draws or loads; every test starts
# without them, as a pipe would.
OUTSIDE_VARS = (
    "CALCREF_DATA",
    "CALCREF_FORMAT",
    "CALCREF_NO_CACHE",
    "CALCREF_PAGER",
    "PAGER",
    "_CALCREF_COMPLETE",
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR_FORCE",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "COLUMNS",
    "LINES",
    # Python's own: a user's stdout is buffered unless they ask otherwise (the tests of a
    # write cut short set it where they mean to)
    "PYTHONUNBUFFERED",
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


@pytest.fixture
def knowledge(tmp_path) -> Path:
    """A private, editable copy of the bundled knowledge (tmp_path/knowledge). Not active by
    itself: a test points CALCREF_DATA (or load()) at it."""
    return copy_knowledge(tmp_path / "knowledge")
