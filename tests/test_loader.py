"""The loader, fed broken knowledge directories, and the parse cache behind it.

Each test copies the shipped knowledge to a temporary directory, breaks it in one known place,
loads it through the library's explicit API (`load(stack.from_setting(dir), cache_dir=...)`)
and expects a KnowledgeError whose problems name that file and that line. load() reads no
environment: every directory, the cache's included, is an argument, so nothing here reads or
writes the user's own cache.
"""

from __future__ import annotations

import importlib
import marshal
import os
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cachefile import body_of, encoded, forged, key_of, split

from calcref.errors import KnowledgeError, Problem
from calcref.knowledge import cache, load, stack
from calcref.model import SECTIONS, KnowledgeBase, LoadInfo, Study, Therapy

# `calcref.knowledge.load` is the function (the package re-exports it under its module's
# name), so the module itself, whose globals load() looks up, comes from the import system.
load_module = importlib.import_module("calcref.knowledge.load")

SUBTYPES, THERAPIES = "subtypes.yaml", "therapies.yaml"
# Slow as a whole (see CONTRIBUTING): the tests load knowledge or cache entries they broke,
# each a cold parse of a copy of their own.
pytestmark = pytest.mark.slow


def load_copy(directory: Path, cache_dir: Path | None = None) -> KnowledgeBase:
    """The knowledge in `directory` (a base, named as CALCREF_DATA would name it)."""
    return load(stack.from_setting(str(directory)), cache_dir=cache_dir)


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


def line_of_exactly(path: Path, text: str) -> int:
    """The 1-based line of the one line of the file that is exactly `text` (a record's
    "  - id: warfarin", not a note's "      - id: warfarin-sources-disagree")."""
    lines = path.read_bytes().split(b"\n")
    found = [i + 1 for i, line in enumerate(lines) if line == text.encode()]
    assert len(found) == 1, f"{text!r} is on lines {found}"
    return found[0]


def problems_of(directory: Path, cache_dir: Path | None = None) -> list[Problem]:
    with pytest.raises(KnowledgeError) as caught:
        load_copy(directory, cache_dir)
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
    kb = load_copy(knowledge)
    # The copy, not the bundled knowledge, is what was read.
    assert [(layer.directory, layer.overlay) for layer in kb.layers] == [(str(knowledge), False)]
    assert kb.therapy_by_id["diltiazem"].source_file == str(knowledge / THERAPIES)
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
    edit(path, "    sources: [chapter]\n", "    sources: *both\n")
    problems = problems_of(knowledge)
    expect(problems, path, line_no(path, "*both"), "aliases are not allowed")


def test_an_anchor_and_its_alias_are_refused_at_the_anchor(knowledge: Path) -> None:
    """The anchor comes first in the file, so it is the problem reported."""
    path = knowledge / THERAPIES
    edit(path, "    sources: [chapter]\n", "    sources: &both [chapter]\n")
    edit(path, "    sources: [chapter]\n", "    sources: *both\n", after="&both")
    problems = problems_of(knowledge)
    expect(problems, path, line_no(path, "&both"), "anchor '&both' is not allowed")


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


@pytest.mark.slow
def test_very_deep_nesting_does_not_crash_a_real_process(knowledge: Path) -> None:
    """A C-level stack overflow would kill the interpreter; make sure a process survives it."""
    (knowledge / SUBTYPES).write_text("[" * 200_000, encoding="utf-8")
    code = (
        "import sys\n"
        "from calcref.errors import KnowledgeError\n"
        "from calcref.knowledge import load, stack\n"
        "try:\n    load(stack.from_setting(sys.argv[1]))\n"
        "except KnowledgeError as e:\n    print('refused', e.problems[0].line)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(knowledge)], capture_output=True, text=True, timeout=120
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
def test_calcref_data_pointing_to_a_non_directory(knowledge: Path, what: str) -> None:
    target = knowledge / SUBTYPES if what == "a-file" else knowledge / "no-such-directory"
    with pytest.raises(KnowledgeError) as caught:
        load_copy(target)
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


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("    name: Colchicine\n", "    name: no\n", "'name' must be a string, not bool False"),
        (
            "    name: Colchicine\n",
            "    name: Colchicine\n    aliases: [on, off]\n",
            "'aliases' must be a list of strings, not a list whose item 1 is bool True",
        ),
    ],
    ids=["name-no", "aliases-on-off"],
)
def test_a_word_yaml_reads_as_true_or_false_is_named_with_the_fix(
    knowledge: Path, old: str, new: str, words: str
) -> None:
    """YAML 1.1 reads yes, no, on and off as booleans: the problem names the item and says
    to quote the word, where a curator would otherwise see only "not a list"."""
    path = knowledge / THERAPIES
    edit(path, old, new, after="  - id: colchicine")
    (problem,) = problems_of(knowledge)
    assert words in problem.message
    assert problem.message.endswith("as true or false: quote the word)")


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
    first = line_of_exactly(path, "  - id: warfarin")
    second = line_of_exactly(path, "  - id: ivig")
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
        (THERAPIES, "    counts:\n      responders: 1\n      complete: 1\n", "    counts: [1]\n",
         "counts: [1]", "'counts' must be a mapping"),
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
        load_copy(knowledge)
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
    assert load_copy(knowledge).therapy_by_id["diltiazem"].name == "Diltiazem"


