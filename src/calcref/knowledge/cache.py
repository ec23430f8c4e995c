"""A whole-file parse cache for the knowledge, so repeat runs skip PyYAML and validation.

The key is a BLAKE2b hash of calcref's version, the cache format, Python's marshal format,
the code that shapes cached data and the exact bytes and paths of every knowledge file, so an
edited file, a new release or another Python's marshal is never answered from an old entry.
An entry is one header line (format, key, the body's length and CRC-32) and the validated
records as one `marshal` body, each record a tuple of values in the order its kind declares
them (`Record.as_row`). It is written to a temporary file and renamed into place (atomic:
racing processes each see a whole file); a truncated or corrupted entry fails its header and
is ignored, never trusted. The CRC only catches accidents: the loader also checks every
value against the model's declared types before using it (`load.from_cache`), so an entry
that fits its header but not the model is rebuilt too.

Why these, at every start (measured on the bundled knowledge): `marshal` is built into the
interpreter (nothing to import), keeps tuples as tuples (records take them as they are) and
decodes the body in about 0.5 ms where `json` took 0.8 ms plus 1.3 ms to import it. It also
writes an object it meets again as a back-reference, and the parser makes a file's equal
strings one object (`yamlread`), so each id and value repeated across records is stored and
decoded once (at ten times the bundled knowledge: a quarter of the size, and of the time).
BLAKE2b is a cryptographic hash, so distinct knowledge never shares a key, and `_blake2`
imports in 0.2 ms where `hashlib` loads OpenSSL in 3 ms. CRC-32 (zlib, already imported by
Typer) is enough to catch a torn or damaged write, which is all the header's check is for.

The directory (the XDG Base Directory rules). `location` is a pure function of the
environment it is given: `$XDG_CACHE_HOME/calcref` when XDG_CACHE_HOME is an absolute path (a
relative one is ignored, as the specification says), else `~/.cache/calcref`. `write`
creates it, and any missing parents, with mode 0700. Where the directory is read or written
it is first opened without following a symlink and checked (`private`): a directory that is
not owned by the current user, or that its group or anyone else may write to, or a symlink
in its place, is never read and never written. `read` and `write` raise `Unsafe` for it, and
`load()` reports the cache state "unsafe" (with the entry it would have used), answering from
the files.

Entries are opened only as regular files (O_NOFOLLOW | O_NONBLOCK, then fstat): a FIFO, a
device, a symlink or a directory in an entry's place is ignored, never read (nor waited on).
An entry larger than the caller's bound (`size_limit`: four times the knowledge's bytes plus
1 MiB) is ignored, and no more than that is ever read.

Housekeeping, best effort and never an error: writing an entry removes all but the KEEP most
recently used entries (by mtime; a hit refreshes its entry's mtime, at most once an hour;
the `*.json` entries of earlier formats count among them) and `.tmp-*` files older than
STALE_TMP seconds, left by an interrupted write.

On the bundled knowledge this saves about 25 ms a run; decoding the whole entry eagerly costs
under a millisecond, so nothing finer-grained is kept.
"""

from __future__ import annotations

import contextlib
import errno
import marshal
import os
import stat
import time
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

try:  # CPython's own module: what hashlib.blake2b is, without importing OpenSSL
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - another interpreter
    from hashlib import blake2b

FORMAT = "calcref-cache-8"
SUFFIX = ".marshal"
_OLD_SUFFIXES = (".json",)  # entries of earlier formats: still pruned, never read
_CODE = (  # what shapes a cached entry: the readers, the checks, the merge, the model
    "yamlread.py",
    "pyyamlread.py",
    "rules.py",
    "merge.py",
    "load.py",
    "../model.py",
)

KEEP = 8  # entries kept when one is written: the most recently used
STALE_TMP = 300  # seconds after which a .tmp- file is an interrupted write
TOUCH_AFTER = 3600  # a hit refreshes its entry's mtime when it is older than this
MAX_ENTRY_BYTES = 256 * 1024 * 1024  # the bound when the caller gives none

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_OPEN_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_HEX = frozenset("0123456789abcdef")
_UNDECODABLE = (ValueError, EOFError, TypeError, MemoryError)  # what marshal.loads raises


class Unsafe(Exception):
    """The cache directory is not the user's own (see `private`): it is not used this run."""


def location(environ: Mapping[str, str]) -> Path | None:
    """$XDG_CACHE_HOME/calcref (or ~/.cache/calcref); None when CALCREF_NO_CACHE is set.

    A relative XDG_CACHE_HOME is ignored, as the XDG specification says. Takes the
    environment as an argument: only the CLI reads the real one. Whether the directory is
    safe to use is checked where it is read or written, not here."""
    if environ.get("CALCREF_NO_CACHE"):
        return None
    base = environ.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(base):
        home = environ.get("HOME") or os.path.expanduser("~")
        base = os.path.join(home, ".cache")
    return Path(base) / "calcref"


def private(status: os.stat_result) -> bool:
    """The one safety rule: a directory owned by the current user that neither its group nor
    anyone else may write to. Anything else could hold entries another user forged."""
    getuid = getattr(os, "getuid", None)  # no owners to compare where there is no getuid
    return (
        stat.S_ISDIR(status.st_mode)
        and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        and (getuid is None or status.st_uid == getuid())
    )


def size_limit(knowledge_bytes: int) -> int:
    """The largest entry worth reading for knowledge files of this many bytes in all."""
    return 4 * knowledge_bytes + 1024 * 1024


