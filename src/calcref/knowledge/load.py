"""Read the knowledge stack (through the cache when it can answer), merge and validate it.

Either the whole knowledge base loads, or a KnowledgeError lists every problem found as
`path:line: message` (up to `rules.MAX_PROBLEMS`, then a line saying that checking stopped).
Nothing is ever half-loaded.
"""

from __future__ import annotations

import gc
import os
import stat
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain, islice, repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from calcref.errors import KnowledgeError, Problem
from calcref.knowledge import cache as parse_cache
from calcref.knowledge import stack
from calcref.model import (
    MANIFEST,
    NOT_CACHED,
    SECTIONS,
    KnowledgeBase,
    KnowledgeLayer,
    LoadInfo,
    Manifest,
    Value,
)
from calcref.version import __version__

if TYPE_CHECKING:  # parsing modules import PyYAML, which a warm start never needs
    from calcref.knowledge.merge import Merged
    from calcref.knowledge.rules import Validation

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 128 * 1024 * 1024  # every file of every layer: bounds time and memory


class LayerFiles(Value):
    """The bytes of one layer's files, by name, with the path each was read from."""

    layer: stack.Layer
    files: dict[str, tuple[str, bytes]]


def read(layers: tuple[stack.Layer, ...]) -> list[LayerFiles]:
    """Every file of every layer, read whole, or a KnowledgeError naming every unreadable one."""
    read_files, problems = [], []
    for layer in layers:
        files = {}
        for name, path in layer.paths():
            try:
                files[name] = (str(path), _read_bytes(path))
            except KnowledgeError as exc:
                problems += exc.problems
        read_files.append(LayerFiles(layer, files))
    if problems:
        raise KnowledgeError(problems)
    total = sum(len(raw) for layer in read_files for _, raw in layer.files.values())
    if total > MAX_TOTAL_BYTES:
        raise KnowledgeError(
            f"the knowledge files add up to {total} bytes, over the {MAX_TOTAL_BYTES}-byte "
            "limit for a whole knowledge stack"
        )
    return read_files


