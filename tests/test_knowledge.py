"""The loaded knowledge, checked against the two sources.

Every expected value below was typed in from the source text (the chapter "Calcinosis cutis" of
*Treatment of Skin Disease*, and the JOPA article by Dagan Cloutier), not copied from
data/*.yaml, so that a wrong figure, dose, letter or citation in the data fails a test here.
Where the chapter is quoted, the quote is given in a comment beside the expected value.

The knowledge also holds the literature pack (/work/shared/sources/literature/): records citing
only its sources are checked against the pack in test_literature_g*.py. The tests here pin the
chapter's and the JOPA article's records exactly, and check that the literature neither grades
a therapy nor merges into them. Where a rule is global (every DOI is confirmed), the expected
values include the literature's, typed from the pack's files.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest
from pack import LITERATURE_DOIS, LITERATURE_PMCIDS, LITERATURE_PMIDS

from calcref.answers import query
from calcref.model import (
    BASES,
    LINE_ORDER,
    SECTIONS,
    Counts,
    KnowledgeBase,
    Record,
    Statement,
    Study,
    references_of,
)

CHAPTER, JOPA = "chapter", "jopa"
BALIN_DOI = "10.1001/archdermatol.2011.2052"
ROBERTSON_DOI = "10.1136/ard.62.3.267"

# The pack's 39 sources, by key (README.md, "Sources in this pack").
LITERATURE = frozenset(
    {
        # Calcinosis cutis
        "nowaczyk2021",
        "traineau2020",
        "vayssairat-diltiazem",
        "narvaez2019",
        "seminarthritisrheum2012-rituximab",
        "jclinpharmther2016-rituximab",
        "arthresther-antitnf-jdm",
        "pedrheumatol-ilinfliximab-jdm",
        "zhang2023",
        "blumhardt2016",
        "bottomley1996",
        "jhandsurg2021-debulking",
        "bair2011",
        "tajalli2019",
        "jcem2016-topicalsts",
        "mra-ilsts-ssc",
        "clinrheumatol2021-ilsts",
        "badawi-ivsts",
        "valenzuela2016",
        "davuluri2022",
        "jimenezgallo2015",
        "nunley2020-calcinosis-treatment",
        # Calciphylaxis
        "sinha2024",
        "calciphyx-protocol",
        "floege2015",
        "udomkarnjananun-calciphylaxis",
        "wen2023",
        "weenig2007",
        "surgery2000-calciphylaxis",
        "tpa-calciphylaxis",
        "nephrology2015-hbot",
        "divinghyperbmed2008-hbot",
        "biglione2024",
        "gossett2023",
        "strand2022",
        "kodumudi2020",
        "nunley2020-calciphylaxis-sts",
        "nunley2018-calciphylaxis-workup",
        "jaad2011-diagnostic-pathway",
    }
)


def numbers(text: str | None) -> list[str]:
    """The figures in a text, sorted, so two texts can be compared figure for figure."""
    return sorted(re.findall(r"\d+(?:\.\d+)?", text or ""))


def strings(obj: object, owner: object = None) -> Iterator[tuple[object, str]]:
    """Every string in the model, with the record that holds it."""
    if isinstance(obj, KnowledgeBase):
        for section in SECTIONS:
            yield from strings(getattr(obj, section), owner)
    elif isinstance(obj, Record):
        for name in obj.FIELDS:  # the declared fields: records, not derived lookups
            yield from strings(getattr(obj, name), obj)
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from strings(item, owner)
    elif isinstance(obj, str):
        yield owner, obj


def from_the_literature(record: Record) -> bool:
    """True when the record cites sources and every one of them is the literature pack's: a
    record the chapter and the JOPA article have no part in."""
    cited = set(references_of(record))
    return bool(cited) and cited <= LITERATURE


def chapter_strings(obj: object, owner: object = None) -> Iterator[tuple[object, str]]:
    """`strings`, leaving out every record that cites the literature alone (and all inside it):
    the text the chapter's and the JOPA article's records hold."""
    if isinstance(obj, Record) and from_the_literature(obj):
        return
    if isinstance(obj, KnowledgeBase):
        for section in SECTIONS:
            yield from chapter_strings(getattr(obj, section), owner)
    elif isinstance(obj, Record):
        for name in obj.FIELDS:
            yield from chapter_strings(getattr(obj, name), obj)
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from chapter_strings(item, owner)
    elif isinstance(obj, str):
        yield owner, obj


def records(obj: object) -> Iterator[object]:
    """Every record in the model, depth first."""
    if isinstance(obj, KnowledgeBase):
        for section in SECTIONS:
            yield from records(getattr(obj, section))
    elif isinstance(obj, Record):
        yield obj
        for name in obj.FIELDS:
            yield from records(getattr(obj, name))
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from records(item)


# --- Evidence scale -------------------------------------------------------------------------------

# "Evidence Levels: A Double-blind study B Clinical trial ≥ 20 subjects C Clinical trial < 20
# subjects D Series ≥ 5 subjects E Anecdotal case reports"
EVIDENCE_SCALE = {
    "A": "Double-blind study",
    "B": "Clinical trial ≥ 20 subjects",
    "C": "Clinical trial < 20 subjects",
    "D": "Series ≥ 5 subjects",
    "E": "Anecdotal case reports",
}


def test_evidence_scale_is_the_chapters(kb: KnowledgeBase) -> None:
    assert {e.letter: e.definition for e in kb.evidence_levels} == EVIDENCE_SCALE
    assert [e.letter for e in kb.evidence_levels] == list("ABCDE")
    assert all(e.sources == (CHAPTER,) for e in kb.evidence_levels)


# --- Treatment ladder -----------------------------------------------------------------------------

# The chapter's "First-Line Therapies" and "Second-Line Therapies" lists, in the chapter's order:
# (therapy id, line, letter, the entry exactly as the chapter lists it).
LADDER = [
    ("no-treatment", "first", "E", "No treatment/self-healing"),
    ("diltiazem", "first", "C", "Diltiazem"),
    (
        "intralesional-corticosteroid",
        "first",
        "E",
        "Intralesional corticosteroid/oral prednisolone",
    ),
    ("oral-prednisolone", "first", "E", "Intralesional corticosteroid/oral prednisolone"),
    ("colchicine", "second", "E", "Colchicine"),
    ("minocycline", "second", "E", "Minocycline"),
    ("bisphosphonates", "second", "D", "Bisphosphonates"),
    ("probenecid", "second", "E", "Probenecid"),
    ("aluminum-hydroxide", "second", "D", "Aluminum hydroxide"),
]

# Named by a source with no ladder place or letter (sources README), plus the two drugs that
# appear only as partners in a case report (methotrexate, cimetidine).
UNGRADED = [
    "warfarin",
    "ivig",
    "sodium-thiosulfate",
    "co2-laser",
    "eswl",
    "surgical-excision",
    "ceftriaxone",
    "sodium-metabisulfite",
    "infliximab",
    "apremilast",
    "low-calcium-diet",
    "blood-flow-measures",
    "treat-underlying",
    "methotrexate",
    "cimetidine",
]


@pytest.mark.parametrize(("therapy_id", "line", "letter", "listed_as"), LADDER)
def test_ladder_entry(
    kb: KnowledgeBase, therapy_id: str, line: str, letter: str, listed_as: str
) -> None:
    therapy = kb.therapy_by_id[therapy_id]
    assert therapy.line == line
    assert therapy.evidence == letter
    ladder = therapy.ladder
    assert ladder is not None
    assert ladder.source == CHAPTER
    assert ladder.listed_as == listed_as
    graded = [p for p in therapy.positions if p.evidence is not None]
    assert len(graded) == 1, "only the chapter grades therapies"


@pytest.mark.parametrize("therapy_id", UNGRADED)
def test_ungraded_therapy_has_no_line_and_no_letter(kb: KnowledgeBase, therapy_id: str) -> None:
    therapy = kb.therapy_by_id[therapy_id]
    assert therapy.line is None
    assert therapy.evidence is None
    assert therapy.ladder is None
    for position in therapy.positions:
        assert position.line is None and position.evidence is None


def test_every_therapy_is_either_on_the_ladder_or_ungraded(kb: KnowledgeBase) -> None:
    """No therapy slips in that this audit has not placed: the chapter's and the JOPA article's
    therapies are exactly these, and a therapy only the literature names is ungraded (the
    pack's rule 1: no chapter line, no chapter letter)."""
    ladder_ids = [entry[0] for entry in LADDER]
    sources_therapies = [t.id for t in kb.therapies if not from_the_literature(t)]
    assert set(sources_therapies) == set(ladder_ids) | set(UNGRADED)
    assert len(sources_therapies) == len(LADDER) + len(UNGRADED)
    for therapy in kb.therapies:
        if from_the_literature(therapy):
            assert therapy.ladder is None, therapy.id
            for position in therapy.positions:
                assert position.line is None and position.evidence is None, therapy.id


def test_ladder_order_follows_the_chapter(kb: KnowledgeBase) -> None:
    graded = [t for t in kb.therapies if t.line is not None]
    in_ladder_order = sorted(graded, key=lambda t: LINE_ORDER[t.line])
    assert [t.id for t in in_ladder_order] == [entry[0] for entry in LADDER]


def test_every_graded_position_is_the_chapters_and_well_formed(kb: KnowledgeBase) -> None:
    for therapy in kb.therapies:
        for position in therapy.positions:
            if position.evidence is not None:
                # Only the chapter grades, and a grade always comes with a ladder line.
                assert position.source == CHAPTER, therapy.id
                assert position.evidence in EVIDENCE_SCALE
                assert position.line is not None, therapy.id
            else:
                # Another source may name a line (JOPA: minocycline first line) but no letter,
                # and must then say in its view what it claims.
                assert position.view, f"{therapy.id}: an ungraded position must say something"


def test_minocycline_positions_show_both_sources(kb: KnowledgeBase) -> None:
    minocycline = kb.therapy_by_id["minocycline"]
    by_source = {p.source: p for p in minocycline.positions if not from_the_literature(p)}
    assert set(by_source) == {CHAPTER, JOPA}
    # The literature's views (pack: "Add these as further attributed views") sit beside them,
    # each with its source, no line and no letter.
    for position in minocycline.positions:
        if position.source not in by_source:
            assert position.line is None and position.evidence is None, position
            assert position.view, position
    # The chapter lists it second-line with evidence E.
    chapter = by_source[CHAPTER]
    assert (chapter.line, chapter.evidence, chapter.listed_as) == ("second", "E", "Minocycline")
    # JOPA: "Minocycline is often used as a first-line treatment for patients with painful,
    # ulcerating dermal calcinosis." ... "minocycline is the least invasive and the best
    # tolerated." The article names a line (first) but grades nothing: no letter.
    jopa = by_source[JOPA]
    assert jopa.line == "first" and jopa.evidence is None
    view = (jopa.view or "").lower()
    for phrase in ("first line", "painful", "ulcerating", "least invasive", "best tolerated"):
        assert phrase in view.replace("first-line", "first line")
    # The ladder itself follows the chapter.
    assert (minocycline.line, minocycline.evidence) == ("second", "E")
    assert "minocycline-position" in {n.id for n in minocycline.notes}


def test_diltiazem_balin_recommendation_is_a_view_not_a_line(kb: KnowledgeBase) -> None:
    # Balin 2012 summary: "This is recommended as first-line treatment." The chapter does not
    # say whose recommendation it is (Balin's or its own): a view, quoted, with no line.
    diltiazem = kb.therapy_by_id["diltiazem"]
    balin = [p for p in diltiazem.positions if p.source == "balin2012"]
    assert len(balin) == 1
    assert balin[0].line is None and balin[0].evidence is None
    assert "This is recommended as first-line treatment" in (balin[0].view or "")
    # The ladder is the chapter's graded place, whatever order the positions come in.
    assert (diltiazem.line, diltiazem.evidence) == ("first", "C")


# --- Doses ----------------------------------------------------------------------------------------

# Each therapy's regimens: (sources cited, dose fragments exactly as the source prints them).
# The figures of each regimen must be exactly the figures of its fragments.
REGIMENS: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "diltiazem": [
        # Reiter: "treated with diltiazem (2–4 mg/kg/day), with lower doses being ineffective"
        (("reiter2011",), ("2–4 mg/kg/day",)),
        # Jiang: "A 12-year-old boy ... received diltiazem at a dose of 30 mg/day"
        (("jiang2011",), ("30 mg/day", "12-year-old")),
        # Balin: "diltiazem at the dose of <480 mg/day"
        (("balin2012",), ("<480 mg/day",)),
    ],
    "intralesional-corticosteroid": [
        # Al-Mayouf: "treated with Depo-Medrol 80 mg and xylocaine 1% under ultrasound guidance"
        (("al-mayouf2010",), ("Depo-Medrol 80 mg", "xylocaine 1%", "ultrasound guidance")),
    ],
    "oral-prednisolone": [
        # Meher: "improved ... after 1 month of oral prednisolone (1 mg/kg/day) and methotrexate
        # (10 mg/week)": improvement after one month; the course length is not given, so the
        # regimen carries no duration (see test_meher_one_month_is_when_she_improved).
        (("meher2014",), ("1 mg/kg/day", "methotrexate 10 mg/week")),
    ],
    "colchicine": [
        # Balin: "Eight patients were treated with colchicine (<1.2 g/day)"
        (("balin2012",), ("<1.2 g/day",)),
    ],
    "minocycline": [
        # Robertson: "minocycline 50 mg or 100 mg daily ... The mean duration of treatment was
        # 3.5 years."
        (("robertson2003",), ("50 mg or 100 mg daily", "3.5 years")),
        # Balin: "Six patients received minocycline (200 mg/day)."
        (("balin2012",), ("200 mg/day",)),
        # JOPA: "Patients often must take minocycline for years"
        ((JOPA,), ("years",)),
        # JOPA: "prescribed cyclically for 4 to 6 weeks, which can control the calcinosis for 3
        # to 4 months"
        ((JOPA,), ("4 to 6 weeks", "3 to 4 months")),
    ],
    "bisphosphonates": [
        # Wakabayashi: "intermittent six monthly high-dose etidronate (800 mg/day for 3 months)
        # and cimetidine for over 5 years"
        (("wakabayashi2015",), ("etidronate", "800 mg/day for 3 months", "over 5 years")),
        # Marco Puche: "intravenous pamidronate at 1 mg/kg/day on 3 consecutive days every 3
        # months"
        (("marco-puche2010",), ("pamidronate", "1 mg/kg/day on 3 consecutive days every 3 months")),
    ],
    "ceftriaxone": [
        # Reiter: "ceftriaxone 2 g/day intravenously for 20 days"
        (("reiter2011",), ("2 g/day intravenously for 20 days",)),
    ],
    "methotrexate": [
        (("meher2014",), ("10 mg/week", "prednisolone 1 mg/kg/day")),
    ],
    "cimetidine": [
        # The chapter gives no cimetidine dose.
        (("wakabayashi2015",), ("etidronate", "over 5 years")),
    ],
}


