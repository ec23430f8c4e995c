"""Read a knowledge file into plain dicts and lists that remember their line numbers.

Two readers, one result. The fast one, here, reads the block YAML that knowledge files are
written in (block mappings and sequences; plain and single-quoted scalars, folded over lines;
one-line double-quoted ones; `>-`, `>`, `|-` and `|` block scalars; one-line flow lists of
plain words; `{}`; LF or CRLF line endings) in pure Python, without importing PyYAML (11 ms a
process) and about 1.5 times as fast as walking libyaml's events (12 ms for the bundled files
against 18). Whatever it is not certain of (a tab, an anchor, a tag, a comment after a value, a
more-indented line in a folded block, a plain scalar that YAML 1.1 could read as anything but a
string, bool, null or small decimal, anything malformed) it does not judge: it bails out, and
`pyyamlread` reads the whole file again with PyYAML and reports any problem with its line. A
bail costs only time, while a value that differed from PyYAML's would be a wrong clinical
statement; so the fast reader never guesses and reports nothing. tests/test_yaml_fast_path.py
holds both readers to the same values, types, key order, shared strings and line numbers.
"""

from __future__ import annotations

import re

from calcref.errors import Problem

MAX_DEPTH = 40


class Unread:
    """A value the reader refused and reported where it stands (a YAML 1.1 number such as
    `017`, which would read as 15): kept in its place so the rest of the file is still
    checked, and skipped by every check. A file holding one never becomes knowledge."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<refused value>"


UNREAD = Unread()


class LineDict(dict):
    """A mapping that knows its own line and the line of each key."""

    line: int
    key_lines: dict[str, int]


class LineList(list):
    """A sequence that knows its own line and the line of each item."""

    line: int
    item_lines: list[int]


def line_of(container: object, key: str | int | None = None, default: int = 1) -> int:
    """Best line for an error about `container[key]` (or the container itself)."""
    if isinstance(container, LineDict) and isinstance(key, str) and key in container.key_lines:
        return container.key_lines[key]
    if isinstance(container, LineList) and isinstance(key, int) and key < len(container):
        return container.item_lines[key]
    return getattr(container, "line", default)


def decode(path: str, raw: bytes) -> tuple[str | None, list[Problem]]:
    """UTF-8 only, whatever the locale, so a file reads the same on every machine."""
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return None, [Problem(path, line, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})")]


def parse(path: str, text: str) -> tuple[object, list[Problem]]:
    """Parse one YAML document; on any problem return (None, problems), never half a file.
    The fast reader first, PyYAML when it bails."""
    value = _fast(text)
    if value is not None:
        return value, []
    return _parse_with_pyyaml(path, text)


def _parse_with_pyyaml(path: str, text: str) -> tuple[object, list[Problem]]:
    """PyYAML's reading (imported here, on the first file that needs it)."""
    from calcref.knowledge import pyyamlread

    return pyyamlread.parse(path, text)


class _Bail(Exception):
    """The text is not certainly understood: PyYAML must read it."""


# Characters that change how YAML splits lines or counts indentation, or that PyYAML refuses:
# tabs, carriage returns (but those of CRLF line endings, made LF first) and YAML 1.1's other
# line breaks, a byte-order mark, non-printable characters; and trailing spaces (which a
# folded block or a blank line would have to keep).
# Compiled only for a text that is not printable throughout (str.isprintable, in C, is false
# for every one of them): the class spans all of Unicode and costs 5.5 ms to compile.
_UNSAFE = r"[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
# A mapping key and what follows its colon; quoted or other keys are left to PyYAML.
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: +(.*))?\Z")
_DOUBLE_QUOTED = re.compile(r'"([^"\\]*(?:\\["\\][^"\\]*)*)"\Z')  # only \" and \\ escapes
_ESCAPE = re.compile(r"\\(.)")
# Characters a plain scalar may not start with (`-` may, before a non-space, as in `-5`;
# bailing on that in a flow list is only caution), and characters a one-line flow list of
# plain words never holds.
_NOT_PLAIN = frozenset("-?:,[]{}#&*!|>'\"%@`")
_NOT_IN_FLOW_LIST = re.compile(r"[\[\]{}#'\":]")
_BLOCK_SCALAR = frozenset({">-", ">", "|-", "|"})

