"""`calcref validate`: every loader rule and every curator rule, reported as path:line: message.

Each test copies the bundled knowledge (data/) to a temporary directory and edits its text,
then finds the line it edited by searching the text it wrote. The expected line numbers and
paths therefore come from the fixture itself, never from calcref's own line bookkeeping.

Isolation comes from tests/conftest.py (a private XDG cache, no CALCREF_* variables); every
in-process run (clirun's `invoke`) reads CALCREF_DATA afresh. Tests that start real processes
are marked slow.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from clirun import ENTRY_POINT, MODULE, invoke
from helpers import copy_knowledge, edit
from typer.testing import Result

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
FILES = ("knowledge.yaml", "subtypes.yaml", "therapies.yaml")
PROBLEM_LINE = re.compile(r"^(?P<path>.+):(?P<line>\d+): (?P<message>.+)$")
JSON_KEYS = {"path", "line", "message", "rule"}
# The manifest's date line as data/knowledge.yaml writes it, and the same date written the
# wrong way round (DD.MM.YYYY), to break it without hard-coding which date it is.
MANIFEST_DATE = re.search(
    r'^date: "(\d{4})-(\d{2})-(\d{2})"$',
    (DATA / "knowledge.yaml").read_text(encoding="utf-8"),
    re.M,
)
assert MANIFEST_DATE, "data/knowledge.yaml has no quoted YYYY-MM-DD date line"
DATE_LINE = MANIFEST_DATE[0] + "\n"
DAY_FIRST = "{2}.{1}.{0}".format(*MANIFEST_DATE.groups())

# Slow as a whole (see CONTRIBUTING): every test validates a copy of the knowledge it edited,
# a cold parse each time (validate never reads the parse cache).
pytestmark = pytest.mark.slow


# --- helpers ------------------------------------------------------------------------------------


def validate(*args: str) -> Result:
    return invoke("validate", *args)


def failing(*args: str) -> tuple[list[str], str]:
    """`validate args`: exit 1, one problem per stdout line; returns (lines, summary line)."""
    result = validate(*args)
    assert result.exit_code == 1, f"exit {result.exit_code}; stderr: {result.stderr!r}"
    lines = result.stdout.splitlines()
    assert lines, "a failing validate printed no problem"
    assert result.stdout.endswith("\n")
    for line in lines:
        assert PROBLEM_LINE.match(line), f"not a path:line: message line: {line!r}"
    assert result.stderr.count("\n") == 1, result.stderr
    return lines, result.stderr.rstrip("\n")


def problems_json(*args: str) -> list[dict]:
    """`validate args --json`: exit 1 and the decoded problem list."""
    result = validate(*args, "--json")
    assert result.exit_code == 1, f"exit {result.exit_code}; stderr: {result.stderr!r}"
    problems = json.loads(result.stdout)
    assert isinstance(problems, list)
    return problems


def passing(*args: str) -> Result:
    result = validate(*args)
    assert result.exit_code == 0, f"exit {result.exit_code}; stdout: {result.stdout!r}"
    assert result.stdout == ""
    return result


def copy_data(tmp_path: Path, name: str = "kb") -> Path:
    return copy_knowledge(tmp_path / name)


def line_of(path: Path, needle: str, *, whole: bool = False) -> int:
    """The 1-based number of the only line of `path` that contains `needle` (with `whole`, the
    only line that is `needle` after its indentation: "- id: diltiazem" and not
    "- id: diltiazem-sources-disagree")."""
    lines = path.read_text(encoding="utf-8").splitlines()
    hits = [
        number
        for number, line in enumerate(lines, start=1)
        if (line.strip() == needle if whole else needle in line)
    ]
    assert len(hits) == 1, f"{needle!r} is on lines {hits} of {path}"
    return hits[0]


def parsed(line: str) -> tuple[str, int, str]:
    match = PROBLEM_LINE.match(line)
    assert match, line
    return match["path"], int(match["line"]), match["message"]


def only_problem(*args: str) -> tuple[str, int, str, str]:
    """The single problem `validate args` reports: (path, line, message, rule); the text and
    the JSON output must agree on it."""
    lines, summary = failing(*args)
    assert len(lines) == 1, lines
    assert summary.startswith("calcref: 1 problem in ")
    problems = problems_json(*args)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert parsed(lines[0]) == (problem["path"], problem["line"], problem["message"])
    return problem["path"], problem["line"], problem["message"], problem["rule"]


def has_words(message: str, *words: str) -> bool:
    return all(word in message for word in words)


# --- the bundled knowledge ----------------------------------------------------------------------


def test_bundled_knowledge_has_no_problems():
    result = passing()
    assert result.stderr == "calcref: no problems in 3 files\n"


def test_bundled_knowledge_json_is_an_empty_list():
    result = validate("--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []
    assert result.stderr == "calcref: no problems in 3 files\n"


def test_an_unedited_copy_passed_as_dir_has_no_problems(tmp_path):
    kb = copy_data(tmp_path)
    result = passing(str(kb))
    assert result.stderr == "calcref: no problems in 3 files\n"


# --- curator rule: graded without line ----------------------------------------------------------


def test_position_with_evidence_but_no_line_is_reported_at_the_evidence_line(tmp_path):
    kb = copy_data(tmp_path)
    therapies = kb / "therapies.yaml"
    edit(
        therapies,
        "        line: first\n        evidence: C\n        listed_as: Diltiazem\n",
        "        evidence: C\n        listed_as: Diltiazem\n",
    )
    expected_line = line_of(therapies, "evidence: C")
    path, line, message, rule = only_problem(str(kb))
    assert (path, line, rule) == (str(therapies), expected_line, "graded-without-line")
    assert has_words(message, "diltiazem", "C", "chapter", "line")


def test_position_with_a_line_but_no_evidence_passes(tmp_path):
    kb = copy_data(tmp_path)
    edit(
        kb / "therapies.yaml",
        "        line: first\n        evidence: C\n        listed_as: Diltiazem\n",
        "        line: first\n        listed_as: Diltiazem\n",
    )
    passing(str(kb))


# --- curator rule: counts -----------------------------------------------------------------------

# robertson2003-study, n: 9: the end of its outcome, then its counts in block style; a test
# writes its own counts in flow style after the same outcome line.
ROBERTSON_OUTCOME_END = "      shrank less dramatically; improvement by 5 months.\n"
ROBERTSON_COUNTS = ROBERTSON_OUTCOME_END + "    counts:\n      responders: 8\n"


def robertson_counts(counts: str) -> str:
    return ROBERTSON_OUTCOME_END + f"    counts: {counts}\n"


@pytest.mark.parametrize(
    "counts",
    [
        "{responders: 9}",
        "{responders: 8, none: 1}",
        "{responders: 7, none: 1, unknown: 1}",
        "{responders: 8, complete: 5, partial: 3, none: 1}",
        "{complete: 5, partial: 3, none: 1}",
        "{complete: 4, partial: 2, none: 2, unknown: 1}",
    ],
    ids=[
        "responders-equal-n",
        "responders-and-none-equal-n",
        "responders-none-unknown-equal-n",
        "split-equals-responders-total-equals-n",
        "split-without-responders-equals-n",
        "everything-without-responders-equals-n",
    ],
)
def test_counts_adding_up_exactly_to_n_pass(tmp_path, counts):
    kb = copy_data(tmp_path)
    edit(kb / "therapies.yaml", ROBERTSON_COUNTS, robertson_counts(counts))
    assert "    n: 9\n    regimen: 50 mg or 100 mg daily" in (kb / "therapies.yaml").read_text()
    passing(str(kb))


@pytest.mark.parametrize(
    ("counts", "total"),
    [
        ("{responders: 10}", 10),
        ("{responders: 8, none: 1, unknown: 1}", 10),
        ("{complete: 5, partial: 4, none: 1}", 10),
        ("{partial: 3, unknown: 7}", 10),
    ],
    ids=["responders", "responders-none-unknown", "split-none", "split-unknown"],
)
def test_counts_exceeding_n_are_reported_at_the_counts_line(tmp_path, counts, total):
    kb = copy_data(tmp_path)
    therapies = kb / "therapies.yaml"
    edit(therapies, ROBERTSON_COUNTS, robertson_counts(counts))
    expected_line = line_of(therapies, f"counts: {counts}")
    path, line, message, rule = only_problem(str(kb))
    assert (path, line, rule) == (str(therapies), expected_line, "counts")
    assert has_words(message, "robertson2003-study", str(total), "9")


def test_complete_plus_partial_exceeding_responders_is_reported(tmp_path):
    kb = copy_data(tmp_path)
    therapies = kb / "therapies.yaml"
    # balin2012-surgery: n 11, responders 11; the split 8 + 4 = 12 exceeds the responders
    # while responders + none stays at n, so only the split rule can fire.
    edit(
        therapies,
        "    outcome: All 11 responded, 8 completely.\n"
        "    counts:\n      responders: 11\n      complete: 8\n",
        "    outcome: All 11 responded, 8 completely.\n"
        "    counts: {responders: 11, complete: 8, partial: 4}\n",
    )
    expected_line = line_of(therapies, "counts: {responders: 11, complete: 8, partial: 4}")
    path, line, message, rule = only_problem(str(kb))
    assert (path, line, rule) == (str(therapies), expected_line, "counts")
    assert has_words(message, "balin2012-surgery", "complete", "partial", "12", "11")


def test_a_study_breaking_both_count_rules_gets_two_problems(tmp_path):
    kb = copy_data(tmp_path)
    therapies = kb / "therapies.yaml"
    counts = "{responders: 10, complete: 6, partial: 5}"  # split 11 > 10 responders > n 9
    edit(therapies, ROBERTSON_COUNTS, robertson_counts(counts))
    expected_line = line_of(therapies, counts)
    lines, summary = failing(str(kb))
    assert summary == "calcref: 2 problems in 3 files"
    assert [parsed(line)[:2] for line in lines] == [(str(therapies), expected_line)] * 2
    messages = [parsed(line)[2] for line in lines]
    assert any(has_words(m, "11", "10", "partial") for m in messages)
    assert any(has_words(m, "10", "9") and "partial" not in m for m in messages)
    assert [p["rule"] for p in problems_json(str(kb))] == ["counts", "counts"]


# --- curator rule: every reference named --------------------------------------------------------

ORPHAN = (
    "  - id: orphan2020\n"
    "    type: article\n"
    "    title: A reference nothing cites\n"
    "    printed:\n"
    "      - source: orphan2020\n"
    "        text: Orphan A. A reference nothing cites. 2020.\n"
    "\n"
)
PITT = "  - id: pitt1990\n"


def test_a_reference_named_only_by_itself_is_reported_at_its_id(tmp_path):
    kb = copy_data(tmp_path)
    therapies = kb / "therapies.yaml"
    edit(therapies, PITT, ORPHAN + PITT)
    expected_line = line_of(therapies, "- id: orphan2020")
    path, line, message, rule = only_problem(str(kb))
    assert (path, line, rule) == (str(therapies), expected_line, "unnamed-reference")
    assert "orphan2020" in message


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        (
            "therapies.yaml",
            "  - id: apremilast\n    name: Apremilast\n    uses:\n"
            "      - text: A recent approach that has been tried.\n"
            "        sources: [chapter]\n    sources: [chapter]\n",
            "  - id: apremilast\n    name: Apremilast\n    uses:\n"
            "      - text: A recent approach that has been tried.\n"
            "        sources: [chapter]\n    sources: [chapter, orphan2020]\n",
        ),
        ("therapies.yaml", "    ref: robertson2003\n", "    ref: orphan2020\n"),
        (
            "therapies.yaml",
            "      - source: chapter\n        view: >-\n          Advocated",
            "      - source: orphan2020\n        view: >-\n          Advocated",
        ),
        (
            "therapies.yaml",
            "      - source: jopa\n        text: >-\n          Walsh JS",
            "      - source: orphan2020\n        text: >-\n          Walsh JS",
        ),
        (
            "subtypes.yaml",
            "            sources: [jopa, walsh1995]\n",
            "            sources: [jopa, walsh1995, orphan2020]\n",
        ),
    ],
    ids=[
        "therapy-sources",
        "study-ref",
        "position-source",
        "other-reference-printed-source",
        "statement-sources-in-subtypes",
    ],
)
def test_a_reference_named_by_another_record_passes(tmp_path, file, old, new):
    kb = copy_data(tmp_path)
    edit(kb / "therapies.yaml", PITT, ORPHAN + PITT)
    edit(kb / file, old, new)
    passing(str(kb))


# --- curator rule: DOI confirmed ----------------------------------------------------------------

ROBERTSON_CONFIRMED = (
    "    confirmed: >-\n"
    "      Robertson LP, Marshall RW, Hickling P. Ann Rheum Dis 2003;62(3):267–269; DOI\n"
    "      10.1136/ard.62.3.267 (sources README, seen on a publisher or index page).\n"
)


def test_a_doi_without_confirmed_is_reported_at_the_doi(tmp_path):
    kb = copy_data(tmp_path)
    therapies = kb / "therapies.yaml"
    edit(therapies, ROBERTSON_CONFIRMED, "")
    expected_line = line_of(therapies, "doi: 10.1136/ard.62.3.267")
    path, line, message, rule = only_problem(str(kb))
    assert (path, line, rule) == (str(therapies), expected_line, "unconfirmed-identifier")
    assert has_words(message, "robertson2003", "DOI", "confirmed")


def test_a_new_doi_without_confirmed_is_reported(tmp_path):
    kb = copy_data(tmp_path)
    therapies = kb / "therapies.yaml"
    edit(therapies, "    pages: 28–32\n", "    pages: 28–32\n    doi: 10.9999/made.up.1990\n")
    expected_line = line_of(therapies, "doi: 10.9999/made.up.1990")
    path, line, message, rule = only_problem(str(kb))
    assert (path, line, rule) == (str(therapies), expected_line, "unconfirmed-identifier")
    assert "pitt1990" in message


def test_a_doi_with_confirmed_passes(tmp_path):
    kb = copy_data(tmp_path)
    edit(
        kb / "therapies.yaml",
        "    pages: 28–32\n",
        "    pages: 28–32\n    doi: 10.9999/made.up.1990\n    confirmed: Seen on the index page.\n",
    )
    passing(str(kb))


# --- curator rule: the manifest -----------------------------------------------------------------


def test_a_base_without_knowledge_yaml_is_reported(tmp_path):
    kb = copy_data(tmp_path)
    (kb / "knowledge.yaml").unlink()
    path, line, message, rule = only_problem(str(kb))
    assert (path, line, rule) == (str(kb / "knowledge.yaml"), 1, "manifest")
    assert "missing" in message
    _, summary = failing(str(kb))
    assert summary == "calcref: 1 problem in 2 files"


def test_an_overlay_without_knowledge_yaml_is_not_a_problem(tmp_path):
    kb = copy_data(tmp_path)
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "therapies.yaml").write_text(
        "therapies:\n  - id: clinic-cream\n    name: Clinic cream\n    sources: [chapter]\n",
        encoding="utf-8",
    )
    result = passing(str(kb), "--overlay", str(overlay))
    assert result.stderr == "calcref: no problems in 4 files\n"


# --- loader problems ----------------------------------------------------------------------------


# YAML anchors: the parser drops an anchor from the value it marks (`outcome: &x 5 of 9
# improved` would read "5 of 9 improved"), so one is refused where it stands, whether or not
# an alias uses it, in a base file and in an overlay, on a scalar, a mapping and a sequence.
POSITIONS_NO_TREATMENT = (
    "    positions:\n      - source: chapter\n        line: first\n        evidence: E\n"
    "        listed_as: No treatment/self-healing\n"
)
ANCHORED_IN_BASE = {
    "scalar": (
        "therapies.yaml",
        "    outcome: Resolved over 8 weeks by spontaneous transepidermal elimination.\n",
        "    outcome: &x Resolved over 8 weeks by spontaneous transepidermal elimination.\n",
        "&x",
    ),
    "mapping": (
        "therapies.yaml",
        "    counts:\n      responders: 8\n",
        "    counts: &c\n      responders: 8\n",
        "&c",
    ),
    "block-sequence": (
        "therapies.yaml",
        POSITIONS_NO_TREATMENT,
        POSITIONS_NO_TREATMENT.replace("positions:", "positions: &p", 1),
        "&p",
    ),
    "flow-sequence": (
        "subtypes.yaml",
        "    contexts: [scrotal]\n",
        "    contexts: &s [scrotal]\n",
        "&s",
    ),
}


@pytest.mark.parametrize(
    ("file", "old", "new", "anchor"), ANCHORED_IN_BASE.values(), ids=ANCHORED_IN_BASE
)
def test_an_anchor_in_a_base_file_is_refused_at_its_line(tmp_path, file, old, new, anchor):
    kb = copy_data(tmp_path)
    edit(kb / file, old, new)
    path, line, message, rule = only_problem(str(kb))
    assert (path, line, rule) == (str(kb / file), line_of(kb / file, anchor), "load")
    assert message == f"YAML anchor '{anchor}' is not allowed in knowledge files"


def test_an_anchored_outcome_is_not_answered_without_its_anchor(tmp_path):
    """The audit's case: the knowledge is refused, not read as the text after the anchor."""
    kb = copy_data(tmp_path)
    _, old, new, _ = ANCHORED_IN_BASE["scalar"]
    edit(kb / "therapies.yaml", old, new)
    result = invoke("studies", "--json", env={"CALCREF_DATA": str(kb)})
    assert result.exit_code == 1
    assert result.stdout == ""
    where = f"{kb / 'therapies.yaml'}:{line_of(kb / 'therapies.yaml', '&x')}"
    assert result.stderr == (
        f"calcref: error: {where}: YAML anchor '&x' is not allowed in knowledge files\n"
    )