@pytest.mark.parametrize("therapy_id", sorted(REGIMENS))
def test_therapy_regimens_match_the_source_doses(kb: KnowledgeBase, therapy_id: str) -> None:
    # The literature's doses (valenzuela2016 and others) are checked against the pack in
    # test_literature_g*.py; here every other regimen is matched to the chapter or JOPA.
    regimens = [r for r in kb.therapy_by_id[therapy_id].regimens if not from_the_literature(r)]
    unmatched = list(regimens)
    for sources, fragments in REGIMENS[therapy_id]:
        match = [
            r
            for r in unmatched
            if r.sources == sources
            and all(f.lower() in r.text.lower() for f in fragments)
            and numbers(r.text) == numbers(" ".join(fragments))
        ]
        assert match, f"{therapy_id}: no regimen citing {sources} with {fragments}: {regimens}"
        unmatched.remove(match[0])
    assert not unmatched, f"{therapy_id}: regimens not in the source: {unmatched}"


def test_no_other_therapy_carries_a_dose(kb: KnowledgeBase) -> None:
    """The chapter and the JOPA article give no dose for any other therapy (the literature's
    doses, such as bair2011's 25% topical sodium thiosulfate, are the pack's)."""
    for therapy in kb.therapies:
        if therapy.id in REGIMENS:
            continue
        for regimen in therapy.regimens:
            if not from_the_literature(regimen):
                assert not numbers(regimen.text), f"{therapy.id}: unexpected figure in {regimen}"


# --- The colchicine dose note ---------------------------------------------------------------------


# Sources README: "Colchicine is dosed in milligrams (gram doses are lethal); the figure is
# almost certainly mg/day. Keep the source's wording in the record, and show a visible curator's
# note beside it wherever the dose is shown." The note is a `caution`, which travels with the
# value in every output.


def _has_dose_caution(record: Statement | Study) -> bool:
    caution = record.caution
    return (
        caution is not None
        and caution.id == "colchicine-dose-unit"
        and "mg/day" in caution.text
        and "milligram" in caution.text
        and caution.likely is not None
        and "mg/day" in caution.likely
        and "g/day" not in caution.likely.replace("mg/day", "")
    )


