"""The parse cache can be trusted, or it is not used (issue 15).

A cache entry's header (its body's length and CRC-32) catches accidents, not forgeries:
anyone who can write to the cache directory can write an entry whose header fits. So the
directory must be the user's own (XDG rules: made 0700; not used when another user owns it
or others may write to it), an entry is read only as a bounded regular file, and every value
in it must have its field's declared type before it is used; anything else is ignored and
rebuilt from the files.
Housekeeping keeps the directory small.

Pinned as a user meets it: through `calcref.knowledge.load(layers, cache_dir)` and through
the CLI (`clirun`) with XDG_CACHE_HOME set.
"""

from __future__ import annotations

import importlib
import json
import marshal
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cachefile import body_of, encoded, forge, forged, freeze, key_of, split, thaw
from clirun import ok

from calcref.knowledge import cache, load, stack
from calcref.model import KnowledgeBase, Position, Reference, Study, Therapy

load_module = importlib.import_module("calcref.knowledge.load")

THERAPY = "diltiazem"
NAME_AT = Therapy.SLOTS.index("name")
# Slow as a whole (see CONTRIBUTING): the tests load copies of the knowledge through cache
# entries and directories of their own, forged or unsafe, each load a cold parse.
pytestmark = pytest.mark.slow


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """A cache directory of this test's own, not yet made."""
    return tmp_path / "cache" / "calcref"


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    """Set the process umask for the test, restored afterwards."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def load_copy(directory: Path, cache_dir: Path | None) -> KnowledgeBase:
    return load(stack.from_setting(str(directory)), cache_dir)


def entries(directory: Path) -> list[Path]:
    """The cache entries (not the .tmp- files of a write under way)."""
    return sorted(p for p in directory.glob(f"*{cache.SUFFIX}") if not p.name.startswith("."))


def count_parsing(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = load_module.parse_and_validate

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(load_module, "parse_and_validate", counting)
    return calls


def therapy_row(payload: Any, therapy_id: str = THERAPY) -> list[Any]:
    id_at = Therapy.SLOTS.index("id")
    return next(r for r in payload["sections"]["therapies"] if r[id_at] == therapy_id)


def rename_therapy(payload: Any) -> None:
    """A well-typed forgery: only a value changed."""
    therapy_row(payload)[NAME_AT] = "FORGED"


def snapshot(directory: Path) -> dict[str, tuple[bytes, int, float]]:
    return {
        p.name: (p.read_bytes(), p.stat().st_mode, p.stat().st_mtime)
        for p in sorted(directory.iterdir())
    }


# --- the directory: XDG rules ------------------------------------------------------------------


@pytest.mark.parametrize("relative", ["relative-cache", "./cache", "cache/dir", "."])
def test_a_relative_xdg_cache_home_is_ignored(relative: str) -> None:
    environ = {"XDG_CACHE_HOME": relative, "HOME": "/home/u"}
    assert cache.location(environ) == Path("/home/u/.cache/calcref")


def test_a_relative_xdg_cache_home_creates_nothing_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    monkeypatch.chdir(work)
    env = {"XDG_CACHE_HOME": "relative-cache", "HOME": str(home)}
    ok("levels", env=env)
    info = json.loads(ok("info", "--json", env=env).stdout)["cache"]
    assert list(work.iterdir()) == []
    assert info["state"] == "hit"
    assert Path(info["entry"]).parent == home / ".cache" / "calcref"


@pytest.mark.parametrize("mask", [0o022, 0o000, 0o002], ids=oct)
def test_the_directory_and_its_parents_are_made_0700(
    knowledge: Path, tmp_path: Path, umask: Callable[[int], None], mask: int
) -> None:
    """Whatever the umask, no one else may read or write the cache: directories 0700
    (parents too, as XDG asks), entries 0600."""
    umask(mask)
    directory = tmp_path / "made" / "xdg" / "calcref"
    kb = load_copy(knowledge, directory)
    assert kb.load_info.cache_state == "written"
    for made in (tmp_path / "made", tmp_path / "made" / "xdg", directory):
        assert stat.S_IMODE(made.stat().st_mode) == 0o700, made
    (entry,) = entries(directory)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert load_copy(knowledge, directory).load_info.cache_state == "hit"


def test_an_existing_directory_keeps_its_mode(knowledge: Path, tmp_path: Path) -> None:
    """calcref makes what is missing; it does not change a directory the user made."""
    directory = tmp_path / "calcref"
    directory.mkdir()
    directory.chmod(0o750)
    assert load_copy(knowledge, directory).load_info.cache_state == "written"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o750
    assert load_copy(knowledge, directory).load_info.cache_state == "hit"


# --- the directory: one that is not the user's own is never used -------------------------------


def test_a_forged_entry_in_the_users_own_directory_is_answered(
    knowledge: Path, cache_dir: Path
) -> None:
    """The contrast that gives the tests below their meaning: a well-typed forgery with a
    fitting digest is answered from a private directory (only the user could have written
    it), so it is the directory's safety that keeps it out elsewhere."""
    load_copy(knowledge, cache_dir)
    (entry,) = entries(cache_dir)
    forge(entry, rename_therapy)
    kb = load_copy(knowledge, cache_dir)
    assert kb.load_info.cache_state == "hit"
    assert kb.therapy_by_id[THERAPY].name == "FORGED"