def _read_bytes(path: Path) -> bytes:
    """A regular file's bytes: one stat decides, so a directory, a FIFO or a device is
    reported without ever being opened (a FIFO would block, a device might never end)."""
    try:
        status = os.stat(path)
        if stat.S_ISDIR(status.st_mode):
            raise KnowledgeError([Problem(str(path), 1, "is a directory, expected a YAML file")])
        if not stat.S_ISREG(status.st_mode):
            raise KnowledgeError([Problem(str(path), 1, "is not a regular file")])
        if status.st_size > MAX_FILE_BYTES:
            message = f"file is {status.st_size} bytes, over the {MAX_FILE_BYTES}-byte limit"
            raise KnowledgeError([Problem(str(path), 1, message)])
        with open(path, "rb") as handle:
            # Asked for the size stat gave (one more byte shows a file that grew since):
            # asking for the whole bound makes Python allocate 64 MiB, 1 ms a run at ten
            # times the bundled knowledge.
            raw = handle.read(status.st_size + 1)
            if len(raw) > status.st_size:
                raw += handle.read(MAX_FILE_BYTES + 1 - len(raw))
    except FileNotFoundError:
        raise KnowledgeError([Problem(str(path), 1, "file not found")]) from None
    except OSError as exc:
        raise KnowledgeError([Problem(str(path), 1, f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise KnowledgeError(
            [Problem(str(path), 1, f"file is over the {MAX_FILE_BYTES}-byte limit")]
        )
    return raw


class Checked(Value):
    """Everything one pass over a stack found: the merged records, each layer's description,
    the problems, and whether every file parsed (the cross-record checks need that)."""

    merged: Merged
    layers: list[dict[str, Any]]
    validation: Validation
    complete: bool


def check(stack_files: list[LayerFiles]) -> Checked:
    """Parse, shape-check and merge every file, collecting every problem instead of raising,
    up to `rules.MAX_PROBLEMS`: there checking stops (`validation.stopped`), and `complete`
    is False."""
    from calcref.knowledge import rules
    from calcref.knowledge.merge import Merged

    merged, layers, validation = Merged(), [], rules.Validation()
    try:
        complete = _check(stack_files, merged, layers, validation)
    except rules.TooManyProblems:
        complete = False
    return Checked(merged, layers, validation, complete)


def _check(
    stack_files: list[LayerFiles],
    merged: Merged,
    layers: list[dict[str, Any]],
    validation: Validation,
) -> bool:
    """`check`'s work; whether every file parsed to a mapping."""
    from calcref.knowledge import rules

    complete = True
    for layer_files in stack_files:
        validation.start_layer()
        manifest: dict[str, Any] = {}
        for name, (path, raw) in layer_files.files.items():
            parsed, problems = _parse(path, raw)
            validation.extend(problems)
            if problems or not isinstance(parsed, dict):
                complete = False
            if parsed is not None:  # read whole, though a value in it may have been refused
                validation.check_file(path, name, parsed, layer_files.layer.overlay)
            if not isinstance(parsed, dict):
                continue  # "file must be a mapping" is already reported
            if name == MANIFEST:
                manifest = parsed
            else:
                merged.add_file(validation, path, parsed)
        layers.append(_layer_record(layer_files, manifest))
    if complete:
        validation.check_links(merged.sections)
        rules.check_aliases(validation, merged.sections, merged.origins)
        rules.check_hierarchy(validation, merged.sections, merged.origins)
    return complete


def _parse(path: str, raw: bytes) -> tuple[object, list[Problem]]:
    """One file's bytes as YAML data, or (None, the problems)."""
    from calcref.knowledge import yamlread

    text, problems = yamlread.decode(path, raw)
    if text is None:
        return None, problems
    return yamlread.parse(path, text)


def parse_and_validate(stack_files: list[LayerFiles]) -> dict[str, Any]:
    """YAML bytes of every layer → merged, validated plain data (the sections and the layers,
    as the cache stores them), or KnowledgeError listing every problem found."""
    checked = check(stack_files)
    if checked.validation.problems or checked.validation.stopped:
        raise KnowledgeError(checked.validation.report())
    return {"sections": checked.merged.stamped(), "layers": checked.layers}


def validate(layers: Sequence[stack.Layer]) -> list[Problem]:
    """Every problem the loader and the curators' rules find in a stack, in file order; never
    through the cache. What `calcref validate` reports."""
    from calcref.knowledge import curation

    try:
        stack_files = read(layers)
    except KnowledgeError as exc:
        return exc.problems or [Problem(str(layers[0].directory), 1, str(exc))]
    from calcref.knowledge.rules import TooManyProblems

    with _collector_paused():
        checked = check(stack_files)
    validation = checked.validation
    if validation.stopped is None:
        base = stack_files[0]
        try:  # the curators' rules are generators: stopping at the limit stops them too
            if checked.complete:
                validation.extend(curation.check(checked.merged.sections, checked.merged.origins))
            validation.extend(curation.manifest(base.layer.directory, base.files))
        except TooManyProblems:
            pass
    return validation.report()


def _layer_record(layer_files: LayerFiles, manifest: dict[str, Any]) -> dict[str, Any]:
    """What `info` and `--version` tell about a layer, as plain data for the cache."""
    return {
        "directory": layer_files.layer.name,
        "overlay": layer_files.layer.overlay,
        "files": [path for path, _ in layer_files.files.values()],
        **{key: manifest.get(key) for key in Manifest.FIELDS},
    }


def load(
    layers: Sequence[stack.Layer] | None = None, cache_dir: Path | None = None
) -> KnowledgeBase:
    """The knowledge base of a stack (default: the bundled knowledge), validated, through the
    parse cache in `cache_dir` when one is given. Either all of it loads, or KnowledgeError.

    `load_info.cache_state` says what the cache did: "hit", "written", "not written", "off"
    (no cache_dir) or "unsafe" (a directory that is not the user's own, see
    `cache.private`: neither read nor written)."""
    stack_files = read(tuple(layers) if layers is not None else stack.bundled())
    if cache_dir is None:  # no cache: no key to make (half a millisecond of hashing)
        return _parsed(stack_files, NOT_CACHED)
    key = parse_cache.make_key(__version__, _key_parts(stack_files))
    entry = parse_cache.entry_path(cache_dir, key)
    size = sum(len(raw) for layer_files in stack_files for _, raw in layer_files.files.values())
    limit = parse_cache.size_limit(size)
    try:
        cached = parse_cache.read(cache_dir, key, limit)
    except parse_cache.Unsafe:
        return _parsed(stack_files, LoadInfo(entry, "unsafe"))
    if cached is not None:
        try:
            with _collector_paused():
                return from_cache(cached, LoadInfo(entry, "hit"))
        except _SHAPE_ERRORS:
            pass  # an entry that does not fit this calcref is ignored and rebuilt
    with _collector_paused():
        kb = build(parse_and_validate(stack_files))
        try:
            saved = parse_cache.write(cache_dir, key, to_cache(kb), limit)
            state = "written" if saved else "not written"
        except parse_cache.Unsafe:
            state = "unsafe"
    kb.load_info = LoadInfo(entry, state)
    return kb


def _parsed(stack_files: list[LayerFiles], load_info: LoadInfo) -> KnowledgeBase:
    """The knowledge base read from the files alone."""
    with _collector_paused():
        return build(parse_and_validate(stack_files), load_info)


def build(parsed: dict[str, Any], load_info: LoadInfo = NOT_CACHED) -> KnowledgeBase:
    """Model records from validated plain data (what `parse_and_validate` returns)."""
    sections = {
        section: tuple(kind.build(r) for r in parsed["sections"][section])
        for section, kind in SECTIONS.items()
    }
    return KnowledgeBase(sections, _layers(parsed["layers"]), load_info)


def to_cache(kb: KnowledgeBase) -> dict[str, Any]:
    """What the parse cache stores: every record as a row (`Record.as_row`), and the layers;
    sequences as tuples, which `from_cache` insists on and `marshal` keeps."""
    sections = {s: tuple(record.as_row() for record in getattr(kb, s)) for s in SECTIONS}
    return {"sections": sections, "layers": tuple(layer._asdict() for layer in kb.layers)}


_SHAPE_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError)


def from_cache(payload: dict[str, Any], load_info: LoadInfo) -> KnowledgeBase:
    """The knowledge base `to_cache` stored. An entry that does not fit (another calcref's,
    or one altered with its header forged) raises one of _SHAPE_ERRORS, never half a base:
    every value is checked against its field's declared type before any record is built."""
    _check_layers(payload.get("layers") if type(payload) is dict else None)
    return KnowledgeBase(_records(payload), _layers(payload["layers"]), load_info)


# --- checking a cached payload against the model, and building it -------------------------
#
# A cached entry is checked as strictly as the files were typed: each value of a row has its
# field's declared type (None only where the record may hold None), ints within the YAML
# reader's nine digits, tuples of strings, nested rows of the nested kind, enums within their
# values. It runs on every warm start, so it goes kind by kind rather than value by value: the
# rows of a kind (gathered from every section and parent holding it) are transposed into
# columns in C (zip), and the columns that admit the same types are checked together, so the
# loops over values all run in C and the Python-level work is a few steps per declared field.
# The records are then built from the same columns, kind by kind, innermost first: all the
# records of a kind are made at once, each column is set on all of them in one C loop, and a
# column of nested rows is replaced by the records already built from them. About 0.5 ms
# for checking and 0.5 ms for building the bundled knowledge's thousand records, where a
# record at a time took 1.6 ms to build.

MAX_INT = 999_999_999  # the YAML reader's bound: a plain decimal of at most 9 digits
_NONE = type(None)
_TYPES: dict[str, type] = {
    "str": str,
    "int": int,
    "bool": bool,
    "strs": tuple,
    "record": tuple,
    "records": tuple,
}


class _Plan(Value):
    """How to check the rows of one kind, built once from its declarations."""

    width: int  # values in a row
    groups: tuple[tuple[tuple[int, ...], frozenset[type]], ...]  # columns admitting these types
    ints: tuple[int, ...]  # columns of ints (or None), within MAX_INT
    strs: tuple[int, ...]  # columns of tuples whose items are strings
    enums: tuple[tuple[int, bool, frozenset[str | None]], ...]  # (column, of a strs, values)
    nested: tuple[tuple[int, bool, Any], ...]  # (column, one record, its kind)


def _plan(kind: Any) -> _Plan:
    groups: dict[frozenset[type], list[int]] = {}
    ints, strs, enums, nested = [], [], [], []
    for index, name in enumerate(kind.SLOTS):
        field = kind.FIELDS.get(name)
        if field is None:  # an extra slot (source_file): always a string
            groups.setdefault(frozenset({str}), []).append(index)
            continue
        # A record holds None only where the key may be left out and has no empty value
        # (strs and records become (), bool becomes False): see Record.build.
        nullable = not field.required and field.empty is None
        types = frozenset({_TYPES[field.type], _NONE} if nullable else {_TYPES[field.type]})
        groups.setdefault(types, []).append(index)
        if field.type == "int":
            ints.append(index)
        elif field.type == "strs":
            strs.append(index)
        elif field.kind is not None:
            nested.append((index, field.type == "record", field.kind))
        if field.enum:
            enums.append((index, field.type == "strs", frozenset({*field.enum, None})))
    return _Plan(
        len(kind.SLOTS),
        tuple((tuple(indices), types) for types, indices in groups.items()),
        tuple(ints),
        tuple(strs),
        tuple(enums),
        tuple(nested),
    )


def _kinds() -> dict[Any, _Plan]:
    """Every kind a knowledge base holds, each after every kind that holds it, with its plan."""
    order: list[Any] = []

    def visit(kind: Any) -> None:
        if kind not in order:
            for field in kind.FIELDS.values():
                if field.kind is not None:
                    visit(field.kind)
            order.append(kind)

    for kind in SECTIONS.values():
        visit(kind)
    return {kind: _plan(kind) for kind in reversed(order)}


_KINDS: dict[Any, _Plan] = {}


Span = tuple[int, int]  # where a section's or a nested column's rows are in its kind's rows


def _records(payload: Any) -> dict[str, list[Any]]:
    """Every section's records, built from `to_cache`'s rows once all of them are checked;
    TypeError or ValueError, before any record is made, for a payload that does not fit."""
    if not _KINDS:
        _KINDS.update(_kinds())
    if type(payload) is not dict or type(payload.get("sections")) is not dict:
        raise TypeError("a cache entry is a mapping with a mapping of sections")
    sections = payload["sections"]
    rows_of: dict[Any, list[Any]] = {kind: [] for kind in _KINDS}
    spans: dict[Any, Span] = {}  # by section name, and by (kind, index) of a nested column
    for section, kind in SECTIONS.items():
        rows = sections[section]
        if type(rows) is not tuple:
            raise TypeError(f"section {section} is not a tuple")
        spans[section] = _extend(rows_of[kind], rows)
    columns_of = {  # outermost kinds first: each adds the rows nested in it to their kind's
        kind: _check_rows(kind, plan, rows_of, spans)
        for kind, plan in _KINDS.items()
        if rows_of[kind]
    }
    built: dict[Any, list[Any]] = {kind: [] for kind in _KINDS}
    for kind in reversed(columns_of):  # innermost first: nested records are there to use
        built[kind] = _build(kind, _KINDS[kind], columns_of[kind], built, spans)
    return {section: built[kind][slice(*spans[section])] for section, kind in SECTIONS.items()}


def _extend(rows: list[Any], more: Iterable[Any]) -> Span:
    start = len(rows)
    rows += more
    return start, len(rows)


def _check_rows(
    kind: Any, plan: _Plan, rows_of: dict[Any, list[Any]], spans: dict[Any, Span]
) -> list[Any]:
    """The kind's rows as columns, once every row is a tuple of the kind's slots and each
    value of its declared type; the rows nested in them are added to `rows_of` (their span
    noted in `spans`), to be checked with the other rows of their kind."""
    rows = rows_of[kind]
    width, groups, ints, strs, enums, nested = plan
    if {*map(type, rows)} != {tuple} or {*map(len, rows)} != {width}:
        raise TypeError(f"a {kind.__name__} row is not a tuple of {width} values")
    columns = list(zip(*rows, strict=True))
    column = columns.__getitem__
    for indices, types in groups:
        found = {*map(type, chain.from_iterable(map(column, indices)))}
        if not found <= types:
            raise TypeError(f"a {kind.__name__} row holds a {found - types}")
    if ints:
        numbers = {*chain.from_iterable(map(column, ints))} - {None}
        if numbers and (min(numbers) < -MAX_INT or max(numbers) > MAX_INT):
            raise ValueError(f"a {kind.__name__} row holds a number over 9 digits")
    if strs:
        items = chain.from_iterable(chain.from_iterable(map(column, strs)))
        if not {*map(type, items)} <= {str}:
            raise TypeError(f"a {kind.__name__} row holds a tuple of non-strings")
    for index, of_strs, values in enums:
        used = chain.from_iterable(columns[index]) if of_strs else columns[index]
        if not values.issuperset(used):
            raise ValueError(f"{kind.__name__}.{kind.SLOTS[index]} is outside its values")
    for index, single, inner in nested:
        if single:
            held = [row for row in columns[index] if row is not None]
        else:
            held = chain.from_iterable(columns[index])
        spans[kind, index] = _extend(rows_of[inner], held)
    return columns


def _build(
    kind: Any, plan: _Plan, columns: list[Any], built: dict[Any, list[Any]], spans: dict[Any, Span]
) -> list[Any]:
    """All the records of a kind from its checked columns, the nested rows' records taken
    from `built` in the order `_check_rows` gathered them."""
    for index, single, inner in plan.nested:
        made = iter(built[inner][slice(*spans[kind, index])])
        if single:
            columns[index] = [None if row is None else next(made) for row in columns[index]]
        else:  # each tuple of rows becomes a tuple of as many records
            columns[index] = list(map(tuple, map(islice, repeat(made), map(len, columns[index]))))
    records = list(map(kind.__new__, repeat(kind, len(columns[0]))))
    for name, values in zip(kind.SLOTS, columns, strict=True):
        deque(map(setattr, records, repeat(name), values), maxlen=0)
    return records


_LAYER_TYPES = {
    "directory": (str,),
    "overlay": (bool,),
    "files": (tuple,),
    "version": (str, _NONE),
    "date": (str, _NONE),
    "title": (str, _NONE),
}


def _check_layers(layers: Any) -> None:
    """A non-empty tuple of layers, each with exactly KnowledgeLayer's keys, of their types."""
    if type(layers) is not tuple or not layers:
        raise TypeError("a cache entry's layers are a non-empty tuple")
    for layer in layers:
        if type(layer) is not dict or layer.keys() != _LAYER_TYPES.keys():
            raise TypeError("a cached layer does not have a layer's keys")
        for name, types in _LAYER_TYPES.items():
            if type(layer[name]) not in types:
                raise TypeError(f"a cached layer's {name} is not a {types[0].__name__}")
        if {*map(type, layer["files"])} - {str}:
            raise TypeError("a cached layer's files are not strings")


def _layers(layers: Sequence[dict[str, Any]]) -> tuple[KnowledgeLayer, ...]:
    return tuple(KnowledgeLayer(**layer | {"files": tuple(layer["files"])}) for layer in layers)


def _key_parts(stack_files: list[LayerFiles]) -> list[bytes]:
    """Each layer's role and name as given, and each file's path and bytes: a record's layer
    and source_file are part of the answer, so the same bytes at another path (or the same
    directory spelled another way) are another entry."""
    parts = []
    for layer_files in stack_files:
        parts.append(b"overlay" if layer_files.layer.overlay else b"base")
        parts.append(os.fsencode(layer_files.layer.name))  # answers repeat it as given
        for path, raw in layer_files.files.values():
            parts += [os.fsencode(path), raw]
    return parts


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Parsing makes millions of small objects and no reference cycles; left on, the cyclic
    collector rescans them again and again (a third of a cold load of a large knowledge base).
    Building from the cache makes thousands of records and their tuples: the same holds."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