ANCHORED_IN_OVERLAY = {
    "scalar": (
        "therapies:\n  - id: clinic-cream\n    name: &n Clinic cream\n    sources: [chapter]\n",
        "&n",
    ),
    "mapping": (
        "therapies:\n  - &t\n    id: clinic-cream\n    name: Clinic cream\n"
        "    sources: [chapter]\n",
        "&t",
    ),
    "sequence": (
        "therapies: &all\n  - id: clinic-cream\n    name: Clinic cream\n    sources: [chapter]\n",
        "&all",
    ),
}


@pytest.mark.parametrize(("text", "anchor"), ANCHORED_IN_OVERLAY.values(), ids=ANCHORED_IN_OVERLAY)
def test_an_anchor_in_an_overlay_is_refused_at_its_line(tmp_path, text, anchor):
    kb = copy_data(tmp_path)
    overlay = _overlay(tmp_path, text)
    overlay_file = overlay / "therapies.yaml"
    path, line, message, rule = only_problem(str(kb), "--overlay", str(overlay))
    assert (path, line, rule) == (str(overlay_file), line_of(overlay_file, anchor), "load")
    assert message == f"YAML anchor '{anchor}' is not allowed in knowledge files"
    # the same overlay without its anchor is valid: the anchor alone was the problem
    overlay_file.write_text(text.replace(f" {anchor}", ""), encoding="utf-8")
    passing(str(kb), "--overlay", str(overlay))


