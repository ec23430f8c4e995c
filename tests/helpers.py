"""Helpers shared by the test modules: the knowledge as the CLI would load it."""

from __future__ import annotations

import os
from pathlib import Path

from calcref.knowledge import cache, load, stack
from calcref.model import KnowledgeBase


def load_active() -> KnowledgeBase:
    """The knowledge the CLI would answer from in this environment (CALCREF_DATA's stack,
    the test's private cache), loaded afresh."""
    return load(stack.from_setting(os.environ.get("CALCREF_DATA")), cache.location(os.environ))


def data_dir() -> Path:
    """The base directory of the active knowledge."""
    return stack.from_setting(os.environ.get("CALCREF_DATA"))[0].directory