# --- load() takes everything as arguments -------------------------------------------------------


def test_load_reads_no_environment(
    knowledge: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the CLI reads CALCREF_DATA, CALCREF_NO_CACHE and XDG_CACHE_HOME; the library
    loads what it is given (by default the bundled knowledge, with no cache)."""
    monkeypatch.setenv("CALCREF_DATA", str(tmp_path / "no-such-directory"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CALCREF_NO_CACHE", raising=False)
    bundled = load()
    assert [(layer.directory, layer.overlay) for layer in bundled.layers] == [
        (str(stack.bundled_dir()), False)
    ]
    assert bundled.load_info == LoadInfo(None, "off")
    copied = load_copy(knowledge)
    assert copied.layers[0].directory == str(knowledge)
    assert copied.load_info == LoadInfo(None, "off")
    assert not (tmp_path / "xdg").exists(), "load() wrote to the environment's cache"


def test_each_load_reads_the_files_afresh(knowledge: Path) -> None:
    """No memo: a second load() of the same directory sees an edit made in between."""
    assert load_copy(knowledge).therapy_by_id["diltiazem"].name == "Diltiazem"
    edit(knowledge / THERAPIES, "    name: Diltiazem\n", "    name: Diltiazem (edited)\n")
    assert load_copy(knowledge).therapy_by_id["diltiazem"].name == "Diltiazem (edited)"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"}, Path("/xdg/calcref")),
        ({"HOME": "/home/u"}, Path("/home/u/.cache/calcref")),
        ({"XDG_CACHE_HOME": "/xdg", "CALCREF_NO_CACHE": "1"}, None),
        ({"HOME": "/home/u", "CALCREF_NO_CACHE": "1"}, None),
    ],
    ids=["xdg", "home", "no-cache-with-xdg", "no-cache"],
)
def test_the_cache_location_comes_from_the_environment_it_is_given(
    environ: dict[str, str], expected: Path | None
) -> None:
    assert cache.location(environ) == expected


# --- The parse cache ------------------------------------------------------------------------------


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """A private cache directory, not yet created (load() makes it when it writes)."""
    return tmp_path / "parse-cache"


def entries(cache_directory: Path) -> list[Path]:
    return sorted(cache_directory.glob(f"*{cache.SUFFIX}")) if cache_directory.is_dir() else []


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
    knowledge: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert entries(cache_dir) == []
    first = load_copy(knowledge, cache_dir)
    (entry,) = entries(cache_dir)
    assert first.load_info == LoadInfo(str(entry), "written")
    forbid_parsing(monkeypatch)
    second = load_copy(knowledge, cache_dir)
    assert second.load_info == LoadInfo(str(entry), "hit")
    assert second == first
    assert second is not first
    assert second.therapy_by_id["colchicine"].regimens == first.therapy_by_id["colchicine"].regimens
    # What KnowledgeBase equality leaves out: the layers and every record's file.
    assert second.layers == first.layers
    assert [t.source_file for t in second.therapies] == [t.source_file for t in first.therapies]
    assert entries(cache_dir) == [entry]


def test_the_entry_is_one_header_line_and_one_marshal_body(
    knowledge: Path, cache_dir: Path
) -> None:
    kb = load_copy(knowledge, cache_dir)
    (entry,) = entries(cache_dir)
    header_line, body = entry.read_bytes().split(b"\n", 1)
    form, key, length, crc = header_line.decode().split(" ")
    assert form == cache.FORMAT
    assert entry.name == f"{key}{cache.SUFFIX}"
    assert cache.entry_path(cache_dir, key) == str(entry)
    assert int(length) == len(body)
    assert int(crc, 16) == zlib.crc32(body)
    payload = marshal.loads(body)
    assert set(payload) == {"sections", "layers"}
    assert list(payload["sections"]) == list(SECTIONS)
    # Each record is a tuple of its slots' values, in the order the model declares them.
    assert payload["sections"]["therapies"] == tuple(t.as_row() for t in kb.therapies)
    id_at = Therapy.SLOTS.index("id")
    assert [row[id_at] for row in payload["sections"]["therapies"]] == [t.id for t in kb.therapies]
    assert [layer["directory"] for layer in payload["layers"]] == [str(knowledge)]
    assert cache.read(cache_dir, key) == payload


def test_the_key_changes_with_every_part_it_is_made_of() -> None:
    """calcref's version and each knowledge part, each prefixed by its length (so two parts
    never run together into the bytes of other parts)."""
    base = cache.make_key("1.0", [b"base", b"ab", b"c"])
    assert len(base) == 64 and set(base) <= set("0123456789abcdef")
    assert cache.make_key("1.0", [b"base", b"ab", b"c"]) == base
    for other in (
        cache.make_key("1.1", [b"base", b"ab", b"c"]),
        cache.make_key("1.0", [b"base", b"a", b"bc"]),
        cache.make_key("1.0", [b"base", b"ab", b"d"]),
        cache.make_key("1.0", [b"overlay", b"ab", b"c"]),
    ):
        assert other != base


@pytest.mark.parametrize("name", ["yamlread.py", "pyyamlread.py", "rules.py", "../model.py"])
def test_the_key_changes_with_the_code_that_reads_and_shapes_the_knowledge(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edited reader (or check, or model) under the same version number, as in an editable
    install, must not be answered from entries the old code wrote."""
    base = cache.make_key("1.0", [b"base", b"ab", b"c"])
    real = cache._source
    monkeypatch.setattr(
        cache, "_source", lambda path: real(path) + (b"#" if path.name == Path(name).name else b"")
    )
    assert cache.make_key("1.0", [b"base", b"ab", b"c"]) != base