@pytest.mark.parametrize(
    ("file", "old", "new", "needle", "words"),
    [
        (
            "therapies.yaml",
            "        evidence: C\n",
            "        evidence: F\n",
            "evidence: F",
            ("'F'", "evidence"),
        ),
        (
            "subtypes.yaml",
            "    contexts: [scrotal]\n",
            "    contexts: [scrotal, nowhere-land]\n",
            "nowhere-land",
            ("context", "nowhere-land"),
        ),
        (
            "therapies.yaml",
            "    name: Infliximab\n",
            "    name: Infliximab: broken: yaml\n",
            "Infliximab: broken",
            ("YAML",),
        ),
        (
            "therapies.yaml",
            "    n: 9\n    regimen: 50 mg or 100 mg daily",
            "    n: nine\n    regimen: 50 mg or 100 mg daily",
            "n: nine",
            ("'n'", "nine"),
        ),
        (
            "knowledge.yaml",
            DATE_LINE,
            f'date: "{DAY_FIRST}"\n',
            DAY_FIRST,
            ("date", "YYYY-MM-DD"),
        ),
        (
            "knowledge.yaml",
            DATE_LINE,
            'date: "2026-02-30"\n',
            "2026-02-30",
            ("date", "2026-02-30", "calendar"),
        ),
        (
            "subtypes.yaml",
            "  - id: idiopathic\n    name: Idiopathic calcinosis cutis\n",
            "  - id: idiopathic\n    colour: grey\n    name: Idiopathic calcinosis cutis\n",
            "colour: grey",
            ("unknown key", "colour"),
        ),
    ],
    ids=[
        "bad-evidence-letter",
        "unknown-context-id",
        "yaml-syntax-error",
        "count-not-a-number",
        "bad-manifest-date",
        "manifest-date-not-in-the-calendar",
        "unknown-key",
    ],
)
def test_loader_problems_are_reported_with_rule_load(tmp_path, file, old, new, needle, words):
    kb = copy_data(tmp_path)
    edit(kb / file, old, new)
    expected_line = line_of(kb / file, needle)
    path, line, message, rule = only_problem(str(kb))
    assert (path, line, rule) == (str(kb / file), expected_line, "load")
    assert has_words(message, *words), message


