"""The loader, fed broken knowledge directories, and the parse cache behind it.

Each test copies the shipped knowledge to a temporary directory, breaks it in one known place,
points CALCREF_DATA at it and expects a KnowledgeError whose problems name that file and that
line. Nothing here reads or writes the user's own cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import data_dir
from helpers import load_active as load

import calcref.knowledge.load as load_module
from calcref.errors import KnowledgeError, Problem

SUBTYPES, THERAPIES = "subtypes.yaml", "therapies.yaml"


@pytest.fixture
def shipped(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The knowledge directory calcref ships (repository data/ or the installed package's)."""
    monkeypatch.delenv("CALCREF_DATA", raising=False)
    return data_dir()


@pytest.fixture
def knowledge(tmp_path: Path, shipped: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private, editable copy of the shipped knowledge, with caching off."""
    directory = tmp_path / "knowledge"
    shutil.copytree(shipped, directory)
    monkeypatch.setenv("CALCREF_DATA", str(directory))
    monkeypatch.setenv("CALCREF_NO_CACHE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield directory


def edit(path: Path, old: str, new: str, *, after: str | None = None) -> None:
    """Replace the first `old` in the file (the first one after `after`, if given)."""
    text = path.read_text(encoding="utf-8")
    start = text.index(after) if after is not None else 0
    at = text.index(old, start)
    path.write_text(text[:at] + new + text[at + len(old) :], encoding="utf-8")


def line_no(path: Path, needle: str) -> int:
    """The 1-based line of the one line of the file that contains `needle`."""
    lines = path.read_bytes().split(b"\n")
    found = [i + 1 for i, line in enumerate(lines) if needle.encode() in line]
    assert len(found) == 1, f"{needle!r} is on lines {found}"
    return found[0]


def problems_of(directory: Path) -> list[Problem]:
    with pytest.raises(KnowledgeError) as caught:
        load()
    problems = caught.value.problems
    assert problems, f"no located problems: {caught.value}"
    for problem in problems:
        assert str(problem) == f"{problem.path}:{problem.line}: {problem.message}"
    return problems


def expect(problems: list[Problem], path: Path, line: int, *words: str) -> Problem:
    """The problem at path:line whose message holds every word; fails listing all problems."""
    for problem in problems:
        if (
            problem.path == str(path)
            and problem.line == line
            and all(w in problem.message for w in words)
        ):
            return problem
    listing = "\n".join(map(str, problems))
    pytest.fail(f"no problem at {path}:{line} mentioning {words}; got:\n{listing}")


# --- A valid copy loads ---------------------------------------------------------------------------


def test_the_copy_loads(knowledge: Path) -> None:
    kb = load()
    assert load_module.data_dir() == knowledge
    assert kb.therapy_by_id["diltiazem"].evidence == "C"


# --- YAML the reader refuses ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("broken", "needle", "words"),
    [
        ("    name: Diltiazem: oops\n", "Diltiazem: oops", ("invalid YAML", "mapping values")),
        ("\tname: Diltiazem\n", "\tname: Diltiazem", ("invalid YAML", "tab")),
        ("    name: Diltiazem\n   - stray\n", "   - stray", ("invalid YAML",)),
    ],
    ids=["mapping-in-scalar", "tab", "stray-item"],
)
def test_bad_yaml_syntax(knowledge: Path, broken: str, needle: str, words: tuple[str, ...]) -> None:
    path = knowledge / THERAPIES
    edit(path, "    name: Diltiazem\n", broken)
    problems = problems_of(knowledge)
    assert len(problems) == 1
    expect(problems, path, line_no(path, needle), *words)


def test_duplicate_mapping_key(knowledge: Path) -> None:
    path = knowledge / THERAPIES
    edit(path, "    name: Diltiazem\n", "    name: Diltiazem\n    name: Diltiazem again\n")
    expect(problems_of(knowledge), path, line_no(path, "Diltiazem again"), "duplicate key 'name'")


def test_yaml_alias_is_refused(knowledge: Path) -> None:
    path = knowledge / THERAPIES
    edit(path, "    sources: [chapter, jopa]\n", "    sources: &both [chapter, jopa]\n")
    edit(path, "    sources: [chapter, jopa]\n", "    sources: *both\n", after="&both")
    problems = problems_of(knowledge)
    expect(problems, path, line_no(path, "*both"), "aliases are not allowed")


def test_merge_key_is_refused(knowledge: Path) -> None:
    path = knowledge / THERAPIES
    edit(path, "    name: Diltiazem\n", "    name: Diltiazem\n    <<: {aliases: [x]}\n")
    expect(problems_of(knowledge), path, line_no(path, "<<:"), "not allowed")


@pytest.mark.parametrize(
    "form",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        "!!python/object/apply:os.system\n      - touch {marker}",
        "!!python/object/apply:os.system {{args: [touch {marker}]}}",
        '!!python/name:os.system ""',
    ],
    ids=["flow-sequence", "block-sequence", "mapping", "name"],
)
def test_python_tag_is_refused_and_never_executed(
    knowledge: Path, tmp_path: Path, form: str
) -> None:
    marker = tmp_path / "executed"
    path = knowledge / THERAPIES
    edit(path, "    name: Diltiazem\n", f"    name: {form.format(marker=marker)}\n")
    problems = problems_of(knowledge)
    expect(problems, path, line_no(path, "!!python/"), "not allowed")
    assert not marker.exists(), "the tag was executed"


def test_date_must_be_quoted(knowledge: Path) -> None:
    path = knowledge / THERAPIES
    edit(path, "    name: Diltiazem\n", "    name: 2012-04-01\n")
    expect(problems_of(knowledge), path, line_no(path, "2012-04-01"), "reads as a date")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[" * 100_000, 1),
        ("{a: " * 50_000, 1),
        ("- " * 50_000 + "x\n", 1),
        ("a:\n" + "".join("  " * depth + f"k{depth}:\n" for depth in range(1, 1000)), 41),
    ],
    ids=["flow-sequences", "flow-mappings", "block-sequences", "block-mappings"],
)
def test_very_deep_nesting_is_refused_without_a_crash(
    knowledge: Path, text: str, line: int
) -> None:
    path = knowledge / SUBTYPES
    path.write_text(text, encoding="utf-8")
    problems = problems_of(knowledge)
    # One located problem; the wording is calcref's ("nesting deeper than 40 levels") or, for
    # flow nesting under PyYAML >= 6.0.4, libyaml's own refusal, which comes first.
    assert len(problems) == 1
    expect(problems, path, line)


def test_very_deep_nesting_does_not_crash_a_real_process(knowledge: Path) -> None:
    """A C-level stack overflow would kill the interpreter; make sure a process survives it."""
    (knowledge / SUBTYPES).write_text("[" * 200_000, encoding="utf-8")
    code = (
        "from helpers import load_active as load\n"
        "from calcref.errors import KnowledgeError\n"
        "try:\n    load()\nexcept KnowledgeError as e:\n    print('refused', e.problems[0].line)\n"
    )
    env = {**os.environ, "CALCREF_DATA": str(knowledge), "CALCREF_NO_CACHE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "refused 1"


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "~\n"])
def test_empty_file(knowledge: Path, text: str) -> None:
    path = knowledge / SUBTYPES
    path.write_text(text, encoding="utf-8")
    problems = problems_of(knowledge)
    assert len(problems) == 1
    expect(problems, path, 1, "empty")


@pytest.mark.parametrize(("bad", "shown"), [(b"\xff", "0xff"), (b"\xe9", "0xe9")])
def test_non_utf8_bytes(knowledge: Path, bad: bytes, shown: str) -> None:
    path = knowledge / SUBTYPES
    line = line_no(path, "name: Calciphylaxis")
    raw = path.read_bytes().replace(b"name: Calciphylaxis", b"name: Calciphyl" + bad + b"axis")
    path.write_bytes(raw)
    problems = problems_of(knowledge)
    assert len(problems) == 1
    expect(problems, path, line, "not valid UTF-8", shown)


def test_more_than_one_document(knowledge: Path) -> None:
    path = knowledge / SUBTYPES
    with path.open("a", encoding="utf-8") as handle:
        handle.write("---\nextra: 1\n")
    expect(problems_of(knowledge), path, line_no(path, "---"), "more than one YAML document")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_top_level_must_be_a_mapping_and_is_reported_once(knowledge: Path, text: str) -> None:
    path = knowledge / SUBTYPES
    path.write_text(text, encoding="utf-8")
    problems = problems_of(knowledge)
    # Only that: not a cascade of "unknown id" problems in the other, valid file.
    assert problems == [Problem(str(path), 1, "file must be a mapping")]


# --- Files that are not there ---------------------------------------------------------------------


def test_directory_in_place_of_a_file(knowledge: Path) -> None:
    path = knowledge / THERAPIES
    path.unlink()
    path.mkdir()
    problems = problems_of(knowledge)
    assert len(problems) == 1
    expect(problems, path, 1, "is a directory")


@pytest.mark.parametrize("name", [SUBTYPES, THERAPIES])
def test_missing_file(knowledge: Path, name: str) -> None:
    path = knowledge / name
    path.unlink()
    problems = problems_of(knowledge)
    assert len(problems) == 1
    expect(problems, path, 1, "file not found")


@pytest.mark.parametrize("what", ["a-file", "nothing"])
def test_calcref_data_pointing_to_a_non_directory(
    knowledge: Path, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    target = knowledge / SUBTYPES if what == "a-file" else knowledge / "no-such-directory"
    monkeypatch.setenv("CALCREF_DATA", str(target))
    with pytest.raises(KnowledgeError) as caught:
        load()
    assert "CALCREF_DATA" in str(caught.value)
    assert str(target) in str(caught.value)
    assert "not a directory" in str(caught.value)


# --- Schema violations ----------------------------------------------------------------------------


def test_unknown_key(knowledge: Path) -> None:
    path = knowledge / THERAPIES
    edit(path, "    name: Diltiazem\n", "    name: Diltiazem\n    colour: blue\n")
    problems = problems_of(knowledge)
    assert len(problems) == 1
    expect(problems, path, line_no(path, "colour: blue"), "unknown key 'colour'")


def test_wrong_evidence_letter(knowledge: Path) -> None:
    path = knowledge / THERAPIES
    edit(path, "        evidence: C\n", "        evidence: F\n", after="  - id: diltiazem")
    problems = problems_of(knowledge)
    assert len(problems) == 1
    expect(problems, path, line_no(path, "evidence: F"), "'evidence' is 'F'", "A, B, C, D, E")


@pytest.mark.parametrize("value", ["fourth", "First", "1st"])
def test_wrong_line_value(knowledge: Path, value: str) -> None:
    path = knowledge / THERAPIES
    edit(path, "        line: second\n", f"        line: {value}\n", after="  - id: colchicine")
    problems = problems_of(knowledge)
    assert len(problems) == 1
    expect(problems, path, line_no(path, f"line: {value}"), f"'line' is '{value}'", "first, second")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ('"nine"', ("'n' must be a whole number", "'nine'")),
        ("nine", ("'n' must be a whole number",)),
        ("6.5", ("'n' must be a whole number", "float")),
        ("true", ("'n' must be a whole number", "bool")),
        ("[6]", ("'n' must be a whole number", "a list")),
        ("-6", ("'n' must not be negative",)),
    ],
    ids=["quoted-word", "word", "float", "bool", "list", "negative"],
)
def test_wrong_type(knowledge: Path, value: str, words: tuple[str, ...]) -> None:
    path = knowledge / THERAPIES
    edit(path, "    n: 6\n", f"    n: {value}\n", after="  - id: balin2012-minocycline")
    problems = problems_of(knowledge)
    assert len(problems) == 1
    expect(problems, path, line_no(path, f"    n: {value}"), *words)


def test_missing_required_key(knowledge: Path) -> None:
    path = knowledge / THERAPIES
    line = line_no(path, "  - id: pitt1990-case")
    edit(path, "    population: Dystrophic calcinosis after trauma\n", "")
    expect(problems_of(knowledge), path, line, "missing required key 'population'")


@pytest.mark.parametrize(
    ("name", "old", "new", "after", "needle", "words"),
    [
        (THERAPIES, "    ref: pitt1990\n", "    ref: pitt1991\n", None, "ref: pitt1991",
         ("unknown reference id 'pitt1991'",)),
        (THERAPIES, "    therapies: [no-treatment]\n", "    therapies: [no-treatmnt]\n", None,
         "[no-treatmnt]", ("unknown therapy id 'no-treatmnt'",)),
        (THERAPIES, "      - context: trauma\n", "      - context: truama\n", None,
         "context: truama", ("unknown context id 'truama'",)),
        (THERAPIES, "    subtypes: [dystrophic]\n", "    subtypes: [dystrophc]\n", None,
         "[dystrophc]", ("unknown subtype id 'dystrophc'",)),
        # A source id used in subtypes.yaml must be defined in therapies.yaml.
        (SUBTYPES, "    sources: [chapter]\n", "    sources: [chapterx]\n", None,
         "[chapterx]", ("unknown reference id 'chapterx'",)),
        (SUBTYPES, "    parent: dm\n", "    parent: dmx\n", None,
         "parent: dmx", ("unknown context id 'dmx'",)),
        (SUBTYPES, "      - target: metastatic\n", "      - target: metastasis\n", None,
         "target: metastasis", ("unknown subtype or context id 'metastasis'",)),
    ],
    ids=["study-ref", "study-therapy", "therapy-context", "therapy-subtype",
         "cross-file-source", "context-parent", "tie-target"],
)  # fmt: skip
def test_dangling_reference_id(
    knowledge: Path,
    name: str,
    old: str,
    new: str,
    after: str | None,
    needle: str,
    words: tuple[str, ...],
) -> None:
    path = knowledge / name
    edit(path, old, new, after=after)
    problems = problems_of(knowledge)
    assert len(problems) == 1
    expect(problems, path, line_no(path, needle), *words)


def test_duplicate_id(knowledge: Path) -> None:
    path = knowledge / THERAPIES
    first = line_no(path, "  - id: warfarin")
    second = line_no(path, "  - id: ivig")
    edit(path, "  - id: ivig\n", "  - id: warfarin\n")
    problems = problems_of(knowledge)
    # One problem, at the second definition, pointing back at the first.
    assert problems == [
        Problem(
            str(path),
            second,
            f"duplicate therapy id 'warfarin' (first defined at {path}:{first})",
        )
    ]


def test_alias_colliding_with_another_context(knowledge: Path) -> None:
    path = knowledge / SUBTYPES
    edit(path, "    aliases: [lupus]\n", "    aliases: [lupus, crest]\n")
    problems = problems_of(knowledge)
    assert len(problems) == 1
    expect(
        problems,
        path,
        line_no(path, "[lupus, crest]"),
        "name 'crest' of context 'sle' is already used by 'ssc'",
    )


def test_id_must_be_lowercase_hyphenated(knowledge: Path) -> None:
    path = knowledge / THERAPIES
    edit(path, "  - id: ivig\n", "  - id: IVIG\n")
    expect(problems_of(knowledge), path, line_no(path, "id: IVIG"), "lowercase")


@pytest.mark.parametrize(
    ("name", "old", "new", "needle", "words"),
    [
        (SUBTYPES, "  - id: ctd\n", "  - id: [ctd]\n", "id: [ctd]", "'id' must be a string"),
        (SUBTYPES, "  - id: ctd\n", "  - id: {x: 1}\n", "id: {x: 1}", "'id' must be a string"),
        (SUBTYPES, "    aliases: [lupus]\n", "    aliases: 5\n", "aliases: 5",
         "'aliases' must be a list of strings"),
        (SUBTYPES, "    parent: dm\n", "    parent: [dm]\n", "parent: [dm]",
         "'parent' must be a string"),
        (SUBTYPES, "\ncontexts:\n", "\ncontexts: 5\nold_contexts:\n", "contexts: 5",
         "'contexts' must be a list of mappings"),
        (THERAPIES, "\ntherapies:\n", "\ntherapies: {}\nold_therapies:\n", "therapies: {}",
         "'therapies' must be a list of mappings"),
        (THERAPIES, "    counts: {responders: 1}\n", "    counts: [1]\n", "counts: [1]",
         "'counts' must be a mapping"),
    ],
    ids=["id-list", "id-mapping", "aliases-int", "parent-list", "contexts-int",
         "therapies-mapping", "counts-list"],
)  # fmt: skip
def test_misshapen_records_are_reported_not_crashed(
    knowledge: Path, name: str, old: str, new: str, needle: str, words: str
) -> None:
    path = knowledge / name
    edit(path, old, new)
    expect(problems_of(knowledge), path, line_no(path, needle), words)


def test_context_parent_cycle_names_only_the_contexts_on_it(knowledge: Path) -> None:
    path = knowledge / SUBTYPES
    # ctd -> jdm -> dm -> ctd; ssc and sle only lead into the cycle.
    edit(path, "    subtypes: [dystrophic]\n", "    parent: jdm\n    subtypes: [dystrophic]\n")
    problems = problems_of(knowledge)
    assert {p.message for p in problems} == {
        f"context '{c}' is its own ancestor" for c in ("ctd", "dm", "jdm")
    }
    assert all(p.path == str(path) for p in problems)


# --- Many problems at once ------------------------------------------------------------------------


def test_several_problems_in_one_file_are_reported_together_in_line_order(
    knowledge: Path,
) -> None:
    path = knowledge / THERAPIES
    # Made bottom-up in the file, so the test also shows the report is sorted by line.
    edit(path, "    n: 6\n", "    n: six\n", after="  - id: balin2012-minocycline")
    edit(path, "        evidence: E\n", "        evidence: Z\n", after="  - id: colchicine")
    edit(path, "    name: Diltiazem\n", "    name: Diltiazem\n    colour: blue\n")
    edit(path, "    ref: pitt1990\n", "    ref: nobody\n")
    problems = problems_of(knowledge)
    expected = [
        (line_no(path, "colour: blue"), "unknown key 'colour'"),
        (line_no(path, "evidence: Z"), "'evidence' is 'Z'"),
        (line_no(path, "ref: nobody"), "unknown reference id 'nobody'"),
        (line_no(path, "n: six"), "'n' must be a whole number"),
    ]
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    assert [(p.line, p.path) for p in problems] == [(line, str(path)) for line, _ in expected]
    for problem, (_, words) in zip(problems, expected, strict=True):
        assert words in problem.message
    # The error's own text lists every one of them.
    with pytest.raises(KnowledgeError) as caught:
        load()
    assert str(caught.value) == "; ".join(map(str, problems))


def test_problems_in_both_files_are_reported_together(knowledge: Path) -> None:
    subtypes, therapies = knowledge / SUBTYPES, knowledge / THERAPIES
    edit(subtypes, "    major: true\n", "    major: yes please\n")
    edit(therapies, "    name: Diltiazem\n", "    name: Diltiazem\n    colour: blue\n")
    problems = problems_of(knowledge)
    expect(problems, subtypes, line_no(subtypes, "major: yes please"), "'major' must be")
    expect(problems, therapies, line_no(therapies, "colour: blue"), "unknown key")
    assert len(problems) == 2


def test_a_failed_load_is_not_remembered(knowledge: Path) -> None:
    path = knowledge / THERAPIES
    good = path.read_bytes()
    edit(path, "    name: Diltiazem\n", "    name: Diltiazem\n    colour: blue\n")
    problems_of(knowledge)
    path.write_bytes(good)
    assert load().therapy_by_id["diltiazem"].name == "Diltiazem"


# --- The parse cache ------------------------------------------------------------------------------


@pytest.fixture
def cached(knowledge: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Caching on, into a private XDG_CACHE_HOME; returns the calcref cache directory."""
    monkeypatch.delenv("CALCREF_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "calcref"


def entries(cache_directory: Path) -> list[Path]:
    return sorted(cache_directory.glob("*.json")) if cache_directory.is_dir() else []


def forbid_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the knowledge files were parsed: the cache did not answer")

    monkeypatch.setattr(load_module, "parse_and_validate", refuse)


def count_parsing(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = load_module.parse_and_validate

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(load_module, "parse_and_validate", counting)
    return calls


def test_second_load_is_answered_from_the_cache(
    cached: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert entries(cached) == []
    first = load()
    assert len(entries(cached)) == 1
    forbid_parsing(monkeypatch)
    second = load()
    assert second == first
    assert second is not first
    assert second.therapy_by_id["colchicine"].regimens == first.therapy_by_id["colchicine"].regimens
    assert len(entries(cached)) == 1


def test_no_cache_env_writes_nothing(cached: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALCREF_NO_CACHE", "1")
    load()
    assert not cached.exists()


def test_an_edited_file_invalidates_the_cache(cached: Path, knowledge: Path) -> None:
    assert load().therapy_by_id["diltiazem"].name == "Diltiazem"
    edit(knowledge / THERAPIES, "    name: Diltiazem\n", "    name: Diltiazem (edited)\n")
    assert load().therapy_by_id["diltiazem"].name == "Diltiazem (edited)"
    assert len(entries(cached)) == 2


def test_an_edit_that_breaks_a_file_is_never_answered_from_the_cache(
    cached: Path, knowledge: Path
) -> None:
    load()
    path = knowledge / THERAPIES
    edit(path, "    name: Diltiazem\n", "    name: Diltiazem\n    colour: blue\n")
    expect(problems_of(knowledge), path, line_no(path, "colour: blue"), "unknown key")


def _truncate(raw: bytes) -> bytes:
    return raw[: len(raw) // 2]


def _flip_payload_byte(raw: bytes) -> bytes:
    at = raw.index(b"\n") + 100
    return raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1 :]


def _header_only(raw: bytes) -> bytes:
    return raw.split(b"\n", 1)[0] + b"\n"


def _wrong_shape_with_a_good_digest(raw: bytes) -> bytes:
    """A well-formed entry whose payload does not fit the model (a lying cache)."""
    header = json.loads(raw.split(b"\n", 1)[0])
    payload = json.dumps({"subtypes.yaml": {"subtypes": 1}, "therapies.yaml": []}).encode()
    header["sha256"] = hashlib.sha256(payload).hexdigest()
    return json.dumps(header).encode() + b"\n" + payload


@pytest.mark.parametrize(
    "corrupt",
    [
        _truncate,
        _flip_payload_byte,
        _header_only,
        lambda raw: b"",
        lambda raw: b"\x00\xff garbage \n\x80",
        lambda raw: b"[]\n{}",
        _wrong_shape_with_a_good_digest,
    ],
    ids=["truncated", "flipped-byte", "header-only", "empty", "garbage", "wrong-json", "bad-shape"],
)
def test_a_corrupted_cache_entry_is_ignored(
    cached: Path, monkeypatch: pytest.MonkeyPatch, corrupt
) -> None:
    original = load()
    (entry,) = entries(cached)
    entry.write_bytes(corrupt(entry.read_bytes()))
    calls = count_parsing(monkeypatch)
    assert load() == original
    assert calls == [1], "the corrupted entry should have been ignored and the files parsed"
    # The entry was rewritten whole: the next load is a cache hit again.
    forbid_parsing(monkeypatch)
    assert load() == original


def test_an_unwritable_cache_costs_nothing_but_speed(
    cached: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert load().therapy_by_id["diltiazem"].evidence == "C"


def test_a_cache_hit_does_not_import_yaml(knowledge: Path, tmp_path: Path) -> None:
    code = (
        "import sys; from helpers import load_active as load; load(); print('yaml' in sys.modules)"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("CALCREF_NO_CACHE", "PYTHONSTARTUP")
    }
    env.update(XDG_CACHE_HOME=str(tmp_path / "xdg"), CALCREF_DATA=str(knowledge))
    answers = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        answers.append(done.stdout.strip())
    assert answers == ["True", "False"]
