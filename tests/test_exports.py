"""Exports that real parsers read back whole, from knowledge a red team wrote (issue 15).

Each test copies the bundled knowledge into tmp_path, edits one record's text, points
CALCREF_DATA at the copy and reads what `calcref` printed with the parser a user would:
pybtex and bibtexparser for BibTeX (test-only: skipped where they are not installed), the csv
module for CSV, markdown-it (a dependency of Rich) for Markdown, json for JSON. Expectations
come from the text the test wrote, never from calcref's own escaping code.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from clirun import invoke, ok
from helpers import edit, tex_text

from calcref.knowledge.stack import bundled_dir

DATA = bundled_dir()
WIDE = {"COLUMNS": "1000"}

WALSH_TITLE = "    title: Calcifying disorders of the skin\n"
WALSH_AUTHORS = "    authors: [Walsh JS, Fairley JA]\n"
COLCHICINE = "  - id: colchicine\n    name: Colchicine\n"
# Slow as a whole (see CONTRIBUTING): every test answers from a copy of the knowledge it
# rewrote, a cold parse each time.
pytestmark = pytest.mark.slow


@pytest.fixture
def knowledge(knowledge, monkeypatch) -> Path:
    """conftest's copy of the bundled knowledge, active through CALCREF_DATA."""
    monkeypatch.setenv("CALCREF_DATA", str(knowledge))
    return knowledge


_SURROGATES = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})")


