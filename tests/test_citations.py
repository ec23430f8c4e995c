"""Citation styles and links, checked against the real knowledge base's references."""

# The references print page ranges with en dashes, and the expected texts must too.

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from clirun import ok
from helpers import tex_text
from pack import LITERATURE_DOIS

from calcref.answers.links import (
    LABEL_PUBMED,
    LABEL_SEARCH,
    PUBMED_SEARCH,
    link,
    pubmed_search_url,
)
from calcref.model import CuratorNote, Reference
from calcref.render import citations
from calcref.render.citations import (
    STYLES,
    TEXT_STYLES,
    export,
    format_one,
    full_page_range,
    split_name,
)

SCHEMA_PATH = Path(__file__).parent / "data" / "csl-data.schema.json"
CHAPTER_LABEL = "no link: a book chapter is not indexed in PubMed"
PUBMED = PUBMED_SEARCH

# Every confirmed DOI: the chapter's two (sources README), then the literature pack's.
CONFIRMED_DOIS = {
    "balin2012": "10.1001/archdermatol.2011.2052",
    "robertson2003": "10.1136/ard.62.3.267",
} | LITERATURE_DOIS
# The pack's confirmed PMIDs of the works that have no confirmed DOI: their link is the record.
PMID_ONLY = {"bottomley1996": "8881679", "jcem2016-topicalsts": "27163355"}
RIS_TYPES = {"article": "JOUR", "chapter": "CHAP", "online": "ELEC"}


@pytest.fixture
def refs(kb) -> dict[str, Reference]:
    return kb.reference_by_id


@pytest.fixture
def all_refs(kb) -> tuple[Reference, ...]:
    return kb.references


# --- links -------------------------------------------------------------------------------------


def test_pubmed_search_url_encodes_the_title():
    assert (
        pubmed_search_url("Calcinosis cutis: part II. Treatment options")
        == "https://pubmed.ncbi.nlm.nih.gov/?term=Calcinosis+cutis%3A+part+II.+Treatment+options"
    )


def test_links_doi_for_confirmed_references(refs):
    assert link(refs["balin2012"]) == ("https://doi.org/10.1001/archdermatol.2011.2052", "DOI")
    assert link(refs["robertson2003"]) == ("https://doi.org/10.1136/ard.62.3.267", "DOI")


def test_links_search_for_the_others_labelled_as_search(refs):
    url, label = link(refs["walsh1995"])
    assert url == pubmed_search_url("Calcifying disorders of the skin")
    assert label == "PubMed search (not a confirmed identifier)"
    for ref_id in ("pitt1990", "reiter2011", "wakabayashi2015", "marco-puche2010"):
        url, label = link(refs[ref_id])
        assert url is not None
        assert url.startswith("https://pubmed.ncbi.nlm.nih.gov/?term=")
        assert "search" in label and "not a confirmed identifier" in label


def test_no_link_for_jopa_which_has_no_title(refs):
    assert link(refs["jopa"]) == (None, "no link: title not given in the source")


def test_no_pubmed_search_for_a_book_chapter(refs):
    # Issue 12: a textbook chapter is not in PubMed; a search for "Calcinosis cutis" finds
    # thousands of unrelated papers, so the chapter gets no link and says why.
    chapter = refs["chapter"]
    assert chapter.type == "chapter" and chapter.title == "Calcinosis cutis"
    assert link(chapter) == (None, CHAPTER_LABEL)
    # The reason holds whatever else the chapter gives: a year, authors, no title at all.
    fuller = chapter.replace(authors=("Lebwohl MG",), year=2018, pages="101–4")
    assert link(fuller) == (None, CHAPTER_LABEL)
    assert link(chapter.replace(title=None)) == (None, CHAPTER_LABEL)
    # The same title as an article is still an honest search; a confirmed DOI always wins.
    article = chapter.replace(type="article", book=None, journal="J Example")
    assert link(article) == (pubmed_search_url("Calcinosis cutis"), LABEL_SEARCH)
    with_doi = chapter.replace(doi="10.1016/B978-0-7020-6912-3.00035-2")
    assert link(with_doi) == ("https://doi.org/10.1016/B978-0-7020-6912-3.00035-2", "DOI")


def test_only_articles_ever_get_a_search(all_refs):
    for ref in all_refs:
        url, label = link(ref)
        if label == LABEL_SEARCH:
            assert ref.type == "article" and url and url.startswith(PUBMED)
        if ref.type == "chapter" and not ref.doi:
            assert (url, label) == (None, CHAPTER_LABEL)


def test_only_the_confirmed_dois_are_ever_links(all_refs):
    dois = {r.id: link(r)[0] for r in all_refs if link(r)[1] == "DOI"}
    assert dois == {ref_id: f"https://doi.org/{doi}" for ref_id, doi in CONFIRMED_DOIS.items()}


def test_only_confirmed_pmids_without_a_doi_link_their_pubmed_record(all_refs):
    records = {r.id: link(r)[0] for r in all_refs if link(r)[1] == LABEL_PUBMED}
    assert records == {
        ref_id: f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" for ref_id, pmid in PMID_ONLY.items()
    }