def test_colchicine_regimen_keeps_source_wording_with_its_caution(kb: KnowledgeBase) -> None:
    regimen = next(r for r in kb.therapy_by_id["colchicine"].regimens if "1.2" in r.text)
    assert regimen.text == "<1.2 g/day"
    assert regimen.sources == ("balin2012",)
    assert _has_dose_caution(regimen)


def test_colchicine_study_keeps_source_wording_with_its_caution(kb: KnowledgeBase) -> None:
    study = kb.study_by_id["balin2012-colchicine"]
    assert study.regimen == "<1.2 g/day"
    assert _has_dose_caution(study)


def test_every_gram_colchicine_dose_sits_beside_the_caution(kb: KnowledgeBase) -> None:
    """Wherever the record holds "1.2 g/day", the record holding it carries the caution."""
    holders = [owner for owner, text in strings(kb) if re.search(r"1\.2\s*g\b", text)]
    dose_holders = [h for h in holders if isinstance(h, (Statement, Study))]
    assert len(dose_holders) == 2
    for holder in dose_holders:
        assert _has_dose_caution(holder), holder
    # Anything else mentioning it is the caution itself.
    assert all(
        h in dose_holders or getattr(h, "id", None) == "colchicine-dose-unit" for h in holders
    )


# --- Studies --------------------------------------------------------------------------------------

BALIN_TITLE_FIGURES = {"78", "1996", "2009"}


@dataclasses.dataclass(frozen=True)
class S:
    """A study as the chapter summarises it."""

    ref: str
    therapies: frozenset[str]
    contexts: frozenset[str]
    n: int | None
    age: str | None
    regimen: tuple[str, ...] | None  # fragments the regimen must contain; None = no regimen
    counts: Counts
    said: frozenset[str]  # every figure the chapter's summary gives for this study


def summary(ref, therapies, contexts, n, age, regimen, counts, said) -> S:
    return S(
        ref, frozenset(therapies), frozenset(contexts), n, age, regimen, counts, frozenset(said)
    )


STUDIES = {
    # "A case of dystrophic calcinosis after trauma that resolved over 8 weeks with spontaneous
    # transepidermal elimination." Resolved is a complete response (knowledge 2.0.3).
    "pitt1990-case": summary(
        "pitt1990",
        ["no-treatment"],
        ["trauma"],
        1,
        None,
        None,
        Counts(responders=1, complete=1),
        {"8"},
    ),
    # "Calcinosis cutis in dermatomyositis has been successfully treated with diltiazem
    # (2–4 mg/kg/day), with lower doses being ineffective." No patient count.
    "reiter2011-diltiazem": summary(
        "reiter2011", ["diltiazem"], ["dm"], None, None, ("2–4 mg/kg/day",), Counts(), {"2", "4"}
    ),
    # "Surgical excision or curettage is the treatment of choice in idiopathic calcinosis cutis,
    # especially scrotal calcinosis." No patient count.
    "reiter2011-surgery": summary(
        "reiter2011",
        ["surgical-excision"],
        ["scrotal"],
        None,
        None,
        ("excision", "curettage"),
        Counts(),
        set(),
    ),
    # "A 16-year-old boy with morphea profunda ... was treated with ceftriaxone 2 g/day
    # intravenously for 20 days, and the calcification diminished within weeks."
    "reiter2011-ceftriaxone": summary(
        "reiter2011",
        ["ceftriaxone"],
        ["morphea"],
        1,
        "16 years",
        ("2 g/day intravenously for 20 days",),
        Counts(responders=1),
        {"16", "2", "20"},
    ),
    # "A 12-year-old boy ... received diltiazem at a dose of 30 mg/day, resulting in obvious
    # softening and radiologic regression and functional improvement at 4 months."
    "jiang2011-case": summary(
        "jiang2011",
        ["diltiazem"],
        ["jdm"],
        1,
        "12 years",
        ("30 mg/day",),
        Counts(responders=1),
        {"12", "30", "4"},
    ),
    # "Nine of 17 patients ... showed partial response to treatment with diltiazem at the dose
    # of <480 mg/day."
    "balin2012-diltiazem": summary(
        "balin2012",
        ["diltiazem"],
        ["ctd"],
        17,
        None,
        ("<480 mg/day",),
        Counts(partial=9),
        {"9", "17", "480"} | BALIN_TITLE_FIGURES,
    ),
    # "Eight patients were treated with colchicine (<1.2 g/day), resulting in one patient
    # showing complete response and two patients showing partial response."
    "balin2012-colchicine": summary(
        "balin2012",
        ["colchicine"],
        ["ctd"],
        8,
        None,
        ("<1.2 g/day",),
        Counts(complete=1, partial=2),
        {"8", "1.2"} | BALIN_TITLE_FIGURES,
    ),
    # "Six patients received minocycline (200 mg/day). Only one patient showed partial
    # response, two patients did not respond, and the response was unknown in three patients."
    "balin2012-minocycline": summary(
        "balin2012",
        ["minocycline"],
        ["ctd"],
        6,
        None,
        ("200 mg/day",),
        Counts(partial=1, none=2, unknown=3),
        {"6", "200"} | BALIN_TITLE_FIGURES,
    ),
    # "Four patients were treated with warfarin with only one patient partially responding."
    "balin2012-warfarin": summary(
        "balin2012",
        ["warfarin"],
        ["ctd"],
        4,
        None,
        None,
        Counts(partial=1),
        {"4"} | BALIN_TITLE_FIGURES,
    ),
    # "Out of the 11 patients who received surgical excision alone, all 11 responded, with
    # eight having a complete response." (No partial count is stated: it is not derived.)
    "balin2012-surgery": summary(
        "balin2012",
        ["surgical-excision"],
        ["ctd"],
        11,
        None,
        ("excision alone",),
        Counts(responders=11, complete=8),
        {"11", "8"} | BALIN_TITLE_FIGURES,
    ),
    # "Another 17 patients had surgical and medical treatment with complete response in 14
    # patients, partial response in two patients, and no response in one patient."
    "balin2012-surgery-medical": summary(
        "balin2012",
        ["surgical-excision"],
        ["ctd"],
        17,
        None,
        ("surgical", "medical"),
        Counts(complete=14, partial=2, none=1),
        {"17", "14", "2", "1"} | BALIN_TITLE_FIGURES,
    ),
    # "A 10-year-old boy with juvenile dermatomyositis had calcinosis of his left elbow. It was
    # treated with Depo-Medrol 80 mg and xylocaine 1% under ultrasound guidance with
    # significant improvement."
    "al-mayouf2010-case": summary(
        "al-mayouf2010",
        ["intralesional-corticosteroid"],
        ["jdm"],
        1,
        "10 years",
        ("Depo-Medrol 80 mg", "xylocaine 1%", "ultrasound guidance"),
        Counts(responders=1),
        {"10", "80", "1"},
    ),
    # "A 7-year-old girl ... improved ... after 1 month of oral prednisolone (1 mg/kg/day) and
    # methotrexate (10 mg/week)."
    "meher2014-case": summary(
        "meher2014",
        ["oral-prednisolone", "methotrexate"],
        ["jdm"],
        1,
        "7 years",
        ("prednisolone 1 mg/kg/day", "methotrexate 10 mg/week"),
        Counts(responders=1),
        {"7", "1", "10"},
    ),
    # "In an open-label study, eight out of nine patients with limited cutaneous SSc prescribed
    # minocycline 50 mg or 100 mg daily showed definite improvement. ... improvement occurring
    # by 5 months. The mean duration of treatment was 3.5 years."
    "robertson2003-study": summary(
        "robertson2003",
        ["minocycline"],
        ["ssc"],
        9,
        None,
        ("50 mg or 100 mg daily", "3.5 years"),
        Counts(responders=8),
        {"8", "9", "50", "100", "5", "3.5"},
    ),
    # "A 17-year-old boy with juvenile dermatomyositis ... showed marked improvement with
    # intermittent six monthly high-dose etidronate (800 mg/day for 3 months) and cimetidine
    # for over 5 years."
    "wakabayashi2015-case": summary(
        "wakabayashi2015",
        ["bisphosphonates", "cimetidine"],
        ["jdm"],
        1,
        "17 years",
        ("etidronate", "800 mg/day for 3 months", "cimetidine", "over 5 years"),
        Counts(responders=1),
        {"17", "800", "3", "5"},
    ),
    # "Three children with juvenile dermatomyositis received treatment with intravenous
    # pamidronate at 1 mg/kg/day on 3 consecutive days every 3 months. In all three cases
    # calcinosis significantly decreased and even totally cleared in one of them."
    "marco-puche2010-series": summary(
        "marco-puche2010",
        ["bisphosphonates"],
        ["jdm"],
        3,
        "children",
        ("pamidronate 1 mg/kg/day on 3 consecutive days every 3 months",),
        Counts(responders=3, complete=1),
        {"1", "3"},
    ),
}