def test_a_missing_knowledge_file_is_a_load_problem(tmp_path):
    kb = copy_data(tmp_path)
    (kb / "subtypes.yaml").unlink()
    path, line, message, rule = only_problem(str(kb))
    assert (path, line, rule) == (str(kb / "subtypes.yaml"), 1, "load")
    assert "not found" in message


def test_every_missing_knowledge_file_is_reported_not_only_the_first(tmp_path):
    kb = tmp_path / "empty"
    kb.mkdir()
    lines, summary = failing(str(kb))
    assert lines == [
        f"{kb / name}:1: file not found" for name in ("subtypes.yaml", "therapies.yaml")
    ]
    assert summary == "calcref: 2 problems in 2 files"


def test_loader_and_curator_problems_are_reported_together(tmp_path):
    kb = copy_data(tmp_path)
    therapies = kb / "therapies.yaml"
    edit(therapies, "        evidence: C\n", "        evidence: F\n")
    edit(therapies, ROBERTSON_CONFIRMED, "")
    expected = sorted(
        [
            (line_of(therapies, "evidence: F"), "load"),
            (line_of(therapies, "doi: 10.1136/ard.62.3.267"), "unconfirmed-identifier"),
        ]
    )
    problems = problems_json(str(kb))
    assert [(p["line"], p["rule"]) for p in problems] == expected


# --- many problems in one run -------------------------------------------------------------------


def test_problems_in_every_file_are_all_reported_sorted_by_path_then_line(tmp_path):
    kb = copy_data(tmp_path)
    manifest, subtypes, therapies = (kb / name for name in FILES)
    # Written out of order on purpose: curator problems are found after loader problems,
    # links after shapes, the manifest check last; the report must still be in file order.
    edit(therapies, "      - context: trauma\n", "      - context: nowhere-land\n")  # link, late
    edit(
        therapies,
        "        line: first\n        evidence: C\n        listed_as: Diltiazem\n",
        "        evidence: C\n        listed_as: Diltiazem\n",
    )  # curator, early
    edit(therapies, ROBERTSON_COUNTS, robertson_counts("{responders: 12}"))  # curator
    edit(
        therapies,
        "        evidence: D\n        listed_as: Bisphosphonates\n",
        "        evidence: Q\n        listed_as: Bisphosphonates\n",
    )  # shape, middle
    edit(subtypes, "    contexts: [scrotal]\n", "    contexts: [scrotal, nowhere-else]\n")
    edit(manifest, DATE_LINE, f'date: "{DAY_FIRST}"\n')
    expected = [
        (str(therapies), line_of(therapies, "context: nowhere-land"), "load"),
        (str(therapies), line_of(therapies, "evidence: C"), "graded-without-line"),
        (str(therapies), line_of(therapies, "counts: {responders: 12}"), "counts"),
        (str(therapies), line_of(therapies, "evidence: Q"), "load"),
        (str(subtypes), line_of(subtypes, "nowhere-else"), "load"),
        (str(manifest), line_of(manifest, DAY_FIRST), "load"),
    ]
    expected.sort(key=lambda problem: (problem[0], problem[1]))

    lines, summary = failing(str(kb))
    assert [parsed(line)[:2] for line in lines] == [(p, n) for p, n, _ in expected]
    assert summary == f"calcref: {len(expected)} problems in 3 files"

    problems = problems_json(str(kb))
    assert [(p["path"], p["line"], p["rule"]) for p in problems] == expected
    assert [f"{p['path']}:{p['line']}: {p['message']}" for p in problems] == lines


