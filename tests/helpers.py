"""Helpers shared by the test modules: the knowledge as the CLI would load it, the bundled files
as YAML reads them, and private copies of the knowledge to edit.

The other shared pieces: tests/clirun.py runs calcref (in process, or as a real process);
tests/conftest.py holds the fixtures (isolation, the session's knowledge base, a knowledge
copy)."""

from __future__ import annotations

import copy
import functools
import os
import re
import shutil
import string
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


def markdown_cells(line: str) -> list[str]:
    """The cells of one row of calcref's Markdown pipe table as a reader sees them: split at
    the pipes that are not escaped, each backslash escape of an ASCII punctuation character
    read as that character (CommonMark), so `2\\*2 mg` is `2*2 mg` and `a\\|b` is `a|b`."""
    assert line.startswith("| ") and line.endswith(" |"), line
    cells, cell, inner, at = [], [], line[1:-1], 0
    while at < len(inner):
        char = inner[at]
        if char == "\\" and inner[at + 1 : at + 2] in tuple(string.punctuation):
            cell.append(inner[at + 1])
            at += 2
            continue
        if char == "|":
            cells.append("".join(cell))
            cell = []
        else:
            cell.append(char)
        at += 1
    cells.append("".join(cell))
    return [c.removeprefix(" ").removesuffix(" ") for c in cells]


def rendered_cells(text: str, **options: bool) -> list[list[str]]:
    """The text a reader sees in each body cell of a Markdown table, as a CommonMark parser
    renders it (markdown-it-py, Rich's own dependency), with `<br>` read as a line break.
    Any other tag in a cell (emphasis, a link, an image, code) fails: the cell was read as
    markup, not text."""
    from html.parser import HTMLParser

    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": options.get("html", True)}).enable("table")
    if options.get("strikethrough"):
        parser.enable("strikethrough")
    html = parser.render(text)

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.rows: list[list[str]] = []
            self.cell: list[str] | None = None

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.rows.append([])
            elif tag == "td":
                self.cell = []
            elif tag == "br" and self.cell is not None:
                self.cell.append("\n")
            elif self.cell is not None:
                raise AssertionError(f"<{tag}> in a cell: {html}")

        def handle_startendtag(self, tag, attrs):
            self.handle_starttag(tag, attrs)

        def handle_endtag(self, tag):
            if tag == "td":
                self.rows[-1].append("".join(self.cell or []))
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell.append(data)

        def handle_comment(self, data):
            if self.cell is not None:
                raise AssertionError(f"a comment in a cell: {html}")

    found = Cells()
    found.feed(html)
    return [row for row in found.rows if row]


# TeX escapes BibTeX exports use, and the text each prints (a reader of the export sees this).
_TEX = {
    r"\textbraceleft{}": "{",
    r"\textbraceright{}": "}",
    r"\textbackslash{}": "\\",
    r"\textasciitilde{}": "~",
    r"\textasciicircum{}": "^",
    **{f"\\{c}": c for c in "{}&%$#_"},
}
_TEX_COMMAND = re.compile("|".join(re.escape(k) for k in sorted(_TEX, key=len, reverse=True)))


def tex_text(value: str) -> str:
    """A BibTeX field's TeX as the text it prints, read left to right in one pass: the escapes
    BibTeX users meet, and the outer braces that only protect capitals."""
    if value.startswith("{") and value.endswith("}"):
        value = value[1:-1]
    return _TEX_COMMAND.sub(lambda m: _TEX[m.group()], value)


def row_of(table: str, name: str) -> str:
    """A therapy's compact row in a wide `treat` table: the line naming it and the lines
    indented under it."""
    lines = table.splitlines()
    start = next(i for i, line in enumerate(lines) if name in line and line[1:2] != " ")
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith("  ")), len(lines)
    )
    return "\n".join(lines[start:end])