def chapter_studies(kb: KnowledgeBase) -> list[Study]:
    """The studies that are not the literature's alone."""
    return [s for s in kb.studies if not from_the_literature(s)]


def test_study_ids_are_exactly_the_chapters_summaries(kb: KnowledgeBase) -> None:
    assert {s.id for s in chapter_studies(kb)} == set(STUDIES)


@pytest.mark.parametrize("study_id", sorted(STUDIES))
def test_study_matches_the_chapter(kb: KnowledgeBase, study_id: str) -> None:
    expected = STUDIES[study_id]
    study = kb.study_by_id[study_id]
    assert study.ref == expected.ref
    assert set(study.therapies) == expected.therapies
    assert set(study.contexts) == expected.contexts
    assert study.n == expected.n
    assert study.age == expected.age
    assert study.counts == expected.counts  # unstated counts stay None, never derived
    if expected.regimen is None:
        assert study.regimen is None
    else:
        assert study.regimen is not None
        for fragment in expected.regimen:
            assert fragment.lower() in study.regimen.lower()
        assert numbers(study.regimen) == numbers(" ".join(expected.regimen))
    assert CHAPTER in study.sources


@pytest.mark.parametrize("study_id", sorted(STUDIES))
def test_study_states_no_figure_the_chapter_does_not_give(kb: KnowledgeBase, study_id: str) -> None:
    study = kb.study_by_id[study_id]
    text = " ".join(filter(None, (study.population, study.age, study.regimen, study.outcome)))
    assert set(numbers(text)) <= STUDIES[study_id].said, text


@pytest.mark.parametrize("study_id", sorted(STUDIES))
def test_study_counts_never_exceed_n(kb: KnowledgeBase, study_id: str) -> None:
    study = kb.study_by_id[study_id]
    if study.n is None:
        assert study.counts == Counts()
        return
    for value in (getattr(study.counts, name) for name in Counts.FIELDS):
        assert value is None or 0 <= value <= study.n


def test_studies_by_therapy(kb: KnowledgeBase) -> None:
    by_therapy = {
        t.id: {s.id for s in kb.studies_of(t.id) if not from_the_literature(s)}
        for t in kb.therapies
    }
    assert by_therapy["minocycline"] == {"balin2012-minocycline", "robertson2003-study"}
    assert by_therapy["diltiazem"] == {
        "reiter2011-diltiazem",
        "jiang2011-case",
        "balin2012-diltiazem",
    }
    assert by_therapy["bisphosphonates"] == {"wakabayashi2015-case", "marco-puche2010-series"}
    assert by_therapy["surgical-excision"] == {
        "reiter2011-surgery",
        "balin2012-surgery",
        "balin2012-surgery-medical",
    }
    # The preview stops before the studies behind these two.
    assert by_therapy["probenecid"] == set()
    assert by_therapy["aluminum-hydroxide"] == set()


def test_robertson_2003_is_one_record_cited_by_both_sources(kb: KnowledgeBase) -> None:
    # Both sources cite Robertson 2003, so there is one reference printed by both; only the
    # chapter states the study's result (8 of 9), so the study record cites the chapter alone.
    studies = [s for s in kb.studies if s.ref == "robertson2003"]
    assert [s.id for s in studies] == ["robertson2003-study"]
    assert set(studies[0].sources) == {CHAPTER}
    references = [r for r in kb.references if "Robertson LP" in r.authors]
    assert [r.id for r in references] == ["robertson2003"]
    assert {p.source for p in references[0].printed} == {CHAPTER, JOPA}


# --- References -----------------------------------------------------------------------------------


def page_span(pages: str | None) -> tuple[str, str] | None:
    """'455–62' → ('455', '462'); 'e26–8' → ('e26', 'e28'); '693-706' → ('693', '706')."""
    if pages is None:
        return None
    match = re.fullmatch(r"([a-z]?)(\d+)\s*[-–]\s*(\d+)", pages)
    assert match, f"unreadable page range {pages!r}"
    prefix, first, last = match.groups()
    last = first[: len(first) - len(last)] + last
    return prefix + first, prefix + last


@dataclasses.dataclass(frozen=True)
class R:
    type: str = "article"
    authors: tuple[str, ...] = ()
    et_al: bool = False
    title: str | None = None
    journal: str | None = None
    book: str | None = None
    year: int | None = None
    volume: str | None = None
    issue: str | None = None
    pages: tuple[str, str] | None = None
    article_number: str | None = None
    doi: str | None = None


REFERENCES = {
    # The chapter: no author, edition or year in the preview.
    "chapter": R(
        type="chapter",
        title="Calcinosis cutis",
        book="Treatment of Skin Disease: Comprehensive Therapeutic Strategies",
    ),
    # "Dagan Cloutier, MPAS, PA-C, ... editor-in-chief of the Journal of Orthopedics for
    # Physician Assistants (JOPA)." Title, year and volume are not shown.
    "jopa": R(authors=("Cloutier D",), journal="Journal of Orthopedics for Physician Assistants"),
    # JOPA ref 1: "Walsh JS, Fairley JA. Calcifying disorders of the skin. J Am Acad Dermatol.
    # 1995;33:693-706."
    "walsh1995": R(
        authors=("Walsh JS", "Fairley JA"),
        title="Calcifying disorders of the skin",
        journal="J Am Acad Dermatol",
        year=1995,
        volume="33",
        pages=("693", "706"),
    ),
    "pitt1990": R(
        authors=("Pitt AE", "Ethington JE", "Troy JL"),
        title="Self-healing dystrophic calcinosis following trauma with transepidermal elimination",
        journal="Cutis",
        year=1990,
        volume="45",
        pages=("28", "32"),
    ),
    "reiter2011": R(
        authors=("Reiter N", "El-Shabrawi L", "Leinweber B"),
        et_al=True,
        title="Calcinosis cutis: part II. Treatment options",
        journal="J Am Acad Dermatol",
        year=2011,
        volume="65",
        pages=("15", "22"),
    ),
    "jiang2011": R(
        authors=("Jiang X", "Yi Q", "Liu D"),
        et_al=True,
        title=(
            "A case of juvenile dermatomyositis with severe calcinosis and successful treatment "
            "with prednisone and diltiazem"
        ),
        journal="Int J Dermatol",
        year=2011,
        volume="50",
        pages=("74", "77"),
    ),
    # Issue (4) and DOI from the confirmed listing in the sources README.
    "balin2012": R(
        authors=("Balin SJ", "Wetter DA", "Andersen LK"),
        et_al=True,
        title=(
            "Calcinosis cutis occurring in association with autoimmune connective tissue "
            "disease: the Mayo Clinic experience with 78 patients, 1996 to 2009"
        ),
        journal="Arch Dermatol",
        year=2012,
        volume="148",
        issue="4",
        pages=("455", "462"),
        doi=BALIN_DOI,
    ),
    "al-mayouf2010": R(
        authors=("Al-Mayouf SM", "Alsonbul A", "Alismail K"),
        title=(
            "Localized calcinosis in juvenile dermatomyositis: successful treatment with "
            "intralesional corticosteroids injection"
        ),
        journal="Int J Rheum Dis",
        year=2010,
        volume="13",
        pages=("e26", "e28"),
    ),
    "meher2014": R(
        authors=("Meher BK", "Mishra P", "Sivaraj P"),
        et_al=True,
        title="Severe calcinosis cutis with cutaneous ulceration in juvenile dermatomyositis",
        journal="Indian Pediatr",
        year=2014,
        volume="51",
        pages=("925", "927"),
    ),
    # Issue (3) and DOI from the confirmed listing in the sources README.
    "robertson2003": R(
        authors=("Robertson LP", "Marshall RW", "Hickling P"),
        title="Treatment of cutaneous calcinosis in limited systemic sclerosis with minocycline",
        journal="Ann Rheum Dis",
        year=2003,
        volume="62",
        issue="3",
        pages=("267", "269"),
        doi=ROBERTSON_DOI,
    ),
    "wakabayashi2015": R(
        authors=("Wakabayashi T", "Sasaki N", "Chinen N"),
        et_al=True,
        title=(
            "Dramatic improvement of subcutaneous calcinosis by intermittent, high-dose "
            "etidronate plus cimetidine in a patient with juvenile dermatomyositis"
        ),
        journal="Case Rep Rheumatol",
        year=2015,
        article_number="Article ID 817592, 3 pages",
    ),
    "marco-puche2010": R(
        authors=("Marco Puche A", "Calvo Penades I", "Lopez Montesinos B"),
        title=(
            "Effectiveness of the treatment with intravenous pamidronate in calcinosis in "
            "juvenile dermatomyositis"
        ),
        journal="Clin Exp Rheumatol",
        year=2010,
        volume="28",
        pages=("135", "140"),
    ),
}