def yaml_quoted(text: str) -> str:
    """`text` as a YAML double-quoted scalar: JSON's ASCII string syntax, but a character
    beyond the BMP as YAML spells it (`\\U000e0041`), not as a UTF-16 surrogate pair."""

    def astral(match: re.Match[str]) -> str:
        high, low = int(match[1], 16), int(match[2], 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"

    return _SURROGATES.sub(astral, json.dumps(text, ensure_ascii=True))


def rename_colchicine(kb: Path, name: str) -> None:
    edit(kb / "therapies.yaml", COLCHICINE, f"  - id: colchicine\n    name: {yaml_quoted(name)}\n")


# --- BibTeX ------------------------------------------------------------------------------------

UNBALANCED_TITLE = "Calcifying disorders of the skin (erratum}"
BRACED_JOURNAL = "J Am Acad {Dermatol"
AND_AUTHOR = "Skin Society and Friends AB"  # a family name holding " and ", with initials
WALSH_NOTE_LINE = (
    "          Pages disagree: the JOPA article prints 693-706, other listings give 693–710. "
    "calcref\n"
)
HOSTILE_NOTE_LINE = "          Pages disagree {\\ see: the JOPA article prints 693-706, calcref\n"
HOSTILE_NOTE = (
    "Curator's note: Pages disagree {\\ see: the JOPA article prints 693-706, calcref keeps "
    "the article's 693-706 and has not verified either."
)


@pytest.fixture
def hostile_walsh(knowledge) -> Path:
    """walsh1995 with an unmatched closing brace in its title, an unmatched opening one in its
    journal and, after a backslash, in its curator's note, and an author whose family name
    holds " and "."""
    therapies = knowledge / "therapies.yaml"
    edit(therapies, WALSH_TITLE, f"    title: {yaml_quoted(UNBALANCED_TITLE)}\n")
    edit(
        therapies,
        "    journal: J Am Acad Dermatol\n    year: 1995\n",
        f"    journal: {yaml_quoted(BRACED_JOURNAL)}\n    year: 1995\n",
    )
    edit(therapies, WALSH_AUTHORS, f"    authors: [Walsh JS, {AND_AUTHOR}, Fairley JA]\n")
    edit(therapies, WALSH_NOTE_LINE, HOSTILE_NOTE_LINE)
    return knowledge


def cite_bibtex(*ids: str) -> str:
    return ok("cite", *ids, "--style", "bibtex").stdout


def test_pybtex_reads_every_field_after_an_unbalanced_brace(hostile_walsh):
    database = pytest.importorskip("pybtex.database")
    entry = database.parse_string(cite_bibtex("walsh1995"), "bibtex").entries["walsh1995"]
    assert set(entry.fields) == {"title", "journal", "year", "volume", "pages", "note"}
    assert tex_text(entry.fields["note"]) == HOSTILE_NOTE
    assert tex_text(entry.fields["title"]) == UNBALANCED_TITLE
    assert tex_text(entry.fields["journal"]) == BRACED_JOURNAL
    assert (entry.fields["year"], entry.fields["volume"]) == ("1995", "33")
    assert entry.fields["pages"] == "693--706"
    authors = entry.persons["author"]
    assert len(authors) == 3  # " and " inside a family name never makes a fourth
    families = [" ".join(p.last_names) for p in authors]
    assert families == ["Walsh", "{Skin Society and Friends}", "Fairley"]
    given = [" ".join(p.first_names + p.middle_names) for p in authors]
    assert given == ["J. S.", "A. B.", "J. A."]


def test_bibtexparser_reads_every_field_after_an_unbalanced_brace(hostile_walsh):
    bibtexparser = pytest.importorskip("bibtexparser", minversion="2")
    from bibtexparser import middlewares

    library = bibtexparser.parse_string(
        cite_bibtex("walsh1995"),
        append_middleware=[middlewares.SeparateCoAuthors(), middlewares.SplitNameParts()],
    )
    assert library.failed_blocks == []
    [entry] = library.entries
    fields = {key: field.value for key, field in entry.fields_dict.items()}
    assert set(fields) == {"author", "title", "journal", "year", "volume", "pages", "note"}
    assert tex_text(fields["note"]) == HOSTILE_NOTE
    assert tex_text(fields["title"]) == UNBALANCED_TITLE
    assert tex_text(fields["journal"]) == BRACED_JOURNAL
    assert fields["pages"] == "693--706"
    assert [" ".join(name.last) for name in fields["author"]] == [
        "Walsh",
        "{Skin Society and Friends}",
        "Fairley",
    ]


def test_an_entry_after_the_unbalanced_one_is_read_too(hostile_walsh):
    """A brace left open swallows the rest of the file, not only the rest of its entry."""
    database = pytest.importorskip("pybtex.database")
    entries = database.parse_string(cite_bibtex("walsh1995", "balin2012"), "bibtex").entries
    assert list(entries) == ["walsh1995", "balin2012"]
    assert entries["balin2012"].fields["pages"] == "455--462"


def test_every_bundled_reference_reads_back_whole():
    database = pytest.importorskip("pybtex.database")
    cited = json.loads(ok("cite", "--json").stdout)
    entries = database.parse_string(ok("cite", "--style", "bibtex").stdout, "bibtex").entries
    assert list(entries) == [r["id"] for r in cited]
    for record in cited:
        entry = entries[record["id"]]
        if record["title"]:
            assert tex_text(entry.fields["title"]) == record["title"]
        if record["year"] is not None:
            assert entry.fields["year"] == str(record["year"])
        authors = entry.persons.get("author", [])
        assert len(authors) == len(record["authors"]) + record["et_al"]


# --- Markdown: raw HTML is shown, never run ----------------------------------------------------

HTML_NAME = 'Colchicine <img src=x onerror="alert(1)"> </td><script>alert(2)</script><!-- &lt;'


def markdown_html(text: str) -> str:
    from markdown_it import MarkdownIt  # Rich's own dependency

    return MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


def test_markdown_shows_raw_html_in_knowledge_as_text(knowledge):
    rename_colchicine(knowledge, HTML_NAME)
    text = ok("treat", "--format", "markdown").stdout
    for tag in ("<img", "</td>", "<script", "</script", "<!--"):
        assert tag not in text
    html = markdown_html(text)
    for tag in ("<img", "<script", "<!--"):
        assert tag not in html
    assert html.count("<tr>") == 1 + len(json.loads(ok("treat", "--json").stdout))
    # What a reader sees is the name as written, the entity text included.
    import html as html_module

    cells = re.findall(r"<td>(.*?)</td>", html, flags=re.S)
    assert HTML_NAME in [html_module.unescape(c) for c in cells]


def test_markdown_keeps_a_dose_exactly_as_printed(knowledge):
    """A `<` before a digit or a space starts no markup: "<1.2 g/day" stays as the chapter
    prints it in the raw table, and reads the same once rendered."""
    text = ok("treat", "--format", "markdown").stdout
    assert "<1.2 g/day" in text
    assert "Clinical trial < 20 subjects" in ok("levels", "--format", "markdown").stdout
    assert "&lt;1.2 g/day" in markdown_html(text)  # rendered as text, not a tag


# --- invisible characters: visible in every text format, exact in JSON -------------------------

INVISIBLE = {
    "\u2028": "\\u2028",  # line separator
    "\u2029": "\\u2029",  # paragraph separator
    "\u200b": "\\u200b",  # zero-width space
    "\u200c": "\\u200c",  # zero-width non-joiner
    "\u200d": "\\u200d",  # zero-width joiner
    "\u2060": "\\u2060",  # word joiner
    "\ufeff": "\\ufeff",  # zero-width no-break space (BOM)
    "\U000e0041": "\\U000e0041",  # tag latin capital letter A
    "\U000e007f": "\\U000e007f",  # cancel tag
}
HIDDEN_NAME = "Colchi" + "".join(INVISIBLE) + "cine"
HIDDEN_TITLE = "Calcifying " + "".join(INVISIBLE) + "disorders of the skin"


@pytest.fixture
def hidden(knowledge) -> Path:
    rename_colchicine(knowledge, HIDDEN_NAME)
    edit(knowledge / "therapies.yaml", WALSH_TITLE, f"    title: {yaml_quoted(HIDDEN_TITLE)}\n")
    return knowledge


def assert_shown(text: str, backslash: str = "\\") -> None:
    """No invisible character raw, each one as its visible escape (`backslash` is how the
    format writes a backslash)."""
    for raw, escape in INVISIBLE.items():
        assert raw not in text, f"{escape} reached the output raw"
        assert escape.replace("\\", backslash, 1) in text, escape


@pytest.mark.parametrize(
    ("args", "backslash"),
    [
        (("treat",), "\\"),
        (("treat", "--format", "csv"), "\\"),
        (("treat", "--format", "markdown"), "\\\\"),
        (("show", "colchicine"), "\\"),
        (("search", "colchi"), "\\"),
        (("cite", "walsh1995"), "\\"),
        (("cite", "walsh1995", "--format", "csv"), "\\"),
        (("cite", "walsh1995", "--format", "markdown"), "\\\\"),
        (("cite", "walsh1995", "--style", "ama"), "\\"),
        (("cite", "walsh1995", "--style", "vancouver"), "\\"),
        (("cite", "walsh1995", "--style", "ris"), "\\"),
        (("cite", "walsh1995", "--style", "bibtex"), "\\textbackslash{}"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_invisible_characters_are_visible_escapes_in_every_text_format(hidden, args, backslash):
    assert_shown(ok(*args, env=WIDE).stdout, backslash)


@pytest.mark.parametrize(
    ("args", "find"),
    [
        (("treat", "--json"), lambda rows: next(r["name"] for r in rows if "colchi" in r["id"])),
        (("show", "colchicine", "--json"), lambda record: record["name"]),
        (("cite", "walsh1995", "--json"), lambda rows: rows[0]["title"]),
        (("cite", "walsh1995", "--style", "csl-json"), lambda items: items[0]["title"]),
    ],
    ids=["treat", "show", "cite", "csl-json"],
)
def test_json_escapes_invisible_characters_and_decodes_to_the_original(hidden, args, find):
    text = ok(*args).stdout
    for raw in INVISIBLE:
        assert raw not in text
    for escape in ("\\u2028", "\\u2029", "\\u200b", "\\u2060", "\\ufeff", "\\udb40\\udc41"):
        assert escape in text
    assert find(json.loads(text)) in (HIDDEN_NAME, HIDDEN_TITLE)


def test_validate_shows_invisible_characters_in_a_problem(knowledge):
    therapies = knowledge / "therapies.yaml"
    hidden_letter = yaml_quoted("C" + "".join(INVISIBLE))
    edit(therapies, "        evidence: C\n", f"        evidence: {hidden_letter}\n")
    result = invoke("validate")
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 1  # U+2028 and U+2029 break no line
    assert_shown(result.stdout)
    problem = json.loads(invoke("validate", "--json").stdout)[0]
    assert problem["message"].count("C" + "".join(INVISIBLE)) == 1


def test_validate_keeps_only_the_fields_asked_and_refuses_a_wrong_one(knowledge):
    edit(knowledge / "therapies.yaml", "        evidence: C\n", "        evidence: Q\n")
    result = invoke("validate", "--fields", "path,line")
    assert result.exit_code == 1
    (problem,) = json.loads(result.stdout)
    assert list(problem) == ["path", "line"] and problem["path"].endswith("therapies.yaml")
    assert result.stdout.count("\n") == 1  # piped, one line, as every command's JSON
    wrong = invoke("validate", "--json", "--fields", "path,bogus")
    assert wrong.exit_code == 2 and wrong.stdout == ""
    assert wrong.stderr == (
        "calcref: error: unknown field 'bogus'; available fields: path, line, message, rule\n"
    )


# --- CSV read back by the csv module -----------------------------------------------------------

FORMULAS = {
    "colchicine": '=HYPERLINK("http://example.invalid","click")',
    "diltiazem": '+1, "quoted"\nand a second line',
    "minocycline": "@SUM(1+1)",
    "probenecid": "-2+3",
}


def test_csv_reads_back_cell_for_cell_with_formulas_defused(knowledge):
    therapies = knowledge / "therapies.yaml"
    text = therapies.read_text(encoding="utf-8")
    for therapy_id, name in FORMULAS.items():
        found = re.search(rf"^  - id: {therapy_id}\n    name: .*\n", text, flags=re.M)
        assert found, therapy_id
        text = text.replace(found[0], f"  - id: {therapy_id}\n    name: {yaml_quoted(name)}\n")
    therapies.write_text(text, encoding="utf-8")

    as_json = json.loads(ok("treat", "--json").stdout)
    out = ok("treat", "--format", "csv").stdout
    reader = csv.reader(io.StringIO(out))
    header = next(reader)
    rows = list(reader)
    assert [row[0] for row in rows] == [r["id"] for r in as_json]
    assert all(len(row) == len(header) for row in rows)
    names = {row[0]: dict(zip(header, row, strict=True))["name"] for row in rows}
    for therapy_id, name in FORMULAS.items():
        assert names[therapy_id] == "'" + name  # read as text, never run, every word kept
    for record in as_json:
        if record["id"] not in FORMULAS:
            assert names[record["id"]] == record["name"]


def test_cite_csv_defuses_a_formula_in_a_title(knowledge):
    title = "=cmd|' /C calc'!A0"
    edit(knowledge / "therapies.yaml", WALSH_TITLE, f"    title: {yaml_quoted(title)}\n")
    [row] = list(csv.DictReader(io.StringIO(ok("cite", "walsh1995", "--format", "csv").stdout)))
    assert row["title"] == "'" + title
    assert row["id"] == "walsh1995"


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
def test_a_study_s_harms_travel_in_the_treat_row_s_studies_cell(fmt):
    """jhandsurg2021-debulking: "17 complications, in 13 patients (types not shown)" is a harm
    of the study, not of the therapy: a treat row holds its studies in one cell, which lost
    it in CSV and Markdown (JSON and the tables kept it)."""
    out = ok("treat", "--context", "ssc", "--format", fmt).stdout
    (row,) = [line for line in out.splitlines() if "jhandsurg2021-debulking" in line]
    assert "[Harm: 17 complications, in 13 patients (types not shown). (" in row