@pytest.mark.parametrize("mode", [0o770, 0o730, 0o707, 0o703, 0o777, 0o1777], ids=oct)
def test_a_directory_others_may_write_to_is_never_read_nor_written(
    knowledge: Path,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: int,
) -> None:
    original = load_copy(knowledge, None)
    load_copy(knowledge, cache_dir)
    (entry,) = entries(cache_dir)
    forge(entry, rename_therapy)
    stale = cache_dir / f".tmp-interrupted{cache.SUFFIX}"
    stale.write_text("{")
    old = time.time() - 86400
    os.utime(stale, (old, old))
    cache_dir.chmod(mode)
    before = snapshot(cache_dir)
    calls = count_parsing(monkeypatch)
    kb = load_copy(knowledge, cache_dir)
    assert kb.therapy_by_id[THERAPY].name == "Diltiazem"
    assert kb == original
    assert calls == [1]
    assert kb.load_info.cache_state == "unsafe"
    assert kb.load_info.cache_entry == str(entry)
    assert snapshot(cache_dir) == before, "an unsafe directory was written to or pruned"


def test_a_directory_owned_by_another_user_is_never_read_nor_written(
    knowledge: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_copy(knowledge, cache_dir)
    (entry,) = entries(cache_dir)
    forge(entry, rename_therapy)
    before = snapshot(cache_dir)
    me = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: me + 1)  # the files are now another user's
    kb = load_copy(knowledge, cache_dir)
    assert kb.therapy_by_id[THERAPY].name == "Diltiazem"
    assert kb.load_info.cache_state == "unsafe"
    assert snapshot(cache_dir) == before
    monkeypatch.setattr(os, "getuid", lambda: me)
    assert load_copy(knowledge, cache_dir).therapy_by_id[THERAPY].name == "FORGED"


def test_an_empty_unsafe_directory_stays_empty(knowledge: Path, tmp_path: Path) -> None:
    shared = tmp_path / "calcref"
    shared.mkdir()
    shared.chmod(0o777)
    for _ in range(2):
        kb = load_copy(knowledge, shared)
        assert kb.load_info.cache_state == "unsafe"
        assert kb.therapy_by_id[THERAPY].name == "Diltiazem"
    assert list(shared.iterdir()) == []


