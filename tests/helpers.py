"""Helpers shared by the test modules: the knowledge as the CLI would load it, the bundled files
as YAML reads them, and private copies of the knowledge to edit.

The other shared pieces: tests/clirun.py runs calcref (in process, or as a real process);
tests/conftest.py holds the fixtures (isolation, the session's knowledge base, a knowledge
copy)."""

from __future__ import annotations

import copy
import functools
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from calcref.knowledge import cache, load, stack
from calcref.model import KnowledgeBase


def load_active() -> KnowledgeBase:
    """The knowledge the CLI would answer from in this environment (CALCREF_DATA's stack,
    the test's private cache), loaded afresh."""
    return load(stack.from_setting(os.environ.get("CALCREF_DATA")), cache.location(os.environ))


def data_dir() -> Path:
    """The base directory of the active knowledge."""
    return stack.from_setting(os.environ.get("CALCREF_DATA"))[0].directory


# yaml.safe_load's loader with libyaml's parser where PyYAML has it (the same data: the same
# safe constructor and resolver), ten times faster than the pure-Python one on therapies.yaml.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _parsed(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_SafeLoader)


def yaml_data(path: Path) -> Any:
    """A fresh copy of what yaml.safe_load reads from `path`, a file no test changes (the
    bundled knowledge): parsed once per process, copied for each caller, who may change it."""
    return copy.deepcopy(_parsed(Path(path).resolve()))


def copy_knowledge(target: Path) -> Path:
    """A copy of the bundled knowledge directory at `target` (not there yet), for a test to
    edit: files of its own, so nothing it changes reaches another test."""
    shutil.copytree(stack.bundled_dir(), target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in `path`; fail if it is not there exactly once."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    assert new in path.read_text(encoding="utf-8")