# Citations exactly as each source prints them (non-breaking spaces written as spaces).
CHAPTER_CITATIONS = {
    "pitt1990": "Pitt AE, Ethington JE, Troy JL. Cutis 1990; 45: 28–32.",
    "reiter2011": (
        "Reiter N, El-Shabrawi L, Leinweber B, et al. J Am Acad Dermatol 2011; 65: 15–22."
    ),
    "jiang2011": "Jiang X, Yi Q, Liu D, et al. Int J Dermatol 2011; 50: 74–7.",
    "balin2012": "Balin SJ, Wetter DA, Andersen LK, et al. Arch Dermatol 2012; 148: 455–62.",
    "al-mayouf2010": "Al-Mayouf SM, Alsonbul A, Alismail K. Int J Rheum Dis 2010; 13: e26–8.",
    "meher2014": "Meher BK, Mishra P, Sivaraj P, et al. Indian Pediatr 2014; 51: 925–7.",
    "robertson2003": "Robertson LP, Marshall RW, Hickling P. Ann Rheum Dis 2003; 62: 267–9.",
    "wakabayashi2015": (
        "Wakabayashi T, Sasaki N, Chinen N, et al. Case Rep Rheumatol 2015, Article ID 817592, "
        "3 pages, 2015."
    ),
    "marco-puche2010": (
        "Marco Puche A, Calvo Penades I, Lopez Montesinos B. Clin Exp Rheumatol 2010; 28: 135–40."
    ),
}
JOPA_CITATIONS = {
    "walsh1995": (
        "Walsh JS, Fairley JA. Calcifying disorders of the skin. J Am Acad Dermatol. "
        "1995;33:693-706."
    ),
    "robertson2003": (
        "Robertson LP, Marshall RW, Hickling P. Treatment of cutaneous calcinosis in limited "
        "systemic sclerosis with minocycline. Ann Rheum Dis. 2003;62:267-269."
    ),
}


def test_reference_ids_are_exactly_the_cited_works(kb: KnowledgeBase) -> None:
    # The two sources and the works they cite, then the literature pack's sources; never a
    # work mentioned only inside another source (pack rule 8: Strand's rows cite strand2022).
    assert not LITERATURE & set(REFERENCES)
    assert set(kb.reference_by_id) == set(REFERENCES) | LITERATURE


@pytest.mark.parametrize("ref_id", sorted(REFERENCES))
def test_reference_bibliographic_fields(kb: KnowledgeBase, ref_id: str) -> None:
    reference = kb.reference_by_id[ref_id]
    expected = REFERENCES[ref_id]
    actual = R(
        type=reference.type,
        authors=reference.authors,
        et_al=reference.et_al,
        title=reference.title,
        journal=reference.journal,
        book=reference.book,
        year=reference.year,
        volume=reference.volume,
        issue=reference.issue,
        pages=page_span(reference.pages),
        article_number=reference.article_number,
        doi=reference.doi,
    )
    assert actual == expected


@pytest.mark.parametrize("ref_id", sorted(set(CHAPTER_CITATIONS) | set(JOPA_CITATIONS)))
def test_reference_printed_exactly_as_each_source_prints_it(kb: KnowledgeBase, ref_id: str) -> None:
    printed = {p.source: p.text.replace("\u00a0", " ") for p in kb.reference_by_id[ref_id].printed}
    expected = {}
    if ref_id in CHAPTER_CITATIONS:
        expected[CHAPTER] = CHAPTER_CITATIONS[ref_id]
    if ref_id in JOPA_CITATIONS:
        expected[JOPA] = JOPA_CITATIONS[ref_id]
    assert printed == expected


@pytest.mark.parametrize("ref_id", sorted(set(CHAPTER_CITATIONS) | set(JOPA_CITATIONS)))
def test_reference_fields_agree_with_every_printed_form(kb: KnowledgeBase, ref_id: str) -> None:
    reference = kb.reference_by_id[ref_id]
    for printed in reference.printed:
        text = printed.text.replace("\u00a0", " ")
        for author in reference.authors:
            assert author in text
        assert reference.journal in text
        assert str(reference.year) in text
        if reference.volume:
            assert reference.volume in text
        assert ("et al." in text) == reference.et_al
        if printed.source == JOPA:
            assert reference.title in text


def test_balin_keeps_the_chapters_three_authors_and_notes_the_fourth(kb: KnowledgeBase) -> None:
    balin = kb.reference_by_id["balin2012"]
    assert balin.authors == ("Balin SJ", "Wetter DA", "Andersen LK")
    assert balin.et_al
    assert "Davis MDP" in (balin.confirmed or "")


def test_walsh_pages_are_the_articles(kb: KnowledgeBase) -> None:
    assert page_span(kb.reference_by_id["walsh1995"].pages) == ("693", "706")


def test_only_confirmed_identifiers(kb: KnowledgeBase) -> None:
    """The chapter's two confirmed DOIs and the identifiers the pack confirms; nothing else."""
    dois = {r.id: r.doi for r in kb.references if r.doi is not None}
    confirmed_dois = {"balin2012": BALIN_DOI, "robertson2003": ROBERTSON_DOI} | LITERATURE_DOIS
    assert dois == confirmed_dois
    assert {r.id: r.pmid for r in kb.references if r.pmid is not None} == LITERATURE_PMIDS
    assert {r.id: r.pmcid for r in kb.references if r.pmcid is not None} == LITERATURE_PMCIDS
    # No other identifier hides anywhere else in the knowledge either: every DOI, PMID, PubMed
    # address and PMCID in any text is a confirmed one.
    pmids, pmcids = set(LITERATURE_PMIDS.values()), set(LITERATURE_PMCIDS.values())
    for _, text in strings(kb):
        for found in re.findall(r"\b10\.\d{4,9}/[^\s;,)]+", text):
            assert found.rstrip(".") in confirmed_dois.values(), text
        for found in re.findall(r"\bPMID:?\s*(\d+)", text, re.IGNORECASE):
            assert found in pmids, text
        for found in re.findall(r"pubmed(?:\.ncbi\.nlm\.nih)?\.gov/(\d+)", text, re.IGNORECASE):
            assert found in pmids, text
        for found in re.findall(r"\bPMC\d+", text):
            assert found in pmcids, text


# --- Subtypes, contexts, investigations -----------------------------------------------------------

# "There are five major types: Idiopathic ... Dystrophic ... Metastatic ... Iatrogenic ...
# Calciphylaxis"
MAJOR_SUBTYPES = ["idiopathic", "dystrophic", "metastatic", "iatrogenic", "calciphylaxis"]
# "Other rare variants ... include calcinosis cutis circumscripta, calcinosis universalis,
# tumoral calcinosis, transplant-associated calcinosis cutis, and milia-like idiopathic
# calcinosis cutis (usually associated with Down syndrome)."
VARIANTS = {
    "circumscripta": "Calcinosis cutis circumscripta",
    "universalis": "Calcinosis universalis",
    "tumoral": "Tumoral calcinosis",
    "transplant-associated": "Transplant-associated calcinosis cutis",
    "milia-like": "Milia-like idiopathic calcinosis cutis",
}


def test_five_major_subtypes_in_the_chapters_order(kb: KnowledgeBase) -> None:
    assert [t.id for t in kb.subtypes if t.major] == MAJOR_SUBTYPES


def test_five_rare_variants(kb: KnowledgeBase) -> None:
    variants = {t.id: t.name for t in kb.subtypes if not t.major}
    assert variants == VARIANTS
    assert len(kb.subtypes) == 10


