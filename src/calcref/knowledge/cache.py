"""A whole-file parse cache for the knowledge, so repeat runs skip PyYAML and validation.

The key is a hash of calcref's version, the cache format, the code that shapes cached data
and the exact bytes and paths of every knowledge file, so an edited file or a new release is
never answered from an old entry. An entry is one header line (format, key, digest of the
body) and the validated records as one JSON document, each record a row of values in the
order its kind declares them (`Record.as_row`). It is written to a temporary file and
renamed into place (atomic: racing processes each see a whole file); a truncated or corrupted
entry fails its digest and is ignored, never trusted.

On the bundled knowledge this saves about 25 ms a run; decoding the whole entry eagerly costs
under a millisecond, so nothing finer-grained is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FORMAT = "calcref-cache-7"
_CODE = ("rules.py", "merge.py", "load.py", "../model.py")  # what shapes a cached entry


def location(environ: Mapping[str, str]) -> Path | None:
    """$XDG_CACHE_HOME/calcref (or ~/.cache/calcref); None when CALCREF_NO_CACHE is set.

    Takes the environment as an argument: only the CLI reads the real one."""
    if environ.get("CALCREF_NO_CACHE"):
        return None
    home = environ.get("HOME") or os.path.expanduser("~")
    base = environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    return Path(base) / "calcref"


def make_key(version: str, contents: list[bytes]) -> str:
    """Version, cache format, the code that shapes cached data, and the knowledge bytes."""
    digest = hashlib.sha256(f"{FORMAT}\0{version}\0".encode())
    here = Path(__file__).parent
    for raw in (*(_source(here / name) for name in _CODE), *contents):
        digest.update(len(raw).to_bytes(8, "little"))
        digest.update(raw)
    return digest.hexdigest()


def _source(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def entry_path(directory: Path | None, key: str) -> str | None:
    """Where the entry for `key` lives (whether or not it exists yet); None when off."""
    return None if directory is None else str(directory / f"{key}.json")


def read(directory: Path | None, key: str) -> Any | None:
    """The cached payload for `key`, or None if absent, unreadable or failing its digest."""
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
        return json.loads(body)
    except (OSError, ValueError, AttributeError, RecursionError):
        return None


def write(directory: Path | None, key: str, payload: Any) -> bool:
    """Best effort: a cache that cannot be written only costs speed, never an answer. True
    when the entry was saved."""
    if directory is None:
        return False
    import tempfile  # only when writing, which a warm cache never does

    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    meta = {"format": FORMAT, "key": key, "sha256": hashlib.sha256(body).hexdigest()}
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