def test_a_symlink_in_place_of_the_directory_is_not_followed(
    knowledge: Path, tmp_path: Path
) -> None:
    """Someone who could plant the link could point it at a directory of the user's own:
    calcref would then read (and prune) whatever is there."""
    real = tmp_path / "real"
    load_copy(knowledge, real)
    (entry,) = entries(real)
    forge(entry, rename_therapy)
    before = snapshot(real)
    link = tmp_path / "cache" / "calcref"
    link.parent.mkdir()
    link.symlink_to(real, target_is_directory=True)
    kb = load_copy(knowledge, link)
    assert kb.therapy_by_id[THERAPY].name == "Diltiazem"
    assert kb.load_info.cache_state == "unsafe"
    assert snapshot(real) == before


def test_the_cli_does_not_trust_a_world_writable_cache(tmp_path: Path) -> None:
    """As a user meets it: XDG_CACHE_HOME in a shared place; someone plants an entry."""
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    first = json.loads(ok("info", "--json", env=env).stdout)["cache"]
    assert first["state"] == "written"
    entry = Path(first["entry"])
    forge(entry, rename_therapy)
    shown = json.loads(ok("show", THERAPY, "--json", env=env).stdout)
    assert shown["name"] == "FORGED", "the forgery fits: a private directory trusts it"
    entry.parent.chmod(0o777)
    shown = json.loads(ok("show", THERAPY, "--json", env=env).stdout)
    assert shown["name"] == "Diltiazem"
    info = json.loads(ok("info", "--json", env=env).stdout)["cache"]
    assert info == {"state": "unsafe", "entry": str(entry)}


def test_info_says_why_the_cache_was_not_used(tmp_path: Path) -> None:
    shared = tmp_path / "xdg" / "calcref"
    shared.mkdir(parents=True)
    shared.chmod(0o777)
    result = ok("info", env={"XDG_CACHE_HOME": str(tmp_path / "xdg"), "COLUMNS": "400"})
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("cache")]
    assert str(shared) in line


# --- entries: regular files of a bounded size only ---------------------------------------------


READ_STATE = (
    "import sys\n"
    "from pathlib import Path\n"
    "from calcref.knowledge import load, stack\n"
    "kb = load(stack.from_setting(sys.argv[1]), Path(sys.argv[2]))\n"
    f"print(kb.load_info.cache_state, kb.therapy_by_id[{THERAPY!r}].name)\n"
)


def _limited() -> None:
    import resource

    # Reading /dev/zero to its end would take all the memory there is: fail fast instead.
    resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))


def _in_a_process(knowledge: Path, cache_dir: Path) -> str:
    """Load in a process of its own, under a timeout and a memory limit: a regression that
    waits on a FIFO or reads /dev/zero fails the test instead of hanging the suite."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONSTARTUP"}
    done = subprocess.run(
        [sys.executable, "-c", READ_STATE, str(knowledge), str(cache_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # a FIFO opened for reading without a writer would block forever
        preexec_fn=_limited,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _fifo(entry: Path, good: bytes) -> None:
    os.mkfifo(entry)


def _dev_zero(entry: Path, good: bytes) -> None:
    entry.symlink_to("/dev/zero")


def _a_directory(entry: Path, good: bytes) -> None:
    entry.mkdir()


def _link_to_a_good_entry(entry: Path, good: bytes) -> None:
    """Even a link to a well-formed entry is not followed: its target may be anywhere."""
    elsewhere = entry.parent.parent / f"elsewhere{cache.SUFFIX}"
    elsewhere.write_bytes(good)
    entry.symlink_to(elsewhere)


NOT_REGULAR = {
    "fifo": _fifo,
    "symlink-to-dev-zero": _dev_zero,
    "directory": _a_directory,
    "symlink-to-an-entry": _link_to_a_good_entry,
}


@pytest.mark.slow
@pytest.mark.parametrize("replace", NOT_REGULAR.values(), ids=NOT_REGULAR)
def test_an_entry_that_is_not_a_regular_file_is_never_read(
    knowledge: Path, cache_dir: Path, replace: Callable[[Path, bytes], None]
) -> None:
    assert _in_a_process(knowledge, cache_dir) == "written Diltiazem"
    (entry,) = entries(cache_dir)
    good = entry.read_bytes()
    entry.unlink()
    replace(entry, good)
    answer = _in_a_process(knowledge, cache_dir)
    if replace is _a_directory:
        assert answer == "not written Diltiazem"  # nothing can be renamed over a directory
        return
    assert answer == "written Diltiazem"
    assert not entry.is_symlink() and entry.is_file()
    assert entry.read_bytes() == good
    assert _in_a_process(knowledge, cache_dir) == "hit Diltiazem"


def test_an_entry_over_the_size_bound_is_ignored(
    knowledge: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A well-formed entry, padded (marshal ignores bytes after the value; the header is
    forged to fit) past four times the knowledge's bytes plus 1 MiB: never read whole, so
    rebuilt."""
    load_copy(knowledge, cache_dir)
    (entry,) = entries(cache_dir)
    good = entry.read_bytes()
    size = sum(p.stat().st_size for p in knowledge.glob("*.yaml"))
    entry.write_bytes(forged(key_of(good), body_of(good) + b" " * (4 * size + 2**20)))
    calls = count_parsing(monkeypatch)
    kb = load_copy(knowledge, cache_dir)
    assert calls == [1]
    assert kb.load_info.cache_state == "written"
    assert entry.read_bytes() == good