# --- page ranges ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        # The knowledge base's abbreviated ranges.
        ("455–62", ("455", "462")),
        ("267–9", ("267", "269")),
        ("e26–8", ("e26", "e28")),
        ("28–32", ("28", "32")),
        ("74–7", ("74", "77")),
        ("135–40", ("135", "140")),
        ("925–7", ("925", "927")),
        ("15–22", ("15", "22")),
        ("693-706", ("693", "706")),
        # Hyphens, double hyphens and spaces split like an en dash.
        ("455-62", ("455", "462")),
        ("455--62", ("455", "462")),
        (" 455 – 62 ", ("455", "462")),
        # Expansion across a carry, and a prefix repeated on the last page.
        ("1099–101", ("1099", "1101")),
        ("98–9", ("98", "99")),
        ("e26–e8", ("e26", "e28")),
        ("S12–4", ("S12", "S14")),
        ("455–5", ("455", "455")),
        # Already whole (as long as the first page, or longer): as printed.
        ("99–101", ("99", "101")),
        ("1–10", ("1", "10")),
        ("e26–e28", ("e26", "e28")),
        ("455–062", ("455", "062")),
        # Ambiguous: would fall before the first page, so kept as printed.
        ("455–4", ("455", "4")),
        ("455–02", ("455", "02")),
        ("455–300", ("455", "300")),
        # Not numeric, or prefixes that disagree: as printed.
        ("xii–xv", ("xii", "xv")),
        ("12a–b", ("12a", "b")),
        ("e26–S8", ("e26", "S8")),
        ("26–e8", ("26", "e8")),
        ("1-3, 5-7", ("1", "3, 5-7")),
        # Article-locator pages (J Hand Surg Am's "928.e1"): not plain numbers, as printed.
        ("928.e1-928.e9", ("928.e1", "928.e9")),
        # No range at all.
        ("455", ("455", None)),
        ("252", ("252", None)),
        ("e26", ("e26", None)),
        ("455–", ("455–", None)),
    ],
)
def test_full_page_range(pages, expected):
    assert full_page_range(pages) == expected


def test_printed_styles_keep_the_printed_range_machine_formats_expand_it(all_refs):
    paged = [r for r in all_refs if r.pages]
    assert {r.pages for r in paged} >= {"455–62", "267–9", "e26–8", "693-706", "135–40", "252"}
    for ref in paged:
        first, last = full_page_range(ref.pages)
        assert ref.pages in format_one(ref, "ama")
        assert ref.pages in format_one(ref, "vancouver")
        [(_, _, bib)] = _bibtex_entries(export([ref], "bibtex"))
        [ris] = _ris_records(export([ref], "ris"))
        [item] = json.loads(export([ref], "csl-json"))
        if last is None:
            # A single page (vayssairat-diltiazem's "252": no last page shown), never a range
            # that failed to split: first page only, and no end page anywhere.
            assert re.fullmatch(r"[A-Za-z]?\d+", ref.pages), ref.pages
            assert bib["pages"] == first == ref.pages
            assert ("SP", first) in ris and not any(tag == "EP" for tag, _ in ris)
            assert item["page"] == first
            continue
        assert bib["pages"] == f"{first}--{last}"
        assert ("SP", first) in ris and ("EP", last) in ris
        assert item["page"] == f"{first}-{last}"
        # A numeric last page is whole: as long as the first, and not before it. (Locators
        # such as "928.e1-928.e9" are not numbers and stay as printed.)
        numeric = [re.fullmatch(r"[A-Za-z]*(\d+)", p) for p in (first, last)]
        if all(numeric):
            digits = [m.group(1) for m in numeric]
            assert len(digits[1]) >= len(digits[0]) and int(digits[1]) >= int(digits[0])


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Balin SJ", ("Balin", "S. J.")),
        ("Cloutier D", ("Cloutier", "D.")),
        ("Davis MDP", ("Davis", "M. D. P.")),
        ("Marco Puche A", ("Marco Puche", "A.")),
        ("Lopez Montesinos B", ("Lopez Montesinos", "B.")),
        ("Al-Mayouf SM", ("Al-Mayouf", "S. M.")),
        ("El-Shabrawi L", ("El-Shabrawi", "L.")),
        ("Dupont J-P", ("Dupont", "J.-P.")),
        # Given names first, as some title pages print them: the given names as printed.
        ("Smeeta Sinha", ("Sinha", "Smeeta")),
        ("Sagar U. Nigwekar", ("Nigwekar", "Sagar U.")),
        ("Glenn M Chertow", ("Chertow", "Glenn M")),
        ("Ignacio Portales-Castillo", ("Portales-Castillo", "Ignacio")),
        ("XinWei Shi", ("Shi", "XinWei")),
        ("Joan Perelló", ("Perelló", "Joan")),
        ("Jean-Paul Sartre", ("Sartre", "Jean-Paul")),
        ("Wen  Wen", ("Wen", "Wen")),
        # Not certain where the family name starts: one literal, as printed.
        ("Mayo Clinic", ("Mayo Clinic", "")),
        ("Plato", ("Plato", "")),
        ("Biglione", ("Biglione", "")),
        ("Ian Duncan Smith", ("Ian Duncan Smith", "")),  # family "Duncan Smith"
        ("Juan Manuel Morales García", ("Juan Manuel Morales García", "")),
        ("Anna de Silva", ("Anna de Silva", "")),
        ("De Smet", ("De Smet", "")),
        ("Van Damme", ("Van Damme", "")),
        ("Martin Luther King Jr", ("Martin Luther King Jr", "")),
        ("John Smith Jr", ("John Smith Jr", "")),
        ("KDIGO Work Group", ("KDIGO Work Group", "")),
        ("Study Group", ("Study Group", "")),
        ("Ww. Bottomley", ("Ww. Bottomley", "")),
        ("Li u. Wang", ("Li u. Wang", "")),
        ("Jean-pierre Dupont", ("Jean-pierre Dupont", "")),
    ],
)
def test_split_name(name, expected):
    assert split_name(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Balin SJ", "Balin SJ"),  # NLM-style: as printed
        ("Marco Puche A", "Marco Puche A"),
        ("Dupont J-P", "Dupont J-P"),
        ("Smeeta Sinha", "Sinha S"),
        ("Sagar U. Nigwekar", "Nigwekar SU"),
        ("Glenn M Chertow", "Chertow GM"),
        ("Ignacio Portales-Castillo", "Portales-Castillo I"),
        ("XinWei Shi", "Shi X"),  # one given name, one initial
        ("Jean-Paul Sartre", "Sartre J-P"),  # a hyphenated given name keeps its hyphen
        ("Émile Ç. Zola", "Zola ÉÇ"),
        ("Mayo Clinic", "Mayo Clinic"),  # a literal: as printed
        ("Biglione", "Biglione"),
    ],
)
def test_nlm_name(name, expected):
    assert citations.nlm_name(name) == expected