# --- which knowledge is checked -----------------------------------------------------------------


def _break_evidence(kb: Path) -> int:
    therapies = kb / "therapies.yaml"
    edit(therapies, "        evidence: C\n", "        evidence: F\n")
    return line_of(therapies, "evidence: F")


def test_without_arguments_the_active_knowledge_from_calcref_data_is_checked(tmp_path, monkeypatch):
    kb = copy_data(tmp_path)
    expected_line = _break_evidence(kb)
    monkeypatch.setenv("CALCREF_DATA", str(kb))
    path, line, _, rule = only_problem()
    assert (path, line, rule) == (str(kb / "therapies.yaml"), expected_line, "load")


def test_calcref_data_with_an_overlay_is_checked_as_a_stack(tmp_path, monkeypatch):
    kb = copy_data(tmp_path)
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "therapies.yaml").write_text(
        "therapies:\n  - id: clinic-cream\n    name: Clinic cream\n"
        "    positions:\n      - source: chapter\n        evidence: E\n    sources: [chapter]\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CALCREF_DATA", os.pathsep.join([str(kb), str(overlay)]))
    path, line, _, rule = only_problem()
    expected = (str(overlay / "therapies.yaml"), line_of(overlay / "therapies.yaml", "evidence: E"))
    assert (path, line, rule) == (*expected, "graded-without-line")
    _, summary = failing()
    assert summary == "calcref: 1 problem in 4 files"


def test_a_dir_argument_is_checked_instead_of_calcref_data(tmp_path, monkeypatch):
    broken = copy_data(tmp_path, "broken")
    _break_evidence(broken)
    clean = copy_data(tmp_path, "clean")
    monkeypatch.setenv("CALCREF_DATA", str(broken))
    failing()  # the active knowledge is the broken copy...
    passing(str(clean))  # ...but DIR names the base to check


def test_a_broken_dir_argument_is_checked_instead_of_the_bundled_knowledge(tmp_path):
    kb = copy_data(tmp_path)
    expected_line = _break_evidence(kb)
    path, line, _, _ = only_problem(str(kb))
    assert (path, line) == (str(kb / "therapies.yaml"), expected_line)


GRADED_WITHOUT_LINE_OVERLAY = (
    "# a clinic's overlay\n"
    "therapies:\n"
    "  - id: clinic-cream\n"
    "    name: Clinic cream\n"
    "    positions:\n"
    "      - source: chapter\n"
    "        evidence: E\n"
    "    sources: [chapter]\n"
)


def _overlay(tmp_path: Path, text: str, name: str = "overlay") -> Path:
    overlay = tmp_path / name
    overlay.mkdir()
    (overlay / "therapies.yaml").write_text(text, encoding="utf-8")
    return overlay


def test_an_overlay_on_the_active_base_is_reported_at_the_overlay_file(tmp_path):
    overlay = _overlay(tmp_path, GRADED_WITHOUT_LINE_OVERLAY)
    overlay_file = overlay / "therapies.yaml"
    path, line, message, rule = only_problem("--overlay", str(overlay))
    assert (path, line, rule) == (
        str(overlay_file),
        line_of(overlay_file, "evidence: E"),
        "graded-without-line",
    )
    assert has_words(message, "clinic-cream", "E")
    _, summary = failing("--overlay", str(overlay))
    assert summary == "calcref: 1 problem in 4 files"


def test_an_overlay_on_a_dir_base_is_reported_at_the_overlay_file(tmp_path):
    kb = copy_data(tmp_path)
    overlay = _overlay(tmp_path, GRADED_WITHOUT_LINE_OVERLAY)
    overlay_file = overlay / "therapies.yaml"
    path, line, _, rule = only_problem(str(kb), "-o", str(overlay))
    assert (path, line, rule) == (
        str(overlay_file),
        line_of(overlay_file, "evidence: E"),
        "graded-without-line",
    )


CONFLICT_OVERLAY = (
    "therapies:\n  - id: diltiazem\n    name: Diltiazem (clinic protocol)\n    sources: [chapter]\n"
)


def test_an_overlay_redefining_an_id_names_both_files(tmp_path):
    kb = copy_data(tmp_path)
    overlay = _overlay(tmp_path, CONFLICT_OVERLAY)
    overlay_file, base_file = overlay / "therapies.yaml", kb / "therapies.yaml"
    path, line, message, rule = only_problem(str(kb), "--overlay", str(overlay))
    assert (path, line, rule) == (str(overlay_file), line_of(overlay_file, "id: diltiazem"), "load")
    assert f"{base_file}:{line_of(base_file, '- id: diltiazem', whole=True)}" in message
    assert "replace" in message


def test_an_overlay_with_only_overlay_option_sits_on_calcref_data_base(tmp_path, monkeypatch):
    kb = copy_data(tmp_path)
    overlay = _overlay(tmp_path, CONFLICT_OVERLAY)
    monkeypatch.setenv("CALCREF_DATA", str(kb))
    _, _, message, _ = only_problem("--overlay", str(overlay))
    base_file = kb / "therapies.yaml"
    assert f"{base_file}:{line_of(base_file, '- id: diltiazem', whole=True)}" in message