def test_a_padded_entry_under_the_bound_is_still_answered(knowledge: Path, cache_dir: Path) -> None:
    """The contrast: the same padding, small, is a hit (so the bound is what refused it)."""
    load_copy(knowledge, cache_dir)
    (entry,) = entries(cache_dir)
    raw = entry.read_bytes()
    entry.write_bytes(forged(key_of(raw), body_of(raw) + b" " * 1000))
    assert load_copy(knowledge, cache_dir).load_info.cache_state == "hit"


# --- entries: every value of the declared type -------------------------------------------------


def _set(kind: type, name: str, value: Any, section: str, at: int = 0) -> Callable[[Any], None]:
    """Set one slot of the `at`th row of a section, found by the kind's slot order."""

    def change(payload: Any) -> None:
        payload["sections"][section][at][kind.SLOTS.index(name)] = value

    return change


def _in_therapy(name: str, value: Any) -> Callable[[Any], None]:
    return lambda payload: therapy_row(payload).__setitem__(Therapy.SLOTS.index(name), value)


def _first_position(change: Callable[[list[Any]], object]) -> Callable[[Any], None]:
    return lambda payload: change(therapy_row(payload)[Therapy.SLOTS.index("positions")][0])


def _counts(name: str, value: Any) -> Callable[[Any], None]:
    from calcref.model import Counts

    def change(payload: Any) -> None:
        row = payload["sections"]["studies"][0][Study.SLOTS.index("counts")]
        row[Counts.SLOTS.index(name)] = value

    return change


MARKER = 987_654_321  # a value found once in a body, where the deep value goes
DEEP = b"[\x01\x00\x00\x00" * 100_000 + b"[\x00\x00\x00\x00"  # 100,000 nested lists