# Every author the bundled references print given names first, by reference: the family
# names, typed from the data (the given names are what precedes them).
GIVEN_FIRST_FAMILIES = {
    "sinha2024": "Sinha Nigwekar Brandenburg Gould Serena Moe Aronoff Chatoth Hymes Carroll "
    "Alperovich Keller Perelló Gold Chertow",
    "floege2015": "Floege Kubo Floege Chertow Parfrey",
    "wen2023": "Wen Portales-Castillo Seethapathy Durant Mengesha Krinsky Kroshinsky Kalim "
    "Goverman Nazarian Chitalia Malhotra Kramann Malhotra Nigwekar",
    "gossett2023": "Gossett Suppadungsuk Krisanapan Tangpanithandee Thongprayoon Mao "
    "Cheungpasitporn",
    "zhang2023": "Zhang Sun Shi Li Liu Li Lu Deng Tan Guan Li Wen Liu Li",
}
# The bundled authors that are one word: kept whole, as printed.
LITERAL_AUTHORS = {"biglione2024": ["Biglione"], "nunley2020-calcinosis-treatment": ["Nunley"]}
NLM_AUTHOR = re.compile(r"\S+(?: \S+)* [A-Z]{1,3}")  # "Balin SJ", "Marco Puche A", "Davis MDP"


def _expected_names(ref: Reference) -> list[tuple[str, str]]:
    """(family, given) of each author of a bundled reference, from the tables above or, for
    an NLM-style name, its last word as initials with periods."""
    if ref.id in GIVEN_FIRST_FAMILIES:
        families = GIVEN_FIRST_FAMILIES[ref.id].split()
        assert len(families) == len(ref.authors), ref.id
        return [
            (family, name.removesuffix(family).strip())
            for name, family in zip(ref.authors, families, strict=True)
        ]
    if ref.id in LITERAL_AUTHORS:
        assert list(ref.authors) == LITERAL_AUTHORS[ref.id]
        return [(name, "") for name in ref.authors]
    names = []
    for name in ref.authors:
        assert NLM_AUTHOR.fullmatch(name), f"{ref.id}: {name!r} is in no table: decide its form"
        family, initials = name.rsplit(" ", 1)
        names.append((family, " ".join(f"{c}." for c in initials)))  # "SJ" → "S. J."
    return names


def test_every_bundled_author_splits_as_the_data_prints_it(all_refs):
    for ref in all_refs:
        assert [split_name(a) for a in ref.authors] == _expected_names(ref), ref.id


def test_every_bundled_author_reads_back_in_pybtex_and_bibtexparser(all_refs):
    """Each name as two real BibTeX readers split it: family, then given names."""
    database = pytest.importorskip("pybtex.database")
    bibtexparser = pytest.importorskip("bibtexparser", minversion="2")
    from bibtexparser import middlewares

    text = export(all_refs, "bibtex")
    entries = database.parse_string(text, "bibtex").entries
    library = bibtexparser.parse_string(
        text, append_middleware=[middlewares.SeparateCoAuthors(), middlewares.SplitNameParts()]
    )
    assert library.failed_blocks == []
    parsed = {entry.key: entry.fields_dict for entry in library.entries}
    for ref in all_refs:
        if not ref.authors:
            continue
        expected = [
            (f"{{{family}}}" if not given else family, given)
            for family, given in _expected_names(ref)
        ] + [("others", "")] * ref.et_al
        persons = entries[ref.id].persons["author"]
        assert [
            (" ".join(p.prelast_names + p.last_names), " ".join(p.first_names + p.middle_names))
            for p in persons
        ] == expected, ref.id
        names = parsed[ref.id]["author"].value
        assert [(" ".join(n.von + n.last), " ".join(n.first)) for n in names] == expected


def test_every_bundled_author_in_csl_json_and_ris(all_refs):
    items = {item["id"]: item for item in json.loads(export(all_refs, "csl-json"))}
    records = {dict(r)["ID"]: r for r in _ris_records(export(all_refs, "ris"))}
    for ref in all_refs:
        expected = _expected_names(ref)
        csl = [
            {"family": family, "given": given} if given else {"literal": family}
            for family, given in expected
        ]
        assert items[ref.id].get("author", []) == csl, ref.id
        ris = [f"{family}, {given}" if given else family for family, given in expected]
        assert [v for t, v in records[ref.id] if t == "AU"] == ris, ref.id


def test_ama_and_vancouver_name_given_first_authors_family_first(refs):
    """As the source's own short form does ("Zhang J, et al."): family name, then initials."""
    ama = {ref_id: format_one(refs[ref_id], "ama") for ref_id in GIVEN_FIRST_FAMILIES}
    assert ama["sinha2024"].startswith("Sinha S, Nigwekar SU, Brandenburg V, et al. Hexasodium")
    assert ama["floege2015"].startswith(
        "Floege J, Kubo Y, Floege A, Chertow GM, Parfrey PS. The Effect of Cinacalcet"
    )
    assert ama["wen2023"].startswith("Wen W, Portales-Castillo I, Seethapathy R, et al. ")
    assert ama["gossett2023"].startswith("Gossett C, Suppadungsuk S, Krisanapan P, et al. ")
    assert ama["zhang2023"].startswith("Zhang J, Sun L, Shi X, et al. Janus kinase")
    assert format_one(refs["sinha2024"], "vancouver").startswith(
        "Sinha S, Nigwekar SU, Brandenburg V, Gould LJ, Serena TE, Moe SM, et al. Hexasodium"
    )
    assert format_one(refs["wen2023"], "vancouver").startswith(
        "Wen W, Portales-Castillo I, Seethapathy R, Durant O, Mengesha B, Krinsky S, et al. "
    )
    assert format_one(refs["biglione2024"], "ama").startswith("Biglione, et al. ")
    assert format_one(refs["nunley2020-calcinosis-treatment"], "ama").startswith("Nunley. ")