def test_an_overlay_replacing_an_id_on_purpose_passes(tmp_path):
    kb = copy_data(tmp_path)
    overlay = _overlay(
        tmp_path, CONFLICT_OVERLAY.replace("    sources:", "    replace: true\n    sources:")
    )
    assert "replace: true" in (overlay / "therapies.yaml").read_text(encoding="utf-8")
    passing(str(kb), "--overlay", str(overlay))


# --- bad arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        lambda tmp: [str(tmp / "missing")],
        lambda tmp: [str(DATA / "knowledge.yaml")],
        lambda tmp: ["--overlay", str(tmp / "missing")],
        lambda tmp: ["--overlay", str(DATA / "therapies.yaml")],
        lambda tmp: [str(DATA), "--overlay", str(tmp / "missing")],
        lambda tmp: [str(tmp / "missing"), "--json"],
        lambda tmp: [str(DATA), "--overlay", str(DATA)],
        lambda tmp: ["--overlay", str(tmp)],  # tmp_path holds no knowledge file
    ],
    ids=[
        "missing-dir",
        "dir-is-a-file",
        "missing-overlay",
        "overlay-is-a-file",
        "dir-with-missing-overlay",
        "missing-dir-json",
        "dir-listed-twice",
        "overlay-with-no-knowledge-file",
    ],
)
def test_bad_directories_are_usage_errors(tmp_path, args):
    result = validate(*args(tmp_path))
    assert result.exit_code == 2, f"exit {result.exit_code}; stderr: {result.stderr!r}"
    assert result.stdout == ""
    assert result.stderr.startswith("calcref: error:")
    assert result.stderr.endswith("\n")
    assert result.stderr.count("\n") == 1, result.stderr


# --- output formats: table or json ------------------------------------------------------------


def test_format_json_and_table_are_the_json_and_text_reports(tmp_path):
    kb = copy_data(tmp_path)
    _break_evidence(kb)
    as_json, as_text = validate(str(kb), "--json"), validate(str(kb))
    by_format_json = validate(str(kb), "--format", "json")
    by_format_table = validate(str(kb), "--format", "table")
    assert (by_format_json.exit_code, by_format_json.stdout) == (1, as_json.stdout)
    assert (by_format_table.exit_code, by_format_table.stdout) == (1, as_text.stdout)
    assert json.loads(by_format_json.stdout)[0]["rule"] == "load"


@pytest.mark.parametrize("fmt", ["csv", "markdown", "yaml"])
def test_a_format_validate_does_not_write_is_a_usage_error(fmt):
    result = validate("--format", fmt)
    assert result.exit_code == 2, f"exit {result.exit_code}; stderr: {result.stderr!r}"
    assert result.stdout == ""
    assert result.stderr.startswith("calcref: error:")
    assert result.stderr.count("\n") == 1, result.stderr
    assert "table, json" in result.stderr


@pytest.mark.parametrize("fmt", ["csv", "markdown", "json", "table"])
def test_calcref_format_applies_only_where_it_is_a_format_of_validate(monkeypatch, fmt):
    monkeypatch.setenv("CALCREF_FORMAT", fmt)
    result = validate()
    assert result.exit_code == 0, f"exit {result.exit_code}; stderr: {result.stderr!r}"
    assert result.stderr == "calcref: no problems in 3 files\n"
    if fmt == "json":
        assert json.loads(result.stdout) == []
    else:  # csv and markdown are ignored, never an error: the text report, which is empty
        assert result.stdout == ""


# --- output safety ------------------------------------------------------------------------------


def test_control_characters_in_problems_are_escaped_and_each_problem_is_one_line(tmp_path):
    kb = copy_data(tmp_path)
    therapies = kb / "therapies.yaml"
    # YAML double-quoted escapes: \e is ESC, \n a newline; the file itself stays plain text.
    edit(therapies, "        evidence: C\n", '        evidence: "\\e[31mC"\n')
    edit(therapies, "    name: Infliximab\n", '    name: Infliximab\n    "bad\\nkey": 1\n')
    esc_line = line_of(therapies, "\\e[31mC")
    key_line = line_of(therapies, "bad\\nkey")

    problems = problems_json(str(kb))
    assert [(p["line"], p["rule"]) for p in problems] == [(esc_line, "load"), (key_line, "load")]
    assert "\x1b[31mC" in problems[0]["message"]  # JSON keeps the text, escaped as JSON does
    assert "bad\nkey" in problems[1]["message"]

    result = validate(str(kb))
    assert result.exit_code == 1
    assert "\x1b" not in result.stdout
    lines = result.stdout.splitlines()
    assert len(lines) == len(problems), lines
    assert [parsed(line)[:2] for line in lines] == [
        (str(therapies), esc_line),
        (str(therapies), key_line),
    ]
    assert "\\x1b[31mC" in lines[0]
    assert "bad\\nkey" in lines[1]


def test_control_characters_never_reach_the_terminal_raw(tmp_path):
    kb = copy_data(tmp_path)
    therapies = kb / "therapies.yaml"
    edit(therapies, "        evidence: C\n", '        evidence: "C\\u202e\\x07\\r"\n')
    result = validate(str(kb))
    assert result.exit_code == 1
    for raw in ("\u202e", "\x07", "\r"):
        assert raw not in result.stdout
    assert len(result.stdout.splitlines()) == 1
    json_result = validate(str(kb), "--json")
    for raw in ("\u202e", "\x07", "\r"):
        assert raw not in json_result.stdout
    assert "C\u202e\x07\r" in json.loads(json_result.stdout)[0]["message"]