WRONG_TYPES: dict[str, Callable[[Any], None]] = {
    "n-a-word": _set(Study, "n", "many", "studies"),
    "n-10**400": _set(Study, "n", 10**400, "studies"),
    "n-ten-digits": _set(Study, "n", 1_000_000_000, "studies"),
    "n-negative-ten-digits": _set(Study, "n", -1_000_000_000, "studies"),
    "n-a-float": _set(Study, "n", 1.5, "studies"),
    "n-true": _set(Study, "n", True, "studies"),
    "n-a-list": _set(Study, "n", [1], "studies"),
    "year-a-string": _set(Reference, "year", "1990", "references"),
    "count-a-string": _counts("responders", "1"),
    "name-a-number": _in_therapy("name", 7),
    "name-a-list": _in_therapy("name", ["Diltiazem"]),
    "required-name-none": _in_therapy("name", None),
    "aliases-a-string": _in_therapy("aliases", "cardizem"),
    "aliases-none": _in_therapy("aliases", None),
    "sources-of-numbers": _in_therapy("sources", [1, 2]),
    "sources-nested-lists": _in_therapy("sources", [["chapter"]]),
    "source-file-a-number": _in_therapy("source_file", 5),
    "positions-a-string": _in_therapy("positions", "first"),
    "positions-a-row-not-a-list": _in_therapy("positions", ["chapter"]),
    "nested-row-one-short": _first_position(lambda row: row.pop()),
    "nested-row-one-long": _first_position(lambda row: row.append(None)),
    "nested-row-a-mapping": _in_therapy("positions", [{"source": "chapter"}]),
    "nested-value-wrong-type": _first_position(
        lambda row: row.__setitem__(Position.SLOTS.index("source"), 3)
    ),
    "enum-outside-its-values": _first_position(
        lambda row: row.__setitem__(Position.SLOTS.index("line"), "fourth")
    ),
    "one-record-a-string": _set(Study, "counts", "none", "studies"),
    "one-record-a-short-row": _set(Study, "counts", [1], "studies"),
    "layer-files-of-numbers": lambda p: p["layers"][0].update(files=[1]),
    "layer-overlay-a-string": lambda p: p["layers"][0].update(overlay="no"),
    "no-layers": lambda p: p.update(layers=[]),
}


def _deep(body: bytes) -> bytes:
    """100,000 nested lists where a study's n belongs (marshal.dumps cannot write it). Written
    in marshal's version 2, which has no back-references, so the splice shifts none."""
    payload = thaw(marshal.loads(body))
    payload["sections"]["studies"][0][Study.SLOTS.index("n")] = MARKER
    plain = marshal.dumps(freeze(payload), 2)
    marker = b"i" + MARKER.to_bytes(4, "little")
    assert plain.count(marker) == 1
    return plain.replace(marker, DEEP)


@pytest.mark.parametrize("change", WRONG_TYPES.values(), ids=WRONG_TYPES)
def test_a_forged_entry_of_the_wrong_types_is_rebuilt_from_the_files(
    knowledge: Path,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[Any], None],
) -> None:
    original = load_copy(knowledge, None)
    load_copy(knowledge, cache_dir)
    (entry,) = entries(cache_dir)
    good = entry.read_bytes()
    forge(entry, change)
    assert entry.read_bytes() != good
    calls = count_parsing(monkeypatch)
    kb = load_copy(knowledge, cache_dir)
    assert calls == [1], "the forged entry was answered from"
    assert kb == original
    assert kb.layers == original.layers
    assert kb.load_info.cache_state == "written"
    assert entry.read_bytes() == good


