"""Find the knowledge files, read them (through the cache when it can answer) and validate.

Either the whole knowledge base loads, or a KnowledgeError lists every problem found as
`path:line: message`. Nothing is ever half-loaded.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from calcref import __version__
from calcref import cache as parse_cache
from calcref.build import Parsed, build, sections_of
from calcref.errors import KnowledgeError, Problem
from calcref.model import KnowledgeBase

FILE_NAMES = ("subtypes.yaml", "therapies.yaml")
MAX_FILE_BYTES = 64 * 1024 * 1024
DATA_ENV = "CALCREF_DATA"


def data_dir() -> Path:
    """The one place knowledge is found: $CALCREF_DATA, else the installed or checked-out copy.

    A wheel carries the files inside the package (calcref/data); an editable install or a
    source checkout finds them at the repository's top-level data/.
    """
    override = os.environ.get(DATA_ENV)
    if override is not None:
        path = Path(override)
        if not override.strip() or not path.is_dir():
            raise KnowledgeError(f"{DATA_ENV}={override!r} is not a directory")
        return path
    here = Path(__file__).resolve().parent
    for candidate in (here / "data", here.parent.parent / "data"):
        if (candidate / FILE_NAMES[0]).is_file():
            return candidate
    raise KnowledgeError(f"knowledge files not found next to {here}; reinstall calcref")


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


def parse_and_validate(files: dict[str, tuple[str, bytes]]) -> dict[str, Any]:
    """YAML bytes of both files → validated plain data, or KnowledgeError with every problem."""
    from calcref import schema, yamlread

    validation = schema.Validation()
    data: dict[str, Any] = {}
    for name, (path, raw) in files.items():
        text, problems = yamlread.decode(path, raw)
        parsed = None
        if text is not None:
            parsed, problems = yamlread.parse(path, text)
        validation.problems.extend(problems)
        if not problems:
            validation.check_file(path, name, parsed)
            if isinstance(parsed, dict):  # else "file must be a mapping" is already reported
                data[name] = parsed
    if len(data) == len(files):
        validation.check_links()
        schema.check_aliases(validation, data, {n: p for n, (p, _) in files.items()})
        schema.check_hierarchy(validation, data, files["subtypes.yaml"][0])
    if validation.problems:
        raise KnowledgeError(sorted(validation.problems, key=lambda p: (p.path, p.line)))
    return data


@cache
def load() -> KnowledgeBase:
    """The knowledge base, loaded and validated once per process."""
    directory = data_dir()
    files = {name: (str(directory / name), _read_bytes(directory / name)) for name in FILE_NAMES}
    key = parse_cache.make_key(__version__, [raw for _, raw in files.values()])
    cached = parse_cache.read(key)
    if cached is not None:
        return build(cached)
    with _collector_paused():
        parsed = Parsed(sections_of(parse_and_validate(files)))
        parse_cache.write(key, parsed.sections, parsed.index_parts)
        return build(parsed)


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
