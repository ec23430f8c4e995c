"""Knowledge overlays: CALCREF_DATA stacks, merging, replacing, provenance, versions, the cache.

Every overlay here is written into the test's tmp_path with plainly fictional content, and every
expectation (line numbers, paths, counts, orders) is computed from the YAML text a test wrote or
from the bundled data/*.yaml files, never from calcref's own merge code.

Isolation comes from tests/conftest.py (a private XDG cache, no CALCREF_* variables). Every
in-process run (clirun's `invoke`/`ok`) reads CALCREF_DATA afresh and loads the knowledge
anew, so `stack()` below only has to set the variable. Tests that start real processes are
marked slow.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from clirun import ENTRY_POINT, MODULE, invoke, ok, process_env
from helpers import markdown_cells, yaml_data

import calcref
from calcref.knowledge.stack import bundled_dir

# The bundled knowledge as this installation holds it: the repository's data/ in an editable
# install, calcref/data in site-packages in a regular one (as CI installs it).
DATA = bundled_dir()
BASE_SUBTYPES = str(DATA / "subtypes.yaml")  # as error messages name the files
BASE_THERAPIES = str(DATA / "therapies.yaml")
# As JSON records name their origin, (layer, source_file, overlay): the same on every machine.
BUNDLED_SUBTYPES = ("bundled", "subtypes.yaml", False)
BUNDLED_THERAPIES = ("bundled", "therapies.yaml", False)
SUBTYPES_TEXT = (DATA / "subtypes.yaml").read_text(encoding="utf-8")
THERAPIES_TEXT = (DATA / "therapies.yaml").read_text(encoding="utf-8")
SUBTYPES_YAML = yaml_data(DATA / "subtypes.yaml")
THERAPIES_YAML = yaml_data(DATA / "therapies.yaml")
MANIFEST_YAML = yaml_data(DATA / "knowledge.yaml")

MARK = "◆ overlay"
WIDE = {"COLUMNS": "1000"}  # no folded cells: a path stays on one line


# --- fictional overlay content ----------------------------------------------------------------

THERAPY_ID = "test-overlay-therapy"
THERAPY_NAME = "Overlay test therapy"
STUDY_ID = "test-overlay-study"
REFERENCE_ID = "test-overlay-ref"
CONTEXT_ID = "test-overlay-context"
INVESTIGATION_ID = "test-overlay-investigation"
STUDY_COUNTS = {"complete": 2, "partial": 1, "none": 2}

TEST_REFERENCE = f"""\
references:
  - id: {REFERENCE_ID}
    type: article
    authors: [Tester T]
    title: An overlay test reference
    journal: Test J
    year: 2025
    printed:
      - source: {REFERENCE_ID}
        text: Tester T. An overlay test reference. Test J 2025.
"""

FULL_THERAPIES = (
    TEST_REFERENCE
    + f"""\
therapies:
  - id: {THERAPY_ID}
    name: {THERAPY_NAME}
    contexts:
      - context: {CONTEXT_ID}
        sources: [{REFERENCE_ID}]
    sources: [{REFERENCE_ID}]
studies:
  - id: {STUDY_ID}
    ref: {REFERENCE_ID}
    therapies: [{THERAPY_ID}]
    population: Fictional test patients
    contexts: [{CONTEXT_ID}]
    n: 5
    outcome: Fictional outcome, for tests only.
    counts: {{complete: 2, partial: 1, none: 2}}
    sources: [{REFERENCE_ID}]
"""
)

FIRST_FEATURE = SUBTYPES_YAML["clinical_features"][0]
FULL_SUBTYPES = f"""\
contexts:
  - id: {CONTEXT_ID}
    name: Overlay test context
    summary: A fictional context, for tests only.
    sources: [chapter]
clinical_features:
  - aspect: {FIRST_FEATURE["aspect"]}
    text: {json.dumps(FIRST_FEATURE["text"])}
    sources: [chapter]
investigations:
  - id: {INVESTIGATION_ID}
    name: Overlay test investigation
    looks_for: Fictional findings, for tests only.
    ties:
      - target: all
        basis: curated
        reason: A fictional reason.
        sources: [chapter]
    sources: [chapter]
"""
"""Adds one context, one clinical feature (the bundled first one, word for word: features
have no identity, so it is added again) and one investigation."""

FULL_ADDS = {
    "therapies": 1,
    "studies": 1,
    "references": 1,
    "contexts": 1,
    "investigations": 1,
    "clinical_features": 1,
}

THERAPY_ONLY = f"""\
therapies:
  - id: {THERAPY_ID}
    name: {THERAPY_NAME}
    sources: [chapter]
