"""Fast unit tests of the answers, the JSON contract and the format writers, on a small
knowledge base built in memory (no files, no cache, no CLI): the library as a user of
`calcref.answers` and `calcref.render` meets it."""

from __future__ import annotations

import csv
import io
import json

import pytest

from calcref.answers import query, records, search
from calcref.errors import UnknownValueError
from calcref.model import (
    Context,
    ContextLink,
    Counts,
    CuratorNote,
    EvidenceLevel,
    KnowledgeBase,
    Position,
    Printed,
    Reference,
    Statement,
    Study,
    Therapy,
)
from calcref.render.formats import FORMATS, Answer
from calcref.render.screen import Screen


def ref(id_: str, **fields) -> Reference:
    printed = (Printed(source=id_, text=f"{id_} as printed"),)
    return Reference(id=id_, type="article", printed=printed, source_file="t.yaml", **fields)


@pytest.fixture
def kb() -> KnowledgeBase:
    note = CuratorNote(id="unit", text="Almost certainly mg/day.")
    therapies = (
        Therapy(
            id="alpha",
            name="Alpha",
            aliases=("a-drug",),
            positions=(Position(source="book", line="first", evidence="C"),),
            regimens=(Statement(text="1.2 g/day", sources=("paper",), notes=(note,)),),
            contexts=(ContextLink(context="ctd", sources=("book",)),),
            sources=("book",),
            source_file="t.yaml",
        ),
        Therapy(
            id="beta",
            name="Beta",
            positions=(Position(source="book", line="second", evidence="E"),),
            sources=("book",),
            source_file="overlay/therapies.yaml",
        ),
        Therapy(id="gamma", name="Gamma", sources=("book",), source_file="t.yaml"),
    )
    studies = (
        Study(
            id="beta-series",
            ref="paper",
            therapies=("beta",),
            population="SSc patients",
            contexts=("ssc",),
            n=9,
            outcome="8 improved",
            counts=Counts(responders=8),
            sources=("book",),
            source_file="t.yaml",
        ),
    )
    contexts = (
        Context(id="ctd", name="CTD", summary="s", sources=("book",), source_file="t.yaml"),
        Context(
            id="ssc",
            name="SSc",
            aliases=("crest",),
            parent="ctd",
            summary="s",
            sources=("book",),
            source_file="t.yaml",
        ),
    )
    levels = tuple(
        EvidenceLevel(letter=x, definition=f"level {x}", sources=("book",), source_file="t.yaml")
        for x in "ABCDE"
    )
    sections = {
        "therapies": therapies,
        "studies": studies,
        "contexts": contexts,
        "evidence_levels": levels,
        "references": (
            ref("book", title="Book"),
            ref("paper", title="Minocycline in SSc", year=2003, authors=("Robertson LP",)),
        ),
    }
    from calcref.model import KnowledgeLayer

    layers = (
        KnowledgeLayer("base", False, ("t.yaml",), "1", "2026-01-01", None),
        KnowledgeLayer("overlay", True, ("overlay/therapies.yaml",), None, None, None),
    )
    return KnowledgeBase(sections, layers)


# --- answers ------------------------------------------------------------------------------------


def test_resolve_takes_ids_and_aliases_in_any_case(kb):
    assert query.resolve(kb, "context", " CREST ") == "ssc"
    assert query.resolve(kb, "therapy", "A-Drug") == "alpha"


def test_resolve_suggests_the_closest_name(kb):
    with pytest.raises(UnknownValueError) as error:
        query.resolve(kb, "therapy", "alph")
    assert error.value.suggestion == "alpha"
    assert error.value.choices == ["alpha", "beta", "gamma"]


def test_treat_orders_the_ladder_and_says_how_each_context_matched(kb):
    results = query.treat(kb, context="ssc")
    assert [(r.therapy.id, r.match.kind, r.match.context) for r in results] == [
        ("alpha", "broader", "ctd"),  # reported for ctd as a whole
        ("beta", "direct", "ssc"),  # through its study
    ]
    narrower = query.treat(kb, context="ctd")
    assert [(r.therapy.id, r.match.kind) for r in narrower] == [
        ("alpha", "direct"),
        ("beta", "narrower"),
    ]


def test_treat_filters_by_line_and_letter(kb):
    assert [r.therapy.id for r in query.treat(kb, line="second")] == ["beta"]
    assert [r.therapy.id for r in query.treat(kb, min_evidence="C")] == ["alpha"]
    assert [r.therapy.id for r in query.treat(kb)] == ["alpha", "beta", "gamma"]


def test_a_therapys_references_come_from_every_field_the_model_marks(kb):
    """`paper` is named only inside a regimen statement of alpha: it is still cited."""
    assert [r.id for r in query.therapy_references(kb, kb.therapy_by_id["alpha"])] == [
        "book",
        "paper",
    ]
    assert [r.id for r in query.references(kb, therapy="beta")] == ["book", "paper"]