def test_subtype_definitions(kb: KnowledgeBase) -> None:
    by_id = kb.subtype_by_id
    # "Dystrophic: (most common form) ... but normal calcium and phosphate levels"
    assert [t.id for t in kb.subtypes if t.most_common] == ["dystrophic"]
    assert by_id["dystrophic"].calcium_phosphate.startswith("normal")
    # "Metastatic: abnormal calcium and/or phosphate metabolism"
    assert "abnormal calcium and/or phosphate" in by_id["metastatic"].calcium_phosphate
    # "Calciphylaxis: calcific vasculopathy that occurs in the setting of end-stage kidney disease"
    assert "ckd" in by_id["calciphylaxis"].contexts
    # The sources README: "Some other references count four subtypes ...; the chapter counts
    # five. Follow the chapter." The generic note saying so was merged into the one that names
    # those references (card audit, knowledge 2.0.3): one note, not two saying the same.
    (count,) = [n for n in by_id["calciphylaxis"].notes if "four" in n.text]
    assert count.id == "subtype-count-literature" and "follows the chapter" in count.text
    # "milia-like idiopathic calcinosis cutis (usually associated with Down syndrome)"
    assert "down-syndrome" in by_id["milia-like"].contexts
    # "(e.g., idiopathic scrotal calcinosis)"
    assert "scrotal" in by_id["idiopathic"].contexts
    # "(such as extravasation of calcium or phosphate infusions)"
    assert "extravasation" in by_id["iatrogenic"].contexts
    # "(hyperparathyroidism, sarcoidosis, chronic kidney failure, malignant neoplasms)"
    assert {"hyperparathyroidism", "sarcoidosis", "ckd", "malignancy"} <= set(
        by_id["metastatic"].contexts
    )
    for subtype in kb.subtypes:
        assert CHAPTER in subtype.sources


# (id, parent, aliases it must answer to, subtypes it is the setting of)
CONTEXTS = [
    ("ctd", None, set(), {"dystrophic"}),
    ("ssc", "ctd", {"crest", "lcssc"}, {"dystrophic"}),
    ("dm", "ctd", {"dermatomyositis"}, {"dystrophic"}),
    ("jdm", "dm", set(), {"dystrophic"}),
    ("sle", "ctd", {"lupus"}, {"dystrophic"}),
    ("morphea", None, set(), {"dystrophic"}),
    ("trauma", None, set(), {"dystrophic"}),
    ("infection", None, set(), {"dystrophic"}),
    ("ckd", None, {"esrd", "eskd"}, {"metastatic", "calciphylaxis"}),
    ("hyperparathyroidism", None, set(), {"metastatic"}),
    ("sarcoidosis", None, set(), {"metastatic"}),
    ("malignancy", None, {"leukemia", "myeloma"}, {"metastatic"}),
    ("extravasation", None, set(), {"iatrogenic"}),
    ("scrotal", None, set(), {"idiopathic"}),
    ("down-syndrome", None, set(), {"milia-like"}),
    ("transplant", None, set(), {"transplant-associated"}),
]


def test_context_ids(kb: KnowledgeBase) -> None:
    assert {c.id for c in kb.contexts if not from_the_literature(c)} == {c[0] for c in CONTEXTS}
    # The literature adds one setting of its own: patients on dialysis (pack rule 7).
    assert {c.id for c in kb.contexts if from_the_literature(c)} == {"dialysis"}


@pytest.mark.parametrize(
    ("context_id", "parent", "aliases", "subtypes"), CONTEXTS, ids=[c[0] for c in CONTEXTS]
)
def test_context(
    kb: KnowledgeBase, context_id: str, parent: str | None, aliases: set, subtypes: set
) -> None:
    context = kb.context_by_id[context_id]
    assert context.parent == parent
    assert aliases <= set(context.aliases)
    assert set(context.subtypes) == subtypes


def test_ctd_is_parent_of_ssc_dm_and_sle(kb: KnowledgeBase) -> None:
    children = {c.id for c in kb.contexts if c.parent == "ctd"}
    assert children == {"ssc", "dm", "sle"}


# "Dystrophic calcification occurs in approximately 25% of patients with systemic sclerosis (SSc)
# and 10%–40% of patients with juvenile dermatomyositis, but is rare in systemic lupus
# erythematosus." JOPA: "Deposition of calcium into soft tissue occurs in 25% of those with
# systemic sclerosis."
def test_dystrophic_frequencies(kb: KnowledgeBase) -> None:
    dystrophic = kb.subtype_by_id["dystrophic"].frequencies
    frequencies = {f.context: f for f in dystrophic if not from_the_literature(f)}
    assert set(frequencies) == {"ssc", "jdm", "sle"}
    # The literature's figures (davuluri2022's 20–40%, tajalli2019's limited SSc) are records of
    # their own: "Keep each source's figure", never merged into the chapter's.
    for frequency in frequencies.values():
        for statement in frequency.statements:
            assert not LITERATURE & set(statement.sources), statement
    assert "25%" in frequencies["ssc"].figure
    assert frequencies["jdm"].figure == "10%–40%"
    assert frequencies["sle"].figure == "rare"


def test_25_percent_in_ssc_is_one_record_citing_both_sources(kb: KnowledgeBase) -> None:
    ssc = [
        (subtype.id, f)
        for subtype in kb.subtypes
        for f in subtype.frequencies
        if f.context == "ssc" and not from_the_literature(f)
    ]
    assert len(ssc) == 1
    subtype_id, frequency = ssc[0]
    assert subtype_id == "dystrophic"
    cited = {source for st in frequency.statements for source in st.sources}
    assert {CHAPTER, JOPA} <= cited
    for statement in frequency.statements:
        assert "25%" in statement.text
    # JOPA gives Walsh & Fairley 1995 as its source for the figure.
    jopa_statements = [st for st in frequency.statements if JOPA in st.sources]
    assert jopa_statements and all("walsh1995" in st.sources for st in jopa_statements)
    # No other frequency record of the two sources repeats the figure (tajalli2019's "about
    # 25%" of limited SSc is that source's own figure, kept apart as the pack asks).
    others = [
        f
        for subtype in kb.subtypes
        for f in subtype.frequencies
        if f is not frequency and not from_the_literature(f)
    ]
    assert not any("25%" in f.figure for f in others)


# The chapter's "Specific Investigations", in order.
INVESTIGATIONS = [
    ("fbc", "Full blood count"),
    ("urea-creatinine", "Urea and creatinine"),
    ("calcium-phosphate", "Serum calcium and phosphate"),
    ("pth", "Parathyroid hormone levels"),
    ("vitamin-d", "Vitamin D levels"),
    ("electrophoresis", "Serum electrophoresis"),
    ("muscle-enzymes", "Muscle enzymes: creatine kinase, lactate dehydrogenase (LDH), aldolase"),
    (
        "ctd-screen",
        "Connective tissue disease screen: antinuclear antibodies (ANAs) and other autoantibodies",
    ),
    ("skin-biopsy", "Skin biopsy"),
    ("radiographs", "Plain radiographs"),
    ("bone-scintigraphy", "Bone scintigraphy"),
    ("ct-mri", "Computed tomography and magnetic resonance imaging (MRI)"),
]


def test_twelve_investigations_in_the_chapters_order(kb: KnowledgeBase) -> None:
    # The chapter's list comes first; the literature's further tests (nunley2018's calciphylaxis
    # workup) follow it and cite the literature alone.
    chapters = [(i.id, i.name) for i in kb.investigations[: len(INVESTIGATIONS)]]
    assert chapters == INVESTIGATIONS
    for investigation in kb.investigations[len(INVESTIGATIONS) :]:
        assert from_the_literature(investigation), investigation.id


@pytest.mark.parametrize(("investigation_id", "name"), INVESTIGATIONS)
def test_investigation(kb: KnowledgeBase, investigation_id: str, name: str) -> None:
    investigation = kb.investigation_by_id[investigation_id]
    assert investigation.name == name
    assert investigation.sources[0] == CHAPTER
    assert set(investigation.sources[1:]) <= LITERATURE
    assert any(CHAPTER in tie.sources for tie in investigation.ties)
    for tie in investigation.ties:
        assert tie.reason.strip()
        if CHAPTER in tie.sources:
            assert tie.basis in ("chapter", "curated")
        else:
            # A tie the literature adds cites the literature alone and never claims the
            # chapter as its basis.
            assert from_the_literature(tie), tie
            assert tie.basis in ("literature", "curated"), tie


def test_only_the_links_the_chapter_makes_are_marked_chapter(kb: KnowledgeBase) -> None:
    # "Examination and investigations for connective tissue disease are therefore strongly
    # recommended. Skin biopsy can help to distinguish cutaneous calcification from
    # ossification." Every other tie is the curators' reasoning and must say so.
    chapter_ties = {
        (i.id, t.target) for i in kb.investigations for t in i.ties if t.basis == "chapter"
    }
    assert chapter_ties == {
        ("ctd-screen", "dystrophic"),
        ("ctd-screen", "ctd"),
        ("skin-biopsy", "all"),
    }


# --- Integrity ------------------------------------------------------------------------------------