"""


# --- helpers ------------------------------------------------------------------------------------


def write_overlay(
    directory: Path,
    therapies: str | None = None,
    subtypes: str | None = None,
    manifest: str | None = None,
) -> Path:
    directory.mkdir(parents=True)
    for name, text in (
        ("therapies.yaml", therapies),
        ("subtypes.yaml", subtypes),
        ("knowledge.yaml", manifest),
    ):
        if text is not None:
            (directory / name).write_text(text, encoding="utf-8")
    return directory


def line_no(text: str, line: str) -> int:
    """The 1-based number of the one line of `text` that is exactly `line`."""
    found = [i for i, candidate in enumerate(text.splitlines(), 1) if candidate == line]
    assert len(found) == 1, f"{line!r} occurs {len(found)} times"
    return found[0]


@pytest.fixture
def stack(monkeypatch) -> Callable[..., str]:
    """Point CALCREF_DATA at base and overlays ('' is the bundled base); returns the setting."""

    def use(*entries: str | Path) -> str:
        setting = os.pathsep.join(str(e) for e in entries)
        monkeypatch.setenv("CALCREF_DATA", setting)
        return setting

    return use


def ok_json(*args: str) -> Any:
    result = ok(*args, "--json")
    assert result.stderr == ""
    return json.loads(result.stdout)


def knowledge_errors(*args: str) -> list[str]:
    """Exit 1, nothing on stdout, one `calcref: error:` line per problem; returns the lines."""
    result = invoke(*args)
    assert result.exit_code == 1, f"exit {result.exit_code}; stderr: {result.stderr!r}"
    assert result.stdout == ""
    assert result.stderr.endswith("\n")
    lines = result.stderr.splitlines()
    assert all(line.startswith("calcref: error: ") for line in lines), lines
    return lines


def one_error(*args: str) -> str:
    lines = knowledge_errors(*args)
    assert len(lines) == 1, lines
    return lines[0]


def subprocess_env(**extra: str) -> dict[str, str]:
    """process_env() without the CALCREF_* variables the test set in-process (`stack`), plus
    `extra`: a process gets only what it is given."""
    dropped: dict[str, str | None] = {k: None for k in os.environ if k.startswith("CALCREF_")}
    return process_env(**(dropped | extra))


def run_module(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m calcref` as a real process: a fresh load() and the on-disk parse cache."""
    result = subprocess.run(
        [*MODULE, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=subprocess_env(**env),
        timeout=120,
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    return result


def origin(record: dict) -> tuple[Any, Any, Any]:
    """(layer, source_file, overlay): where a JSON record says it came from."""
    return record["layer"], record["source_file"], record["overlay"]


def from_overlay(directory: str | Path, name: str) -> tuple[str, str, bool]:
    """The origin of a record from the overlay `directory` (as CALCREF_DATA gave it)."""
    return str(directory), name, True


def ids(records: list[dict]) -> list[str]:
    return [r["id"] for r in records]


def by_id(records: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in records}


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def markdown_rows(text: str) -> list[dict[str, str]]:
    """The body rows of a pipe table by column, each cell as a reader sees it."""
    header, _, *body = [markdown_cells(line) for line in text.splitlines()]
    return [dict(zip(header, cells, strict=True)) for cells in body]


def therapy_file_order(error_line: str) -> list[str]:
    """The therapy ids an unknown-therapy error lists, which come in knowledge-file order."""
    return error_line.split("valid therapies: ", 1)[1].split(", ")


def unknown_therapy_listing() -> list[str]:
    result = invoke("show", "no-such-therapy-anywhere")
    assert result.exit_code == 2, result.stderr
    return therapy_file_order(result.stderr.strip())


@pytest.fixture
def full_overlay(tmp_path) -> Path:
    return write_overlay(tmp_path / "clinic", FULL_THERAPIES, FULL_SUBTYPES)


# =============================================================================================
# 1. an overlay adds records of every kind
# =============================================================================================


def test_overlay_therapy_is_added_to_treat_and_show_with_its_source_file(stack, full_overlay):
    stack("", full_overlay)
    overlay_file = str(full_overlay / "therapies.yaml")
    treated = ok_json("treat")
    assert ids(treated).count(THERAPY_ID) == 1
    record = by_id(treated)[THERAPY_ID]
    assert record["name"] == THERAPY_NAME
    assert origin(record) == from_overlay(full_overlay, "therapies.yaml")
    # The bundled therapies are all still there, each still the bundled record.
    bundled = [t["id"] for t in THERAPIES_YAML["therapies"]]
    assert sorted(ids(treated)) == sorted([*bundled, THERAPY_ID])
    for other in treated:
        if other["id"] != THERAPY_ID:
            assert origin(other) == BUNDLED_THERAPIES

    shown = ok_json("show", THERAPY_ID)
    assert shown["id"] == THERAPY_ID
    assert shown["name"] == THERAPY_NAME
    assert origin(shown) == from_overlay(full_overlay, "therapies.yaml")
    card = ok("show", THERAPY_ID, env=WIDE).stdout
    assert THERAPY_NAME in card
    assert f"{MARK}: {overlay_file}" in card


def test_search_hits_say_which_file_the_matching_record_came_from(stack, full_overlay):
    stack("", full_overlay)
    overlay_file = str(full_overlay / "therapies.yaml")
    hits = ok_json("search", THERAPY_NAME)
    assert hits, "the overlay therapy's name must be found"
    assert THERAPY_ID in {h["id"] for h in hits}
    # every hit (the therapy, and its study, which names the therapy's id) is the overlay's
    assert {h["id"] for h in hits} <= {THERAPY_ID, STUDY_ID}
    assert {origin(h) for h in hits} == {from_overlay(full_overlay, "therapies.yaml")}
    bundled = ok_json("search", "minocycline")
    assert {h["overlay"] for h in bundled} == {False}
    origins = {origin(h) for h in bundled if h["kind"] != "note"}
    assert origins <= {BUNDLED_THERAPIES, BUNDLED_SUBTYPES}
    assert {origin(h) for h in bundled if h["kind"] == "note"} <= {(None, None, False)}
    rows = csv_rows(ok("search", THERAPY_NAME, "--format", "csv").stdout)
    assert {r["overlay"] for r in rows} == {overlay_file}
    assert f"{MARK}: {overlay_file}" in ok("search", THERAPY_NAME, env=WIDE).stdout


def test_overlay_study_is_nested_under_its_therapy_with_counts_intact(stack, full_overlay):
    stack("", full_overlay)
    # Every count field is present; the ones the overlay left out are null, not zero, except
    # `responders`, always the total who improved (complete + partial where only the split
    # is given, as the README documents).
    fields = ("responders", "complete", "partial", "none", "unknown")
    expected_counts = {k: STUDY_COUNTS.get(k) for k in fields}
    expected_counts["responders"] = STUDY_COUNTS["complete"] + STUDY_COUNTS["partial"]
    assert expected_counts["unknown"] is None
    from_treat = by_id(ok_json("treat"))[THERAPY_ID]["studies"]
    from_show = ok_json("show", THERAPY_ID)["studies"]
    for studies in (from_treat, from_show):
        assert ids(studies) == [STUDY_ID]
        study = studies[0]
        assert study["ref"] == REFERENCE_ID
        assert study["therapies"] == [THERAPY_ID]
        assert study["n"] == 5
        assert study["counts"] == expected_counts
        assert origin(study) == from_overlay(full_overlay, "therapies.yaml")
    # No bundled therapy picked the overlay study up.
    for other in ok_json("treat"):
        if other["id"] != THERAPY_ID:
            assert STUDY_ID not in ids(other["studies"])


def test_overlay_reference_is_cited_and_marked_in_the_csv_overlay_column(stack, full_overlay):
    stack("", full_overlay)
    overlay_file = str(full_overlay / "therapies.yaml")
    cited = ok_json("cite")
    bundled = [r["id"] for r in THERAPIES_YAML["references"]]
    assert ids(cited) == [*bundled, REFERENCE_ID]  # added after the existing ones
    reference = by_id(cited)[REFERENCE_ID]
    assert reference["title"] == "An overlay test reference"
    assert origin(reference) == from_overlay(full_overlay, "therapies.yaml")
    assert ids(ok_json("cite", "--therapy", THERAPY_ID)) == [REFERENCE_ID]

    rows = csv_rows(ok("cite", "--format", "csv").stdout)
    assert [r["id"] for r in rows] == [*bundled, REFERENCE_ID]
    assert {r["id"]: r["overlay"] for r in rows} == {
        **dict.fromkeys(bundled, ""),
        REFERENCE_ID: overlay_file,
    }


def test_overlay_context_is_listed_and_filters_treat(stack, full_overlay):
    stack("", full_overlay)
    listed = ok_json("contexts")
    bundled = [c["id"] for c in SUBTYPES_YAML["contexts"]]
    assert ids(listed) == [*bundled, CONTEXT_ID]
    context = by_id(listed)[CONTEXT_ID]
    assert context["name"] == "Overlay test context"
    assert origin(context) == from_overlay(full_overlay, "subtypes.yaml")

    treated = ok_json("treat", "--context", CONTEXT_ID)
    assert ids(treated) == [THERAPY_ID]  # no bundled therapy names the new context
    # the overlay's study counted patients in the overlay's context
    assert treated[0]["match"] == {"kind": "direct", "context": CONTEXT_ID, "evidence": "studied"}
    assert [(s["id"], s["relation"]) for s in treated[0]["studies"]] == [(STUDY_ID, "this")]
    assert CONTEXT_ID in treated[0]["contexts"]


def test_overlay_investigation_is_added_to_workup(stack, full_overlay):
    stack("", full_overlay)
    listed = ok_json("workup")
    bundled = [i["id"] for i in SUBTYPES_YAML["investigations"]]
    assert ids(listed) == [*bundled, INVESTIGATION_ID]
    investigation = by_id(listed)[INVESTIGATION_ID]
    assert investigation["name"] == "Overlay test investigation"
    assert origin(investigation) == from_overlay(full_overlay, "subtypes.yaml")
    # Tied to 'all': it serves every subtype.
    first_subtype = SUBTYPES_YAML["subtypes"][0]["id"]
    assert INVESTIGATION_ID in ids(ok_json("workup", "--subtype", first_subtype))


def test_overlay_clinical_feature_is_always_added_even_when_identical(stack, full_overlay):
    stack("", full_overlay)
    overview = ok_json("overview")
    same = [r for r in overview if r["text"] == FIRST_FEATURE["text"]]
    assert [origin(r) for r in same] == [
        BUNDLED_SUBTYPES,
        from_overlay(full_overlay, "subtypes.yaml"),
    ]


# =============================================================================================
# 2. redefining an id without `replace: true` is an error naming both files
# =============================================================================================


def test_redefining_a_bundled_therapy_without_replace_names_both_lines(stack, tmp_path):
    text = (
        "therapies:\n  - id: minocycline\n    name: Overlay minocycline\n    sources: [chapter]\n"
    )
    overlay = write_overlay(tmp_path / "clinic", therapies=text)
    stack("", overlay)
    here = line_no(text, "  - id: minocycline")
    there = line_no(THERAPIES_TEXT, "  - id: minocycline")
    assert one_error("treat") == (
        f"calcref: error: {overlay / 'therapies.yaml'}:{here}: therapy 'minocycline' is "
        f"already defined at {BASE_THERAPIES}:{there}; add 'replace: true' to replace it"
    )


def test_redefining_a_bundled_context_without_replace_names_both_lines(stack, tmp_path):
    text = textwrap.dedent(
        """\
        # a comment first, so the record does not start on line 2
        contexts:
          - id: ssc
            name: Overlay systemic sclerosis
            summary: Fictional.
            sources: [chapter]
        """
    )
    overlay = write_overlay(tmp_path / "clinic", subtypes=text)
    stack("", overlay)
    here = line_no(text, "  - id: ssc")
    there = line_no(SUBTYPES_TEXT, "  - id: ssc")
    assert one_error("contexts") == (
        f"calcref: error: {overlay / 'subtypes.yaml'}:{here}: context 'ssc' is already "
        f"defined at {BASE_SUBTYPES}:{there}; add 'replace: true' to replace it"
    )


def test_every_conflict_is_its_own_error_line(stack, tmp_path):
    therapies = (
        "evidence_levels:\n"
        "  - letter: A\n"
        "    definition: Overlay definition\n"
        "    sources: [chapter]\n"
        "therapies:\n"
        "  - id: minocycline\n"
        "    name: Overlay minocycline\n"
        "    sources: [chapter]\n"
    )
    subtypes = (
        "contexts:\n  - id: dm\n    name: Overlay dm\n    summary: x\n    sources: [chapter]\n"
    )
    overlay = write_overlay(tmp_path / "clinic", therapies=therapies, subtypes=subtypes)
    stack("", overlay)
    lines = knowledge_errors("levels")
    assert sorted(lines) == sorted(
        [
            f"calcref: error: {overlay / 'therapies.yaml'}:{line_no(therapies, '  - letter: A')}:"
            f" evidence level 'A' is already defined at {BASE_THERAPIES}:"
            f"{line_no(THERAPIES_TEXT, '  - letter: A')}; add 'replace: true' to replace it",
            f"calcref: error: {overlay / 'therapies.yaml'}:"
            f"{line_no(therapies, '  - id: minocycline')}: therapy 'minocycline' is already "
            f"defined at {BASE_THERAPIES}:{line_no(THERAPIES_TEXT, '  - id: minocycline')}; "
            "add 'replace: true' to replace it",
            f"calcref: error: {overlay / 'subtypes.yaml'}:{line_no(subtypes, '  - id: dm')}: "
            f"context 'dm' is already defined at {BASE_SUBTYPES}:"
            f"{line_no(SUBTYPES_TEXT, '  - id: dm')}; add 'replace: true' to replace it",
        ]
    )


# =============================================================================================
# 3. `replace: true` replaces in place; with nothing to replace it is an error
# =============================================================================================

REPLACED_NAME = "Minocycline (overlay test)"  # sorts where "Minocycline" sorts on the ladder


def replaced_minocycline() -> str:
    """The bundled minocycline record, renamed and marked `replace: true`, as overlay YAML."""
    record = dict(next(t for t in THERAPIES_YAML["therapies"] if t["id"] == "minocycline"))
    record["name"] = REPLACED_NAME
    record["replace"] = True
    return yaml.safe_dump({"therapies": [record]}, sort_keys=False, allow_unicode=True)


def test_replace_true_replaces_minocycline_where_it_stood(stack, tmp_path):
    before_ladder = ids(ok_json("treat"))
    before_files = unknown_therapy_listing()
    bundled_studies = [
        s["id"] for s in THERAPIES_YAML["studies"] if "minocycline" in s["therapies"]
    ]

    overlay = write_overlay(tmp_path / "clinic", therapies=replaced_minocycline())
    stack("", overlay)
    treated = ok_json("treat")
    assert ids(treated).count("minocycline") == 1
    record = by_id(treated)["minocycline"]
    assert record["name"] == REPLACED_NAME
    assert origin(record) == from_overlay(overlay, "therapies.yaml")
    assert "replace" not in record
    # Same ladder place (same positions, a name that sorts alike) and the same file position.
    assert ids(treated) == before_ladder
    assert unknown_therapy_listing() == before_files
    # Studies still attach to the id; they stay bundled records.
    assert ids(record["studies"]) == bundled_studies
    assert {origin(s) for s in record["studies"]} == {BUNDLED_THERAPIES}


def test_replace_true_keeps_a_context_at_its_file_position(stack, tmp_path):
    text = textwrap.dedent(
        """\
        contexts:
          - id: dm
            replace: true
            name: Overlay dermatomyositis
            parent: ctd
            subtypes: [dystrophic]
            summary: Fictional replacement.
            sources: [chapter]
        """
    )
    overlay = write_overlay(tmp_path / "clinic", subtypes=text)
    stack("", overlay)
    listed = ok_json("contexts")
    assert ids(listed) == [c["id"] for c in SUBTYPES_YAML["contexts"]]
    for record in listed:
        if record["id"] == "dm":
            assert record["name"] == "Overlay dermatomyositis"
            assert origin(record) == from_overlay(overlay, "subtypes.yaml")
        else:
            assert origin(record) == BUNDLED_SUBTYPES


REDEFINED_C = (
    "evidence_levels:\n"
    "  - letter: C\n"
    "    replace: true\n"
    "    definition: Overlay definition of C\n"
    "    sources: [chapter]\n"
)


def test_replace_true_keeps_an_evidence_level_at_its_letter(stack, tmp_path):
    overlay = write_overlay(tmp_path / "clinic", therapies=REDEFINED_C)
    stack("", overlay)
    rows = [r for r in ok_json("levels") if r["letter"] is not None]
    assert [r["letter"] for r in rows] == [e["letter"] for e in THERAPIES_YAML["evidence_levels"]]
    for row in rows:
        replaced = row["letter"] == "C"
        assert origin(row) == (
            from_overlay(overlay, "therapies.yaml") if replaced else BUNDLED_THERAPIES
        )
        if replaced:
            assert row["definition"] == "Overlay definition of C"


def test_replace_true_with_nothing_to_replace_is_an_error_at_its_line(stack, tmp_path):
    text = (
        "therapies:\n"
        "  - id: minocycline\n"
        "    replace: true\n"
        "    name: Overlay minocycline\n"
        "    sources: [chapter]\n"
        f"  - id: {THERAPY_ID}\n"
        "    replace: true\n"
        f"    name: {THERAPY_NAME}\n"
        "    sources: [chapter]\n"
    )
    overlay = write_overlay(tmp_path / "clinic", therapies=text)
    stack("", overlay)
    line = one_error("treat")
    where = f"{overlay / 'therapies.yaml'}:{line_no(text, f'  - id: {THERAPY_ID}')}: "
    assert line.startswith(f"calcref: error: {where}")
    assert "'replace: true'" in line
    assert f"therapy '{THERAPY_ID}'" in line


# =============================================================================================
# 4. overlays stack in order
# =============================================================================================


def test_later_overlay_replaces_what_an_earlier_overlay_added(stack, tmp_path):
    first = write_overlay(tmp_path / "first", therapies=THERAPY_ONLY)
    revised = THERAPY_ONLY.replace(
        f"    name: {THERAPY_NAME}\n", f"    replace: true\n    name: {THERAPY_NAME}, revised\n"
    )
    second = write_overlay(tmp_path / "second", therapies=revised)
    stack("", first, second)
    treated = ok_json("treat")
    assert ids(treated).count(THERAPY_ID) == 1
    record = by_id(treated)[THERAPY_ID]
    assert record["name"] == f"{THERAPY_NAME}, revised"
    assert origin(record) == from_overlay(second, "therapies.yaml")
    rows = csv_rows(ok("treat", "--format", "csv").stdout)
    assert {r["id"]: r["overlay"] for r in rows}[THERAPY_ID] == str(second / "therapies.yaml")


def test_later_overlay_without_replace_names_the_earlier_overlay(stack, tmp_path):
    first = write_overlay(tmp_path / "first", therapies=THERAPY_ONLY)
    second = write_overlay(tmp_path / "second", therapies=THERAPY_ONLY)
    stack("", first, second)
    line = line_no(THERAPY_ONLY, f"  - id: {THERAPY_ID}")
    assert one_error("treat") == (
        f"calcref: error: {second / 'therapies.yaml'}:{line}: therapy '{THERAPY_ID}' is already "
        f"defined at {first / 'therapies.yaml'}:{line}; add 'replace: true' to replace it"
    )


# =============================================================================================
# 5. provenance: bundled records say so; overlay records are marked in every format
# =============================================================================================

BUNDLED_LISTINGS = {
    "treat": BUNDLED_THERAPIES,
    "subtypes": BUNDLED_SUBTYPES,
    "workup": BUNDLED_SUBTYPES,
    "cite": BUNDLED_THERAPIES,
    "levels": BUNDLED_THERAPIES,
    "overview": BUNDLED_SUBTYPES,
    "contexts": BUNDLED_SUBTYPES,
}
PROVENANCE_KEYS = ("layer", "source_file", "overlay")


def provenance(value: Any, where: str = "") -> Iterator[tuple[str, tuple[Any, Any, Any]]]:
    """(json path, (layer, source_file, overlay)) of every record inside `value` that carries
    any of them; a key it lacks is "MISSING"."""
    if isinstance(value, dict):
        if any(key in value for key in PROVENANCE_KEYS):
            yield where, tuple(value.get(key, "MISSING") for key in PROVENANCE_KEYS)
        for key, item in value.items():
            yield from provenance(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from provenance(item, f"{where}[{index}]")


@pytest.mark.parametrize("command", sorted(BUNDLED_LISTINGS))
def test_bundled_listing_records_name_their_file_and_no_overlay(command):
    rows = ok_json(command)
    assert rows
    for row in rows:
        if command == "levels" and row["letter"] is None:
            # the "not graded" row is a tally, not a record of any file
            assert origin(row) == (None, None, False), row
            continue
        assert origin(row) == BUNDLED_LISTINGS[command], row
    if command == "treat":  # studies nested in therapies come from therapies.yaml too
        studies = [s for row in rows for s in row["studies"]]
        assert len({s["id"] for s in studies}) == len(THERAPIES_YAML["studies"])
        assert {origin(s) for s in studies} == {BUNDLED_THERAPIES}


def test_bundled_show_and_subtype_card_records_name_their_file():
    shown = ok_json("show", "minocycline")
    found = dict(provenance(shown))
    assert found[""] == BUNDLED_THERAPIES
    assert any(path.startswith(".studies[") for path in found)
    assert any(path.startswith(".references[") for path in found)
    assert set(found.values()) == {BUNDLED_THERAPIES}

    subtype = SUBTYPES_YAML["subtypes"][0]["id"]
    card = ok_json("subtypes", subtype)
    found = dict(provenance(card))
    assert found["[0]"] == BUNDLED_SUBTYPES
    assert any(path.startswith("[0].workup[") for path in found)
    assert set(found.values()) == {BUNDLED_SUBTYPES}


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


SAME_EVERYWHERE = [
    ("treat",),
    ("treat", "--context", "ssc"),
    ("studies",),
    ("cite",),
    ("show", "minocycline"),
    ("search", "minocycline"),
    ("levels",),
    ("overview",),
    ("contexts",),
    ("subtypes",),
    ("subtypes", SUBTYPES_YAML["subtypes"][0]["id"]),
    ("workup",),
    ("workup", "--subtype", SUBTYPES_YAML["subtypes"][0]["id"]),
]


@pytest.mark.parametrize("command", SAME_EVERYWHERE, ids=" ".join)
def test_bundled_answers_are_the_same_on_every_machine(command):
    """No JSON answer names where this installation keeps the bundled knowledge: its records
    say `bundled` and a file name, whatever the directory (site-packages, a checkout)."""
    text = ok(*command, "--json").stdout  # (a gap may be told on stderr)
    assert str(DATA) not in text
    answer = json.loads(text)
    assert answer
    assert not [value for value in strings(answer) if str(DATA) in value]
    origins = {found for _, found in provenance(answer)}
    assert origins, "the answer's records carry their provenance"
    assert origins <= {BUNDLED_THERAPIES, BUNDLED_SUBTYPES, (None, None, False)}


@pytest.mark.parametrize("command", sorted(BUNDLED_LISTINGS))
def test_bundled_tables_carry_no_overlay_mark(command):
    assert MARK not in ok(command, env=WIDE).stdout


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
@pytest.mark.parametrize("command", sorted(BUNDLED_LISTINGS))
def test_bundled_flat_formats_leave_the_overlay_column_empty(command, fmt):
    text = ok(command, "--format", fmt).stdout
    rows = csv_rows(text) if fmt == "csv" else markdown_rows(text)
    assert rows
    assert {row["overlay"] for row in rows} == {""}


def test_treat_table_marks_only_the_overlay_therapy(stack, tmp_path):
    overlay = write_overlay(tmp_path / "clinic", therapies=THERAPY_ONLY)
    stack("", overlay)
    lines = ok("treat", env=WIDE).stdout.splitlines()
    marks = [i for i, line in enumerate(lines) if MARK in line]
    assert len(marks) == 1, [lines[i] for i in marks]
    mark_line = lines[marks[0]]
    assert mark_line.strip() == f"{MARK}: {overlay / 'therapies.yaml'}"
    # The mark sits in the Therapy cell, right under the overlay therapy's name.
    name_line = lines[marks[0] - 1]
    assert THERAPY_NAME in name_line
    assert name_line.index(THERAPY_NAME) == mark_line.index(MARK)


def test_flat_formats_fill_the_overlay_column_only_for_overlay_rows(stack, full_overlay):
    stack("", full_overlay)
    therapies_file = str(full_overlay / "therapies.yaml")
    subtypes_file = str(full_overlay / "subtypes.yaml")
    expected = {
        "treat": (THERAPY_ID, therapies_file),
        "cite": (REFERENCE_ID, therapies_file),
        "contexts": (CONTEXT_ID, subtypes_file),
        "workup": (INVESTIGATION_ID, subtypes_file),
    }
    for command, (added, path) in expected.items():
        for fmt in ("csv", "markdown"):
            text = ok(command, "--format", fmt).stdout
            rows = csv_rows(text) if fmt == "csv" else markdown_rows(text)
            column = {row["id"]: row["overlay"] for row in rows}
            assert column.pop(added) == path, (command, fmt)
            assert set(column.values()) == {""}, (command, fmt)


# =============================================================================================
# 6. links across layers are checked on the merged knowledge
# =============================================================================================


def test_overlay_study_of_a_bundled_therapy_is_listed_under_it(stack, tmp_path):
    text = textwrap.dedent(
        f"""\
        studies:
          - id: {STUDY_ID}
            ref: chapter
            therapies: [minocycline]
            population: Fictional test patients
            contexts: [ssc]
            n: 3
            outcome: Fictional outcome, for tests only.
            counts: {{responders: 2, none: 1}}
            sources: [chapter]
        """
    )
    overlay = write_overlay(tmp_path / "clinic", therapies=text)
    stack("", overlay)
    bundled = [s["id"] for s in THERAPIES_YAML["studies"] if "minocycline" in s["therapies"]]
    studies = by_id(ok_json("treat"))["minocycline"]["studies"]
    assert ids(studies) == [*bundled, STUDY_ID]
    added = by_id(studies)[STUDY_ID]
    assert origin(added) == from_overlay(overlay, "therapies.yaml")
    assert added["counts"]["responders"] == 2
    assert added["counts"]["none"] == 1
    assert {origin(s) for s in studies if s["id"] != STUDY_ID} == {BUNDLED_THERAPIES}
    # The bundled therapy itself is still a bundled record.
    assert origin(by_id(ok_json("treat"))["minocycline"]) == BUNDLED_THERAPIES


def test_overlay_naming_an_unknown_context_fails_at_its_line(stack, tmp_path):
    text = textwrap.dedent(
        f"""\
        therapies:
          - id: {THERAPY_ID}
            name: {THERAPY_NAME}
            contexts:
              - context: no-such-context
                sources: [chapter]
            sources: [chapter]
        """
    )
    overlay = write_overlay(tmp_path / "clinic", therapies=text)
    stack("", overlay)
    line = one_error("treat")
    where = f"{overlay / 'therapies.yaml'}:{line_no(text, '      - context: no-such-context')}: "
    assert line.startswith(f"calcref: error: {where}")
    assert "'no-such-context'" in line


def test_overlay_alias_taken_by_a_bundled_therapy_is_an_error(stack, tmp_path):
    text = textwrap.dedent(
        f"""\
        therapies:
          - id: {THERAPY_ID}
            name: {THERAPY_NAME}
            aliases: [Diltiazem]
            sources: [chapter]
        """
    )
    overlay = write_overlay(tmp_path / "clinic", therapies=text)
    stack("", overlay)
    line = one_error("treat")
    assert line.startswith(f"calcref: error: {overlay / 'therapies.yaml'}:")
    assert "'Diltiazem'" in line
    assert "'diltiazem'" in line


# =============================================================================================
# 7. CALCREF_DATA parsing
# =============================================================================================


def test_leading_empty_entry_is_the_bundled_knowledge(stack, full_overlay):
    stack("", full_overlay)
    implicit = ok("treat", "--json").stdout
    stack(DATA, full_overlay)
    explicit = ok("treat", "--json").stdout
    assert implicit == explicit
    assert origin(by_id(json.loads(explicit))["minocycline"]) == BUNDLED_THERAPIES


def test_an_explicit_base_copy_takes_overlays_like_the_bundled_one(stack, tmp_path, full_overlay):
    base = tmp_path / "base"
    shutil.copytree(DATA, base)
    stack(base, full_overlay)
    treated = by_id(ok_json("treat"))
    # a base other than the bundled one is named by its directory, as given
    assert origin(treated["minocycline"]) == (str(base), "therapies.yaml", False)
    assert origin(treated[THERAPY_ID]) == from_overlay(full_overlay, "therapies.yaml")


def test_an_empty_setting_is_the_bundled_knowledge(stack):
    stack("")
    assert {origin(r) for r in ok_json("treat")} == {BUNDLED_THERAPIES}


def test_an_overlay_given_as_a_relative_directory_is_named_as_given(stack, tmp_path, monkeypatch):
    """The layer is the directory as CALCREF_DATA named it, not made absolute: the same
    answer wherever the clinic's folder lies. The tables and the overlay column show it
    joined to the file."""
    write_overlay(tmp_path / "clinic", FULL_THERAPIES, FULL_SUBTYPES)
    monkeypatch.chdir(tmp_path)
    stack("", "clinic")
    treated = by_id(ok_json("treat"))
    assert origin(treated[THERAPY_ID]) == ("clinic", "therapies.yaml", True)
    assert origin(treated["minocycline"]) == BUNDLED_THERAPIES
    assert origin(by_id(ok_json("contexts"))[CONTEXT_ID]) == ("clinic", "subtypes.yaml", True)
    assert not [text for text in strings(treated) if str(tmp_path) in text]
    rows = csv_rows(ok("treat", "--format", "csv").stdout)
    assert {r["id"]: r["overlay"] for r in rows}[THERAPY_ID] == "clinic/therapies.yaml"
    assert f"{MARK}: clinic/therapies.yaml" in ok("show", THERAPY_ID, env=WIDE).stdout


@pytest.mark.parametrize("given", ["./clinic/", "clinic//", "../here/clinic"])
def test_an_overlay_keeps_its_directory_exactly_as_spelled(stack, tmp_path, monkeypatch, given):
    """Nothing the user wrote is altered: "./clinic/" stays "./clinic/" in the JSON (and in
    the parse cache's key, so another spelling of the same directory never gets the first
    spelling back from the cache), joined to the file without a doubled slash."""
    write_overlay(tmp_path / "here" / "clinic", therapies=THERAPY_ONLY)
    monkeypatch.chdir(tmp_path / "here")
    for setting in ("clinic", given):  # the plain spelling first, so it is cached first
        stack("", setting)
        record = ok_json("show", THERAPY_ID)
        assert origin(record) == (setting, "therapies.yaml", True)
    shown = f"{given.rstrip('/')}/therapies.yaml"
    assert {r["id"]: r["overlay"] for r in csv_rows(ok("treat", "--format", "csv").stdout)}[
        THERAPY_ID
    ] == shown
    assert [layer["directory"] for layer in ok_json("info")["layers"]][1] == given


def test_an_overlay_directory_named_bundled_is_shown_by_its_directory(stack, tmp_path, monkeypatch):
    """`bundled` names calcref's bundled knowledge and nothing else: an overlay directory
    spelled so is the layer `./bundled` (the same directory), shown with its file."""
    write_overlay(tmp_path / "bundled", therapies=THERAPY_ONLY)
    monkeypatch.chdir(tmp_path)
    stack("", "bundled")
    assert origin(ok_json("show", THERAPY_ID)) == ("./bundled", "therapies.yaml", True)
    assert origin(ok_json("show", "minocycline")) == BUNDLED_THERAPIES
    rows = csv_rows(ok("treat", "--format", "csv").stdout)
    assert {r["id"]: r["overlay"] for r in rows}[THERAPY_ID] == "./bundled/therapies.yaml"
    assert f"{MARK}: ./bundled/therapies.yaml" in ok("show", THERAPY_ID, env=WIDE).stdout
    layers = ok_json("info")["layers"]
    assert [(x["directory"], x["overlay"], x["bundled"]) for x in layers] == [
        (str(DATA), False, True),
        ("./bundled", True, False),
    ]


EDITED_MINOCYCLINE = "Minocycline (a user's edited copy)"


@pytest.fixture
def users_bundled(tmp_path, monkeypatch) -> Path:
    """A user's knowledge folder called `bundled` in the working directory: a copy of the
    bundled knowledge with minocycline's name edited."""
    folder = tmp_path / "bundled"
    shutil.copytree(DATA, folder)
    therapies = folder / "therapies.yaml"
    text = therapies.read_text(encoding="utf-8")
    assert text.count("    name: Minocycline\n") == 1
    therapies.write_text(
        text.replace("    name: Minocycline\n", f"    name: {EDITED_MINOCYCLINE}\n"),
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    return folder


def info_line(heading: str) -> str:
    """The first line of the `info` table under `heading` (base, overlay, cache...)."""
    lines = ok("info", env=WIDE).stdout.splitlines()
    return next(line for line in lines if line.startswith(heading))


@pytest.mark.parametrize(
    ("given", "layer"),
    [("bundled", "./bundled"), ("./bundled", "./bundled"), ("bundled/", "bundled/"), (None, None)],
    ids=["bundled", "dot-slash", "trailing-slash", "absolute"],
)
def test_a_users_base_folder_named_bundled_is_never_reported_as_the_bundled_knowledge(
    stack, users_bundled, given, layer
):
    """`CALCREF_DATA=bundled calcref show minocycline --json` said layer "bundled", overlay
    false: what calcref says of its own knowledge, about a user's edited copy. The folder is
    its path as given, `./bundled` where it was given as `bundled`; info says which layer is
    calcref's own (`bundled`: true) by the directory, never by its name."""
    given = given or str(users_bundled)
    layer = layer or str(users_bundled)
    stack(given)
    shown = ok_json("show", "minocycline")
    assert shown["name"] == EDITED_MINOCYCLINE
    found = dict(provenance(shown))
    assert found[""] == (layer, "therapies.yaml", False)
    assert {where for where, (name, _, _) in found.items() if name == "bundled"} == set()
    assert all(record["layer"] != "bundled" for record in ok_json("studies"))

    info = ok_json("info")
    assert [(x["directory"], x["overlay"], x["bundled"]) for x in info["layers"]] == [
        (layer, False, False)
    ]
    base = info_line("base")
    assert base.split() == ["base", layer]

    # calcref's own knowledge still says "bundled", in the records and in info
    stack("")
    assert origin(ok_json("show", "minocycline")) == BUNDLED_THERAPIES
    info = ok_json("info")
    assert [(x["directory"], x["bundled"]) for x in info["layers"]] == [(str(DATA), True)]
    base = info_line("base")
    assert base.split() == ["base", str(DATA), "(calcref's", "bundled", "knowledge)"]


@pytest.mark.parametrize("spelled", ["absolute", "relative"])
def test_the_bundled_directory_given_by_its_path_is_the_bundled_knowledge(
    stack, monkeypatch, spelled
):
    """Told by the directory: CALCREF_DATA naming calcref's own data directory is the
    bundled knowledge, however it is spelled (from its parent, `data`)."""
    if spelled == "relative":
        monkeypatch.chdir(DATA.parent)
    stack(DATA if spelled == "absolute" else DATA.name)
    assert origin(ok_json("show", "minocycline")) == BUNDLED_THERAPIES
    assert [x["bundled"] for x in ok_json("info")["layers"]] == [True]


BAD_STACKS = {
    "empty-later-entry": (lambda d: ["", d["overlay"], ""], "entry 3 is empty"),
    "empty-entry-after-base": (lambda d: [DATA, ""], "entry 2 is empty"),
    # CALCREF_DATA=: (as :$UNSET gives): the first entry may be empty, the second may not
    "trailing-separator": (lambda d: ["", ""], "entry 2 is empty; only the first entry may"),
    "overlay-listed-twice": (lambda d: ["", d["overlay"], d["overlay"]], "twice"),
    "bundled-listed-again": (lambda d: ["", DATA], "twice"),
    "overlay-is-a-file": (lambda d: ["", d["file"]], "not a directory"),
    "overlay-missing": (lambda d: ["", d["missing"]], "not a directory"),
    "base-missing": (lambda d: [d["missing"], d["overlay"]], "not a directory"),
    "overlay-without-knowledge-files": (lambda d: ["", d["hollow"]], "neither"),
}


@pytest.mark.parametrize("case", sorted(BAD_STACKS))
def test_bad_stack_entry_is_a_one_line_error_naming_calcref_data(stack, tmp_path, case):
    make, phrase = BAD_STACKS[case]
    places = {
        "overlay": write_overlay(tmp_path / "clinic", therapies=THERAPY_ONLY),
        "file": tmp_path / "a-file.yaml",
        "missing": tmp_path / "nowhere",
        # A manifest alone adds no knowledge.
        "hollow": write_overlay(tmp_path / "hollow", manifest='version: "1"\ndate: "2026-01-01"\n'),
    }
    places["file"].write_text(THERAPY_ONLY, encoding="utf-8")
    setting = stack(*make(places))
    line = one_error("treat")
    assert line.startswith(f"calcref: error: CALCREF_DATA={setting!r}")
    assert phrase in line


# =============================================================================================
# 8. --version and info
# =============================================================================================

OVERLAY_MANIFEST = 'version: "0.1.0"\ndate: "2026-01-02"\ntitle: Fictional test clinic\n'


@pytest.fixture
def versioned_and_unversioned(tmp_path) -> tuple[Path, Path]:
    versioned = write_overlay(
        tmp_path / "versioned", FULL_THERAPIES, FULL_SUBTYPES, manifest=OVERLAY_MANIFEST
    )
    revised = THERAPY_ONLY.replace(
        f"  - id: {THERAPY_ID}\n", f"  - id: {THERAPY_ID}\n    replace: true\n"
    )
    unversioned = write_overlay(tmp_path / "unversioned", therapies=revised)
    return versioned, unversioned


def expected_version(versioned: Path, unversioned: Path) -> str:
    return (
        f"calcref {calcref.__version__}\n"
        f"knowledge {MANIFEST_YAML['version']} ({MANIFEST_YAML['date']})\n"
        f"overlay {versioned} 0.1.0 (2026-01-02)\n"
        f"overlay {unversioned} (no version stated)\n"
    )


def test_version_lists_each_overlay_with_its_stated_version(stack, versioned_and_unversioned):
    versioned, unversioned = versioned_and_unversioned
    stack("", versioned, unversioned)
    result = ok("--version")
    assert result.stdout == expected_version(versioned, unversioned)
    assert result.stderr == ""


@pytest.mark.slow
def test_module_version_lists_each_overlay_as_the_cli_does(stack, versioned_and_unversioned):
    """`python -m calcref --version` answers before the CLI loads; it must say the same."""
    versioned, unversioned = versioned_and_unversioned
    setting = stack("", versioned, unversioned)
    process = run_module("--version", CALCREF_DATA=setting)
    assert process.stdout == expected_version(versioned, unversioned)
    assert process.stderr == ""


def test_info_names_each_overlay_directory_and_its_files(stack, versioned_and_unversioned):
    versioned, unversioned = versioned_and_unversioned
    stack("", versioned, unversioned)
    lines = ok("info", env=WIDE).stdout.splitlines()

    def files_under(directory: Path) -> str:
        index = next(i for i, line in enumerate(lines) if str(directory) in line)
        return lines[index + 1]

    assert "overlay" in next(line for line in lines if str(versioned) in line)
    assert "0.1.0 (2026-01-02)" in next(line for line in lines if str(versioned) in line)
    assert "(no version stated)" in next(line for line in lines if str(unversioned) in line)
    assert files_under(versioned).split() == ["knowledge.yaml,", "subtypes.yaml,", "therapies.yaml"]
    assert files_under(unversioned).split() == ["therapies.yaml"]
    assert str(DATA) in "\n".join(lines)


def test_info_json_describes_layers_and_counts_what_overlays_add(stack, versioned_and_unversioned):
    versioned, unversioned = versioned_and_unversioned
    bundled = ok_json("info")
    stack("", versioned, unversioned)
    described = ok_json("info")

    assert described["calcref"] == calcref.__version__
    assert described["knowledge"] == {k: MANIFEST_YAML[k] for k in ("version", "date", "title")}
    layers = described["layers"]
    assert [(layer["directory"], layer["overlay"]) for layer in layers] == [
        (str(DATA), False),
        (str(versioned), True),
        (str(unversioned), True),
    ]
    expected_files = [
        [str(DATA / n) for n in ("knowledge.yaml", "subtypes.yaml", "therapies.yaml")],
        [str(versioned / n) for n in ("knowledge.yaml", "subtypes.yaml", "therapies.yaml")],
        [str(unversioned / "therapies.yaml")],
    ]
    assert [sorted(layer["files"]) for layer in layers] == expected_files
    stated = [(layer["version"], layer["date"], layer["title"]) for layer in layers]
    assert stated == [
        (MANIFEST_YAML["version"], MANIFEST_YAML["date"], MANIFEST_YAML["title"]),
        ("0.1.0", "2026-01-02", "Fictional test clinic"),
        (None, None, None),
    ]

    # Bundled counts are the bundled files' sections; the stack adds exactly what the first
    # overlay adds (the second only replaces).
    sections = {**SUBTYPES_YAML, **THERAPIES_YAML}
    assert bundled["counts"] == {kind: len(sections[kind]) for kind in bundled["counts"]}
    assert described["counts"] == {
        kind: n + FULL_ADDS.get(kind, 0) for kind, n in bundled["counts"].items()
    }


@pytest.mark.slow
def test_info_reports_the_parse_cache_written_then_hit_then_off(tmp_path, full_overlay):
    setting = os.pathsep.join(["", str(full_overlay)])
    env = {"CALCREF_DATA": setting, "XDG_CACHE_HOME": str(tmp_path / "fresh-cache")}
    first = json.loads(run_module("info", "--json", **env).stdout)["cache"]
    assert first["state"] == "written"
    assert Path(first["entry"]).is_file()
    assert Path(first["entry"]).is_relative_to(tmp_path / "fresh-cache")
    second = json.loads(run_module("info", "--json", **env).stdout)["cache"]
    assert second == {"state": "hit", "entry": first["entry"]}
    off = json.loads(run_module("info", "--json", **env, CALCREF_NO_CACHE="1").stdout)["cache"]
    assert off == {"state": "off", "entry": None}
    # The overlay's records are the same whichever way the run was answered.
    for extra in ({}, {"CALCREF_NO_CACHE": "1"}):
        treated = by_id(json.loads(run_module("treat", "--json", **env, **extra).stdout))
        assert origin(treated[THERAPY_ID]) == from_overlay(full_overlay, "therapies.yaml")
        assert origin(treated["minocycline"]) == BUNDLED_THERAPIES


# =============================================================================================
# 9. the parse cache is keyed by path as well as bytes
# =============================================================================================


@pytest.mark.slow
def test_same_overlay_bytes_at_two_paths_each_name_their_own_path(tmp_path, full_overlay):
    one, two = tmp_path / "one" / "clinic", tmp_path / "two" / "clinic"
    shutil.copytree(full_overlay, one)
    shutil.copytree(full_overlay, two)
    cache = {"XDG_CACHE_HOME": str(tmp_path / "shared-cache")}

    def answered(directory: Path) -> tuple[tuple[Any, Any, Any], dict]:
        setting = os.pathsep.join(["", str(directory)])
        info = run_module("info", "--json", CALCREF_DATA=setting, **cache).stdout
        treated = run_module("treat", "--json", CALCREF_DATA=setting, **cache).stdout
        return origin(by_id(json.loads(treated))[THERAPY_ID]), json.loads(info)["cache"]

    source_one, cache_one = answered(one)
    source_two, cache_two = answered(two)
    source_again, cache_again = answered(one)
    assert source_one == from_overlay(one, "therapies.yaml")
    assert source_two == from_overlay(two, "therapies.yaml")
    assert source_again == from_overlay(one, "therapies.yaml")
    # The second path's first run is no hit on the first path's entry, though the bytes match.
    assert cache_one["state"] == "written"
    assert cache_two["state"] == "written"
    assert cache_again["state"] == "hit"
    assert cache_one["entry"] != cache_two["entry"]
    assert cache_again["entry"] == cache_one["entry"]


# =============================================================================================
# 10. the installed console script
# =============================================================================================


@pytest.mark.slow
def test_installed_entry_point_reads_an_overlay(tmp_path, full_overlay):
    if not ENTRY_POINT.exists():
        pytest.skip("the calcref console script is not installed next to this Python")
    result = subprocess.run(
        [str(ENTRY_POINT), "treat", "--json"],
        capture_output=True,
        env=subprocess_env(
            CALCREF_DATA=os.pathsep.join(["", str(full_overlay)]),
            XDG_CACHE_HOME=str(tmp_path / "script-cache"),
        ),
        timeout=120,
    )
    stderr = result.stderr.decode("utf-8", errors="replace")
    assert result.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert stderr == ""
    treated = by_id(json.loads(result.stdout.decode("utf-8")))
    assert treated[THERAPY_ID]["name"] == THERAPY_NAME
    assert origin(treated[THERAPY_ID]) == from_overlay(full_overlay, "therapies.yaml")
    assert origin(treated["minocycline"]) == BUNDLED_THERAPIES


# =============================================================================================
# 7. provenance inside nested records, in the chart and in the evidence legend
# =============================================================================================

NESTED_STUDY = (
    TEST_REFERENCE
    + f"""\
studies:
  - id: {STUDY_ID}
    ref: {REFERENCE_ID}
    therapies: [minocycline]
    population: Fictional test patients
    contexts: [ssc]
    n: 3
    outcome: Fictional outcome, for tests only.
    counts: {{responders: 2, none: 1}}
    sources: [{REFERENCE_ID}]
"""
)
"""A study of the bundled minocycline, from a reference of the overlay's own."""

NESTED_LABEL = "Tester 2025"  # the reader's label: first author's family name and the year
MINOCYCLINE_LABELS = sorted(
    {
        next(
            f"{r['authors'][0].rsplit(' ', 1)[0]} {r['year']}"
            for r in THERAPIES_YAML["references"]
            if r["id"] == s["ref"]
        )
        for s in THERAPIES_YAML["studies"]
        if "minocycline" in s["therapies"]
    }
)


@pytest.fixture
def nested_study(stack, tmp_path) -> str:
    """The overlay file of NESTED_STUDY, stacked on the bundled knowledge."""
    overlay = write_overlay(tmp_path / "clinic", therapies=NESTED_STUDY)
    stack("", overlay)
    return str(overlay / "therapies.yaml")


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
@pytest.mark.parametrize("command", [("treat",), ("show", "minocycline")], ids=["treat", "show"])
def test_flat_formats_mark_an_overlay_study_inside_a_bundled_therapy(nested_study, command, fmt):
    text = ok(*command, "--format", fmt).stdout
    rows = csv_rows(text) if fmt == "csv" else markdown_rows(text)
    [row] = [r for r in rows if r["id"] == "minocycline"]
    assert row["overlay"] == ""  # the therapy is the bundled one...
    cell = row["studies"]
    mark = f"[{MARK}: {nested_study}]"
    assert cell.count(MARK) == 1, cell  # ...and only the overlay's study inside it is marked
    assert cell.endswith(mark), cell  # the overlay study comes last, its mark after its counts
    own = cell[: -len(mark)]
    assert own.rindex(NESTED_LABEL) > max(own.index(label) for label in MINOCYCLINE_LABELS)
    assert "n=3" in own[own.rindex(NESTED_LABEL) :]


def test_flat_formats_mark_an_overlay_investigation_on_a_subtype_card(stack, full_overlay):
    stack("", full_overlay)
    subtype = SUBTYPES_YAML["subtypes"][0]["id"]
    overlay_file = str(full_overlay / "subtypes.yaml")
    for fmt in ("csv", "markdown"):
        text = ok("subtypes", subtype, "--format", fmt).stdout
        [row] = csv_rows(text) if fmt == "csv" else markdown_rows(text)
        workup = row["workup"]
        assert workup.count(MARK) == 1, (fmt, workup)
        assert workup.endswith(f"[{MARK}: {overlay_file}]"), (fmt, workup)
        assert INVESTIGATION_ID in workup


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
@pytest.mark.parametrize("command", [("show", "minocycline"), ("subtypes", "dystrophic")])
def test_bundled_nested_records_name_no_file_in_flat_formats(command, fmt):
    """Provenance paths differ from one installation to the next: a bundled record, nested or
    not, says nothing of its file in CSV or Markdown (the JSON carries it)."""
    text = ok(*command, "--format", fmt).stdout
    assert str(DATA) not in text
    assert "source_file" not in text
    assert MARK not in text


def test_chart_marks_the_name_of_an_overlay_study(nested_study):
    for args in (("treat", "--chart"), ("show", "minocycline")):
        lines = ok(*args, env=WIDE).stdout.splitlines()
        chart_at = next(i for i, line in enumerate(lines) if "Response by study" in line)
        chart = lines[chart_at:]
        marked = [line for line in chart if MARK in line]
        assert len(marked) == 1, marked
        name, mark = marked[0].strip().split("  ", 1)
        assert name == f"{NESTED_LABEL} [ssc]"
        assert mark == f"{MARK}: {nested_study}"
        # the bar and its counts follow on the next line, as for every study
        after = chart[chart.index(marked[0]) + 1]
        assert "n=3: 2 responded, degree not given, 1 no response" in after
        for label in MINOCYCLINE_LABELS:
            assert all(MARK not in line for line in chart if line.strip().startswith(label))


def test_bundled_chart_carries_no_overlay_mark():
    chart = ok("treat", "--chart", env=WIDE).stdout.split("Response by study", 1)[1]
    assert MARK not in chart


def test_legend_entry_marks_a_letter_an_overlay_defined():
    from calcref.render.columns import legend_entry

    bundled = {"letter": "C", "definition": "Clinical trial < 20 subjects"}
    assert legend_entry(bundled) == "C Clinical trial < 20 subjects"
    assert legend_entry(bundled | dict(zip(PROVENANCE_KEYS, BUNDLED_THERAPIES, strict=True))) == (
        "C Clinical trial < 20 subjects"
    )
    overlaid = {"letter": "C", "definition": "Clinic", "layer": "/c", "source_file": "t.yaml"}
    assert legend_entry(overlaid | {"overlay": True}) == f"C Clinic [{MARK}: /c/t.yaml]"
    relative = overlaid | {"layer": "clinic", "overlay": True}
    assert legend_entry(relative) == f"C Clinic [{MARK}: clinic/t.yaml]"
    # a record built outside any layer keeps its file as it was given
    unlayered = {"letter": "C", "definition": "Clinic", "layer": None, "source_file": "/c/t.yaml"}
    assert legend_entry(unlayered | {"overlay": True}) == f"C Clinic [{MARK}: /c/t.yaml]"


def test_treat_legend_marks_a_letter_an_overlay_redefined(stack, tmp_path):
    overlay = write_overlay(tmp_path / "clinic", therapies=REDEFINED_C)
    stack("", overlay)
    out = ok("treat", env=WIDE).stdout
    [legend] = [line for line in out.splitlines() if line.startswith("Treatment ladder: ")]
    assert f"C Overlay definition of C [{MARK}: {overlay / 'therapies.yaml'}]" in legend
    assert legend.count(MARK) == 1


def test_fields_keep_the_mark_of_local_knowledge(stack, full_overlay):
    """--fields id still says which records a clinic's overlay gave: local knowledge is never
    read as the sources'."""
    stack("", full_overlay)
    records = ok_json("treat", "--fields", "id")
    assert all(list(r)[:1] == ["id"] and "overlay" in r for r in records)
    assert [r["id"] for r in records if r["overlay"]] == [THERAPY_ID]
    # CSV and Markdown name the overlay file, as without --fields
    rows = {r["id"]: r for r in csv_rows(ok("treat", "--fields", "id", "--format", "csv").stdout)}
    assert rows[THERAPY_ID]["overlay"] == str(full_overlay / "therapies.yaml")
    assert {r["overlay"] for i, r in rows.items() if i != THERAPY_ID} == {""}
    markdown = ok("treat", "--fields", "id", "--format", "markdown").stdout
    (line,) = [x for x in markdown.splitlines() if THERAPY_ID in x]
    assert "therapies.yaml" in line


GRADED_LOCALLY = """\
therapies:
  - id: test-overlay-graded
    name: Overlay graded therapy
    positions:
      - source: chapter
        line: second
        evidence: E
    sources: [chapter]
"""


def test_levels_mark_a_therapy_an_overlay_gave(stack, tmp_path):
    """A clinic's therapy counted at one of the chapter's letters is marked in every format,
    so the tally is never read as the chapter's alone."""
    overlay = write_overlay(tmp_path / "clinic", therapies=GRADED_LOCALLY)
    stack("", overlay)
    rows = {r["letter"]: r for r in ok_json("levels") if r["letter"]}
    (local,) = rows["E"]["from_overlays"]
    assert local["id"] == "test-overlay-graded" and local["overlay"] is True
    assert local["source_file"] == "therapies.yaml" and local["layer"] == str(overlay)
    assert all(r["from_overlays"] == [] for letter, r in rows.items() if letter != "E")
    out = ok("levels", env=WIDE).stdout
    assert "test-overlay-graded ◆" in out
    assert f"test-overlay-graded: {MARK}: {overlay / 'therapies.yaml'}" in out
    (e,) = [r for r in csv_rows(ok("levels", "--format", "csv").stdout) if r["letter"] == "E"]
    assert e["from_overlays"] == f"id: test-overlay-graded [{MARK}: {overlay / 'therapies.yaml'}]"


# =============================================================================================
# 8. an overlay record in the compact answers: the row it heads, gaps, principles, lists
# =============================================================================================

LOCAL_SERIES = "test-overlay-series"
LOCAL_MINOCYCLINE = (
    TEST_REFERENCE
    + f"""\
studies:
  - id: {LOCAL_SERIES}
    ref: {REFERENCE_ID}
    therapies: [minocycline]
    kind: retrospective cohort or series
    population: Fictional clinic patients
    contexts: [ssc]
    n: 12
    outcome: Fictional outcome, for tests only.
    counts: {{responders: 10}}
    sources: [{REFERENCE_ID}]
"""
)
"""A clinic's retrospective series of the bundled minocycline in ssc, larger than the
bundled ones: it heads minocycline's row in `treat --context ssc`."""


def row_of(table: str, name: str) -> list[str]:
    """The lines of the compact row that starts with the therapy `name`: up to the next row
    (a line starting with its place, ' 2nd E', ' — —') or the next heading."""
    lines = table.splitlines()
    start = next(i for i, line in enumerate(lines) if f" {name} " in line)
    end = next(
        i
        for i in range(start + 1, len(lines))
        if re.match(r" (1st|2nd|3rd|—) ", lines[i]) or not lines[i].startswith(" ")
    )
    return lines[start:end]


def test_treat_row_headed_by_an_overlay_study_marks_it_at_80_columns(stack, tmp_path, monkeypatch):
    """The row shows the study's phrase and, under it in the same column, the study's
    overlay, as --details, show and --chart do; the bundled therapy itself is not marked."""
    write_overlay(tmp_path / "clinic", therapies=LOCAL_MINOCYCLINE)
    monkeypatch.chdir(tmp_path)
    stack("", "clinic")
    treated = json.loads(ok("treat", "--context", "ssc", "--json").stdout)
    assert by_id(treated)["minocycline"]["strongest"] == LOCAL_SERIES
    out = ok("treat", "--context", "ssc", env={"COLUMNS": "80"}).stdout
    assert all(len(line) <= 80 for line in out.splitlines())
    row = row_of(out, "Minocycline")
    phrase = "retrospective [ssc]: n=12: 10 responded"
    [head] = [line for line in row if phrase in line]
    column = head.index(phrase)
    under = row[row.index(head) + 1 :]
    assert [line[column:] for line in under][:1] == [f"{MARK}: clinic/therapies.yaml"], row
    assert out.count(MARK) == 1, out  # the study only: minocycline is the bundled therapy


def test_treat_row_marks_an_overlay_study_given_by_an_absolute_path(stack, tmp_path):
    overlay = write_overlay(tmp_path / "clinic", therapies=LOCAL_MINOCYCLINE)
    stack("", overlay)
    row = " ".join(row_of(ok("treat", "--context", "ssc", env=WIDE).stdout, "Minocycline"))
    assert row.index("n=12: 10 responded") < row.index(f"{MARK}: {overlay / 'therapies.yaml'}")


def test_bundled_treat_rows_carry_no_overlay_mark():
    for args in (
        ("treat", "--context", "ssc"),
        ("treat",),
        ("treat", "--subtype", "calciphylaxis"),
    ):
        assert MARK not in ok(*args, env={"COLUMNS": "80"}).stdout


LOCAL_EXTRAS_THERAPIES = (
    TEST_REFERENCE
    + f"""\
therapies:
  - id: {THERAPY_ID}
    name: {THERAPY_NAME}
    contexts:
      - context: ssc
        sources: [{REFERENCE_ID}]
    sources: [{REFERENCE_ID}]
gaps:
  - id: test-overlay-gap
    text: A fictional gap in ssc, for tests only.
    contexts: [ssc]
    basis: curated
    sources: [{REFERENCE_ID}]
"""
)
LOCAL_EXTRAS_SUBTYPES = f"""\
principles:
  - id: test-overlay-principle
    kind: step
    text: A fictional principle, for tests only.
    sources: [chapter]
contexts:
  - id: {CONTEXT_ID}
    name: Overlay test context
    parent: ssc
    subtypes: [dystrophic]
    summary: A fictional context, for tests only.
    sources: [chapter]
"""


def test_compact_answers_mark_overlay_gaps_principles_and_unstudied_names(
    stack, tmp_path, monkeypatch
):
    """A clinic's gap (in the table and on stderr), its principle among the chapter's, its
    therapy in the one-line list of therapies with no study, and its context on a subtype's
    card: each says it is local, right where it is shown."""
    write_overlay(tmp_path / "clinic", LOCAL_EXTRAS_THERAPIES, LOCAL_EXTRAS_SUBTYPES)
    monkeypatch.chdir(tmp_path)
    stack("", "clinic")
    therapies, subtypes = "clinic/therapies.yaml", "clinic/subtypes.yaml"
    out = ok("treat", "--context", "ssc", env=WIDE).stdout
    lines = out.splitlines()
    gap = lines.index("⚠ Gap: A fictional gap in ssc, for tests only.")
    assert lines[gap + 1] == f"{MARK}: {therapies}"
    [unstudied] = [line for line in lines if THERAPY_NAME in line]
    assert f"{THERAPY_NAME} [{MARK}: {therapies}]" in unstudied
    [principles] = [line for line in lines if line.startswith("Management principles: ")]
    assert f"A fictional principle, for tests only. [{MARK}: {subtypes}]" in principles
    assert out.count(MARK) == 3, out
    result = ok("treat", "--context", "ssc", "--json")
    assert (
        f"calcref: gap: A fictional gap in ssc, for tests only. [{MARK}: {therapies}]\n"
        in result.stderr
    )
    assert result.stderr.count(MARK) == 1
    markdown = ok("treat", "--context", "ssc", "--format", "markdown").stdout
    assert f"> ⚠ Gap: A fictional gap in ssc, for tests only. \\[{MARK}: {therapies}\\]" in markdown
    card = ok("subtypes", "dystrophic", env=WIDE).stdout.splitlines()
    at = card.index(f"  {CONTEXT_ID}: Overlay test context")
    assert card[at + 1] == f"  {MARK}: {subtypes}"
