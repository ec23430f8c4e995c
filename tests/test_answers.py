"""Fast unit tests of the answers, the JSON contract and the format writers, on a small
knowledge base built in memory (no files, no cache, no CLI): the library as a user of
`calcref.answers` and `calcref.render` meets it."""

from __future__ import annotations

import csv
import io
import json

import pytest
from helpers import rendered_cells

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


HOSTILE_CELLS = [
    "2*2 mg twice, then 3*3 mg",  # emphasis
    "**bold** and __strong__ and _under_ and *one*",
    "snake_case_id and a_b_c",
    "![x](http://track.example/p.png)",  # a remote image
    "[click](javascript:alert(1)) and [ref][1] and [^note]",  # links, a footnote
    "[1]: http://track.example/ref",  # a link reference definition
    "`code span` and ``two`` and a lone `",
    "# not a heading",
    "## nor this ##",
    "1. not a list",
    "2) nor this",
    "- nor a bullet",
    "+ nor this",
    "* nor this",
    "> not a quote",
    "---",
    "===",
    "<http://track.example/autolink> and <mail@track.example>",
    '<img src=x onerror="alert(1)"> <!-- comment --> <?pi?> <!DOCTYPE x> </td>',
    "&lt; &amp; &#60; &#x3C; &copy; & alone",
    "<1.2 g/day and < 20 subjects",
    "~~struck~~ and ~one~ and ~25%",
    "$x^2$ and $$y$$ cost $5",
    "a\\b and a trailing backslash \\",
    "\\*not emphasis\\* and \\| and \\\\|",
    "pipe | in | the | middle",
    "line one\nline two",
    "p < 0.05* and 12.5–25 mg/m² and [Tajalli 2019]",
    "{braces} (parens) !bang ?what @at %pct ^caret ' \" , ; : = /",
]
"""Cells that would render as markup if written raw: each must read back as itself."""


@pytest.mark.parametrize("options", [{}, {"html": False}, {"strikethrough": True}])
def test_markdown_cells_render_as_their_literal_text(options):
    """Whatever a knowledge string holds, a CommonMark renderer shows it as written: no
    emphasis, link, image, code span, autolink, raw HTML, entity or strikethrough; block
    syntax at a cell's start stays text; one row per record, one cell per column."""
    rows = [{"id": f"row{i}", "text": text, "also": text} for i, text in enumerate(HOSTILE_CELLS)]
    text = write("markdown", rows)
    assert len(text.splitlines()) == 2 + len(rows)
    cells = rendered_cells(text, **options)
    if options.get("html") is False:  # <br> is then shown as written, not as a break
        cells = [[c.replace("<br>", "\n") for c in row] for row in cells]
    assert cells == [[row["id"], row["text"], row["also"]] for row in rows]


def test_markdown_of_a_real_answer_renders_each_cell_as_its_csv_text(kb):
    """The answer's every cell, rendered, reads as the same cell in CSV (which is the text
    as written)."""
    rows = records.treat(kb, query.treat(kb))
    flat = list(csv.reader(io.StringIO(write("csv", rows))))[1:]
    assert rendered_cells(write("markdown", rows)) == flat


def test_markdown_escapes_only_what_starts_inline_syntax():
    """The raw table stays readable: a dose, a hyphen, a full stop, a hash, a plus are left
    as written; what would be read as markup is escaped."""
    rows = [{"id": "x", "text": "<1.2 g/day - 2. #3 + a > b: 2*2 [ok] `c` ~d $e f_g"}]
    assert write("markdown", rows).splitlines()[2] == (
        "| x | <1.2 g/day - 2. #3 + a > b: 2\\*2 \\[ok\\] \\`c\\` \\~d \\$e f\\_g |"
    )


def test_a_frequency_cell_carries_the_caution_and_notes_of_its_statements():
    from calcref.render.columns import flat

    frequency = {
        "context": "ssc",
        "population": "limited ssc",
        "figure": "<1.2%",
        "statements": [
            {
                "text": "a",
                "sources": ["paper", "book"],
                "caution": {"id": "c", "text": "As printed.", "likely": "12%"},
                "notes": [],
            },
            {
                "text": "b",
                "sources": ["book"],
                "caution": None,
                "notes": [{"id": "n", "text": "N."}],
            },
        ],
    }
    assert flat([frequency, frequency | {"population": None, "statements": []}]) == (
        "ssc (limited ssc): <1.2% (paper, book) [Caution (likely 12%): As printed.]"
        " [Curator's note: N.]; ssc: <1.2%"
    )


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
