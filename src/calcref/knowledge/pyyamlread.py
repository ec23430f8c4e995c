"""The slow path of `yamlread`: PyYAML's C event stream, walked by calcref itself.

PyYAML's composer recurses in C and crashes the interpreter on deeply nested input, and it
expands aliases into shared nodes (the "billion laughs" bomb). So calcref walks the parser's
event stream itself: iteratively, with a depth ceiling, refusing anchors, aliases and every
tag that is not a plain scalar, and recording the line of every key and item for error
messages. An anchor is refused where it stands, not only when an alias uses it: the parser
drops it from the value (`outcome: &x 5 of 9` would read "5 of 9"), so a file with one would
pass while saying something its author did not write.

Imported only when `yamlread`'s own reader bails out on a file (importing PyYAML alone costs
about 11 ms a process); this path reads any YAML and reports every problem with its line.
"""

from __future__ import annotations

import re

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode

from calcref.errors import Problem
from calcref.knowledge.yamlread import MAX_DEPTH, UNREAD, LineDict, LineList

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:float",
}
_constructor = SafeConstructor()


def parse(path: str, text: str) -> tuple[object, list[Problem]]:
    """Parse one YAML document; on a problem of the file's structure return (None, problems),
    never half a file. A number YAML 1.1 would misread (`017`, `1:7`) is reported at its line
    and left in place as `UNREAD`, so the file's other problems are reported with it."""
    last_line = text.count("\n") + (0 if text.endswith("\n") else 1)
    loader = _Loader(text)
    try:
        return _compose(path, loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = min(mark.line + 1, last_line) if mark else 1
        reason = exc.problem or exc.context or "syntax error"
        return None, [Problem(path, max(line, 1), f"invalid YAML: {reason}")]
    except yaml.reader.ReaderError as exc:
        # libyaml counts bytes of the UTF-8 text, the pure-Python reader counts characters.
        if _Loader is yaml.SafeLoader:
            line = text.count("\n", 0, exc.position) + 1
        else:
            line = text.encode()[: exc.position].count(b"\n") + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return None, [Problem(path, line, f"invalid YAML: {exc.reason} (U+{char:04X})")]
    except yaml.YAMLError as exc:
        return None, [Problem(path, 1, f"invalid YAML: {exc}")]
    finally:
        loader.dispose()


class _Refused(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _compose(path: str, loader: yaml.SafeLoader) -> tuple[object, list[Problem]]:
    unread: list[_Refused] = []
    try:
        documents = _documents(loader, unread)
    except _Refused as exc:
        return None, [Problem(path, exc.line, exc.message)]
    if len(documents) > 1:
        return None, [Problem(path, documents[1][1], "more than one YAML document in the file")]
    if not documents or documents[0][0] is None:
        return None, [Problem(path, 1, "the file is empty")]
    return documents[0][0], [Problem(path, refused.line, refused.message) for refused in unread]


def _documents(loader: yaml.SafeLoader, unread: list[_Refused]) -> list[tuple[object, int]]:
    """Build the documents from parser events. The hot loop of a cold load (it costs as much
    as libyaml producing the events): dispatch on the exact event type, scalars first (they
    are most events), with the event types and checks bound to locals, and attach values
    inline. Equal strings of a file become one object (`keep`): the ids, sources and enum
    values repeated throughout are then stored once, and the parse cache, which marshal
    writes with back-references, is written and read with each of them once (at ten times
    the bundled knowledge: a quarter of the size, read in a quarter of the time)."""
    documents: list[tuple[object, int]] = []
    stack: list[list] = []  # [container, pending_key_or_None, key_line]
    root: object = None
    root_line = 1
    get_event = loader.get_event
    scalar, mapping, sequence = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
    mapping_end, sequence_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
    resolved, container_tags, line_list = _RESOLVED, _CONTAINER_TAGS, LineList
    keep = {}.setdefault
    while True:
        event = get_event()
        kind = type(event)
        mark = event.start_mark
        line = mark.line + 1 if mark else 1
        if kind is scalar:
            if event.anchor is not None:
                _refuse_anchor(event, line)
            value = event.value
            # Most scalars are text no resolver claims (quoted, or plain and starting with a
            # character no implicit type starts with): those are strings as they stand.
            if event.tag is not None or (event.implicit[0] and value[:1] in resolved):
                value = _scalar(event, line, unread)
            if type(value) is str:
                value = keep(value, value)
        elif kind is mapping or kind is sequence:
            if event.anchor is not None:
                _refuse_anchor(event, line)
            if event.tag not in container_tags:
                _refuse_tag(event, line, "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
            if len(stack) >= MAX_DEPTH:
                raise _Refused(line, f"nesting deeper than {MAX_DEPTH} levels")
            if stack and stack[-1][1] is None and type(stack[-1][0]) is LineDict:
                raise _Refused(line, "a mapping key must be a plain string")
            container: LineDict | LineList
            if kind is mapping:
                container = LineDict()
                container.key_lines = {}
            else:
                container = LineList()
                container.item_lines = []
            container.line = line
            stack.append([container, None, line])
            continue
        elif kind is mapping_end or kind is sequence_end:
            value = stack.pop()[0]
            line = value.line  # an item's line is where it starts, not where it ends
        elif kind is yaml.AliasEvent:
            raise _Refused(line, "YAML aliases are not allowed in knowledge files")
        elif kind is yaml.DocumentStartEvent:
            root, root_line = None, line
            continue
        elif kind is yaml.DocumentEndEvent:
            documents.append((root, root_line))
            continue
        elif kind is yaml.StreamEndEvent:
            return documents
        else:  # StreamStartEvent
            continue
        if not stack:
            root = value
            continue
        frame = stack[-1]
        container = frame[0]
        if type(container) is line_list:
            container.append(value)
            container.item_lines.append(line)
        elif frame[1] is None:
            if type(value) is not str:
                raise _Refused(line, "a mapping key must be a plain string")
            if value in container:
                raise _Refused(line, f"duplicate key '{value}'")
            frame[1], frame[2] = value, line
        else:
            container[frame[1]] = value
            container.key_lines[frame[1]] = frame[2]
            frame[1] = None


def _refuse_anchor(event: yaml.NodeEvent, line: int) -> None:
    raise _Refused(line, f"YAML anchor '&{event.anchor}' is not allowed in knowledge files")


def _refuse_tag(event: yaml.NodeEvent, line: int, *allowed: str) -> None:
    tag = getattr(event, "tag", None)
    if tag not in (None, "!", *allowed):
        raise _Refused(line, f"YAML tag '{tag}' is not allowed in knowledge files")


_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers
_RESOLVED = frozenset(_IMPLICIT)  # first characters of a plain scalar a resolver may claim
_CONTAINER_TAGS = frozenset({None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]{0,8})")


def _scalar(event: yaml.ScalarEvent, line: int, unread: list[_Refused]) -> object:
    """A plain scalar is resolved the way PyYAML's safe loader resolves it (so `true` and `12`
    are a bool and an int); a quoted or block scalar is always a string."""
    tag, value = event.tag, event.value
    if tag in (None, "!"):
        tag = _STR
        if event.implicit[0]:
            for candidate, pattern in _IMPLICIT.get(value[:1] if value else "", ()):
                if pattern.match(value):
                    tag = candidate
                    break
    if tag == _STR:
        return value
    if tag not in _SCALAR_TAGS:
        if tag == "tag:yaml.org,2002:timestamp":
            raise _Refused(line, f"'{value}' reads as a date: quote it")
        raise _Refused(line, f"YAML tag '{tag}' is not allowed in knowledge files")
    if tag == _INT and not _DECIMAL.fullmatch(value):
        # YAML 1.1 reads 017 as 15 (octal), 1:7 as 67 (base 60) and 0x11 as 17: a count
        # must mean what it looks like, and stay small enough to be a count. Reported here,
        # and the rest of the file read on.
        unread.append(_Refused(line, f"'{value}' must be a plain whole number of at most 9 digits"))
        return UNREAD
    # The tag's own constructor, not construct_object: that one remembers every node it has
    # built, which would grow with every file a long-running program reads.
    return _constructor.yaml_constructors[tag](_constructor, ScalarNode(tag, value))