# --- the JSON contract --------------------------------------------------------------------------


def test_therapy_record_has_its_fields_its_ladder_place_and_provenance(kb):
    match = query.Match("direct", "ssc", "studied")
    record = records.therapy(kb, kb.therapy_by_id["beta"], match)
    assert list(record)[:6] == ["id", "name", "place", "line", "evidence", "graded_for"]
    assert set(Therapy.FIELDS) <= set(record)
    assert record["contexts"] == ["ssc"]  # reached through its study
    assert record["studies"][0]["label"] == "Robertson 2003"
    assert record["studies"][0]["counts"] == {
        "responders": 8,
        "complete": None,
        "partial": None,
        "none": None,
        "unknown": None,
    }
    # its layer, the file relative to it, and that the layer is an overlay
    assert (record["layer"], record["source_file"], record["overlay"]) == (
        "overlay",
        "therapies.yaml",
        True,
    )
    # a record whose file is in no layer (built here, in memory) keeps its file as given
    alpha = records.therapy(kb, kb.therapy_by_id["alpha"], match)
    assert (alpha["layer"], alpha["source_file"], alpha["overlay"]) == (None, "t.yaml", False)
    assert record["match"] == {"kind": "direct", "context": "ssc", "evidence": "studied"}
    # each position names its source by the label a reader knows (no author nor year: the id)
    assert [(p["source"], p["label"]) for p in record["positions"]] == [("book", "book")]
    assert "relation" not in record["studies"][0]  # seen from no context or subtype
    json.dumps(record)  # plain data all the way down


def test_search_finds_the_field_path_and_curators_notes(kb):
    hits = search.search(kb, "1.2 g")
    assert [(h["kind"], h["id"], h["field"]) for h in hits] == [
        ("therapy", "alpha", "regimens[0].text")
    ]
    assert [h["id"] for h in search.search(kb, "mg/day")] == ["unit"]
    # A reference's link is derived from its title; only the title is searched.
    assert search.search(kb, "pubmed") == []
    hits = search.search(kb, "minocycline in")
    assert [(h["id"], h["field"]) for h in hits] == [("paper", "title")]


# --- the writers --------------------------------------------------------------------------------


def write(name: str, rows, kind: str = "treat") -> str:
    return FORMATS[name].write(Answer(kind, rows), Screen(width=100))


def test_csv_columns_are_the_records_keys_and_notes_stay_in_their_cell(kb):
    rows = records.treat(kb, query.treat(kb))
    parsed = list(csv.DictReader(io.StringIO(write("csv", rows))))
    hidden = ("layer", "source_file", "overlay")
    assert set(hidden) <= set(rows[0])  # in the JSON record, and not columns of their own
    assert list(parsed[0]) == [k for k in rows[0] if k not in hidden] + ["overlay"]
    assert parsed[0]["regimens"] == "1.2 g/day (paper) [Curator's note: Almost certainly mg/day.]"
    assert [r["overlay"] for r in parsed] == ["", "overlay/therapies.yaml", ""]
    # responders the source does not split into complete and partial
    assert parsed[1]["studies"] == "Robertson 2003 [ssc]: n=9: 8 responded, degree not given"


def test_a_new_key_becomes_a_column_by_itself():
    rows = [
        {"id": "x", "onset": "within weeks", "layer": "d", "source_file": "f", "overlay": False}
    ]
    assert write("csv", rows).splitlines() == ["id,onset,overlay", "x,within weeks,"]
    assert write("markdown", rows).splitlines()[0] == "| id | onset | overlay |"


def test_csv_defuses_cells_a_spreadsheet_would_run():
    rows = [{"id": "=HYPERLINK(1)", "text": "-2 mg", "note": "@SUM(A1)", "plain": "ok"}]
    [parsed] = list(csv.DictReader(io.StringIO(write("csv", rows))))
    assert parsed == {
        "id": "'=HYPERLINK(1)",
        "text": "'-2 mg",
        "note": "'@SUM(A1)",
        "plain": "ok",
    }


def test_markdown_escapes_pipes_and_keeps_one_row_per_record():
    rows = [{"id": "a|b", "text": "line one\nline two"}]
    assert write("markdown", rows).splitlines()[2] == "| a\\|b | line one<br>line two |"


def test_json_escapes_bidi_controls_and_still_decodes_to_the_same_text():
    rows = [{"id": "x", "text": "abc\u202edef"}]
    text = write("json", rows)
    assert "\u202e" not in text and "\\u202e" in text
    assert json.loads(text) == rows


def test_every_format_returns_a_whole_string(kb):
    rows = records.treat(kb, query.treat(kb))
    for name, writer in FORMATS.items():
        answer = Answer("treat", rows, (records.evidence_scale(kb),))
        text = writer.write(answer, Screen(width=100))
        assert isinstance(text, str) and text.endswith("\n"), name