def test_without_a_cache_directory_nothing_is_written(knowledge: Path, tmp_path: Path) -> None:
    before = sorted(tmp_path.rglob("*"))
    kb = load_copy(knowledge, cache_dir=None)
    assert kb.load_info == LoadInfo(None, "off")
    assert sorted(tmp_path.rglob("*")) == before


def test_an_edited_file_invalidates_the_cache(knowledge: Path, cache_dir: Path) -> None:
    first = load_copy(knowledge, cache_dir)
    assert first.therapy_by_id["diltiazem"].name == "Diltiazem"
    edit(knowledge / THERAPIES, "    name: Diltiazem\n", "    name: Diltiazem (edited)\n")
    edited = load_copy(knowledge, cache_dir)
    assert edited.therapy_by_id["diltiazem"].name == "Diltiazem (edited)"
    assert edited.load_info.cache_state == "written"
    assert edited.load_info.cache_entry != first.load_info.cache_entry
    assert len(entries(cache_dir)) == 2


def test_an_edit_that_breaks_a_file_is_never_answered_from_the_cache(
    knowledge: Path, cache_dir: Path
) -> None:
    load_copy(knowledge, cache_dir)
    path = knowledge / THERAPIES
    edit(path, "    name: Diltiazem\n", "    name: Diltiazem\n    colour: blue\n")
    problems = problems_of(knowledge, cache_dir)
    expect(problems, path, line_no(path, "colour: blue"), "unknown key")


# Damage to the bytes of an entry: its digest (or its header) no longer fits.


def _truncate(raw: bytes) -> bytes:
    return raw[: len(raw) // 2]


def _flip_payload_byte(raw: bytes) -> bytes:
    at = raw.index(b"\n") + 100
    return raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1 :]


def _header_only(raw: bytes) -> bytes:
    return raw.split(b"\n", 1)[0] + b"\n"


def _reheadered(header: str) -> Callable[[bytes], bytes]:
    """The entry's own, intact body under another header line; `header` is formatted with
    the entry's FORMAT, key, length and crc (as calcref writes them)."""

    def corrupt(raw: bytes) -> bytes:
        body = body_of(raw)
        fields = {
            "format": cache.FORMAT,
            "key": key_of(raw),
            "length": len(body),
            "crc": f"{zlib.crc32(body):08x}",
        }
        return header.format(**fields).encode() + b"\n" + body

    return corrupt


