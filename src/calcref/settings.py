"""The command line's boundary with the world: the environment and the terminal, read once.

Everything below the CLI takes what it needs as arguments; this is the only module that looks
at `os.environ` or asks whether stdout is a terminal, and it does so once per run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from calcref.knowledge import cache, stack
from calcref.model import KnowledgeBase
from calcref.render.screen import PIPED_WIDTH, Screen

MIN_WIDTH, MAX_WIDTH = 20, 1000  # outside, COLUMNS is ignored (2147483648 would hang Rich)


class Settings:
    """What one run was asked for: which knowledge, which cache, which default format, and
    the screen to draw on. The knowledge base is loaded on first use, once."""

    def __init__(self, environ: Mapping[str, str], stdout: TextIO) -> None:
        self.data: str | None = environ.get(stack.DATA_ENV)
        self.cache_dir: Path | None = cache.location(environ)
        self.format: str | None = (environ.get("CALCREF_FORMAT") or "").strip().lower() or None
        self.screen = _screen(environ, stdout)
        self.height = _height(stdout) if self.screen.terminal else 0
        self.pager = _pager(environ) if self.screen.terminal else None
        self.fields: list[str] = []  # --fields, when a command is asked for some keys only
        self._kb: KnowledgeBase | None = None

    @classmethod
    def here(cls) -> Settings:
        """The settings of this process: its environment and its stdout."""
        import sys

        return cls(os.environ, sys.stdout)

    def kb(self) -> KnowledgeBase:
        if self._kb is None:
            from calcref.knowledge import load

            self._kb = load(stack.from_setting(self.data), self.cache_dir)
        return self._kb


def _screen(environ: Mapping[str, str], stdout: TextIO) -> Screen:
    """Colour on a terminal; as wide as COLUMNS says when it is set (as `ls` and Rich read
    it), else the terminal's width, else, piped, the controlling terminal's (`calcref treat |
    less` in an 80-column terminal is drawn for 80), else 80 columns."""
    try:
        terminal = stdout.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        terminal = False
    width = _columns(environ.get("COLUMNS"))
    if width is None and terminal:
        try:
            width = os.get_terminal_size(stdout.fileno()).columns or None
        except (AttributeError, ValueError, OSError):
            width = None
    if width is None:
        width = controlling_terminal_width()
    return Screen(width or PIPED_WIDTH, terminal, bool(environ.get("NO_COLOR")))


def controlling_terminal_width() -> int | None:
    """The width of the terminal this process runs in, when its output is piped; None
    without one (cron, CI, a daemon)."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return None
    try:
        width = os.get_terminal_size(fd).columns
    except OSError:
        return None
    finally:
        os.close(fd)
    return width if MIN_WIDTH <= width <= MAX_WIDTH else None


DEFAULT_PAGER = "less -FRX"  # quit if one screen, keep colours, leave the text on screen


def _pager(environ: Mapping[str, str]) -> str | None:
    """The pager for long answers on a terminal: CALCREF_PAGER (empty: none), else PAGER,
    else less -FRX."""
    if "CALCREF_PAGER" in environ:
        return environ["CALCREF_PAGER"].strip() or None
    return environ.get("PAGER", "").strip() or DEFAULT_PAGER


def _height(stdout: TextIO) -> int:
    try:
        return os.get_terminal_size(stdout.fileno()).lines
    except (AttributeError, ValueError, OSError):
        return 0


def _columns(value: str | None) -> int | None:
    """COLUMNS when it is a sane width; anything else (0, 5, 2147483648) is ignored."""
    if value is None or not value.strip().isdigit() or len(value.strip()) > 5:
        return None
    width = int(value)
    return width if MIN_WIDTH <= width <= MAX_WIDTH else None