# --- AMA and Vancouver -------------------------------------------------------------------------


def test_ama_balin_shows_printed_authors_et_al_locator_and_doi(refs):
    text = format_one(refs["balin2012"], "ama")
    assert text.startswith("Balin SJ, Wetter DA, Andersen LK, et al. Calcinosis cutis occurring")
    assert " Arch Dermatol. 2012;148(4):455–62. doi:10.1001/archdermatol.2011.2052" in text
    assert text.endswith("doi:10.1001/archdermatol.2011.2052")
    assert "Davis" not in text  # the printed author list is kept, not the confirmed one


def test_ama_full_robertson(refs):
    assert format_one(refs["robertson2003"], "ama") == (
        "Robertson LP, Marshall RW, Hickling P. Treatment of cutaneous calcinosis in limited "
        "systemic sclerosis with minocycline. Ann Rheum Dis. 2003;62(3):267–9. "
        "doi:10.1136/ard.62.3.267"
    )


def test_ama_page_range_as_stored_and_missing_issue_left_out(refs):
    assert format_one(refs["walsh1995"], "ama").endswith(" J Am Acad Dermatol. 1995;33:693-706.")
    assert format_one(refs["pitt1990"], "ama").endswith(" Cutis. 1990;45:28–32.")


def test_vancouver_examples(refs):
    assert format_one(refs["marco-puche2010"], "vancouver") == (
        "Marco Puche A, Calvo Penades I, Lopez Montesinos B. Effectiveness of the treatment with "
        "intravenous pamidronate in calcinosis in juvenile dermatomyositis. Clin Exp Rheumatol. "
        "2010;28:135–40."
    )
    balin = format_one(refs["balin2012"], "vancouver")
    assert balin.startswith("Balin SJ, Wetter DA, Andersen LK, et al. ")
    assert "Arch Dermatol. 2012;148(4):455–62. doi:10.1001/archdermatol.2011.2052" in balin


def test_author_truncation_rules_differ_between_ama_and_vancouver(refs):
    many = refs["robertson2003"].replace(
        authors=("A AA", "B BB", "C CC", "D DD", "E EE", "F FF", "G GG"),
    )
    assert format_one(many, "ama").startswith("A AA, B BB, C CC, et al. Treatment")
    assert format_one(many, "vancouver").startswith(
        "A AA, B BB, C CC, D DD, E EE, F FF, et al. Treatment"
    )
    six = many.replace(authors=many.authors[:6])
    assert format_one(six, "ama").startswith("A AA, B BB, C CC, D DD, E EE, F FF. Treatment")


def test_article_number_kept_as_printed(refs):
    text = format_one(refs["wakabayashi2015"], "ama")
    assert text.startswith("Wakabayashi T, Sasaki N, Chinen N, et al. Dramatic improvement")
    assert text.endswith(" Case Rep Rheumatol. 2015. Article ID 817592, 3 pages.")


def test_chapter_and_jopa_render_without_gaps(refs):
    for style in ("ama", "vancouver"):
        assert format_one(refs["chapter"], style) == (
            "Calcinosis cutis. In: Treatment of Skin Disease: Comprehensive Therapeutic Strategies."
        )
        assert format_one(refs["jopa"], style) == (
            "Cloutier D. Journal of Orthopedics for Physician Assistants."
        )


@pytest.mark.parametrize("style", STYLES)
def test_no_style_prints_none_or_empty_punctuation(all_refs, style):
    text = export(all_refs, style)
    assert "None" not in text
    assert "null" not in text
    # The punctuation the styles put between fields; a curator's note is free text, and may
    # hold an ellipsis ("Strand N, Maloney J, ...").
    text = export([r.replace(notes=()) for r in all_refs], style)
    for bad in ("()", "..", " .", ";:", ";.", "::", ", .", "{}"):
        assert bad not in text, (style, bad)


@pytest.mark.parametrize("style", STYLES)
def test_export_ends_with_newline(all_refs, style):
    assert export(all_refs, style).endswith("\n")
    assert export(all_refs[:1], style).endswith("\n")


@pytest.mark.parametrize("style", ["bibtex", "ris", "csl-json"])
def test_export_keeps_the_given_order(all_refs, style):
    backwards = all_refs[::-1]
    text = export(backwards, style)
    # Each record's own id line (a curator's note may name another reference's id).
    heads = {"ris": "ID  - {}\r\n", "bibtex": "{{{},\n", "csl-json": '"id": "{}"'}
    positions = [text.find(heads[style].format(r.id)) for r in backwards]
    assert all(p >= 0 for p in positions)
    assert positions == sorted(positions)


def test_text_export_is_one_line_per_reference(all_refs):
    """The citation, then each curator's note in brackets, on the reference's own line."""
    for style in ("ama", "vancouver"):
        lines = export(all_refs, style).splitlines()
        assert lines == [
            format_one(r, style) + "".join(f" [Curator's note: {n.text}]" for n in r.notes)
            for r in all_refs
        ]


