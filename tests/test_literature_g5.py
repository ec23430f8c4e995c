"""Group g5 of the literature pack: calcinosis cutis in SSc/DM (systematic review and systemic
therapies).

Every expected value below was typed from the pack files in
/work/shared/sources/literature/ (traineau2020.md, vayssairat-diltiazem.md, narvaez2019.md,
seminarthritisrheum2012-rituximab.md, jclinpharmther2016-rituximab.md, valenzuela2016.md),
not copied from the YAML, so that a wrong figure, dose, grade or identifier fails here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from calcref.model import Record

G5 = (
    "traineau2020",
    "vayssairat-diltiazem",
    "narvaez2019",
    "seminarthritisrheum2012-rituximab",
    "jclinpharmther2016-rituximab",
    "valenzuela2016",
)
CHAPTER_LETTERS = {"A", "B", "C", "D", "E"}


def texts(obj: object) -> Iterator[str]:
    """Every string held by a record, its nested records and lists."""
    if isinstance(obj, Record):
        for name in obj.FIELDS:
            yield from texts(getattr(obj, name))
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from texts(item)
    elif isinstance(obj, str):
        yield obj


def everything(kb) -> str:
    """All text of every record in the knowledge base, joined."""
    parts: list[str] = []
    for section in ("references", "studies", "therapies", "principles", "gaps"):
        parts.extend(texts(getattr(kb, section)))
    return "\n".join(parts)


def position(kb, therapy: str, source: str):
    found = [p for p in kb.therapy_by_id[therapy].positions if p.source == source]
    assert len(found) == 1, (therapy, source, found)
    return found[0]


def regimen(kb, therapy: str, source: str, needle: str):
    found = [
        r for r in kb.therapy_by_id[therapy].regimens if source in r.sources and needle in r.text
    ]
    assert len(found) == 1, (therapy, source, needle)
    return found[0]


def note_texts(record) -> str:
    return "\n".join(n.text for n in record.notes)


def context_sources(kb, therapy: str, context: str) -> tuple[str, ...]:
    for link in kb.therapy_by_id[therapy].contexts:
        if link.context == context:
            return link.sources
    return ()


# --- Rules that hold for every g5 record -------------------------------------------------------


def test_no_literature_position_has_a_line_or_letter(kb):
    # README rule 1: "A therapy added from this pack has no chapter `line` and no chapter
    # `evidence` letter". Rule 3: "never map them onto the chapter's letters".
    seen = 0
    for therapy in kb.therapies:
        for p in therapy.positions:
            if p.source in G5:
                seen += 1
                assert p.line is None, (therapy.id, p.source)
                assert p.evidence is None, (therapy.id, p.source)
                assert (p.grade or "") not in CHAPTER_LETTERS
    assert seen >= 12


def test_every_g5_study_names_its_reference_and_population(kb):
    for study in kb.studies:
        if study.ref in G5:
            assert study.sources == (study.ref,)
            assert study.population
            assert study.subtypes == ("dystrophic",)  # calcinosis in SSc/DM, never calciphylaxis
            assert "calciphylaxis" not in study.subtypes


def test_unconfirmed_identifiers_are_nowhere(kb):
    # The "Not confirmed — do not transcribe" lists of the six files.
    text = everything(kb)
    for ident in (
        "31302187",  # traineau2020 PMID (unofficial mirror)
        "10.1016/j.autrev.2018.10.006",  # narvaez2019 DOI
        "autrev.2018",
        "30639647",  # narvaez2019 PMID
        "22221908",  # seminarthritisrheum2012 PMID (translation proxy)
        "10.1016/j.semarthrit.2011.11.007",  # seminarthritisrheum2012 DOI
        "semarthrit",
        "26667314",  # jclinpharmther2016 PMID (scrape)
        "10.1111/jcpt.12340",  # jclinpharmther2016 DOI
        "jcpt.12340",
        "10.1007/s40674-016-0035-x",  # valenzuela2016 DOI (Mendeley only)
        "s40674",
    ):
        assert ident not in text, ident


# --- traineau2020 ------------------------------------------------------------------------------


def test_traineau2020_reference(kb):
    ref = kb.reference_by_id["traineau2020"]
    # "Traineau H, et al." (the pack's one-line citation); the catalogue's ten authors are kept
    # in a note: "Helene Traineau, Rohit Aggarwal, ... François Chasset (ten authors ...)"
    assert ref.authors == ("Traineau H",)
    assert ref.et_al is True
    names = note_texts(ref)
    for name in (
        "Helene Traineau",
        "Rohit Aggarwal",
        "Jean-Benoît Monfort",
        "Patricia Senet",
        "Chester V. Oddis",
        "Carlo Chizzolini",
        "Annick Barbaud",
        "Camille Frances",
        "Laurent Arnaud",
        "François Chasset",
    ):
        assert name in names.replace("\n", " "), name
    assert ref.type == "article"
    assert ref.title == (
        "Treatment of calcinosis cutis in systemic sclerosis and dermatomyositis: "
        "A review of the literature"
    )
    assert ref.journal == "J Am Acad Dermatol"
    # "2020 (February issue); published online 2019 Jul 11."
    assert ref.year == 2020
    assert (ref.volume, ref.issue, ref.pages) == ("82", "2", "317-325")
    # "DOI: 10.1016/j.jaad.2019.07.006 — seen on the ScienceDirect (publisher) abstract page"
    assert ref.doi == "10.1016/j.jaad.2019.07.006"
    assert "ScienceDirect" in ref.confirmed
    # "PMID: not confirmed" / "PMCID: not shown."
    assert ref.pmid is None and ref.pmcid is None
    assert ref.kind == "systematic review"
    # "30 studies, 288 patients ... The search found 3032 citations."
    assert "30 studies" in ref.population and "288 patients" in ref.population
    assert "3032" in ref.population
    # "Citation line as seen | "2020 Feb;82(2):317-325 ... Epub 2019 Jul 11""
    assert [(p.source, p.text) for p in ref.printed] == [
        ("traineau2020", "2020 Feb;82(2):317-325 ... Epub 2019 Jul 11")
    ]
    # "The library catalogue gives 2019."
    assert "2019" in note_texts(ref)


@pytest.mark.parametrize(
    ("therapy", "level"),
    [
        # "Low-dose warfarin: the authors advise against its use ... level IB (Oxford)."
        ("warfarin", "Oxford level IB"),
        # "Diltiazem and bisphosphonates: ... Traineau grades this level IV."
        ("diltiazem", "Oxford level IV"),
        ("bisphosphonates", "Oxford level IV"),
        # "Intralesional sodium thiosulfate: ... Traineau grades it level IV."
        ("sodium-thiosulfate-intralesional", "Oxford level IV"),
        # "TNF inhibitors: possibly useful in juvenile dermatomyositis. ... level IV"
        ("infliximab", "Oxford level IV"),
        ("adalimumab", "Oxford level IV"),
        ("rituximab", "Oxford level IV"),
    ],
)
def test_traineau2020_positions_carry_its_own_grade(kb, therapy, level):
    p = position(kb, therapy, "traineau2020")
    assert p.grade.startswith(level)
    assert "Traineau 2020" in p.grade
    assert p.line is None and p.evidence is None


def test_traineau2020_warfarin(kb):
    # "Low-dose warfarin: the authors advise against its use ... one small randomised
    # controlled trial and 4 retrospective studies; Traineau grades it level IB (Oxford)."
    p = position(kb, "warfarin", "traineau2020")
    assert "against" in p.view and "low-dose" in p.view.lower()
    s = kb.study_by_id["traineau2020-warfarin"]
    assert s.ref == "traineau2020" and s.therapies == ("warfarin",)
    assert s.kind == "systematic review"
    assert "one small randomised controlled trial" in s.outcome
    assert "4 retrospective studies" in s.outcome
    assert "advise against" in s.outcome
    # "Per-drug patient counts, doses and response rates were not retrieved."
    assert s.n is None
    assert s.counts.responders is s.counts.partial is s.counts.none is None
    assert s.direction is None  # the abstract gives a recommendation, not a result
    assert set(s.contexts) == {"ssc", "dm"}
    # The chapter's own view stays: "has been advocated" for small deposits, ungraded.
    chapter = position(kb, "warfarin", "chapter")
    assert chapter.line is None and chapter.evidence is None


@pytest.mark.parametrize(
    ("study", "therapies", "contexts"),
    [
        ("traineau2020-diltiazem", ("diltiazem",), {"ssc", "dm"}),
        ("traineau2020-bisphosphonates", ("bisphosphonates",), {"ssc", "dm"}),
        # "Rituximab: results described as promising in both dermatomyositis and systemic sclerosis."
        ("traineau2020-rituximab", ("rituximab",), {"ssc", "dm"}),
        # "TNF inhibitors: possibly useful in juvenile dermatomyositis."
        ("traineau2020-tnf-inhibitors", ("infliximab", "adalimumab"), {"jdm"}),
        (
            "traineau2020-sodium-thiosulfate-intralesional",
            ("sodium-thiosulfate-intralesional",),
            {"ssc", "dm"},
        ),
    ],
)
def test_traineau2020_review_findings(kb, study, therapies, contexts):
    s = kb.study_by_id[study]
    assert s.ref == "traineau2020"
    assert s.therapies == therapies
    assert s.kind == "systematic review"
    assert set(s.contexts) == contexts
    assert s.n is None  # "Per-drug patient counts ... were not retrieved."
    assert s.counts.responders is None and s.counts.partial is None
    # "might be a useful option", "promising", "possibly useful": hedged suggestions, not
    # results, so no direction is drawn from them (as for warfarin's recommendation).
    assert s.direction is None
    assert any(n.id.endswith("-direction") and "hedged" in n.text for n in s.notes)
    assert "level IV" in s.outcome
    assert s.effects == ()


def test_traineau2020_rituximab_level_is_uncertain(kb):
    # "Whether level IV applies to rituximab as well as to TNF inhibitors is not certain."
    p = position(kb, "rituximab", "traineau2020")
    assert p.caution is not None and "not certain" in p.caution.text
    s = kb.study_by_id["traineau2020-rituximab"]
    assert s.caution is not None and "not certain" in s.caution.text


# --- vayssairat-diltiazem -----------------------------------------------------------------------


def test_vayssairat_reference(kb):
    ref = kb.reference_by_id["vayssairat-diltiazem"]
    # "Vayssairat M, Hidouche D, Abdoucheli-Baudot N, Gaitz JP ... Ann Rheum Dis 57(4):252
    # (year not shown)"
    assert ref.authors == ("Vayssairat M", "Hidouche D", "Abdoucheli-Baudot N", "Gaitz JP")
    assert not ref.et_al
    assert ref.title == (
        "Clinical significance of subcutaneous calcinosis in patients with systemic sclerosis. "
        "Does diltiazem induce its regression?"
    )
    assert ref.year is None  # "Year | **not shown**"
    assert (ref.volume, ref.issue) == ("57", "4")
    assert ref.pages == "252"  # "first page 252 ...; last page not shown"
    # "DOI: not shown. PMID: not shown. PMCID: not shown."
    assert ref.doi is None and ref.pmid is None and ref.pmcid is None
    assert ref.kind == "retrospective cohort or series"
    assert "47" in ref.population


def test_vayssairat_diltiazem_is_negative(kb):
    s = kb.study_by_id["vayssairat-diltiazem"]
    assert s.therapies == ("diltiazem",)
    assert s.kind == "retrospective cohort or series"
    assert s.contexts == ("ssc",)
    # "Only 3 of the 12 showed a slight radiological improvement."
    assert s.n == 12
    assert s.counts.partial == 3
    # "The number without improvement is implied but not stated, so leave "none" empty."
    assert s.counts.none is None and s.counts.unknown is None
    assert s.counts.complete is None
    # "the two hand radiographs were taken 7.8 ± 4 years apart."
    assert "7.8 ± 4 years" in s.outcome
    assert "3 of the 12" in s.outcome
    # "The dose and duration of diltiazem were not shown."
    assert s.regimen is None
    # "Negative result. Record it as such."
    assert s.direction == "no significant effect"
    assert "not clearly support" in s.conclusion


def test_vayssairat_antibody_findings(kb):
    # "anticentromere antibodies (p = 0.003), less often had anti-Scl 70 antibodies (p = 0.01),
    # ... fewer nailfold capillaries (p = 0.03)."
    found = [p for p in kb.principles if "vayssairat-diltiazem" in p.sources]
    assert len(found) == 1
    text = found[0].text
    assert found[0].kind == "immunology"
    for figure in (
        "anticentromere antibodies (p = 0.003)",
        "anti-Scl 70 antibodies (p =",
        "0.01",
        "nailfold",
        "capillaries (p = 0.03)",
        "47",
        "telangiectasia",
        "giant capillaries",
    ):
        assert figure in text.replace("\n", " "), figure


# --- narvaez2019 --------------------------------------------------------------------------------


def test_narvaez2019_reference(kb):
    ref = kb.reference_by_id["narvaez2019"]
    # "Javier Narváez et al." (PubMed mirror) / "Narváez J, et al." (one-line citation); the
    # full list only from an unauthorised PDF.
    assert ref.authors == ("Narváez J",)
    assert ref.et_al is True
    assert "Pirola" not in everything(kb)
    assert ref.title == (
        "Effectiveness and safety of rituximab for the treatment of refractory systemic "
        "sclerosis associated calcinosis: A case series and systematic review of the literature"
    )
    assert ref.journal == "Autoimmun Rev"
    assert ref.year == 2019
    assert (ref.volume, ref.issue, ref.pages) == ("18", "3", "262-269")
    # "DOI: not confirmed. PMID: not confirmed. PMCID: not shown."
    assert ref.doi is None and ref.pmid is None and ref.pmcid is None
    assert ref.kind == "case series"
    assert ref.printed[0].text == "Autoimmun Rev. 2019 Mar;18(3):262-269. ... Epub 2019 Jan 11."


def test_narvaez2019_rituximab(kb):
    s = kb.study_by_id["narvaez2019-rituximab"]
    assert s.therapies == ("rituximab",)
    assert s.kind == "case series"
    assert s.contexts == ("ssc",)
    # "8 patients ... 4 with limited and 4 with diffuse disease"
    assert s.n == 8
    assert "4 with limited and 4 with diffuse" in s.population
    # "calcinosis plus arthritis in 2, and for refractory arthritis or interstitial lung
    # disease in 6"
    assert "in 2" in s.population and "in 6" in s.population
    # "Clinical response ...: 4 of 8 (50%)." / "Radiological response ...: 2 of 8 (25%)."
    assert s.counts.responders == 4
    assert s.counts.complete is None and s.counts.partial is None and s.counts.none is None
    assert "4 of 8 (50%)" in s.outcome
    assert "2 of 8 (25%)" in s.outcome
    assert "at least 50% improvement in pain VAS" in s.outcome
    # "Median follow-up 19 months (IQR 15–45)."
    assert "19 months (IQR 15–45)" in s.outcome
    # "each cycle 1 g × 2 given two weeks apart" / "mean 3.12 ± 2.1 (range 1–7)" /
    # "Median duration of rituximab treatment 9 months (IQR 7.5–36)"
    assert "1 g × 2 given two weeks apart" in s.regimen
    assert "3.12 ± 2.1" in s.regimen and "range 1–7" in s.regimen
    assert "9 months (IQR 7.5–36)" in s.regimen
    assert s.harms == ()  # "Safety results were not retrieved"


# --- seminarthritisrheum2012-rituximab ----------------------------------------------------------


def test_seminarthritisrheum2012_reference(kb):
    ref = kb.reference_by_id["seminarthritisrheum2012-rituximab"]
    assert ref.authors == ()  # "Authors | **not shown**"
    assert ref.title == (
        "Treatment of systemic sclerosis-associated calcinosis: a case report of "
        "rituximab-induced regression of CREST-related calcinosis and review of the literature"
    )
    assert ref.journal == "Semin Arthritis Rheum"
    assert ref.year == 2012
    assert (ref.volume, ref.issue, ref.pages) == ("41", "6", "822-9")
    assert ref.doi is None and ref.pmid is None and ref.pmcid is None
    assert ref.kind == "case report"
    # "Literature review: 392 articles found, 182 after removing duplicates"
    assert "392" in note_texts(ref) and "182" in note_texts(ref)


def test_seminarthritisrheum2012_rituximab(kb):
    s = kb.study_by_id["seminarthritisrheum2012-rituximab"]
    assert s.therapies == ("rituximab",)
    assert s.kind == "case report"
    assert s.contexts == ("ssc",)
    assert "CREST" in s.population
    assert s.n == 1
    assert s.counts.responders == 1
    # "Regimen: two courses of rituximab, each of four weekly infusions of 375 mg/m²."
    assert "375 mg/m²" in s.regimen and "two courses" in s.regimen
    assert "four weekly infusions" in s.regimen
    assert s.direction == "benefit"


# --- jclinpharmther2016-rituximab ---------------------------------------------------------------


def test_jclinpharmther2016_reference(kb):
    ref = kb.reference_by_id["jclinpharmther2016-rituximab"]
    assert ref.authors == ()
    assert ref.title == "Systemic sclerosis and calcinosis cutis: response to rituximab"
    assert ref.journal == "J Clin Pharm Ther"
    assert ref.year == 2016
    assert (ref.volume, ref.issue, ref.pages) == ("41", "1", "94-6")
    assert ref.doi is None and ref.pmid is None and ref.pmcid is None
    assert ref.kind == "case report"


def test_jclinpharmther2016_rituximab_failure(kb):
    s = kb.study_by_id["jclinpharmther2016-rituximab"]
    assert s.therapies == ("rituximab",)
    assert s.kind == "case report"
    # "One 54-year-old woman with limited systemic sclerosis"
    assert s.n == 1
    assert "54" in s.age
    assert s.contexts == ("ssc",)
    # "She was treated with rituximab without a successful outcome."
    assert s.counts.none == 1 and s.counts.responders is None
    # One patient's failure is her count, not a statistical "no significant effect"
    # (knowledge 2.0.3; README rule 4: the negative result stays, as the count).
    assert s.direction is None
    # "The rituximab dose and schedule were not shown."
    assert s.regimen is None
    assert "limited and not conclusive" in s.conclusion


def test_rituximab_conflict_note(kb):
    notes = note_texts(kb.therapy_by_id["rituximab"])
    for piece in (
        "narvaez2019",
        "4 of 8",
        "2 of 8",
        "seminarthritisrheum2012-rituximab",
        "jclinpharmther2016-rituximab",
        "traineau2020",
        "promising",
    ):
        assert piece in notes, piece
    assert set(context_sources(kb, "rituximab", "ssc")) >= {
        "narvaez2019",
        "seminarthritisrheum2012-rituximab",
        "jclinpharmther2016-rituximab",
    }


# --- valenzuela2016 -----------------------------------------------------------------------------


def test_valenzuela2016_reference(kb):
    ref = kb.reference_by_id["valenzuela2016"]
    # "Valenzuela, A., & Chung, L. (2016). Management of Calcinosis Associated with Systemic
    # Sclerosis. Current Treatment Options in Rheumatology, 2(1), 85–96."
    assert ref.authors == ("Valenzuela A", "Chung L")
    assert ref.title == "Management of Calcinosis Associated with Systemic Sclerosis"
    assert ref.journal == "Current Treatment Options in Rheumatology"
    assert ref.year == 2016
    assert (ref.volume, ref.issue, ref.pages) == ("2", "1", "85–96")
    assert ref.doi is None and ref.pmid is None and ref.pmcid is None
    assert ref.kind == "narrative review"
    assert ref.printed[0].text == (
        "Valenzuela, A., & Chung, L. (2016). Management of Calcinosis Associated with Systemic "
        "Sclerosis. Current Treatment Options in Rheumatology, 2(1), 85–96."
    )


def test_valenzuela2016_regimens(kb):
    # "Intralesional triamcinolone acetonide 20 mg/mL may lessen secondary inflammation."
    r = regimen(kb, "intralesional-corticosteroid", "valenzuela2016", "20 mg/mL")
    assert "riamcinolone acetonide" in r.text
    # "Minocycline 50 or 100 mg/day, used cyclically over the long term."
    r = regimen(kb, "minocycline", "valenzuela2016", "50 or 100 mg/day")
    assert "cyclically" in r.text
    # "Colchicine 1 mg/day by mouth."
    r = regimen(kb, "colchicine", "valenzuela2016", "1 mg/day")
    assert "by mouth" in r.text and "g/day" not in r.text.replace("mg/day", "")
    # "antibiotics that cover streptococci and staphylococci, such as cephalexin,
    # dicloxacillin or clindamycin."
    r = regimen(kb, "antibiotics", "valenzuela2016", "cephalexin")
    for word in ("streptococci", "staphylococci", "dicloxacillin", "clindamycin"):
        assert word in r.text
    # "Prevention: stop smoking; avoid cold, stress and trauma; treat Raynaud's phenomenon and
    # digital ulcers aggressively."
    r = regimen(kb, "blood-flow-measures", "valenzuela2016", "Raynaud")
    for word in ("smoking", "cold", "stress", "trauma", "digital ulcers"):
        assert word in r.text
    for therapy in (
        "intralesional-corticosteroid",
        "minocycline",
        "colchicine",
        "antibiotics",
        "surgical-excision",
        "blood-flow-measures",
    ):
        assert "valenzuela2016" in context_sources(kb, therapy, "ssc"), therapy


def test_valenzuela2016_positions_and_measures(kb):
    # "Large, localised, symptomatic lesions: refer for surgical excision."
    p = position(kb, "surgical-excision", "valenzuela2016")
    assert "large, localised, symptomatic" in p.view.lower()
    for therapy in ("intralesional-corticosteroid", "minocycline", "colchicine", "antibiotics"):
        p = position(kb, therapy, "valenzuela2016")
        assert p.line is None and p.evidence is None and p.grade is None
    # "Pain and inflammation: acetaminophen and/or NSAIDs, with narcotics sometimes needed."
    found = [p for p in kb.principles if "valenzuela2016" in p.sources]
    assert any("acetaminophen and/or NSAIDs" in p.text and "narcotics" in p.text for p in found)
    # "no randomised controlled trial had been completed at the time of writing." The gap's
    # line gives the later review's count (traineau2020: one small RCT); its note keeps
    # Valenzuela's earlier statement, so neither is lost (knowledge 2.0.3).
    gaps = [g for g in kb.gaps if "valenzuela2016" in g.sources]
    assert any("1 small RCT" in g.text for g in gaps)
    assert any("no randomised controlled trial had been" in n.text for g in gaps for n in g.notes)


# --- Conflicts g5 owns: the chapter stays, each side is attributed ------------------------------


def test_diltiazem_chapter_kept_and_conflict_noted(kb):
    chapter = position(kb, "diltiazem", "chapter")
    assert (chapter.line, chapter.evidence) == ("first", "C")
    notes = note_texts(kb.therapy_by_id["diltiazem"])
    for piece in (
        "9 of 17",
        "3 of 12",
        "vayssairat-diltiazem",
        "traineau2020",
        "level IV",
        "nunley2020-calcinosis-treatment",
        "variable benefit",
    ):
        assert piece in notes, piece


def test_warfarin_conflict_noted(kb):
    notes = note_texts(kb.therapy_by_id["warfarin"])
    for piece in (
        "has been advocated",
        "traineau2020",
        "IB",
        "nunley2020-calcinosis-treatment",
        "one small randomised controlled trial",
        "4 retrospective studies",
    ):
        assert piece in notes, piece


def test_minocycline_chapter_place_unchanged(kb):
    chapter = position(kb, "minocycline", "chapter")
    assert (chapter.line, chapter.evidence) == ("second", "E")
    assert kb.therapy_by_id["minocycline"].evidence == "E"
    notes = note_texts(kb.therapy_by_id["minocycline"])
    assert "valenzuela2016" in notes and "davuluri2022" in notes


def test_colchicine_chapter_dose_and_caution_untouched(kb):
    colchicine = kb.therapy_by_id["colchicine"]
    chapter = position(kb, "colchicine", "chapter")
    assert (chapter.line, chapter.evidence) == ("second", "E")
    # The chapter's "<1.2 g/day" (Balin 2012) keeps its wording and its caution.
    balin = regimen(kb, "colchicine", "balin2012", "1.2")
    assert balin.text == "<1.2 g/day"
    assert balin.caution.id == "colchicine-dose-unit"
    assert balin.caution.likely == "<1.2 mg/day"
    study = kb.study_by_id["balin2012-colchicine"]
    assert study.regimen == "<1.2 g/day" and study.caution.id == "colchicine-dose-unit"
    # valenzuela2016's 1 mg/day is said NOT to resolve it.
    notes = note_texts(colchicine)
    assert "valenzuela2016" in notes and "1 mg/day" in notes
    assert "does NOT resolve the chapter's colchicine figure" in notes
    # ...and names it without repeating the gram figure away from its caution
    assert "1.2 g/day" not in notes
