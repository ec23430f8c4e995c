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
import json
import os
from pathlib import Path
from typing import Any

FORMAT = "calcref-cache-1"


def cache_dir() -> Path | None:
    """$XDG_CACHE_HOME/calcref (or ~/.cache/calcref); None when caching is switched off."""
    if os.environ.get("CALCREF_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "calcref"


def make_key(version: str, contents: list[bytes]) -> str:
    digest = hashlib.sha256(f"{FORMAT}\0{version}\0".encode())
    for raw in contents:
        digest.update(len(raw).to_bytes(8, "little"))
        digest.update(raw)
    return digest.hexdigest()


def read(key: str) -> dict[str, Any] | None:
    """The cached payload for `key`, or None if absent, unreadable or failing its digest."""
    directory = cache_dir()
    if directory is None:
        return None
    try:
        blob = (directory / f"{key}.json").read_bytes()
        header, _, payload = blob.partition(b"\n")
        meta = json.loads(header)
        if meta.get("format") != FORMAT or meta.get("key") != key:
            return None
        if hashlib.sha256(payload).hexdigest() != meta.get("sha256"):
            return None
        data = json.loads(payload)
    except (OSError, ValueError, AttributeError):
        return None
    return data if isinstance(data, dict) else None


def write(key: str, data: dict[str, Any]) -> None:
    """Best effort: a cache that cannot be written only costs speed, never an answer."""
    directory = cache_dir()
    if directory is None:
        return
    import tempfile  # only when writing, which a warm cache never does

    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    header = json.dumps(
        {"format": FORMAT, "key": key, "sha256": hashlib.sha256(payload).hexdigest()}
    ).encode()
    with contextlib.suppress(OSError):
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(header + b"\n" + payload)
            os.replace(tmp, directory / f"{key}.json")
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
