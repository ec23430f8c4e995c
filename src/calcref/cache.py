"""A parse cache for the knowledge, so repeat runs skip PyYAML and validation entirely.

The key is a hash of calcref's version, the cache format and the exact bytes of both knowledge
files, so an edited file or a new release can never be answered from an old entry. Entries are
written to a temporary file and renamed into place (atomic, so racing processes each see a
whole file), and carry a digest of their payload: a truncated or corrupted entry fails the
check and is ignored, never trusted.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
from pathlib import Path
from typing import Any

FORMAT = "calcref-cache-5"


def cache_dir() -> Path | None:
    """$XDG_CACHE_HOME/calcref (or ~/.cache/calcref); None when caching is switched off."""
    if os.environ.get("CALCREF_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "calcref"


def make_key(version: str, contents: list[bytes]) -> str:
    """Version, cache format, the code that shapes cached data, and the knowledge bytes."""
    digest = hashlib.sha256(f"{FORMAT}\0{version}\0".encode())
    here = Path(__file__).parent
    code = _code(here / "schema.py", here / "merge.py", here / "build.py")
    for raw in (*code, *contents):
        digest.update(len(raw).to_bytes(8, "little"))
        digest.update(raw)
    return digest.hexdigest()


def _code(*paths: Path) -> list[bytes]:
    """Source of the modules that decide what a cached section holds, so a changed rule can
    never meet an entry written under the old one, even before a version bump."""
    sources = []
    for path in paths:
        try:
            sources.append(path.read_bytes())
        except OSError:
            sources.append(b"")
    return sources


def entry_path(key: str) -> str | None:
    """Where the entry for `key` lives (whether or not it exists yet); None when caching is off."""
    directory = cache_dir()
    return None if directory is None else str(directory / f"{key}.json")


class Cached:
    """Cached records, each decoded from its own byte span only when it is read."""

    def __init__(self, body: bytes, spans: dict[str, list[int]]) -> None:
        self._body, self._spans = body, spans

    def count(self, kind: str) -> int:
        return len(self._spans[kind]) - 1

    def record(self, kind: str, position: int) -> Any:
        bounds = self._spans[kind]
        return json.loads(self._body[bounds[position] : bounds[position + 1]])

    def index_part(self, name: str) -> Any:
        return self.record(INDEX + name, 0)


INDEX = "index:"  # prefix of the sections holding one index part each


def read(key: str) -> Cached | None:
    """The cached records for `key`, or None if absent, unreadable or failing its digest."""
    directory = cache_dir()
    if directory is None:
        return None
    try:
        blob = (directory / f"{key}.json").read_bytes()
        header, _, body = blob.partition(b"\n")
        meta = json.loads(header)
        if meta.get("format") != FORMAT or meta.get("key") != key:
            return None
        if hashlib.sha256(body).hexdigest() != meta.get("sha256"):
            return None
        spans = meta["spans"]
        if not _spans_fit(spans, len(body)):
            return None
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return None
    return Cached(body, spans)


def _spans_fit(spans: object, size: int) -> bool:
    """Every section's bounds rise within the body and the last one ends it exactly."""
    if not isinstance(spans, dict) or INDEX + "therapies" not in spans:
        return False
    end = 0
    for bounds in spans.values():
        if not isinstance(bounds, list) or not bounds or bounds[0] != end:
            return False
        if any(not isinstance(b, int) or b < a for a, b in itertools.pairwise(bounds)):
            return False
        end = bounds[-1]
    return end == size


def write(key: str, sections: dict[str, list[Any]], index_parts: dict[str, Any]) -> bool:
    """Best effort: a cache that cannot be written only costs speed, never an answer. True
    when the entry was saved."""
    directory = cache_dir()
    if directory is None:
        return False
    import tempfile  # only when writing, which a warm cache never does

    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    chunks: list[bytes] = []
    spans: dict[str, list[int]] = {}
    offset = 0
    index_sections = {INDEX + name: [part] for name, part in index_parts.items()}
    for kind, records in (*sections.items(), *index_sections.items()):
        bounds = spans[kind] = [offset]
        for record in records:
            chunk = encode(record).encode()
            chunks.append(chunk)
            offset += len(chunk)
            bounds.append(offset)
    body = b"".join(chunks)
    digest = hashlib.sha256(body).hexdigest()
    meta = {"format": FORMAT, "key": key, "sha256": digest, "spans": spans}
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(json.dumps(meta).encode() + b"\n" + body)
        os.replace(tmp, directory / f"{key}.json")
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    return True