def _body_not_marshal(raw: bytes) -> bytes:
    return forged(key_of(raw), b'{"sections": ')


DAMAGED = {
    "truncated": _truncate,
    "flipped-byte": _flip_payload_byte,
    "header-only": _header_only,
    "empty": lambda raw: b"",
    "garbage": lambda raw: b"\x00\xff garbage \n\x80",
    "header-of-json": lambda raw: b"[]\n{}",
    "no-newline": lambda raw: raw.replace(b"\n", b" ", 1),
    "no-crc": _reheadered("{format} {key} {length}"),
    "wrong-length": _reheadered("{format} {key} 1{length} {crc}"),
    "another-crc": _reheadered("{format} {key} {length} 00000000"),
    "body-not-marshal": _body_not_marshal,
    "older-format": _reheadered("calcref-cache-7 {key} {length} {crc}"),
    "another-key": _reheadered("{format} " + "0" * 64 + " {length} {crc}"),
}


# Well-formed entries (a digest that fits) whose body does not fit the model: a lying cache.


def _reshaped(change: Callable[[Any], object]) -> Callable[[bytes], bytes]:
    """The entry with its body edited in place by `change` and a digest forged to fit."""

    def corrupt(raw: bytes) -> bytes:
        key, payload = split(raw)
        change(payload)
        return forged(key, encoded(payload))

    return corrupt


def _replaced(make: Callable[[Any], object]) -> Callable[[bytes], bytes]:
    """The entry with the body `make` returns in place of its own, and a digest to fit."""

    def corrupt(raw: bytes) -> bytes:
        key, payload = split(raw)
        return forged(key, encoded(make(payload)))

    return corrupt


def _first(payload: dict[str, Any], section: str) -> list[Any]:
    return payload["sections"][section][0]


def _set(kind: type, name: str, value: Any) -> Callable[[list[Any]], None]:
    """Set one slot of a cached row, found by the kind's slot order."""
    return lambda row: row.__setitem__(kind.SLOTS.index(name), value)


WRONG_SHAPES = {
    "body-a-list": _replaced(lambda p: [p["sections"], p["layers"]]),
    "body-a-string": _replaced(lambda p: "sections"),
    "per-file-body": _replaced(lambda p: {"subtypes.yaml": {"subtypes": 1}, "therapies.yaml": []}),
    "body-without-sections": _reshaped(lambda p: p.pop("sections")),
    "body-without-layers": _reshaped(lambda p: p.pop("layers")),
    "sections-a-list": _reshaped(lambda p: p.update(sections=list(p["sections"].values()))),
    "section-a-number": _reshaped(lambda p: p["sections"].update(therapies=1)),
    "record-a-string": _reshaped(lambda p: p["sections"].update(therapies=["diltiazem"])),
    "record-a-mapping": _reshaped(lambda p: p["sections"]["therapies"].__setitem__(0, {})),
    "record-without-id": _reshaped(lambda p: _first(p, "therapies").pop(Therapy.SLOTS.index("id"))),
    "record-one-value-too-many": _reshaped(lambda p: _first(p, "therapies").append("x")),
    "nested-record-a-number": _reshaped(
        lambda p: _set(Therapy, "positions", [5])(_first(p, "therapies"))
    ),
    "study-of-a-missing-therapy": _reshaped(
        lambda p: _set(Study, "therapies", ["no-such-therapy"])(_first(p, "studies"))
    ),
    "layers-a-mapping": _reshaped(lambda p: p.update(layers={"directory": "x"})),
    "layer-missing-a-key": _reshaped(lambda p: p["layers"][0].pop("files")),
    "layer-with-an-unknown-key": _reshaped(lambda p: p["layers"][0].update(colour="blue")),
}


@pytest.mark.parametrize(
    "corrupt", [*DAMAGED.values(), *WRONG_SHAPES.values()], ids=[*DAMAGED, *WRONG_SHAPES]
)
def test_a_corrupted_cache_entry_is_ignored_and_rebuilt(
    knowledge: Path,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    corrupt: Callable[[bytes], bytes],
) -> None:
    original = load_copy(knowledge, cache_dir)
    (entry,) = entries(cache_dir)
    good = entry.read_bytes()
    damaged = corrupt(good)
    assert damaged != good
    entry.write_bytes(damaged)
    calls = count_parsing(monkeypatch)
    rebuilt = load_copy(knowledge, cache_dir)
    assert rebuilt == original
    assert rebuilt.layers == original.layers
    assert calls == [1], "the corrupted entry should have been ignored and the files parsed"
    assert rebuilt.load_info == LoadInfo(str(entry), "written")
    # The entry was rewritten whole: the next load is a cache hit again.
    assert entry.read_bytes() == good
    forbid_parsing(monkeypatch)
    again = load_copy(knowledge, cache_dir)
    assert again == original
    assert again.load_info == LoadInfo(str(entry), "hit")