# PyYAML's implicit resolvers (yaml/resolver.py, YAML 1.1), in its order: the first whose
# pattern matches a plain scalar gives its type. A test checks they agree with PyYAML's.
_BOOL_WORDS = "yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
_RESOLVER_TABLE = (
    ("bool", rf"^(?:{_BOOL_WORDS})$", "yYnNtTfFoO"),
    (
        "float",
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?"
        r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*"
        r"|[-+]?\.(?:inf|Inf|INF)"
        r"|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    (
        "int",
        r"^(?:[-+]?0b[0-1_]+"
        r"|[-+]?0[0-7_]+"
        r"|[-+]?(?:0|[1-9][0-9_]*)"
        r"|[-+]?0x[0-9a-fA-F_]+"
        r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
        "-+0123456789",
    ),
    ("merge", r"^(?:<<)$", "<"),
    ("null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    (
        "timestamp",
        r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
        r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
        r"(?:[Tt]|[ \t]+)[0-9][0-9]?"
        r":[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?"
        r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
        "0123456789",
    ),
    ("value", r"^(?:=)$", "="),
    ("yaml", r"^(?:!|&|\*)$", "!&*"),
)
_RESOLVERS: dict[str, list[tuple[str, re.Pattern[str]]]] = {"": [("null", re.compile(r"^$"))]}
for _tag, _pattern, _firsts in _RESOLVER_TABLE:
    for _first in _firsts:
        _RESOLVERS.setdefault(_first, []).append((_tag, re.compile(_pattern)))
_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]{0,8})")
_TRUE = frozenset({"yes", "true", "on"})
# The words a key (`[A-Za-z_][A-Za-z0-9_-]*`) may be that do not resolve to a string.
_NOT_STRING_KEYS = frozenset(_BOOL_WORDS.split("|")) | {"null", "Null", "NULL"}
# The longest key PyYAML takes: a simple key ends at most 1024 characters after it starts
# (libyaml's and PyYAML's scanners alike), and a longer one is a syntax error.
_MAX_KEY = 1024
# More lines than any knowledge base holds (the bundled files have 6,300, a hundred times them
# 630,000): the reader's list of lines and their indents would take over twice the memory of
# PyYAML's event stream, which reads such a file instead.
_MAX_LINES = 1_000_000


def _plain(value: str) -> object:
    """A plain scalar as PyYAML's safe loader (and so the slow path) reads it: a bool, None, a
    decimal of at most 9 digits, or the string. Anything else some resolver claims (a float,
    an octal, a date...) the slow path converts or refuses with a message: bail."""
    for tag, pattern in _RESOLVERS.get(value[:1], ()):
        if pattern.match(value):
            if tag == "bool":
                return value.lower() in _TRUE
            if tag == "null":
                return None
            if tag == "int" and _DECIMAL.fullmatch(value):
                return int(value)
            raise _Bail
    return value


def _fast(text: str) -> LineDict | None:
    """The document's root mapping, or None when PyYAML must read the text."""
    if "\r" in text:  # Windows line endings: PyYAML reads a CRLF as one break, given as \n
        text = text.replace("\r\n", "\n")  # (a lone \r is left, and bails below)
    printable = text.replace("\n", "").isprintable()
    if (not printable and re.search(_UNSAFE, text)) or " \n" in text or text.endswith(" "):
        return None
    if text.count("\n") > _MAX_LINES:
        return None
    try:
        return _Reader(text).document()
    except _Bail:
        return None


def _entry(line: str, column: int) -> bool:
    """Whether `line` has a block sequence entry (`- ` or a lone `-`) at `column`."""
    return line.startswith("- ", column) or (len(line) == column + 1 and line[column] == "-")