def test_unknown_styles_are_refused(refs):
    with pytest.raises(ValueError, match="expected one of"):
        export([refs["balin2012"]], "apa")
    with pytest.raises(ValueError, match="ama, vancouver"):
        format_one(refs["balin2012"], "bibtex")


# --- BibTeX ------------------------------------------------------------------------------------


def _bibtex_entries(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """A small BibTeX reader: (type, key, fields), checking braces balance as it goes."""
    entries = []
    pos = 0
    while (at := text.find("@", pos)) != -1:
        head = re.compile(r"@(\w+)\{([^,\s{}]+),").match(text, at)
        assert head, f"malformed entry head at {at}: {text[at : at + 40]!r}"
        depth, i = 1, head.end()
        while depth:
            assert i < len(text), "unbalanced braces: entry never closes"
            char = text[i]
            if char == "\\":
                i += 2
                continue
            depth += {"{": 1, "}": -1}.get(char, 0)
            assert depth >= 0
            i += 1
        body = text[head.end() : i - 1]
        fields: dict[str, str] = {}
        j = 0
        field_head = re.compile(r"\s*(\w+)\s*=\s*\{")
        while m := field_head.match(body, j):
            depth, k = 1, m.end()
            while depth:
                if body[k] == "\\":
                    k += 2
                    continue
                depth += {"{": 1, "}": -1}.get(body[k], 0)
                k += 1
            fields[m.group(1)] = body[m.end() : k - 1]
            j = k
            comma = re.compile(r"\s*,").match(body, j)
            j = comma.end() if comma else j
        assert body[j:].strip() == "", f"unparsed text in {head.group(2)}: {body[j:]!r}"
        entries.append((head.group(1), head.group(2), fields))
        pos = i
    return entries


def test_bibtex_robertson(refs):
    [(kind, key, fields)] = _bibtex_entries(export([refs["robertson2003"]], "bibtex"))
    assert (kind, key) == ("article", "robertson2003")
    assert fields["journal"] == "Ann Rheum Dis"
    assert fields["volume"] == "62"
    assert fields["number"] == "3"
    assert fields["pages"] == "267--269"
    assert fields["doi"] == "10.1136/ard.62.3.267"
    assert fields["year"] == "2003"
    assert fields["author"] == "Robertson, L. P. and Marshall, R. W. and Hickling, P."
    assert fields["title"] == (
        "{Treatment of cutaneous calcinosis in limited systemic sclerosis with minocycline}"
    )


def _tex(value: str) -> str:
    """A BibTeX field's value read back: TeX's escaped specials unescaped ("\\&" is "&")."""
    return re.sub(r"\\([&%$#_{}])", r"\1", value)


def test_bibtex_round_trip_every_reference(all_refs):
    entries = _bibtex_entries(export(all_refs, "bibtex"))
    assert [key for _, key, _ in entries] == [r.id for r in all_refs]
    for (kind, _key, fields), ref in zip(entries, all_refs, strict=True):
        if ref.type == "chapter":
            assert kind == "incollection"
            assert fields["booktitle"] == "{" + ref.book + "}"
        elif ref.type == "online":
            assert kind == "misc"
            assert _tex(fields["howpublished"]) == ref.site
        else:
            assert kind == "article"
        if ref.type != "chapter":
            # "Arthritis Research & Therapy" is written "\&"; a journal not shown is left out.
            if ref.journal:
                assert _tex(fields["journal"]) == ref.journal
            else:
                assert "journal" not in fields
        if ref.title:
            assert fields["title"].startswith("{")
        if ref.authors:
            names = fields["author"].split(" and ")
            assert len(names) == len(ref.authors) + ref.et_al
            for name, (family, given) in zip(
                names[: len(ref.authors)], _expected_names(ref), strict=True
            ):
                # "Balin SJ" → "Balin, S. J.", "Smeeta Sinha" → "Sinha, Smeeta"; a name not
                # split ("Biglione") is one braced literal, never read as parts
                assert name == (f"{family}, {given}" if given else "{" + family + "}"), name
        if ref.year is not None:
            assert fields["year"] == str(ref.year)
        assert "–" not in fields.get("pages", "")
        assert "None" not in "".join(fields.values())


def test_bibtex_et_al_and_multi_word_family(refs):
    [(_, _, balin)] = _bibtex_entries(export([refs["balin2012"]], "bibtex"))
    assert balin["author"].endswith(" and Andersen, L. K. and others")
    [(_, _, marco)] = _bibtex_entries(export([refs["marco-puche2010"]], "bibtex"))
    assert marco["author"].startswith("Marco Puche, A. and Calvo Penades, I.")
    [(_, _, waka)] = _bibtex_entries(export([refs["wakabayashi2015"]], "bibtex"))
    assert waka["note"] == "Article ID 817592, 3 pages"
    assert "volume" not in waka and "pages" not in waka


def test_bibtex_chapter_and_jopa_leave_unknowns_out(refs):
    [(kind, key, chapter)] = _bibtex_entries(export([refs["chapter"]], "bibtex"))
    assert (kind, key) == ("incollection", "chapter")
    assert set(chapter) == {"title", "booktitle", "note"}  # the note says why the rest is empty
    [(_, _, jopa)] = _bibtex_entries(export([refs["jopa"]], "bibtex"))
    assert set(jopa) == {"author", "journal", "note"}
    assert jopa["note"] == (
        "Curator's note: The article's title, year and volume are not shown in the source; "
        "they are left empty."
    )


def test_bibtex_escapes_specials(refs):
    odd = refs["walsh1995"].replace(title=r"A & B: 50% of $x$ #1 under_score {x} ~ ^ back\slash")
    [(_, _, fields)] = _bibtex_entries(export([odd], "bibtex"))
    assert fields["title"] == (
        r"{A \& B: 50\% of \$x\$ \#1 under\_score \{x\} \textasciitilde{} "
        r"\textasciicircum{} back\textbackslash{}slash}"
    )


# --- RIS ---------------------------------------------------------------------------------------


def _ris_records(text: str) -> list[list[tuple[str, str]]]:
    records, current = [], []
    for line in text.split("\r\n"):
        if not line:
            continue
        m = re.fullmatch(r"([A-Z][A-Z0-9])  - (.*)", line)
        assert m, f"not a RIS line: {line!r}"
        current.append((m.group(1), m.group(2)))
        if m.group(1) == "ER":
            records.append(current)
            current = []
    assert current == [], "record without ER"
    return records


def test_ris_uses_crlf_only(all_refs):
    text = export(all_refs, "ris")
    assert "\n" not in text.replace("\r\n", "")
    assert "\r" not in text.replace("\r\n", "")
    assert text.endswith("ER  - \r\n")


def test_ris_records(all_refs):
    records = _ris_records(export(all_refs, "ris"))
    assert len(records) == len(all_refs)
    for record, ref in zip(records, all_refs, strict=True):
        assert record[0] == ("TY", RIS_TYPES[ref.type])
        assert record[-1] == ("ER", "")
        authors = [v for t, v in record if t == "AU"]
        assert len(authors) == len(ref.authors)  # one line per author, no fake "et al." author
        assert all("et al" not in a for a in authors)
        assert ("ID", ref.id) in record


def test_ris_balin(refs):
    [record] = _ris_records(export([refs["balin2012"]], "ris"))
    assert record == [
        ("TY", "JOUR"),
        ("AU", "Balin, S. J."),
        ("AU", "Wetter, D. A."),
        ("AU", "Andersen, L. K."),
        ("TI", refs["balin2012"].title),
        ("T2", "Arch Dermatol"),
        ("JO", "Arch Dermatol"),
        ("PY", "2012"),
        ("VL", "148"),
        ("IS", "4"),
        ("SP", "455"),
        ("EP", "462"),
        ("DO", "10.1001/archdermatol.2011.2052"),
        ("UR", "https://doi.org/10.1001/archdermatol.2011.2052"),
        ("N1", 'The source lists further authors as "et al."'),
        (
            "N1",
            'Curator\'s note: The chapter prints three authors and "et al."; the confirmed '
            "listing names a fourth, Davis MDP. The issue number (4) and the DOI come from that "
            "confirmed listing.",
        ),
        ("ID", "balin2012"),
        ("ER", ""),
    ]


def test_ris_pages_and_chapter(refs):
    [walsh] = _ris_records(export([refs["walsh1995"]], "ris"))
    assert ("SP", "693") in walsh and ("EP", "706") in walsh
    assert ("UR", link(refs["walsh1995"])[0]) in walsh
    assert any(t == "N1" and "not a confirmed identifier" in v for t, v in walsh)
    [al] = _ris_records(export([refs["al-mayouf2010"]], "ris"))
    assert ("SP", "e26") in al and ("EP", "e28") in al
    [chapter] = _ris_records(export([refs["chapter"]], "ris"))
    assert ("TY", "CHAP") in chapter
    assert ("T2", "Treatment of Skin Disease: Comprehensive Therapeutic Strategies") in chapter
    assert not any(t in ("AU", "PY", "JO", "UR") for t, _ in chapter)  # no search URL
    assert [v for t, v in chapter if t == "N1"] == [
        f"Curator's note: {n.text}" for n in refs["chapter"].notes
    ]
    [jopa] = _ris_records(export([refs["jopa"]], "ris"))
    assert not any(t in ("TI", "PY", "VL", "UR") for t, _ in jopa)


# --- CSL-JSON ----------------------------------------------------------------------------------


def test_csl_json_validates_against_the_official_schema(all_refs):
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    items = json.loads(export(all_refs, "csl-json"))
    jsonschema.Draft7Validator(schema).validate(items)
    assert [i["id"] for i in items] == [r.id for r in all_refs]


def test_csl_json_never_carries_nulls_or_empties(all_refs):
    def walk(value):
        assert value is not None
        assert value not in ("", [], {})
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(json.loads(export(all_refs, "csl-json")))


def test_csl_json_items(refs):
    items = {i["id"]: i for i in json.loads(export(list(refs.values()), "csl-json"))}
    balin = items["balin2012"]
    assert balin["type"] == "article-journal"
    assert balin["author"][0] == {"family": "Balin", "given": "S. J."}
    assert balin["DOI"] == "10.1001/archdermatol.2011.2052"
    assert balin["URL"] == "https://doi.org/10.1001/archdermatol.2011.2052"
    assert balin["issued"] == {"date-parts": [[2012]]}
    assert balin["issue"] == "4" and balin["volume"] == "148" and balin["page"] == "455-462"
    assert "et al." in balin["note"]
    assert items["marco-puche2010"]["author"][0] == {"family": "Marco Puche", "given": "A."}
    assert items["al-mayouf2010"]["author"][0] == {"family": "Al-Mayouf", "given": "S. M."}
    assert items["al-mayouf2010"]["page"] == "e26-e28"
    assert items["walsh1995"]["page"] == "693-706"
    assert "URL" not in items["walsh1995"]  # a search is not the article's URL
    assert "Article ID 817592, 3 pages" in items["wakabayashi2015"]["note"]
    assert items["chapter"] == {
        "id": "chapter",
        "type": "chapter",
        "title": "Calcinosis cutis",
        "container-title": "Treatment of Skin Disease: Comprehensive Therapeutic Strategies",
        "note": "\n".join(f"Curator's note: {n.text}" for n in refs["chapter"].notes),
    }
    assert set(items["jopa"]) == {"id", "type", "author", "container-title", "note"}


def test_csl_json_keeps_non_ascii(refs):
    odd = refs["walsh1995"].replace(title="Calcinose cutanée – étude")
    assert "Calcinose cutanée – étude" in export([odd], "csl-json")


# --- curator's notes and update dates: with the reference in every style -----------------------

# Typed from data/therapies.yaml.
WALSH_NOTE = (
    "Pages disagree: the JOPA article prints 693-706, other listings give 693–710. calcref "
    "keeps the article's 693-706 and has not verified either."
)
SINHA_DATES = "Published online 2024 Aug 16, in the Sep 2024 issue."
WEN_NEWS = "was seen only on a news page (promenu365.com)"


def _read_back(refs: list[Reference], style: str) -> dict[str, list[str]]:
    """Each reference's notes as a reader of `style` gets them: pybtex's `note` field, RIS
    `N1` lines, CSL-JSON's `note`, the text after an AMA or Vancouver citation."""
    text = export(refs, style)
    if style == "bibtex":
        database = pytest.importorskip("pybtex.database")
        entries = database.parse_string(text, "bibtex").entries
        return {key: [_tex(e.fields.get("note", ""))] for key, e in entries.items()}
    if style == "ris":
        return {dict(r)["ID"]: [v for t, v in r if t == "N1"] for r in _ris_records(text)}
    if style == "csl-json":
        return {i["id"]: i.get("note", "").split("\n") for i in json.loads(text)}
    lines = text.splitlines()
    return {
        r.id: [line.removeprefix(format_one(r, style))] for r, line in zip(refs, lines, strict=True)
    }


@pytest.mark.parametrize("style", STYLES)
def test_every_style_carries_the_curator_notes(all_refs, style):
    notes = _read_back(list(all_refs), style)
    walsh = " ".join(notes["walsh1995"])
    assert f"Curator's note: {WALSH_NOTE}" in walsh
    assert f"Curator's note: {SINHA_DATES}" in " ".join(notes["sinha2024"])
    assert WEN_NEWS in " ".join(notes["wen2023"])
    for ref in all_refs:  # every note of every reference, whole
        for note in ref.notes:
            assert f"Curator's note: {note.text}" in " ".join(notes[ref.id]), (ref.id, note.id)
    if style in TEXT_STYLES:
        assert notes["walsh1995"] == [f" [Curator's note: {WALSH_NOTE}]"]
        assert notes["robertson2003"] == [""]  # no note, nothing after the citation


def test_the_notes_field_by_field(refs):
    walsh = refs["walsh1995"]
    [(_, _, bib)] = _bibtex_entries(export([walsh], "bibtex"))
    assert bib["note"] == f"Curator's note: {WALSH_NOTE}"
    [ris] = _ris_records(export([walsh], "ris"))
    assert ("N1", f"Curator's note: {WALSH_NOTE}") in ris
    [item] = json.loads(export([walsh], "csl-json"))
    assert item["note"] == f"Curator's note: {WALSH_NOTE}"
    # Several notes: BibTeX has one field, a sentence each; RIS a line each; CSL a line each.
    sinha = refs["sinha2024"]
    [(_, _, bib)] = _bibtex_entries(export([sinha], "bibtex"))
    assert bib["note"].startswith("102784. Curator's note: A DOI and a PMID for this paper")
    assert bib["note"].endswith(f" Curator's note: {SINHA_DATES}")
    [ris] = _ris_records(export([sinha], "ris"))
    assert [v for t, v in ris if t == "N1"] == [
        "102784",
        *(f"Curator's note: {n.text}" for n in sinha.notes),
        "URL is a PubMed title search, not a confirmed identifier.",
    ]
    assert len(sinha.notes) == 3


def test_an_online_page_carries_its_update_date_in_every_style(refs):
    """Medscape's "updated Feb 24, 2020" is the page's own date; no style has a field for
    it (BibTeX's urldate, RIS Y2 and CSL accessed are when a reader looked), so a note."""
    page = refs["nunley2020-calciphylaxis-sts"]
    assert page.updated == "Feb 24, 2020"
    [(kind, _, bib)] = _bibtex_entries(export([page], "bibtex"))
    assert kind == "misc"
    assert bib["note"].startswith("Updated Feb 24, 2020. Curator's note: A Medscape")
    assert "urldate" not in bib and "date" not in bib
    [ris] = _ris_records(export([page], "ris"))
    assert ("N1", "Updated Feb 24, 2020") in ris
    assert not any(t in ("Y2", "DA") for t, _ in ris)
    [item] = json.loads(export([page], "csl-json"))
    assert item["note"].split("\n")[0] == "Updated Feb 24, 2020"
    assert "accessed" not in item
    for style in TEXT_STYLES:
        assert "Medscape. Updated Feb 24, 2020. [Curator's note: A Medscape" in export(
            [page], style
        )


@pytest.mark.parametrize(
    "text",
    [
        "an unmatched } closing brace",
        "an unmatched { opening brace",
        "a backslash \\ and a brace \\{ that TeX would escape",
        "} upside down {",
        "100% of $5 & #1 under_score ~ ^",
    ],
)
def test_a_note_with_hostile_braces_reads_back_whole(refs, text):
    """BibTeX counts braces whatever backslashes precede them: a note's unpaired brace must
    neither swallow the entries after it nor end its own field early."""
    database = pytest.importorskip("pybtex.database")
    bibtexparser = pytest.importorskip("bibtexparser", minversion="2")
    walsh = refs["walsh1995"].replace(notes=(CuratorNote(id="odd", text=text),))
    bib = export([walsh, refs["balin2012"]], "bibtex")
    entries = database.parse_string(bib, "bibtex").entries
    assert list(entries) == ["walsh1995", "balin2012"]
    assert entries["walsh1995"].fields["note"].count("Curator") == 1
    assert entries["balin2012"].fields["pages"] == "455--462"
    library = bibtexparser.parse_string(bib)
    assert library.failed_blocks == []
    assert [e.key for e in library.entries] == ["walsh1995", "balin2012"]
    note = library.entries[0].fields_dict["note"].value
    assert note == entries["walsh1995"].fields["note"]
    assert tex_text(note) == f"Curator's note: {text}"


# --- hostile text --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["article", "chapter", "online"])
@pytest.mark.parametrize("style", STYLES)
def test_no_field_can_send_control_characters_to_the_terminal(refs, kind, style):
    """An overlay may come from anyone: an escape sequence or a bidi override in any text
    field of a reference (the online ones' site and updated date, PMID and PMCID included)
    reaches the exported citation only as a visible escape."""
    hostile = "x\x1b[31my\u202ez"
    texts = {
        name: hostile
        for name, field in Reference.FIELDS.items()
        if field.type == "str" and not field.enum and name != "id"
    }
    note = CuratorNote(id="hostile", text=f"only in the note {hostile}")
    odd = refs["walsh1995"].replace(type=kind, authors=(f"{hostile} AB",), notes=(note,), **texts)
    text = export([odd], style)
    assert "\x1b" not in text and "\u202e" not in text
    assert text.count("31m") >= 2  # the fields were exported, made visible, not dropped
    assert "only in the note x" in text  # the curator's note too, made visible
    assert export([odd.replace(notes=())], style).count("31m") < text.count("31m")


# --- through the CLI, as a user meets them (issue 12) -------------------------------------------


def test_cli_cite_chapter_json_has_no_url_and_says_why():
    [record] = json.loads(ok("cite", "chapter", "--json").stdout)
    assert record["id"] == "chapter" and record["type"] == "chapter"
    assert record["url"] is None
    assert record["link"] == CHAPTER_LABEL
    assert "pubmed.ncbi" not in json.dumps(record)


def test_cli_cite_chapter_list_prints_the_reason_not_a_search():
    out = ok("cite", "chapter").stdout
    assert "Calcinosis cutis. In: Treatment of Skin Disease" in out
    assert f"   {CHAPTER_LABEL}" in out.splitlines()
    assert "pubmed.ncbi" not in out
    assert "PubMed search" not in out
    # An article beside it keeps its honest search.
    both = ok("cite", "chapter", "pitt1990").stdout
    assert both.count(PUBMED) == 1 and both.count(CHAPTER_LABEL) == 1


@pytest.mark.parametrize("fmt", ["markdown", "csv"])
def test_cli_cite_chapter_other_formats_carry_no_search(fmt):
    out = ok("cite", "chapter", "--format", fmt).stdout
    assert CHAPTER_LABEL in out
    assert "pubmed.ncbi" not in out


@pytest.mark.parametrize("style", STYLES)
def test_cli_cite_chapter_styles_never_carry_a_pubmed_search(style):
    out = ok("cite", "chapter", "--style", style).stdout
    assert "Calcinosis cutis" in out
    assert "pubmed" not in out.lower()
    assert "title search" not in out


def _cli_ris(*args: str) -> str:
    """RIS from the CLI, CRLFs and all (CliRunner's text stdout folds them to LF)."""
    return ok("cite", *args, "--style", "ris").stdout_bytes.decode("utf-8")


def test_cli_cite_all_ris_search_urls_belong_to_articles_only():
    records = _ris_records(_cli_ris())
    searched = {dict(r)["ID"] for r in records if any(v.startswith(PUBMED) for _, v in r)}
    chapters = {dict(r)["ID"] for r in records if ("TY", "CHAP") in r}
    assert "chapter" in chapters
    assert searched and not searched & chapters
    assert "pitt1990" in searched


def test_cli_cite_balin_bibtex_has_the_full_page_range():
    out = ok("cite", "balin2012", "--style", "bibtex").stdout
    assert "  pages = {455--462},\n" in out
    [(_, _, fields)] = _bibtex_entries(out)
    assert fields["pages"] == "455--462"


def test_cli_cite_balin_ris_has_sp_and_full_ep():
    out = _cli_ris("balin2012")
    assert "SP  - 455\r\nEP  - 462\r\n" in out
    [record] = _ris_records(out)
    assert ("EP", "462") in record and ("EP", "62") not in record


def test_cli_cite_csl_json_full_ranges_still_validate():
    out = ok("cite", "balin2012", "robertson2003", "al-mayouf2010", "--style", "csl-json").stdout
    items = json.loads(out)
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(items)
    assert [i["page"] for i in items] == ["455-462", "267-269", "e26-e28"]


def test_cli_cite_printed_styles_and_fields_keep_the_source_range():
    assert "Arch Dermatol. 2012;148(4):455–62." in ok("cite", "balin2012", "--style", "ama").stdout
    vancouver = ok("cite", "balin2012", "--style", "vancouver").stdout
    assert "2012;148(4):455–62." in vancouver
    assert "455–62." in ok("cite", "balin2012").stdout
    [record] = json.loads(ok("cite", "balin2012", "--json").stdout)
    assert record["pages"] == "455–62"
    assert "455–62" in record["citation"]
    for style in ("ama", "vancouver"):
        assert "462" not in ok("cite", "balin2012", "--style", style).stdout


# --- import cost ---------------------------------------------------------------------------------


@pytest.mark.slow  # a Python process of its own
def test_import_is_light():
    code = (
        "import sys, calcref.render.citations; "
        "print(sorted(m for m in ('rich', 'json', 'yaml', 'typer', 'calcref.knowledge') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
    assert citations.STYLES == ("ama", "vancouver", "bibtex", "ris", "csl-json")