def test_an_entry_missing_a_whole_section_is_ignored_and_rebuilt(
    knowledge: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every section is in every entry calcref writes (a base must hold them all), so an entry
    without one is wrong-shaped: it must be rebuilt, not answered as a knowledge base with no
    therapies."""
    original = load_copy(knowledge, cache_dir)
    (entry,) = entries(cache_dir)
    key, payload = split(entry.read_bytes())
    del payload["sections"]["therapies"], payload["sections"]["studies"]
    entry.write_bytes(forged(key, encoded(payload)))
    calls = count_parsing(monkeypatch)
    rebuilt = load_copy(knowledge, cache_dir)
    assert calls == [1] and rebuilt.load_info.cache_state == "written", (
        "an entry without a 'therapies' section was answered from the cache "
        f"(state {rebuilt.load_info.cache_state!r}, {len(rebuilt.therapies)} therapies): "
        "knowledge.load.build() reads parsed['sections'].get(section, ()), taking a missing "
        "section for an empty one instead of a wrong-shaped entry"
    )
    assert rebuilt == original


def test_an_unwritable_cache_costs_nothing_but_speed(knowledge: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should go")
    kb = load_copy(knowledge, blocker / "calcref")
    assert kb.therapy_by_id["diltiazem"].evidence == "C"
    assert kb.load_info.cache_state == "not written"
    assert kb.load_info.cache_entry is not None
    assert Path(kb.load_info.cache_entry).parent == blocker / "calcref"
    assert blocker.read_text() == "a file where the cache directory should go"
    # Nothing was saved, so the next load parses again (and still answers).
    assert load_copy(knowledge, blocker / "calcref").load_info.cache_state == "not written"


@pytest.mark.slow
def test_a_cache_hit_does_not_import_yaml(knowledge: Path, cache_dir: Path, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from calcref.knowledge import load, stack\n"
        "kb = load(stack.from_setting(sys.argv[1]), cache_dir=Path(sys.argv[2]))\n"
        "print(kb.load_info.cache_state, 'yaml' in sys.modules)\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONSTARTUP"}
    answers = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", code, str(knowledge), str(cache_dir)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        answers.append(done.stdout.strip())
    # The parsing run does not import PyYAML either: the bundled files take the fast reader.
    assert answers == ["written False", "hit False"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("    n: 17\n", "    n: 017\n"),  # YAML 1.1 octal: would read as 15
        ("    n: 17\n", "    n: 1:7\n"),  # YAML 1.1 base 60: would read as 67
        ("    n: 17\n", "    n: 0x11\n"),
        ("    n: 17\n", "    n: 1_7\n"),
        ("    n: 17\n", "    n: 1" + "0" * 4400 + "\n"),  # past Python's int-string limit
    ],
    ids=["octal", "sexagesimal", "hex", "underscore", "4401-digits"],
)
def test_counts_must_be_plain_decimals(knowledge: Path, old: str, new: str) -> None:
    """A count means what it looks like, or the file is refused at its line."""
    path = knowledge / THERAPIES
    edit(path, old, new)
    edited_line = new.rstrip("\n")[:24]  # "    n: 017", unlike any other line ("2017")
    problems = problems_of(knowledge)
    assert len(problems) == 1, problems
    expect(problems, path, line_no(path, edited_line), "plain whole number")


def test_a_refused_number_does_not_hide_the_file_s_other_problems(knowledge: Path) -> None:
    """`017` is refused at its line, and the rest of the file is still read and checked: a
    curator fixing a file sees every problem in it at once, not one a run."""
    path = knowledge / THERAPIES
    edit(path, "    n: 17\n", "    n: 017\n")
    edit(path, "    n: 6\n", "    n: 6\n    bogus: 1\n", after="  - id: balin2012-minocycline")
    problems = problems_of(knowledge)
    assert len(problems) == 2, problems
    expect(problems, path, line_no(path, "    n: 017"), "plain whole number")
    expect(problems, path, line_no(path, "    bogus: 1"), "unknown key 'bogus'")