def test_a_100k_deep_entry_is_rebuilt_from_the_files(
    knowledge: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = load_copy(knowledge, None)
    load_copy(knowledge, cache_dir)
    (entry,) = entries(cache_dir)
    good = entry.read_bytes()
    entry.write_bytes(forged(key_of(good), _deep(body_of(good))))
    calls = count_parsing(monkeypatch)
    kb = load_copy(knowledge, cache_dir)
    assert calls == [1]
    assert kb == original
    assert kb.load_info.cache_state == "written"
    assert entry.read_bytes() == good


def _sections(payload: Any, **changes: Any) -> Any:
    return {**payload, "sections": {**payload["sections"], **changes}}


def _first_therapy(payload: Any, row: Any) -> Any:
    return _sections(payload, therapies=(row, *payload["sections"]["therapies"][1:]))


def _slot_listed(payload: Any, name: str) -> Any:
    row = list(payload["sections"]["therapies"][0])
    at = Therapy.SLOTS.index(name)
    row[at] = list(row[at])
    return _first_therapy(payload, tuple(row))


def _files_listed(payload: Any) -> Any:
    first, *rest = payload["layers"]
    return {**payload, "layers": ({**first, "files": list(first["files"])}, *rest)}


# Each a tuple in what calcref writes, here one list: a list would give a record a value that
# could be changed after the fact and could not be hashed.
LISTS_FOR_TUPLES: dict[str, Callable[[Any], Any]] = {
    "section": lambda p: _sections(p, therapies=list(p["sections"]["therapies"])),
    "row": lambda p: _first_therapy(p, list(p["sections"]["therapies"][0])),
    "strings": lambda p: _slot_listed(p, "aliases"),
    "nested-rows": lambda p: _slot_listed(p, "positions"),
    "layers": lambda p: {**p, "layers": list(p["layers"])},
    "layer-files": _files_listed,
}


@pytest.mark.parametrize("change", LISTS_FOR_TUPLES.values(), ids=LISTS_FOR_TUPLES)
def test_a_list_where_calcref_writes_a_tuple_is_rebuilt(
    knowledge: Path,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[Any], Any],
) -> None:
    original = load_copy(knowledge, None)
    load_copy(knowledge, cache_dir)
    (entry,) = entries(cache_dir)
    good = entry.read_bytes()
    payload = change(marshal.loads(body_of(good)))
    entry.write_bytes(forged(key_of(good), marshal.dumps(payload)))
    calls = count_parsing(monkeypatch)
    kb = load_copy(knowledge, cache_dir)
    assert calls == [1], "an entry holding a list was answered from"
    assert kb == original
    assert entry.read_bytes() == good


def test_the_same_payload_with_tuples_is_answered(knowledge: Path, cache_dir: Path) -> None:
    """The contrast: a payload thawed and frozen again, as the tests forge them, is a hit."""
    load_copy(knowledge, cache_dir)
    (entry,) = entries(cache_dir)
    good = entry.read_bytes()
    key, payload = split(good)
    entry.write_bytes(forged(key, encoded(payload)))
    assert load_copy(knowledge, cache_dir).load_info.cache_state == "hit"


def test_a_payload_marshal_cannot_write_is_not_saved(tmp_path: Path) -> None:
    """Best effort: a value marshal refuses costs the entry, never an answer."""
    directory = tmp_path / "calcref"
    assert cache.write(directory, "0" * 64, {"sections": (object(),)}) is False
    assert not directory.exists()


def test_from_cache_refuses_wrong_types_with_a_shape_error(knowledge: Path) -> None:
    """The library contract: from_cache raises one of the loader's shape errors (never
    something else, never half a base) for a payload that does not fit."""
    from calcref.model import LoadInfo

    kb = load_copy(knowledge, None)
    for name, change in WRONG_TYPES.items():
        payload = thaw(load_module.to_cache(kb))
        change(payload)
        with pytest.raises(load_module._SHAPE_ERRORS):
            load_module.from_cache(freeze(payload), LoadInfo("x", "hit"))
            pytest.fail(f"{name}: accepted")
    payload = freeze(thaw(load_module.to_cache(kb)))
    assert load_module.from_cache(payload, LoadInfo("x", "hit")) == kb


# --- housekeeping ------------------------------------------------------------------------------


def _aged(path: Path, seconds_ago: float) -> None:
    when = time.time() - seconds_ago
    os.utime(path, (when, when), follow_symlinks=False)