def test_every_source_and_ref_id_resolves(kb: KnowledgeBase) -> None:
    references = set(kb.reference_by_id)
    checked = 0
    for record in records(kb):
        for name in record.FIELDS:
            value = getattr(record, name)
            if name == "sources":
                assert value, f"{record!r:.80}: no sources"
                assert set(value) <= references, record
                checked += 1
            elif name in ("ref", "source"):
                assert value in references, record
                checked += 1
    assert checked > 100


def test_every_other_id_resolves(kb: KnowledgeBase) -> None:
    subtypes, contexts, therapies = (
        set(kb.subtype_by_id),
        set(kb.context_by_id),
        set(kb.therapy_by_id),
    )
    for subtype in kb.subtypes:
        assert set(subtype.contexts) <= contexts
        assert subtype.variant_of is None or subtype.variant_of in subtypes
        assert {f.context for f in subtype.frequencies} <= contexts
    for context in kb.contexts:
        assert context.parent is None or context.parent in contexts
        assert set(context.subtypes) <= subtypes
    for therapy in kb.therapies:
        assert set(therapy.subtypes) <= subtypes
        assert {link.context for link in therapy.contexts} <= contexts
    for study in kb.studies:
        assert set(study.therapies) <= therapies
        assert set(study.contexts) <= contexts
        assert set(study.subtypes) <= subtypes
    for investigation in kb.investigations:
        for tie in investigation.ties:
            assert tie.target in subtypes | contexts | {"all"}


def test_every_text_is_filled(kb: KnowledgeBase) -> None:
    for owner, text in strings(kb):
        assert text.strip(), owner


def test_the_ungraded_list_of_the_sources_readme_is_present(kb: KnowledgeBase) -> None:
    # "warfarin, IVIG, topical sodium thiosulfate, CO2 laser, extracorporeal shock wave
    # lithotripsy, surgical excision, ceftriaxone, sodium metabisulfite, infliximab,
    # apremilast, low-calcium diet, general measures to improve blood flow, treating the
    # underlying disease"
    names = {t.name.lower() for t in kb.therapies}
    for fragment in (
        "warfarin",
        "immunoglobulin",
        "sodium thiosulfate",
        "carbon dioxide laser",
        "shock wave lithotripsy",
        "surgical excision",
        "ceftriaxone",
        "sodium metabisulfite",
        "infliximab",
        "apremilast",
        "low-calcium diet",
        "blood flow",
        "underlying disease",
    ):
        assert any(fragment in name for name in names), fragment


# --- Clinical review (issue 12): each correction against its source line -------------------------


def _statements(kb: KnowledgeBase) -> Iterator[Statement]:
    for record in records(kb):
        if isinstance(record, Statement):
            yield record


def _note_ids(record: object) -> set[str]:
    return {n.id for n in getattr(record, "notes", ())}


def test_ssc_figure_keeps_each_sources_wording(kb: KnowledgeBase) -> None:
    # Chapter: "Dystrophic calcification occurs in approximately 25% of patients with systemic
    # sclerosis (SSc)". JOPA: "Deposition of calcium into soft tissue occurs in 25% of those
    # with systemic sclerosis."
    # One record, citing both; its figure gives each source's own wording, since the JOPA
    # article prints no "approximately".
    frequency = next(f for f in kb.subtype_by_id["dystrophic"].frequencies if f.context == "ssc")
    assert frequency.figure == "approximately 25% (chapter) and 25% (JOPA)"
    assert frequency.population is None  # systemic sclerosis, the context itself
    chapter = [st for st in frequency.statements if st.sources == (CHAPTER,)]
    jopa = [st for st in frequency.statements if JOPA in st.sources]
    assert len(chapter) == 1 and "approximately 25%" in chapter[0].text
    assert len(jopa) == 1 and "25%" in jopa[0].text
    assert "approximately" not in jopa[0].text and "about" not in jopa[0].text
    # JOPA names no subtype: filing its figure under dystrophic is the curators' reading.
    assert "jopa-25-subtype" in _note_ids(jopa[0])
    # tajalli2019's own "about 25%" (of limited SSc) is the literature's; the two sources'
    # records never paraphrase theirs that way.
    for _, text in chapter_strings(kb):
        assert "about 25%" not in text and "about a quarter" not in text.lower(), text


def test_jdm_figure_is_of_patients_not_children(kb: KnowledgeBase) -> None:
    # "10%–40% of patients with juvenile dermatomyositis"
    for _, text in strings(kb):
        assert "of children" not in text, text
    frequency = next(f for f in kb.subtype_by_id["dystrophic"].frequencies if f.context == "jdm")
    assert all("10%–40% of patients" in st.text for st in frequency.statements)
    tie = next(t for t in kb.investigation_by_id["muscle-enzymes"].ties if t.target == "jdm")
    assert "10%–40% of patients" in tie.reason


def test_no_large_studies_not_trials(kb: KnowledgeBase) -> None:
    # "There are no large studies for the treatment of calcinosis cutis, and most therapies are
    # based on case reports or small case series."
    principle = next(p for p in kb.principles if p.id == "weak-evidence")
    assert "no large studies" in principle.text
    assert "case reports or small case series" in principle.text
    for _, text in strings(kb):
        assert "large trial" not in text, text


def test_meher_one_month_is_when_she_improved(kb: KnowledgeBase) -> None:
    # "improved ... after 1 month of oral prednisolone (1 mg/kg/day) and methotrexate
    # (10 mg/week)": the course length is not given.
    for record in records(kb):
        for value in (getattr(record, "text", None), getattr(record, "regimen", None)):
            if isinstance(value, str):
                assert "for 1 month" not in value, value
    study = kb.study_by_id["meher2014-case"]
    assert "1 month" not in (study.regimen or "")
    assert "after 1 month" in study.outcome
    regimen = kb.therapy_by_id["oral-prednisolone"].regimens[0]
    assert "meher-one-month" in _note_ids(regimen)


@pytest.mark.parametrize("therapy_id", ["colchicine", "minocycline"])
def test_mmp_sentence_stays_the_chapters_with_a_note(kb: KnowledgeBase, therapy_id: str) -> None:
    # "In particular, colchicine and minocycline have been reported to reduce ... The mechanism
    # of action may be mainly through inhibition of matrix metalloproteinases and
    # antiinflammatory effects." The sentence does not say which drug it means.
    mmp = [m for m in kb.therapy_by_id[therapy_id].mechanism if "metalloproteinase" in m.text]
    assert len(mmp) == 1
    assert mmp[0].sources == (CHAPTER,)
    assert "may" in mmp[0].text and "chapter" in mmp[0].text
    assert "mmp-sentence-ambiguous" in _note_ids(mmp[0])
    note = next(n for n in mmp[0].notes if n.id == "mmp-sentence-ambiguous")
    assert "one of them or both" in note.text
    # No pharmacology the sources do not give (which drugs inhibit the enzymes).
    assert "tetracycline" not in note.text


def test_opening_definition_is_in_the_clinical_picture(kb: KnowledgeBase) -> None:
    # "Calcinosis cutis is a rare disease of aberrant calcium deposition in the skin and
    # subcutaneous tissue."
    definition = kb.clinical_features[0]
    assert definition.sources == (CHAPTER,)
    for fragment in ("rare disease", "calcium", "skin", "subcutaneous tissue"):
        assert fragment in definition.text


@pytest.mark.parametrize("therapy_id", ["diltiazem", "colchicine", "minocycline"])
def test_success_mostly_in_dermatomyositis_for_all_three(
    kb: KnowledgeBase, therapy_id: str
) -> None:
    # "Diltiazem, colchicine, and minocycline have shown success, mostly in dystrophic calcinosis
    # cutis associated with dermatomyositis."
    uses = [
        u
        for u in kb.therapy_by_id[therapy_id].uses
        if "mostly in dystrophic calcinosis associated with dermatomyositis" in u.text
    ]
    assert len(uses) == 1 and uses[0].sources == (CHAPTER,)
    assert "dm" in {link.context for link in kb.therapy_by_id[therapy_id].contexts}


def test_jopa_phosphate_sentence_is_kept_with_a_note(kb: KnowledgeBase) -> None:
    # JOPA: "A diet low in calcium and the administration of phosphate with aluminum hydroxide
    # can improve or halt disease." Aluminium hydroxide binds phosphate: almost certainly garbled.
    found = [
        (therapy.id, r)
        for therapy in kb.therapies
        for r in therapy.regimens
        if JOPA in r.sources and "phosphate" in r.text.lower()
    ]
    assert {t for t, _ in found} == {"aluminum-hydroxide", "low-calcium-diet"}
    for _, regimen in found:
        assert "phosphate given with aluminum hydroxide" in regimen.text.lower()
        note = next(n for n in regimen.notes if n.id == "jopa-phosphate-garbled")
        assert "binds phosphate" in note.text and "garbled" in note.text