# --- real processes -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["entry-point", "python-m"])
def test_installed_entry_points_report_problems_without_traceback(tmp_path, launcher):
    if launcher == "entry-point" and not ENTRY_POINT.exists():
        pytest.skip("the calcref console script is not installed next to this Python")
    command = [str(ENTRY_POINT)] if launcher == "entry-point" else MODULE
    kb = copy_data(tmp_path)
    therapies = kb / "therapies.yaml"
    _break_evidence(kb)
    edit(therapies, ROBERTSON_CONFIRMED, "")  # above the evidence: find lines after editing
    evidence_line = line_of(therapies, "evidence: F")
    doi_line = line_of(therapies, "doi: 10.1136/ard.62.3.267")
    (kb / "knowledge.yaml").unlink()
    result = subprocess.run(
        [*command, "validate", str(kb)],
        capture_output=True,
        env=dict(os.environ),
        timeout=120,
    )
    stdout = result.stdout.decode("utf-8")
    stderr = result.stderr.decode("utf-8")
    assert "Traceback" not in stdout
    assert "Traceback" not in stderr
    assert result.returncode == 1, stderr
    lines = stdout.splitlines()
    assert len(lines) == 3
    for line in lines:
        assert re.match(r"^.+:\d+: .+$", line), line
    assert stderr == "calcref: 3 problems in 2 files\n"

    as_json = subprocess.run(
        [*command, "validate", str(kb), "--json"],
        capture_output=True,
        env=dict(os.environ),
        timeout=120,
    )
    assert as_json.returncode == 1
    assert b"Traceback" not in as_json.stderr
    expected = [
        (str(kb / "knowledge.yaml"), 1, "manifest"),
        *sorted(
            [
                (str(therapies), evidence_line, "load"),
                (str(therapies), doi_line, "unconfirmed-identifier"),
            ]
        ),
    ]
    problems = json.loads(as_json.stdout)
    assert [(p["path"], p["line"], p["rule"]) for p in problems] == expected
    assert [f"{p['path']}:{p['line']}: {p['message']}" for p in problems] == lines


# --- JSON at scale ------------------------------------------------------------------------------


def test_json_with_many_problems_parses_and_has_exactly_the_documented_keys(tmp_path):
    kb = copy_data(tmp_path)
    therapies = kb / "therapies.yaml"
    studies = "".join(
        f"  - id: overcount-{i}\n"
        "    ref: pitt1990\n"
        "    therapies: [no-treatment]\n"
        "    population: Too many responders\n"
        "    n: 1\n"
        "    outcome: More responders than patients.\n"
        f"    counts: {{responders: {i + 2}}}  # overcount {i}\n"
        "    sources: [chapter]\n"
        for i in range(30)
    )
    text = therapies.read_text(encoding="utf-8")
    # Straight after the section's header: sections may follow `studies` (e.g. `gaps`).
    assert text.count("\nstudies:\n") == 1
    therapies.write_text(text.replace("\nstudies:\n", "\nstudies:\n" + studies), encoding="utf-8")
    # "# overcount 1" is also in "# overcount 10"…: find each whole line instead.
    lines = therapies.read_text(encoding="utf-8").splitlines()
    expected_lines = [
        lines.index(f"    counts: {{responders: {i + 2}}}  # overcount {i}") + 1 for i in range(30)
    ]

    result = validate(str(kb), "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)
    assert len(problems) == 30
    assert result.stderr == "calcref: 30 problems in 3 files\n"
    for problem in problems:
        assert set(problem) == JSON_KEYS
        assert isinstance(problem["path"], str)
        assert isinstance(problem["line"], int) and not isinstance(problem["line"], bool)
        assert isinstance(problem["message"], str)
        assert problem["rule"] == "counts"
        assert problem["path"] == str(therapies)
    assert [p["line"] for p in problems] == expected_lines
    for i, problem in enumerate(problems):
        assert has_words(problem["message"], f"overcount-{i}", str(i + 2))


def test_json_and_text_report_the_same_problems(tmp_path):
    kb = copy_data(tmp_path)
    _break_evidence(kb)
    edit(kb / "therapies.yaml", ROBERTSON_CONFIRMED, "")
    edit(kb / "therapies.yaml", PITT, ORPHAN + PITT)
    lines, _ = failing(str(kb))
    problems = problems_json(str(kb))
    assert len(problems) == 3
    assert [f"{p['path']}:{p['line']}: {p['message']}" for p in problems] == lines
    assert {p["rule"] for p in problems} == {"load", "unnamed-reference", "unconfirmed-identifier"}


# --- every list of ids is a set: an item listed twice is refused ----------------------------------

CEFTRIAXONE_STUDY = "    therapies: [ceftriaxone]\n"


@pytest.mark.parametrize(
    ("file", "old", "new", "needle", "item", "key"),
    [
        (
            "therapies.yaml",
            CEFTRIAXONE_STUDY,
            "    therapies: [ceftriaxone, ceftriaxone]\n",
            "[ceftriaxone, ceftriaxone]",
            "ceftriaxone",
            "therapies",
        ),
        (
            "therapies.yaml",
            CEFTRIAXONE_STUDY,
            "    therapies:\n      - ceftriaxone\n      - ceftriaxone  # again\n",
            "ceftriaxone  # again",
            "ceftriaxone",
            "therapies",
        ),
        (
            "therapies.yaml",
            "    contexts: [morphea]\n    subtypes: [dystrophic]\n    n: 1\n    age: 16 years\n",
            "    contexts: [morphea]\n    subtypes: [dystrophic, dystrophic]\n    n: 1\n"
            "    age: 16 years\n",
            "[dystrophic, dystrophic]",
            "dystrophic",
            "subtypes",
        ),
        (
            "therapies.yaml",
            "    contexts: [morphea]\n    subtypes: [dystrophic]\n    n: 1\n    age: 16 years\n",
            "    contexts: [morphea, morphea]\n    subtypes: [dystrophic]\n    n: 1\n"
            "    age: 16 years\n",
            "[morphea, morphea]",
            "morphea",
            "contexts",
        ),
        (
            "therapies.yaml",
            "    lines: [third]\n",
            "    lines: [third, third]\n",
            "[third, third]",
            "third",
            "lines",
        ),
        (
            "subtypes.yaml",
            "    subtypes: [metastatic, calciphylaxis]\n",
            "    subtypes:\n      - metastatic\n      - calciphylaxis\n"
            "      - metastatic  # again\n",
            "metastatic  # again",
            "metastatic",
            "subtypes",
        ),
        (
            "subtypes.yaml",
            "    contexts: [scrotal]\n",
            "    contexts: [scrotal, scrotal]\n",
            "[scrotal, scrotal]",
            "scrotal",
            "contexts",
        ),
        (
            "subtypes.yaml",
            "            sources: [jopa, walsh1995]\n",
            "            sources: [jopa, walsh1995, jopa]\n",
            "[jopa, walsh1995, jopa]",
            "jopa",
            "sources",
        ),
    ],
    ids=[
        "study-therapies",
        "study-therapies-block-list",
        "study-subtypes",
        "study-contexts",
        "gap-lines",
        "context-subtypes-block-list",
        "subtype-contexts",
        "nested-statement-sources",
    ],
)
def test_an_id_listed_twice_is_refused_at_the_repeat(tmp_path, file, old, new, needle, item, key):
    kb = copy_data(tmp_path)
    edit(kb / file, old, new)
    expected_line = line_of(kb / file, needle)
    path, line, message, rule = only_problem(str(kb))
    assert (path, line, rule) == (str(kb / file), expected_line, "load")
    assert has_words(message, f"'{key}'", f"'{item}'", "more than once"), message


def test_a_repeat_in_a_block_list_names_the_line_of_the_first(tmp_path):
    kb = copy_data(tmp_path)
    therapies = kb / "therapies.yaml"
    edit(
        therapies,
        CEFTRIAXONE_STUDY,
        "    therapies:\n      - ceftriaxone  # first\n      - ceftriaxone  # again\n",
    )
    _, line, message, _ = only_problem(str(kb))
    assert line == line_of(therapies, "# again")
    assert f"(first at line {line_of(therapies, '# first')})" in message


def test_a_study_listing_its_therapy_twice_is_refused_before_any_answer(tmp_path, monkeypatch):
    """The red-team finding: the study was listed twice under the therapy in every format."""
    kb = copy_data(tmp_path)
    therapies = kb / "therapies.yaml"
    edit(therapies, CEFTRIAXONE_STUDY, "    therapies: [ceftriaxone, ceftriaxone]\n")
    monkeypatch.setenv("CALCREF_DATA", str(kb))
    where = f"{therapies}:{line_of(therapies, '[ceftriaxone, ceftriaxone]')}: "
    for args in (["treat", "--json"], ["treat", "--format", "csv"], ["show", "ceftriaxone"]):
        result = invoke(*args)
        assert result.exit_code == 1, (args, result.stderr)
        assert result.stdout == ""
        assert result.stderr == (
            f"calcref: error: {where}'therapies' lists 'ceftriaxone' more than once\n"
        )


def test_an_overlay_study_listing_a_therapy_twice_is_refused(tmp_path):
    kb = copy_data(tmp_path)
    overlay = _overlay(
        tmp_path,
        "studies:\n"
        "  - id: clinic-series\n"
        "    ref: chapter\n"
        "    therapies:\n"
        "      - minocycline\n"
        "      - minocycline  # again\n"
        "    population: Fictional clinic patients\n"
        "    outcome: Fictional.\n"
        "    counts: {}\n"
        "    sources: [chapter]\n",
    )
    overlay_file = overlay / "therapies.yaml"
    path, line, message, rule = only_problem(str(kb), "--overlay", str(overlay))
    assert (path, line, rule) == (str(overlay_file), line_of(overlay_file, "# again"), "load")
    assert "'minocycline'" in message


def test_an_alias_repeated_in_a_block_list_is_reported_at_its_own_line(tmp_path):
    kb = copy_data(tmp_path)
    subtypes = kb / "subtypes.yaml"
    edit(
        subtypes,
        "    aliases: [dermatomyositis]\n",
        "    aliases:\n      - dermatomyositis\n      - Dermatomyositis  # again\n",
    )
    path, line, message, rule = only_problem(str(kb))
    assert (path, line, rule) == (str(subtypes), line_of(subtypes, "# again"), "load")
    assert has_words(message, "'Dermatomyositis'", "'dm'")


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        (
            "subtypes.yaml",
            "    examples: [idiopathic scrotal calcinosis]\n",
            "    examples: [idiopathic scrotal calcinosis, idiopathic scrotal calcinosis]\n",
        ),
        (
            "therapies.yaml",
            "    authors: [Walsh JS, Fairley JA]\n",
            "    authors: [Walsh JS, Walsh JS, Fairley JA]\n",
        ),
    ],
    ids=["examples", "authors"],
)
def test_free_text_lists_may_repeat_an_item(tmp_path, file, old, new):
    """Only lists of ids and allowed values are sets: authors are exactly as printed, and two
    authors may print alike, so a repeated string of free text is not a problem."""
    kb = copy_data(tmp_path)
    edit(kb / file, old, new)
    passing(str(kb))