def test_writing_keeps_the_most_recently_used_entries_and_removes_stale_temporaries(
    knowledge: Path, cache_dir: Path
) -> None:
    cache_dir.mkdir(parents=True, mode=0o700)
    old = [cache_dir / f"{i:064x}{cache.SUFFIX}" for i in range(12)]
    for age, path in enumerate(old):
        path.write_text("old entry")
        _aged(path, 3600 * (age + 1))  # old[0] the most recent
    stale = cache_dir / f".tmp-123-abc{cache.SUFFIX}"
    stale.write_text("{")
    _aged(stale, 3600)
    fresh = cache_dir / f".tmp-456-def{cache.SUFFIX}"  # another process may be writing it now
    fresh.write_text("{")
    other = cache_dir / "README"
    other.write_text("not calcref's entry")
    kb = load_copy(knowledge, cache_dir)
    assert kb.load_info.cache_state == "written"
    written = Path(kb.load_info.cache_entry)
    kept = entries(cache_dir)
    assert len(kept) == cache.KEEP
    assert set(kept) == {written, *old[: cache.KEEP - 1]}
    assert not stale.exists()
    assert fresh.exists()
    assert other.exists()


def test_a_hit_keeps_its_entry_among_the_most_recently_used(
    knowledge: Path, cache_dir: Path
) -> None:
    load_copy(knowledge, cache_dir)
    (entry,) = entries(cache_dir)
    _aged(entry, 30 * 86400)
    newer = [cache_dir / f"{i:064x}{cache.SUFFIX}" for i in range(cache.KEEP + 2)]
    for path in newer:
        path.write_text("newer entry")
        _aged(path, 86400)
    before = entry.stat().st_mtime
    assert load_copy(knowledge, cache_dir).load_info.cache_state == "hit"
    assert entry.stat().st_mtime > before + 86400
    # Another stack's write prunes the directory: the entry just used survives.
    (knowledge / "subtypes.yaml").write_bytes((knowledge / "subtypes.yaml").read_bytes() + b"\n")
    assert load_copy(knowledge, cache_dir).load_info.cache_state == "written"
    assert entry.exists()
    assert len(entries(cache_dir)) == cache.KEEP


def test_entries_of_earlier_formats_are_kept_or_pruned_as_entries(
    knowledge: Path, cache_dir: Path
) -> None:
    """Earlier calcrefs wrote `<key>.json`: never read by this one, but counted with its own
    entries, so the directory stays at KEEP entries whichever calcref wrote them."""
    cache_dir.mkdir(parents=True, mode=0o700)
    old = [cache_dir / f"{i:064x}.json" for i in range(cache.KEEP + 2)]
    for age, path in enumerate(old):
        path.write_text("an entry of calcref-cache-7")
        _aged(path, 3600 * (age + 1))
    kb = load_copy(knowledge, cache_dir)
    assert kb.load_info.cache_state == "written"
    left = sorted(p for p in cache_dir.iterdir() if not p.name.startswith("."))
    assert left == sorted([Path(kb.load_info.cache_entry), *old[: cache.KEEP - 1]])


def test_a_hit_writes_nothing(knowledge: Path, cache_dir: Path) -> None:
    load_copy(knowledge, cache_dir)
    before = snapshot(cache_dir)
    assert load_copy(knowledge, cache_dir).load_info.cache_state == "hit"
    assert snapshot(cache_dir) == before


def test_housekeeping_failures_are_not_errors(
    knowledge: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir.mkdir(parents=True, mode=0o700)
    (cache_dir / f"{0:064x}{cache.SUFFIX}").mkdir()  # cannot be unlinked
    for i in range(1, cache.KEEP + 3):
        (cache_dir / f"{i:064x}{cache.SUFFIX}").write_text("old")
        _aged(cache_dir / f"{i:064x}{cache.SUFFIX}", 3600 * i)
    real_unlink = os.unlink

    def failing(path: Any, *args: Any, **kwargs: Any) -> None:
        if str(path).endswith(f"{cache.KEEP + 2:064x}{cache.SUFFIX}"):
            raise PermissionError("no")
        real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", failing)
    kb = load_copy(knowledge, cache_dir)
    assert kb.load_info.cache_state == "written"
    assert (cache_dir / f"{0:064x}{cache.SUFFIX}").is_dir()