def test_letters_whose_studies_the_preview_does_not_show_say_so(kb: KnowledgeBase) -> None:
    # Bisphosphonates "D" (Series ≥ 5 subjects) beside one boy (Wakabayashi) and "Three children"
    # (Marco Puche), then "You're Reading a Preview". Diltiazem "C" (Clinical trial < 20
    # subjects) beside Reiter (no count), one boy (Jiang) and Balin's 17: no trial.
    assert "letter-beyond-preview" in _note_ids(kb.therapy_by_id["bisphosphonates"])
    assert "letter-not-in-preview" in _note_ids(kb.therapy_by_id["diltiazem"])
    for therapy_id in ("probenecid", "aluminum-hydroxide"):
        assert "preview-cut" in _note_ids(kb.therapy_by_id[therapy_id])


# Designs the chapter states: Pitt "A case of dystrophic calcinosis"; Jiang's title "A case of
# juvenile dermatomyositis"; Robertson "In an open-label study"; Marco Puche "In all three
# cases". Reiter's "review" is inferred from its title and says so in a note. Every other study
# leaves design out.
DESIGNS = {
    "pitt1990-case": "a case",
    "jiang2011-case": "a case",
    "robertson2003-study": "open-label study",
    "marco-puche2010-series": "three cases",
    "reiter2011-diltiazem": "review",
    "reiter2011-surgery": "review",
}


def test_designs_only_where_a_source_states_them(kb: KnowledgeBase) -> None:
    designs = {s.id: s.design for s in chapter_studies(kb) if s.design is not None}
    assert designs == DESIGNS
    for study_id in ("reiter2011-diltiazem", "reiter2011-surgery"):
        assert "reiter-design-inferred" in _note_ids(kb.study_by_id[study_id])


def test_curated_placements_carry_a_note(kb: KnowledgeBase) -> None:
    subtypes = kb.subtype_by_id
    # "milia-like idiopathic calcinosis cutis" is one of the chapter's "other rare variants".
    assert subtypes["milia-like"].variant_of == "idiopathic"
    assert "milia-like-under-idiopathic" in _note_ids(subtypes["milia-like"])
    # "transplant-associated calcinosis cutis": the chapter does not say which transplants.
    assert "transplant-context-curated" in _note_ids(subtypes["transplant-associated"])
    transplant = kb.context_by_id["transplant"]
    assert "organ" not in transplant.name.lower()
    assert "curators" in transplant.summary
    # Morphea: the chapter names no subtype for its one morphea patient.
    assert "morphea-as-dystrophic" in _note_ids(subtypes["dystrophic"])
    assert "ceftriaxone-subtype-curated" in _note_ids(kb.therapy_by_id["ceftriaxone"])
    assert "ceftriaxone-subtype-curated" in _note_ids(kb.study_by_id["reiter2011-ceftriaxone"])
    assert "curators" in kb.context_by_id["morphea"].summary


def test_self_healing_is_one_trauma_case_not_a_rule(kb: KnowledgeBase) -> None:
    # Pitt: "A case of dystrophic calcinosis after trauma that resolved over 8 weeks with
    # spontaneous transepidermal elimination."
    trauma = kb.context_by_id["trauma"]
    assert "may heal by itself" not in trauma.summary
    assert "One case" in trauma.summary and "pitt1990" in trauma.sources


def test_curated_investigation_reasons(kb: KnowledgeBase) -> None:
    ties = {(i.id, t.target): t for i in kb.investigations for t in i.ties}
    iatrogenic = ties[("calcium-phosphate", "iatrogenic")]
    assert iatrogenic.basis == "curated"
    assert "abnormal" in iatrogenic.reason and "normal levels" in iatrogenic.reason
    jdm = ties[("muscle-enzymes", "jdm")]
    assert "myositis" in jdm.reason and "its activity" not in jdm.reason
    for imaging in ("radiographs", "bone-scintigraphy", "ct-mri"):
        tie = ties[(imaging, "all")]
        assert tie.basis == "curated"
        assert "curators" in tie.reason and "in every subtype" not in tie.reason


def test_pth_is_in_the_calciphylaxis_workup_as_curated(kb: KnowledgeBase) -> None:
    # Calciphylaxis "occurs in the setting of end-stage kidney disease"; metastatic causes
    # include "hyperparathyroidism ... chronic kidney failure".
    tie = next(t for t in kb.investigation_by_id["pth"].ties if t.target == "calciphylaxis")
    assert tie.basis == "curated" and tie.sources == (CHAPTER,)
    for fragment in ("end-stage kidney disease", "chronic kidney failure", "hyperparathyroidism"):
        assert fragment in tie.reason
    subtype_workup = {r.investigation.id for r in query.workup(kb, subtype="calciphylaxis")}
    context_workup = {r.investigation.id for r in query.workup(kb, context="ckd")}
    assert "pth" in subtype_workup and "pth" in context_workup


GAPS = {
    "third-line-not-in-preview",
    "second-line-studies-cut",
    "calciphylaxis-one-sentence",
    "sle-no-patients",
    "metastatic-treat-the-cause",
    "iatrogenic-no-therapy",
    "rare-variants-no-therapy",
    "idiopathic-surgery-only",
    "trauma-one-case",
    "infection-nothing",
    "morphea-one-case",
}


def test_gaps_are_well_formed(kb: KnowledgeBase) -> None:
    # Every gap the two sources leave is still said; any further gap came with the literature
    # and cites it (a "literature" gap cites nothing else).
    assert {g.id for g in kb.gaps} >= GAPS
    for gap in kb.gaps:
        if gap.id not in GAPS:
            assert LITERATURE & set(gap.sources), gap.id
        if gap.basis == "literature":
            assert from_the_literature(gap), gap.id
        assert gap.basis in BASES
        assert gap.sources
        assert gap.lines or gap.contexts or gap.subtypes, gap.id
        assert "\n" not in gap.text.strip(), gap.id
        if gap.basis == "curated":
            assert gap.notes, f"{gap.id}: a curated gap says how it was found"


@pytest.mark.parametrize("kind", ["subtype", "context"])
def test_every_empty_treatment_answer_meets_a_gap(kb: KnowledgeBase, kind: str) -> None:
    ids = kb.subtype_by_id if kind == "subtype" else kb.context_by_id
    for target in ids:
        if not query.treat(kb, **{kind: target}):
            assert query.gaps(kb, **{kind: target}), f"{kind} {target}: empty and unexplained"


def test_ctd_summary_claims_no_inheritance(kb: KnowledgeBase) -> None:
    summary = kb.context_by_id["ctd"].summary
    assert "also apply" not in summary
    assert "as the group's" in summary


def test_scleroderma_is_ambiguous_not_an_alias(kb: KnowledgeBase) -> None:
    # JOPA: "Scleroderma and CREST ... syndrome"; the chapter: "morphea profunda".
    for context in kb.contexts:
        assert "scleroderma" not in {a.casefold() for a in context.aliases}, context.id
    ambiguous = {a.id: a for a in kb.ambiguous_names}
    assert set(ambiguous["scleroderma"].contexts) == {"ssc", "morphea"}
    assert set(ambiguous["scleroderma"].sources) == {JOPA, CHAPTER}
    assert "curators" in ambiguous["scleroderma"].text


def test_balin_combined_counts_are_never_surgerys_alone(kb: KnowledgeBase) -> None:
    # "Another 17 patients had surgical and medical treatment with complete response in 14
    # patients" versus "the 11 patients who received surgical excision alone".
    combined = kb.study_by_id["balin2012-surgery-medical"]
    assert combined.treatment == "surgery with medical treatment"
    assert "combined" in combined.outcome
    assert "balin-combined-not-surgery-alone" in _note_ids(combined)
    alone = kb.study_by_id["balin2012-surgery"]
    assert alone.treatment is None and "alone" in (alone.regimen or "")
    therapy = kb.therapy_by_id["surgical-excision"]
    for _, text in strings(therapy):
        assert not re.search(r"\b(14|17)\b", text), text


def test_knowledge_version(kb: KnowledgeBase) -> None:
    base = kb.layers[0]
    # 2.0.0: the literature pack merged in; 2.0.1: a one-line SSc/DM gap, shorter principles;
    # 2.0.2: the source-fidelity audit's corrections; 2.0.3: the point-of-care audits' data
    # corrections (populations, directions, the calciphylaxis gap outside kidney disease).
    assert (base.version, base.date) == ("2.0.3", "2026-11-28")