def make_key(version: str, contents: list[bytes]) -> str:
    """Version, cache format, marshal format, the code that shapes cached data, and the
    knowledge bytes, each part prefixed by its length so no two sequences run together."""
    digest = blake2b(f"{FORMAT}\0{version}\0{marshal.version}\0".encode(), digest_size=32)
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
    return None if directory is None else str(directory / f"{key}{SUFFIX}")


@contextlib.contextmanager
def _opened(directory: Path) -> Iterator[int | None]:
    """The cache directory as a file descriptor, checked by `private` (None when it is absent
    or cannot be opened); every entry is then opened relative to it, so the directory checked
    is the directory used. Raises Unsafe for a directory that is not the user's own."""
    try:
        fd = os.open(directory, _OPEN_FLAGS)
    except OSError as exc:
        if _NOFOLLOW and exc.errno == errno.ELOOP:  # a symlink in its place: never followed
            raise Unsafe(str(directory)) from None
        fd = None
    if fd is None:
        yield None
        return
    try:
        status = os.fstat(fd)
        if not stat.S_ISDIR(status.st_mode):
            yield None  # a file in its place: unusable, not somebody else's
        elif not private(status):
            raise Unsafe(str(directory))
        else:
            yield fd
    finally:
        os.close(fd)


def header(key: str, body: bytes) -> bytes:
    """The line an entry starts with: its format, its key, and its body's length and CRC-32."""
    return f"{FORMAT} {key} {len(body)} {zlib.crc32(body):08x}\n".encode()


def read(directory: Path | None, key: str, limit: int = MAX_ENTRY_BYTES) -> Any | None:
    """The cached payload for `key`, or None if absent, not a regular file, over `limit`
    bytes, unreadable, or not under the header its body calls for. Raises Unsafe (see
    `private`). The payload is whatever the body decodes to: the caller checks its types."""
    if directory is None:
        return None
    with _opened(directory) as fd:
        blob = None if fd is None else _read_entry(fd, f"{key}{SUFFIX}", limit)
    if blob is None:
        return None
    line, newline, body = blob.partition(b"\n")
    if not newline or line + newline != header(key, body):
        return None
    try:
        return marshal.loads(body)
    except _UNDECODABLE:
        return None


def _read_entry(directory_fd: int, name: str, limit: int) -> bytes | None:
    """An entry's bytes, if it is a regular file of at most `limit` bytes."""
    try:
        fd = os.open(name, _OPEN_FLAGS, dir_fd=directory_fd)
    except OSError:
        return None  # absent, or a symlink (O_NOFOLLOW)
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode) or status.st_size > limit:
            return None  # a FIFO, a device, a directory: never read
        blob = os.read(fd, status.st_size + 1)  # one read; the byte more sees it grow
        if len(blob) > limit:
            return None  # grew past the bound since fstat (one cut short fails its digest)
        if status.st_mtime < time.time() - TOUCH_AFTER:
            with contextlib.suppress(OSError, NotImplementedError):
                os.utime(fd)  # recently used: kept by the pruning
        return blob
    except OSError:
        return None
    finally:
        os.close(fd)


def write(directory: Path | None, key: str, payload: Any, limit: int = MAX_ENTRY_BYTES) -> bool:
    """Best effort: a cache that cannot be written only costs speed, never an answer. True
    when the entry was saved. Raises Unsafe (see `private`): nothing is written there."""
    if directory is None:
        return False
    try:
        body = marshal.dumps(payload)
    except ValueError:  # a value marshal cannot write (never one the loader builds)
        return False
    blob = header(key, body) + body
    if len(blob) > limit:
        return False  # it would never be read back
    try:
        _make(directory)
    except OSError:
        return False
    with _opened(directory) as fd:
        if fd is None:
            return False
        name = f"{key}{SUFFIX}"
        if not _write_entry(fd, name, blob):
            return False
        _prune(fd, name)
    return True


def _make(directory: Path) -> None:
    """The directory and any missing parents, each made with mode 0700 (the XDG rule)."""
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except FileNotFoundError:
        if directory.parent == directory:
            raise
        _make(directory.parent)
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o700)


def _write_entry(directory_fd: int, name: str, blob: bytes) -> bool:
    """`blob` written to a new temporary file, then renamed to `name` (atomic)."""
    tmp = f".tmp-{os.getpid()}-{os.urandom(6).hex()}{SUFFIX}"
    try:
        fd = os.open(tmp, _CREATE_FLAGS, 0o600, dir_fd=directory_fd)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
        os.replace(tmp, name, src_dir_fd=directory_fd, dst_dir_fd=directory_fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=directory_fd)
        return False
    return True


def _prune(directory_fd: int, written: str) -> None:
    """Remove all but the KEEP most recently used entries (`written` among them) and every
    `.tmp-` file older than STALE_TMP seconds. Best effort: never an error."""
    now, entries, stale = time.time(), [], []
    try:
        with os.scandir(directory_fd) as listing:
            for item in listing:
                name = item.name
                is_tmp = name.startswith(".tmp-")
                if not is_tmp and (name == written or not _is_entry(name)):
                    continue
                with contextlib.suppress(OSError):
                    mtime = item.stat(follow_symlinks=False).st_mtime
                    if not is_tmp:
                        entries.append((mtime, name))
                    elif now - mtime > STALE_TMP:
                        stale.append(name)
    except OSError:
        return
    entries.sort(reverse=True)
    for name in stale + [name for _, name in entries[KEEP - 1 :]]:
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=directory_fd)


def _is_entry(name: str) -> bool:
    """A file named as calcref names its entries, of this format or an earlier one."""
    stem, dot, suffix = name.partition(".")
    return (
        f"{dot}{suffix}" in (SUFFIX, *_OLD_SUFFIXES) and len(stem) == 64 and _HEX.issuperset(stem)
    )