class _Reader:
    """One pass over the lines, top-down. Each method reads one node starting at line index
    `i` and returns it with the index of the first line after it. `parent` is the column of
    the collection holding a scalar: YAML reads a line indented beyond it as the scalar's
    continuation, and one not indented beyond it as the end (PyYAML's rule exactly)."""

    def __init__(self, text: str) -> None:
        self.lines = lines = text.split("\n")
        # Each line's indentation, -1 for a blank line or a comment, and -2 past the end.
        self.indents = indents = []
        for line in lines:
            body = line.lstrip(" ")
            indents.append(len(line) - len(body) if body and body[0] != "#" else -1)
        indents.append(-2)
        self.keep = {}.setdefault  # equal strings as one object, as the slow path does

    def document(self) -> LineDict:
        indents = self.indents
        i = 0
        while indents[i] == -1:
            i += 1
        if indents[i] < 0:
            raise _Bail
        root, i = self.mapping(i, indents[i], 0)
        while indents[i] == -1:
            i += 1
        if indents[i] != -2:
            raise _Bail
        return root

    def mapping(self, i: int, column: int, depth: int) -> tuple[LineDict, int]:
        """A block mapping whose first key is at `column` of line `i` (after `- ` perhaps)."""
        if depth >= MAX_DEPTH:
            raise _Bail
        lines, indents, keep = self.lines, self.indents, self.keep
        node = LineDict()
        node.line = i + 1
        node.key_lines = key_lines = {}
        while True:
            match = _KEY.match(lines[i], column)
            if match is None:
                raise _Bail
            key, rest = match.groups()
            if key in _NOT_STRING_KEYS or key in node or len(key) > _MAX_KEY:
                raise _Bail
            key = keep(key, key)
            key_lines[key] = i + 1
            if rest is None:
                node[key], i = self.nested(i + 1, column, depth, True)
            elif rest[0] in _NOT_PLAIN or ": " in rest or " #" in rest or rest[-1] == ":":
                node[key], i = self.inline(i, rest, column, depth + 1)
            else:  # a plain scalar, the commonest value: read here unless it goes on below
                j = i + 1
                while indents[j] == -1:
                    j += 1
                if indents[j] > column:
                    node[key], i = self.plain(i, rest, column)
                else:
                    value = _plain(rest) if rest[0] in _RESOLVERS else rest
                    node[key] = keep(value, value) if type(value) is str else value
                    i = j
            while indents[i] == -1:
                i += 1
            if indents[i] != column:
                if indents[i] > column:
                    raise _Bail
                return node, i

    def sequence(self, i: int, column: int, depth: int) -> tuple[LineList, int]:
        """A block sequence whose first `-` is at `column` of line `i`."""
        if depth >= MAX_DEPTH:
            raise _Bail
        lines, indents = self.lines, self.indents
        node = LineList()
        node.line = i + 1
        node.item_lines = item_lines = []
        while True:
            line = lines[i]
            value: object
            if len(line) == column + 1:  # a lone `-`: the item is on the lines below, or null
                value, j = self.nested(i + 1, column, depth, False)
            else:
                start = column + 2
                while line[start] == " ":  # no trailing spaces: the line goes on
                    start += 1
                if _entry(line, start):
                    value, j = self.sequence(i, start, depth + 1)
                elif _KEY.match(line, start):
                    value, j = self.mapping(i, start, depth + 1)
                else:
                    value, j = self.inline(i, line[start:], column, depth + 1)
            node.append(value)
            item_lines.append(value.line if isinstance(value, LineDict | LineList) else i + 1)
            while indents[j] == -1:
                j += 1
            i = j
            if indents[i] != column or not _entry(lines[i], column):
                if indents[i] > column:
                    raise _Bail
                return node, i

    def nested(self, i: int, column: int, depth: int, indentless: bool) -> tuple[object, int]:
        """The node below a `key:` or a lone `-` at `column`: a mapping or sequence indented
        beyond it, a sequence at the key's own column (`indentless`), or else null."""
        indents = self.indents
        j = i
        while indents[j] == -1:
            j += 1
        indent = indents[j]
        if indent >= column:
            line = self.lines[j]
            if _entry(line, indent):
                if indent > column or indentless:
                    return self.sequence(j, indent, depth + 1)
            elif indent > column:
                return self.mapping(j, indent, depth + 1)
        return None, i

    def inline(self, i: int, text: str, parent: int, depth: int) -> tuple[object, int]:
        """The value that starts with `text` on line `i`; a list or `{}` has depth `depth`."""
        first = text[0]
        if first not in _NOT_PLAIN:
            return self.plain(i, text, parent)
        if first == "'":
            return self.single_quoted(i, text, parent)
        if first == '"':
            match = _DOUBLE_QUOTED.match(text)
            if match is None:
                raise _Bail
            value = _ESCAPE.sub(r"\1", match[1])
            return self.keep(value, value), i + 1
        if text in _BLOCK_SCALAR:
            return self.block(i, text, parent)
        if depth >= MAX_DEPTH:
            raise _Bail
        if text == "{}":
            empty = LineDict()
            empty.line, empty.key_lines = i + 1, {}
            return empty, i + 1
        if first == "[" and text[-1] == "]":
            return self.flow_list(i, text[1:-1]), i + 1
        if first == "-" and text[1:2] not in ("", " "):
            return self.plain(i, text, parent)
        raise _Bail

    def plain(self, i: int, text: str, parent: int) -> tuple[object, int]:
        """A plain scalar, folded over the following lines indented beyond `parent` (one line
        break becomes a space, n blank lines n line breaks)."""
        if ": " in text or " #" in text or text[-1] == ":":
            raise _Bail
        lines = self.lines
        n = len(lines)
        parts = [text]
        j = i + 1
        while True:
            k = j
            while k < n and not lines[k]:
                k += 1
            if k == n:
                break
            line = lines[k]
            body = line.lstrip(" ")
            if len(line) - len(body) <= parent or body[0] == "#":
                break
            if ": " in body or " #" in body or body[-1] == ":":
                raise _Bail
            parts.append("\n" * (k - j) if k > j else " ")
            parts.append(body)
            j = k + 1
        value = _plain("".join(parts) if len(parts) > 1 else text)
        if type(value) is str:
            value = self.keep(value, value)
        return value, j

    def single_quoted(self, i: int, text: str, parent: int) -> tuple[str, int]:
        """A single-quoted scalar (`''` is a quote), folded like a plain one over lines
        indented beyond `parent`; it must end its line."""
        lines = self.lines
        parts = []
        line, start = text, 1
        while True:
            end = line.find("'", start)
            while end >= 0 and line.startswith("'", end + 1):
                parts.append(line[start : end + 1])
                start = end + 2
                end = line.find("'", start)
            if end >= 0:
                if end != len(line) - 1:
                    raise _Bail
                parts.append(line[start:end])
                value = "".join(parts)
                return self.keep(value, value), i + 1
            parts.append(line[start:])
            j = i + 1
            while j < len(lines) and not lines[j]:
                j += 1
            if j == len(lines):
                raise _Bail
            body = lines[j].lstrip(" ")
            if len(lines[j]) - len(body) <= parent:
                raise _Bail
            parts.append("\n" * (j - i - 1) if j > i + 1 else " ")
            line, start, i = body, 0, j

    def block(self, i: int, indicator: str, parent: int) -> tuple[str, int]:
        """A `>`/`|` block scalar, clipped or stripped (`-`). Its indentation is its first
        line's; a folded block with a more-indented line, or one with leading blank lines,
        or one ending the file without a line break, is left to PyYAML."""
        lines = self.lines
        n = len(lines)
        first = i + 1
        if first == n or not lines[first]:
            raise _Bail
        indent = len(lines[first]) - len(lines[first].lstrip(" "))
        if indent <= parent:
            raise _Bail
        prefix = " " * indent
        end = first
        while end < n and (not lines[end] or lines[end].startswith(prefix)):
            end += 1
        while not lines[end - 1]:  # trailing blank lines are chomped
            end -= 1
        if end == n:
            raise _Bail
        content = [line[indent:] for line in lines[first:end]]
        if indicator[0] == "|":
            value = "\n".join(content)
        else:
            parts: list[str] = []
            for line in content:
                if not line:
                    parts.append("\n")
                elif line[0] == " ":
                    raise _Bail
                else:
                    if parts and parts[-1] != "\n":
                        parts.append(" ")
                    parts.append(line)
            value = "".join(parts)
        if len(indicator) == 1:  # clip: keep the final line break
            value += "\n"
        return self.keep(value, value), end

    def flow_list(self, i: int, inner: str) -> LineList:
        """`[a, b]` on one line, of plain words only."""
        node = LineList()
        node.line = i + 1
        node.item_lines = []
        if not inner.strip(" "):
            return node
        if _NOT_IN_FLOW_LIST.search(inner):
            raise _Bail
        for word in inner.split(","):
            word = word.strip(" ")
            if not word or word[0] in _NOT_PLAIN:
                raise _Bail
            value = _plain(word)
            node.append(self.keep(value, value) if type(value) is str else value)
            node.item_lines.append(i + 1)
        return node