# --- curator rule: an overlay redefines the evidence scale ---------------------------------------

SCALE_OVERLAY = (
    "# a clinic's overlay\n"
    "evidence_levels:\n"
    "  - letter: C\n"
    "    replace: true\n"
    "    definition: Any clinic experience\n"
    "    sources: [chapter]\n"
)


def test_an_overlay_redefining_an_evidence_letter_is_reported_at_the_letter(tmp_path, monkeypatch):
    kb = copy_data(tmp_path)
    overlay = _overlay(tmp_path, SCALE_OVERLAY)
    overlay_file = overlay / "therapies.yaml"
    path, line, message, rule = only_problem(str(kb), "--overlay", str(overlay))
    assert (path, line, rule) == (
        str(overlay_file),
        line_of(overlay_file, "- letter: C"),
        "overlay-redefines-scale",
    )
    assert has_words(message, "'C'", "Any clinic experience", "overlay")
    # A curator's rule: commands still answer from the overlay while its curator decides.
    monkeypatch.setenv("CALCREF_DATA", os.pathsep.join([str(kb), str(overlay)]))
    levels = json.loads(invoke("levels", "--json").stdout)
    assert {r["letter"]: r["definition"] for r in levels}["C"] == "Any clinic experience"


def test_an_overlay_adding_records_beside_the_scale_raises_no_scale_warning(tmp_path):
    kb = copy_data(tmp_path)
    overlay = _overlay(
        tmp_path,
        "therapies:\n  - id: clinic-cream\n    name: Clinic cream\n    sources: [chapter]\n",
    )
    passing(str(kb), "--overlay", str(overlay))
