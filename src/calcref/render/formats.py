"""One registry of output formats. Each format is one writer that turns an answer into one
complete string, so the CLI writes it in a single call and a failure can never leave half a
document on stdout.

    text = FORMATS["csv"].write(Answer("treat", rows), Screen())

Each writer imports what only it needs when it runs: Rich for tables, json for JSON, the
column layout for Markdown and CSV.
"""

from __future__ import annotations

import re
from typing import Any

from calcref.model import KnowledgeLayer, Value
from calcref.render.screen import Screen
from calcref.render.textsafe import json_safe, visible

Record = dict[str, Any]


class Answer(Value):
    """What a command found: its kind (which names its table), the records (a list, or one
    record), the arguments its table drawing takes beyond them, and the records of the JSON
    output when they differ (a subtype's card adds its workup and therapies)."""

    kind: str
    rows: Any
    table_args: tuple[Any, ...] = ()
    table_options: dict[str, Any] | None = None
    keys: tuple[str, ...] = ()  # an empty answer's keys (--fields): its CSV header


def declared(kind: str) -> list[str]:
    """Every key a command's records can have, in the records' order (answers/contract.py
    declares them): the keys of an answer that has no record to read them from."""
    from calcref.answers.contract import OUTPUTS

    return list(OUTPUTS.get(kind, ("array", {}))[1])


class Json:
    """The JSON contract, indented on a terminal and one line when piped; C1 and bidi
    controls escaped, so it decodes unchanged."""

    name = "json"

    def write(self, answer: Answer, screen: Screen) -> str:
        return to_json(answer.rows, pretty=screen.terminal)


class Markdown:
    """A GitHub-flavoured table a clinician can paste into notes or a wiki; knowledge text
    is never read as HTML (a `<` or `&` that would start markup is written as an entity).
    The answer's gaps go above the table, as in the terminal's: pasted notes keep them."""

    name = "markdown"

    def write(self, answer: Answer, screen: Screen) -> str:
        from calcref.render.columns import cell, columns, with_origin

        gaps = (answer.table_options or {}).get("gaps") or []
        said = "".join(
            f"> ⚠ Gap: {_markdown_cell(with_origin(gap['text'], gap))}\n\n" for gap in gaps
        )
        rows = _as_list(answer.rows)
        if not rows:  # the gaps alone, without the blank line that would part them from a table
            return said[:-1]
        keys = columns(rows)
        lines = ["| " + " | ".join(keys) + " |", "|" + "|".join(" --- " for _ in keys) + "|"]
        for row in rows:
            lines.append("| " + " | ".join(_markdown_cell(cell(row, k)) for k in keys) + " |")
        return said + "\n".join(lines) + "\n"


class Csv:
    """One row per record, lists joined by '; ' (RFC 4180 quoting). A cell a spreadsheet
    would run as a formula (starting = + - @) is prefixed with a quote."""

    name = "csv"

    def write(self, answer: Answer, screen: Screen) -> str:
        import csv
        import io

        from calcref.render.columns import cell, columns

        rows = _as_list(answer.rows)
        # An empty answer still prints its header: a pipeline keeps its column names.
        keys = columns(rows or [dict.fromkeys(answer.keys or declared(answer.kind))])
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(keys)
        for row in rows:
            writer.writerow([_defused(visible(cell(row, key))) for key in keys])
        return buffer.getvalue()


class Table:
    """Rich tables and cards for people, at the screen's width."""

    name = "table"

    def write(self, answer: Answer, screen: Screen) -> str:
        from calcref.render import tables

        draw = tables.DRAW[answer.kind]
        options = answer.table_options or {}
        return tables.render(draw, screen, answer.rows, *answer.table_args, **options)


FORMATS = {writer.name: writer for writer in (Table(), Json(), Markdown(), Csv())}
"""Every output format by name: the one vocabulary of --format."""


def write(name: str, answer: Answer, screen: Screen) -> str:
    return FORMATS[name].write(answer, screen)


def to_json(data: object, pretty: bool = True) -> str:
    """Indented for people; piped, one line, as `gh --json` does (and several times faster to
    write: Python's C encoder does not indent). json is imported here, by the one writer that
    needs it: a table never pays for it."""
    import json

    if pretty:
        return json_safe(json.dumps(data, ensure_ascii=False, indent=2)) + "\n"
    return json_safe(json.dumps(data, ensure_ascii=False, separators=(",", ":"))) + "\n"


def knowledge_versions(layers: tuple[KnowledgeLayer, ...]) -> str:
    """The lines `--version` adds after calcref's own: the base's version, then each
    overlay's."""
    out = []
    for layer in layers:
        name = f"overlay {layer.directory}" if layer.overlay else "knowledge"
        stated = f"{layer.version} ({layer.date})" if layer.version else "(no version stated)"
        out.append(visible(f"{name} {stated}\n"))
    return "".join(out)


def _as_list(rows: Any) -> list[Record]:
    return rows if isinstance(rows, list) else [rows]


def _defused(text: str) -> str:
    """A spreadsheet runs a cell starting with = + - @ (or a tab or CR) as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# What would start markup in a GitHub-flavoured cell: `<` before a letter, `/`, `!` or `?`
# (a tag, a closing tag, a comment, a declaration, a processing instruction, a URL autolink)
# and `&` before an entity (`&lt;`, `&#60;`). A `<` before a digit or a space ("<1.2 g/day",
# "< 20 subjects") starts none, so a dose reads in the raw table exactly as printed. Compiled
# by `re` on first use (and cached there): only Markdown needs it.
_MARKUP_START = r"<(?=[A-Za-z/!?])|&(?=#?[A-Za-z0-9]+;)"
_ENTITY = {"<": "&lt;", "&": "&amp;"}
# The ASCII punctuation that can start inline syntax in a cell, each written with a
# backslash (CommonMark reads a backslash before any ASCII punctuation as that character):
# `\` itself (an escape, a hard break), `` ` `` (a code span), `*` and `_` (emphasis), `[`
# and `]` (a link, an image after `!`, a footnote), `~` (GitHub's strikethrough), `$`
# (GitHub's math) and `|` (the next cell). What starts a block (`#`, `>`, `-`, `+`, `1.`,
# `=`) is left as written: every row starts with `|`, so a cell holds inline text only.
_INLINE_START = r"[\\`*_\[\]~$|]"


def _markdown_cell(text: str) -> str:
    """A cell's text as Markdown shows it, never as markup: raw HTML in a knowledge string
    (`<img src=x onerror=...>`, `<!--`) is written with entities, and what would start
    inline syntax (`2*2 mg` as emphasis, `![x](http://...)` as a remote image, a code span)
    with a backslash, so a renderer prints the text as written; pipes are escaped too, so
    the row keeps its columns."""
    text = re.sub(_MARKUP_START, lambda m: _ENTITY[m.group()], visible(text))
    return re.sub(_INLINE_START, r"\\\g<0>", text).replace("\n", "<br>")
