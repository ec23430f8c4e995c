"""Parse-cache entries as tests read and forge them: a header line, then a `marshal` body.

A forger who can write to the cache directory can always make a header that fits the body
(`cache.header`): these helpers do so, so a test reaches the loader's checks of the payload
itself. The payload is thawed (tuples to lists) for a test to edit in place, and frozen back
(lists to tuples) as calcref writes it.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from calcref.knowledge import cache


def thaw(value: Any) -> Any:
    """Every tuple inside `value` as a list, to be edited in place."""
    if isinstance(value, tuple | list):
        return [thaw(item) for item in value]
    if isinstance(value, dict):
        return {key: thaw(item) for key, item in value.items()}
    return value


def freeze(value: Any) -> Any:
    """Every list inside `value` as a tuple, as `load.to_cache` writes it."""
    if isinstance(value, tuple | list):
        return tuple(freeze(item) for item in value)
    if isinstance(value, dict):
        return {key: freeze(item) for key, item in value.items()}
    return value


def key_of(raw: bytes) -> str:
    """The key an entry's header names."""
    return raw.split(b"\n", 1)[0].split(b" ")[1].decode()


def body_of(raw: bytes) -> bytes:
    return raw.split(b"\n", 1)[1]


def split(raw: bytes) -> tuple[str, Any]:
    """An entry's key and its payload, thawed."""
    return key_of(raw), thaw(marshal.loads(body_of(raw)))


def forged(key: str, body: bytes) -> bytes:
    """An entry whose header fits `body`, as a forger would write it."""
    return cache.header(key, body) + body


def encoded(payload: Any) -> bytes:
    """A (thawed) payload as the body calcref would write for it."""
    return marshal.dumps(freeze(payload))


def forge(entry: Path, change: Callable[[Any], object]) -> None:
    """Edit the entry's payload with `change` and forge a header to fit."""
    key, payload = split(entry.read_bytes())
    change(payload)
    entry.write_bytes(forged(key, encoded(payload)))
