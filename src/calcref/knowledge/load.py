"""Read the knowledge stack (through the cache when it can answer), merge and validate it.

Either the whole knowledge base loads, or a KnowledgeError lists every problem found as
`path:line: message`. Nothing is ever half-loaded.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

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
)
from calcref.version import __version__

if TYPE_CHECKING:  # parsing modules import PyYAML, which a warm start never needs
    from calcref.knowledge.merge import Merged
    from calcref.knowledge.rules import Validation

MAX_FILE_BYTES = 64 * 1024 * 1024


class LayerFiles(NamedTuple):
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
    return read_files


def _read_bytes(path: Path) -> bytes:
    try:
        if path.is_dir():
            raise KnowledgeError([Problem(str(path), 1, "is a directory, expected a YAML file")])
        if path.exists() and not path.is_file():
            # A FIFO or device would block or never end: only regular files are read.
            raise KnowledgeError([Problem(str(path), 1, "is not a regular file")])
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise KnowledgeError(
                [
                    Problem(
                        str(path), 1, f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit"
                    )
                ]
            )
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise KnowledgeError([Problem(str(path), 1, "file not found")]) from None
    except OSError as exc:
        raise KnowledgeError([Problem(str(path), 1, f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise KnowledgeError(
            [Problem(str(path), 1, f"file is over the {MAX_FILE_BYTES}-byte limit")]
        )
    return raw


class Checked(NamedTuple):
    """Everything one pass over a stack found: the merged records, each layer's description,
    the problems, and whether every file parsed (the cross-record checks need that)."""

    merged: Merged
    layers: list[dict[str, Any]]
    validation: Validation
    complete: bool


def check(stack_files: list[LayerFiles]) -> Checked:
    """Parse, shape-check and merge every file, collecting every problem instead of raising."""
    from calcref.knowledge import rules
    from calcref.knowledge.merge import Merged

    merged, layers, validation, complete = Merged(), [], rules.Validation(), True
    for layer_files in stack_files:
        validation.start_layer()
        manifest: dict[str, Any] = {}
        for name, (path, raw) in layer_files.files.items():
            parsed, problems = _parse(path, raw)
            validation.problems.extend(problems)
            if problems or not isinstance(parsed, dict):
                complete = False
            if not problems:
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
    return Checked(merged, layers, validation, complete)


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
    if checked.validation.problems:
        raise KnowledgeError(_in_order(checked.validation.problems))
    return {"sections": checked.merged.stamped(), "layers": checked.layers}


def validate(layers: Sequence[stack.Layer]) -> list[Problem]:
    """Every problem the loader and the curators' rules find in a stack, in file order; never
    through the cache. What `calcref validate` reports."""
    from calcref.knowledge import curation

    try:
        stack_files = read(layers)
    except KnowledgeError as exc:
        return exc.problems or [Problem(str(layers[0].directory), 1, str(exc))]
    with _collector_paused():
        checked = check(stack_files)
    problems = list(checked.validation.problems)
    if checked.complete:
        problems += curation.check(checked.merged.sections, checked.merged.origins)
    base = stack_files[0]
    problems += curation.manifest(base.layer.directory, base.files)
    return _in_order(problems)


def _in_order(problems: list[Problem]) -> list[Problem]:
    unique = dict.fromkeys(problems)  # a stack may meet one problem twice
    return sorted(unique, key=lambda p: (p.path, p.line))


def _layer_record(layer_files: LayerFiles, manifest: dict[str, Any]) -> dict[str, Any]:
    """What `info` and `--version` tell about a layer, as plain data for the cache."""
    return {
        "directory": str(layer_files.layer.directory),
        "overlay": layer_files.layer.overlay,
        "files": [path for path, _ in layer_files.files.values()],
        **{key: manifest.get(key) for key in Manifest.FIELDS},
    }


def load(
    layers: Sequence[stack.Layer] | None = None, cache_dir: Path | None = None
) -> KnowledgeBase:
    """The knowledge base of a stack (default: the bundled knowledge), validated, through the
    parse cache in `cache_dir` when one is given. Either all of it loads, or KnowledgeError."""
    stack_files = read(tuple(layers) if layers is not None else stack.bundled())
    key = parse_cache.make_key(__version__, _key_parts(stack_files))
    entry = parse_cache.entry_path(cache_dir, key)
    cached = parse_cache.read(cache_dir, key)
    if cached is not None:
        try:
            return from_cache(cached, LoadInfo(entry, "hit"))
        except _SHAPE_ERRORS:
            pass  # an entry that does not fit this calcref is ignored and rebuilt
    with _collector_paused():
        kb = build(parse_and_validate(stack_files))
        saved = parse_cache.write(cache_dir, key, to_cache(kb))
    kb.load_info = LoadInfo(
        entry, "off" if entry is None else "written" if saved else "not written"
    )
    return kb


def build(parsed: dict[str, Any], load_info: LoadInfo = NOT_CACHED) -> KnowledgeBase:
    """Model records from validated plain data (what `parse_and_validate` returns)."""
    sections = {
        section: tuple(kind.build(r) for r in parsed["sections"][section])
        for section, kind in SECTIONS.items()
    }
    return KnowledgeBase(sections, _layers(parsed["layers"]), load_info)


def to_cache(kb: KnowledgeBase) -> dict[str, Any]:
    """What the parse cache stores: every record as a row (`Record.as_row`), and the layers."""
    sections = {s: [record.as_row() for record in getattr(kb, s)] for s in SECTIONS}
    return {"sections": sections, "layers": [layer._asdict() for layer in kb.layers]}


_SHAPE_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError)


def from_cache(payload: dict[str, Any], load_info: LoadInfo) -> KnowledgeBase:
    """The knowledge base `to_cache` stored. An entry that does not fit (another calcref's,
    or one altered with its digest forged) raises one of _SHAPE_ERRORS, never half a base."""
    sections = {
        section: tuple(kind.from_row(row) for row in payload["sections"][section])
        for section, kind in SECTIONS.items()
    }
    return KnowledgeBase(sections, _layers(payload["layers"]), load_info)


def _layers(layers: list[dict[str, Any]]) -> tuple[KnowledgeLayer, ...]:
    return tuple(KnowledgeLayer(**layer | {"files": tuple(layer["files"])}) for layer in layers)


def _key_parts(stack_files: list[LayerFiles]) -> list[bytes]:
    """Each layer's role, and each file's path and bytes: a record's source_file is part of
    the answer, so the same bytes at another path are another entry."""
    parts = []
    for layer_files in stack_files:
        parts.append(b"overlay" if layer_files.layer.overlay else b"base")
        for path, raw in layer_files.files.values():
            parts += [os.fsencode(path), raw]
    return parts


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Parsing makes millions of small objects and no reference cycles; left on, the cyclic
    collector rescans them again and again (a third of a cold load of a large knowledge base).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
