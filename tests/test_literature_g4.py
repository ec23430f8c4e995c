"""Literature pack, group g4: calcinosis cutis, local and minimally invasive therapies.

Every expected value below is typed from the pack files in
/work/shared/sources/literature/ (nowaczyk2021, bair2011, tajalli2019, jcem2016-topicalsts,
mra-ilsts-ssc, clinrheumatol2021-ilsts, badawi-ivsts, blumhardt2016, bottomley1996,
jhandsurg2021-debulking), not copied from the knowledge files. Each test quotes the pack line
it checks.
"""

from __future__ import annotations

import json

import pytest

from calcref.answers import query

G4 = (
    "nowaczyk2021",
    "bair2011",
    "tajalli2019",
    "jcem2016-topicalsts",
    "mra-ilsts-ssc",
    "clinrheumatol2021-ilsts",
    "badawi-ivsts",
    "blumhardt2016",
    "bottomley1996",
    "jhandsurg2021-debulking",
)
G4_THERAPIES = (
    "sodium-thiosulfate",
    "sodium-thiosulfate-intralesional",
    "sodium-thiosulfate-intravenous",
    "eswl",
    "co2-laser",
    "surgical-debulking",
)
COUNT_FIELDS = ("responders", "complete", "partial", "none", "unknown")


def counts(study) -> dict:
    """The patient counts a study states, without the empty ones."""
    c = study.counts
    if c is None:
        return {}
    return {f: getattr(c, f) for f in COUNT_FIELDS if getattr(c, f) is not None}


def texts(statements) -> str:
    return " | ".join(s.text for s in statements)


def note_texts(record) -> str:
    return " | ".join(n.text for n in record.notes)


def everything(kb) -> str:
    """All records as one JSON string, to check that a value appears nowhere."""
    sections = ("references", "studies", "therapies", "subtypes", "investigations", "principles")
    return json.dumps([r.as_json() for s in sections for r in getattr(kb, s)], ensure_ascii=False)


# --- references ---------------------------------------------------------------------------


def test_every_g4_reference_is_there_with_its_own_printed_line(kb):
    for key in G4:
        ref = kb.reference_by_id[key]
        assert ref.printed, key
        assert all(p.source == key for p in ref.printed), key


def test_nowaczyk2021_reference(kb):
    ref = kb.reference_by_id["nowaczyk2021"]
    # "Nowaczyk J, Zawistowski M, Fiedor P" ... "Arch Dermatol Res. 2022 Aug;314(6):515-525"
    assert ref.authors == ("Nowaczyk J", "Zawistowski M", "Fiedor P")
    assert not ref.et_al
    assert ref.title == (
        "Local, non-systemic, and minimally invasive therapies for calcinosis cutis: "
        "a systematic review"
    )
    assert ref.journal == "Arch Dermatol Res"
    # "Year | 2022 (print issue, August); first published online 2021 Jun 24"
    assert ref.year == 2022
    assert "2021" in note_texts(ref) and "2022" in note_texts(ref)
    assert (ref.volume, ref.issue, ref.pages) == ("314", "6", "515-525")
    # "DOI: 10.1007/s00403-021-02264-5 — confirmed on the publisher's page"
    assert ref.doi == "10.1007/s00403-021-02264-5"
    assert "link.springer.com" in ref.confirmed
    # "PMID: not confirmed" / "PMCID: not confirmed"
    assert ref.pmid is None and ref.pmcid is None
    assert ref.kind == "systematic review"
    # "The introduction classifies calcinosis cutis into four types ... do not import"
    assert "four" in note_texts(ref)


def test_unconfirmed_identifiers_appear_nowhere(kb):
    # nowaczyk2021: "PMID 34165603 ... PMCID PMC9232439"; blumhardt2016: "PMID 27494629"
    # are listed under "Not confirmed — do not transcribe".
    dump = everything(kb)
    for unconfirmed in ("34165603", "PMC9232439", "9232439", "27494629"):
        assert unconfirmed not in dump


def test_bair2011_reference(kb):
    ref = kb.reference_by_id["bair2011"]
    # "Brooke Bair DO and David Fivenson MD"; "J Drugs Dermatol. 2011;10(9):1042-1044."
    assert ref.authors == ("Bair B", "Fivenson D")
    assert ref.title == "A Novel Treatment for Ulcerative Calcinosis Cutis"
    assert ref.journal == "J Drugs Dermatol"
    assert (ref.year, ref.volume, ref.issue, ref.pages) == (2011, "10", "9", "1042-1044")
    assert ref.printed[0].text == "J Drugs Dermatol. 2011;10(9):1042-1044."
    # "DOI: not shown. PMID: not shown. PMCID: not shown."
    assert (ref.doi, ref.pmid, ref.pmcid) == (None, None, None)
    assert ref.kind == "case series"


def test_tajalli2019_reference(kb):
    ref = kb.reference_by_id["tajalli2019"]
    # "Mahroo Tajalli, Abrar A Qureshi"; 2019; 5; 11; 988–990
    assert ref.authors == ("Tajalli M", "Qureshi AA")
    assert ref.title == (
        "Successful treatment of calcinosis cutis of fingertip in the setting of CREST syndrome "
        "with topical 20% sodium thiosulfate"
    )
    assert (ref.year, ref.volume, ref.issue, ref.pages) == (2019, "5", "11", "988–990")
    # "DOI: 10.1016/j.jdcr.2019.08.011 — confirmed on the PMC page." (PMID, PMCID likewise)
    assert ref.doi == "10.1016/j.jdcr.2019.08.011"
    assert ref.pmid == "31709293"
    assert ref.pmcid == "PMC6835016"
    assert "PMC" in ref.confirmed
    assert ref.kind == "case report"


def test_jcem2016_reference(kb):
    ref = kb.reference_by_id["jcem2016-topicalsts"]
    # "Authors | not shown"
    assert ref.authors == ()
    assert ref.title == (
        "Topical Sodium Thiosulfate: A Treatment for Calcifications in Hyperphosphatemic "
        "Familial Tumoral Calcinosis?"
    )
    assert ref.journal == "J Clin Endocrinol Metab"
    assert (ref.year, ref.volume, ref.issue, ref.pages) == (2016, "101", "7", "2810-5")
    # "PMID: 27163355 — confirmed on PubMed"; "DOI: not shown. PMCID: not shown."
    assert ref.pmid == "27163355"
    assert "PubMed" in ref.confirmed
    assert ref.doi is None and ref.pmcid is None
    assert ref.kind == "case series"


def test_mra_ilsts_ssc_reference(kb):
    ref = kb.reference_by_id["mra-ilsts-ssc"]
    # "Authors | not shown"; "Year | not shown"; "Volume / issue / pages | not shown"
    assert ref.authors == ()
    assert ref.year is None
    assert (ref.volume, ref.issue, ref.pages) == (None, None, None)
    # title "spelling as shown"
    assert ref.title.startswith("Dysthrophic calcification in Systemic Sclerosis")
    # "inferred from the web address (esmed.org/MRA)"
    assert "esmed.org/MRA" in note_texts(ref)
    assert (ref.doi, ref.pmid, ref.pmcid) == (None, None, None)
    assert ref.kind == "prospective series"


def test_clinrheumatol2021_reference(kb):
    ref = kb.reference_by_id["clinrheumatol2021-ilsts"]
    # "Clin Rheumatol. 2021 Jul;40(7):2985-2989. doi: 10.1007/s10067-020-05523-4. Epub 2020 Nov 26."
    assert ref.authors == ()
    assert ref.journal == "Clin Rheumatol"
    assert (ref.year, ref.volume, ref.issue, ref.pages) == (2021, "40", "7", "2985-2989")
    assert ref.printed[0].text == (
        "Clin Rheumatol. 2021 Jul;40(7):2985-2989. doi: 10.1007/s10067-020-05523-4. "
        "Epub 2020 Nov 26."
    )
    assert ref.doi == "10.1007/s10067-020-05523-4"
    assert ref.pmid == "33244722"
    assert ref.pmcid is None
    assert "pubmed" in ref.confirmed.lower()
    assert ref.kind == "case report"


def test_badawi_reference(kb):
    ref = kb.reference_by_id["badawi-ivsts"]
    # Authors "Seen only on an unauthorised PDF copy, which must not be cited"
    assert ref.authors == ()
    assert ref.title == "Dystrophic Calcinosis Cutis: Treatment With Intravenous Sodium Thiosulfate"
    # "Journal | not shown"; "Year | not shown"
    assert ref.journal is None and ref.year is None
    assert (ref.doi, ref.pmid, ref.pmcid) == (None, None, None)
    assert ref.kind == "case report"
    assert "unauthorised" in note_texts(ref)


def test_blumhardt2016_reference(kb):
    ref = kb.reference_by_id["blumhardt2016"]
    # "S. Blumhardt, D.P. Frey, M. Toniolo, H. Alkadhi, U. Held, O. Distler"
    assert ref.authors == (
        "Blumhardt S",
        "Frey DP",
        "Toniolo M",
        "Alkadhi H",
        "Held U",
        "Distler O",
    )
    assert (ref.year, ref.volume, ref.issue, ref.pages) == (2016, "34", "5 Suppl 100", "177–180")
    # "2016 Vol.34, N°5 ,Suppl.100 PI 0177, PF 0180" (publisher's page)
    assert ref.printed[0].text == "2016 Vol.34, N°5 ,Suppl.100 PI 0177, PF 0180"
    # "DOI: not shown. PMCID: not shown." PMID not confirmed.
    assert (ref.doi, ref.pmid, ref.pmcid) == (None, None, None)
    assert ref.kind == "prospective trial"


def test_bottomley1996_reference(kb):
    ref = kb.reference_by_id["bottomley1996"]
    # "Ww. Bottomley et al."; "Br J Dermatol. 1996 Aug;135(2):302-4." (PubMed)
    assert ref.authors == ("Bottomley WW",)
    assert ref.et_al is True
    assert ref.journal == "Br J Dermatol"
    assert (ref.year, ref.volume, ref.issue, ref.pages) == (1996, "135", "2", "302-4")
    assert ref.printed[0].text == "Br J Dermatol. 1996 Aug;135(2):302-4."
    # "PMID: 8881679 — confirmed on PubMed"; "DOI: not shown. PMCID: not shown."
    assert ref.pmid == "8881679"
    assert ref.doi is None and ref.pmcid is None
    assert ref.kind == "case series"


def test_jhandsurg2021_reference(kb):
    ref = kb.reference_by_id["jhandsurg2021-debulking"]
    # "J Hand Surg Am. 2021 Oct;46(10):928.e1-928.e9. doi: 10.1016/j.jhsa.2021.01.025."
    assert ref.authors == ()
    assert ref.journal == "J Hand Surg Am"
    assert (ref.year, ref.volume, ref.issue, ref.pages) == (2021, "46", "10", "928.e1-928.e9")
    assert ref.doi == "10.1016/j.jhsa.2021.01.025"
    assert ref.pmid == "33795151"
    assert ref.pmcid is None
    assert ref.kind == "retrospective cohort or series"


# --- studies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "study_id, therapy, figures",
    [
        # "On average treatment lasted 4.9 months (range 2–24)."
        ("nowaczyk2021-sodium-thiosulfate", "sodium-thiosulfate", ["4.9 months (range 2–24)"]),
        # "by a median of 1 (range 0–5) with intralesional STS"
        (
            "nowaczyk2021-sodium-thiosulfate-intralesional",
            "sodium-thiosulfate-intralesional",
            ["median of 1 (range 0–5)"],
        ),
        # "Pain on the VAS fell by a median of 3 (range 0–9) with ESWL"
        ("nowaczyk2021-eswl", "eswl", ["median of 3 (range 0–9)"]),
        # "After one laser session, microcalcifications cleared completely in 57% (12/21)."
        ("nowaczyk2021-co2-laser", "co2-laser", ["57% (12/21)"]),
    ],
)
def test_nowaczyk2021_pooled_studies(kb, study_id, therapy, figures):
    s = kb.study_by_id[study_id]
    assert s.ref == "nowaczyk2021"
    assert s.therapies == (therapy,)
    assert s.kind == "systematic review"
    # per-therapy patient numbers are not shown: no n, no counts
    assert s.n is None
    assert counts(s) == {}
    # "between 64% and 81% of cases"; "Recurrence during follow-up was rare: 2% (3/136)."
    for figure in ["64%", "81%", "2% (3/136)", *figures]:
        assert figure in s.outcome
    # "40 published studies with 136 patients"; "Reports on calciphylaxis were excluded"
    assert "40" in s.population and "136" in s.population
    assert "calciphylaxis" not in s.subtypes
    assert s.direction == "benefit"
    # "the evidence is of poor quality ... non-randomised studies at high risk of bias"
    assert "non-randomised" in s.conclusion


def test_nowaczyk2021_harms(kb):
    # "Intralesional STS injections caused pain that passed, in more than 11% of patients."
    il = kb.study_by_id["nowaczyk2021-sodium-thiosulfate-intralesional"]
    assert "more than 11%" in texts(il.harms)
    # "scarring plus hyperkeratosis after CO2 laser: 56% (10/18)"
    laser = kb.study_by_id["nowaczyk2021-co2-laser"]
    assert "56% (10/18)" in texts(laser.harms)
    assert "56% (10/18)" in texts(kb.therapy_by_id["co2-laser"].harms)


def test_bair2011_study(kb):
    s = kb.study_by_id["bair2011"]
    assert s.therapies == ("sodium-thiosulfate",)
    assert s.kind == "case series"
    # "2 patients"; "If counts are entered, responders = 2 of n = 2, with complete and
    # partial left empty."
    assert s.n == 2
    assert counts(s) == {"responders": 2}
    # "sodium thiosulfate 25%, compounded in zinc oxide"
    assert "25%" in s.regimen and "zinc oxide" in s.regimen
    # "a 74-year-old woman ... 38 × 13 × 2 mm"
    assert "74" in s.age
    assert "38 × 13 × 2 mm" in s.population
    assert s.subtypes == ("dystrophic",)
    assert s.direction == "benefit"


def test_tajalli2019_study(kb):
    s = kb.study_by_id["tajalli2019"]
    assert s.therapies == ("sodium-thiosulfate",)
    assert s.kind == "case report"
    # "One patient with calcinosis cutis of a fingertip in CREST syndrome."
    assert s.n == 1
    assert counts(s) == {"responders": 1}
    assert s.contexts == ("ssc",)
    assert s.subtypes == ("dystrophic",)
    # "sodium thiosulfate 20%, applied topically"
    assert "20%" in s.regimen and "25%" not in s.regimen
    assert s.direction == "benefit"


def test_jcem2016_study_is_tumoral_only(kb):
    s = kb.study_by_id["jcem2016-topicalsts"]
    assert s.therapies == ("sodium-thiosulfate",)
    assert s.kind == "case series"
    # "3 patients with hyperphosphatemic familial tumoral calcinosis"
    assert s.n == 3
    assert s.subtypes == ("tumoral",)
    assert "dystrophic" not in s.subtypes
    # "The concentration of sodium thiosulfate was not shown. Give none."
    assert "daily" in s.regimen
    assert "%" not in s.regimen and "mg" not in s.regimen
    # "After at least 5 months, the calcifications decreased both clinically and on imaging."
    assert "5 months" in s.outcome
    # "The treatment was well tolerated."
    assert "well tolerated" in texts(s.harms)
    assert s.direction == "benefit"
    assert counts(s) == {}
    # reached through the study, not written onto the chapter's therapy
    assert "tumoral" in query.therapy_subtypes(kb, kb.therapy_by_id["sodium-thiosulfate"])
    assert "tumoral" in kb.subtype_by_id  # the chapter's rare variant


def test_mra_ilsts_ssc_study(kb):
    s = kb.study_by_id["mra-ilsts-ssc"]
    assert s.therapies == ("sodium-thiosulfate-intralesional",)
    assert s.kind == "prospective series"
    # "38 (33 women, 5 men) had one or more troublesome lesions ... treated"
    assert s.n == 38
    assert counts(s) == {}
    # "18 with limited SSc, 8 with diffuse SSc, 2 with overlap disease and 1 with dermatomyositis"
    assert "ssc" in s.contexts and "dm" in s.contexts
    assert s.subtypes == ("dystrophic",)
    for figure in ("43", "463", "36", "29", "18", "8 with diffuse", "2 with overlap"):
        assert figure in s.population
    # "sodium thiosulfate 150 mg/mL, once a week for 4 weeks ... Review followed 12–16 weeks
    # later ... plaster was kept on for at least 24 hours"
    for part in ("150 mg/mL", "once a week for 4 weeks", "12–16 weeks", "24 hours"):
        assert part in s.regimen
    # "mean PtGA 6.4 and PhGA 6.1" ... "mean fall was 2.7 (PtGA) and 2.5 (PhGA); p << 0.001"
    assert "6.4" in s.outcome and "6.1" in s.outcome
    by_value = {e.value: e for e in s.effects}
    assert set(by_value) == {"2.7", "2.5"}
    assert "PtGA" in by_value["2.7"].measure and "PhGA" in by_value["2.5"].measure
    assert all(e.p == "p << 0.001" for e in s.effects)
    assert all(e.interval is None and e.level is None for e in s.effects)
    assert s.direction == "benefit"
    # "Do not transcribe any adverse-event statement or figure from it."
    assert s.harms == ()


def test_clinrheumatol2021_study(kb):
    s = kb.study_by_id["clinrheumatol2021-ilsts"]
    assert s.therapies == ("sodium-thiosulfate-intralesional",)
    assert s.kind == "case report"
    # "One patient with diffuse systemic sclerosis and two symmetrical calcinosis plaques"
    assert s.n == 1
    assert s.contexts == ("ssc",)
    # "a sodium thiosulfate solution of 250 mg/mL, injected into the plaques at three
    # monthly sessions"; "Complete resolution followed the three sessions."
    assert "250 mg/mL" in s.regimen and "three monthly sessions" in s.regimen
    assert counts(s) == {"responders": 1, "complete": 1}
    # "The only adverse effect reported was a brief burning feeling during the injections."
    assert "burning" in texts(s.harms)
    assert s.direction == "benefit"


def test_badawi_study_is_calcinosis_cutis_not_calciphylaxis(kb):
    s = kb.study_by_id["badawi-ivsts"]
    assert s.therapies == ("sodium-thiosulfate-intravenous",)
    assert s.kind == "case report"
    # "One 54-year-old woman with well-controlled dermatomyositis and systemic lupus
    # erythematosus"
    assert s.n == 1
    assert s.age == "54 years"
    assert set(s.contexts) == {"dm", "sle"}
    assert s.subtypes == ("dystrophic",)
    assert "calciphylaxis" not in s.subtypes and "ckd" not in s.contexts
    # "intravenous sodium thiosulfate 12.5 g three times a week, each infusion over 30 minutes"
    for part in ("12.5 g", "three times a week", "30 minutes", "once weekly"):
        assert part in s.regimen
    # "3-month visit ... shrunk dramatically"; "After 8 months ... stopped ... lupus-like flare";
    # "The lesions then came back"; "restarted once weekly, and the calcinosis again decreased"
    for part in ("3-month", "8 months", "lupus-like flare", "came back", "decreased again"):
        assert part in s.outcome
    assert counts(s) == {"responders": 1}
    assert s.direction == "benefit"
    iv = kb.therapy_by_id["sodium-thiosulfate-intravenous"]
    assert any("12.5 g" in r.text and "badawi-ivsts" in r.sources for r in iv.regimens)


def test_blumhardt2016_study(kb):
    s = kb.study_by_id["blumhardt2016"]
    assert s.therapies == ("eswl",)
    assert s.kind == "prospective trial"
    # "4 patients with systemic sclerosis and calcinosis cutis"
    assert s.n == 4
    assert s.contexts == ("ssc",)
    # "3 sessions, one week apart. A second finger was left untreated as the control."
    assert "3 sessions" in s.regimen
    assert "untreated finger" in s.comparator
    # "Pain in the treated finger fell in 2 of the 4 patients, by 91% and by 60%."
    # "shrank in 3 patients on ultrasound and in 4 patients on CT"
    for part in ("2 of the 4", "91%", "60%", "3 patients on ultrasound", "4 patients on CT"):
        assert part in s.outcome
    assert counts(s) == {}
    # the source's own term, ESWT, is kept
    assert "ESWT" in s.design and "ESWT" in s.regimen
    assert "eswt" in kb.therapy_by_id["eswl"].aliases
    # "The abstract was cut off after these results": no authors' conclusion, and pain fell in
    # only 2 of 4, so no direction is inferred (knowledge 2.0.3; it was "benefit").
    assert s.direction is None


def test_bottomley1996_counts_lesions_in_text_only(kb):
    s = kb.study_by_id["bottomley1996"]
    assert s.therapies == ("co2-laser",)
    assert s.kind == "case series"
    # "6 patients with limited systemic sclerosis, with 21 symptomatic areas"
    assert s.n == 6
    assert s.contexts == ("ssc",)
    # "The outcome counts are per lesion (21), not per patient (6) ... do not enter 12/5/2/2"
    assert counts(s) == {}
    for part in (
        "12 of 21",
        "partial improvement in 5",
        "little improvement in 2",
        "recurrence in 2",
        "6 weeks",
        "(range 4–10)",
        "20 months",
        "(range 12–40)",
    ):
        assert part in s.outcome
    # "2 patients had a post-operative infection, which cleared with topical plus oral
    # antibiotics."
    assert "2 patients" in texts(s.harms) and "antibiotics" in texts(s.harms)
    assert s.direction == "benefit"


def test_jhandsurg2021_study(kb):
    s = kb.study_by_id["jhandsurg2021-debulking"]
    assert s.therapies == ("surgical-debulking",)
    assert s.kind == "retrospective cohort or series"
    # "39 patients ... 41 upper extremities ... between August 2014 and August 2019"
    assert s.n == 39
    assert s.contexts == ("ssc",)
    assert "41" in s.population and "August 2014" in s.population
    # "Median follow-up: 22 months (range 13–60)."; "median 5 (range 0–10) before surgery and
    # 0 (range 0–8) after"; ROM 15% / 85% / 0%; numbness 5% / 85% / 10%
    for part in (
        "22 months (range 13–60)",
        "5 (range 0–10)",
        "0 (range 0–8)",
        "improved in 15%",
        "improved in 5%",
        "worse in 10%",
    ):
        assert part in s.outcome
    # "Complications: 17, in 13 patients."
    assert "17 complications, in 13 patients" in texts(s.harms)
    # "The p-value for the fall in pain ... not shown"
    assert s.effects == ()
    assert counts(s) == {}
    assert s.direction == "benefit"


def test_g4_studies_cite_their_own_reference(kb):
    for s in kb.studies:
        if s.ref in G4:
            assert s.sources == (s.ref,), s.id
            assert s.aim in (None, "treatment"), s.id


# --- therapies, conflicts, frequencies ------------------------------------------------------


def test_no_g4_position_has_a_line_or_letter(kb):
    for therapy in kb.therapies:
        for p in therapy.positions:
            if p.source in G4:
                assert p.line is None and p.evidence is None, (therapy.id, p.source)
    for tid in G4_THERAPIES:
        t = kb.therapy_by_id[tid]
        assert all(
            p.line is None and p.evidence is None
            for p in t.positions
            if p.source not in ("chapter", "jopa")
        ), tid


def test_topical_sts_concentration_note(kb):
    t = kb.therapy_by_id["sodium-thiosulfate"]
    # "Topical: 25% in zinc oxide (bair2011), 20% (tajalli2019), 25%
    # (nunley2020-calcinosis-treatment); not shown in jcem2016-topicalsts."
    note = next(n.text for n in t.notes if "bair2011" in n.text and "tajalli2019" in n.text)
    for part in (
        "25% in zinc oxide",
        "20%",
        "nunley2020-calcinosis-treatment",
        "jcem2016-topicalsts",
    ):
        assert part in note
    regimens = {r.sources[0]: r.text for r in t.regimens if r.sources[0] in G4}
    assert "25%" in regimens["bair2011"] and "zinc oxide" in regimens["bair2011"]
    assert "20%" in regimens["tajalli2019"]
    assert "%" not in regimens["jcem2016-topicalsts"]
    assert {"bair2011", "tajalli2019", "jcem2016-topicalsts", "nowaczyk2021"} <= set(t.sources)


def test_intralesional_sts_concentration_note(kb):
    t = kb.therapy_by_id["sodium-thiosulfate-intralesional"]
    # "Intralesional: 150 mg/mL (mra-ilsts-ssc), 250 mg/mL (clinrheumatol2021-ilsts), 25%
    # (nunley2020-calcinosis-treatment)"; "do not convert between units"
    note = next(n.text for n in t.notes if "mra-ilsts-ssc" in n.text)
    for part in (
        "150 mg/mL",
        "mra-ilsts-ssc",
        "250 mg/mL",
        "clinrheumatol2021-ilsts",
        "25%",
        "nunley2020-calcinosis-treatment",
    ):
        assert part in note
    regimens = {r.sources[0]: r.text for r in t.regimens if r.sources[0] in G4}
    assert "150 mg/mL" in regimens["mra-ilsts-ssc"]
    assert "250 mg/mL" in regimens["clinrheumatol2021-ilsts"]
    # no unit conversion anywhere: neither "15%" nor "25 %" from a mg/mL figure
    assert "15%" not in " ".join(regimens.values())
    # "transient pain in over 11%" (nowaczyk2021); "transient burning" (clinrheumatol2021-ilsts)
    assert "more than 11%" in texts(t.harms)
    assert "burning" in texts(t.harms)


def test_tajalli_limited_ssc_frequency_is_separate(kb):
    dystrophic = kb.subtype_by_id["dystrophic"]
    ssc = [f for f in dystrophic.frequencies if f.context == "ssc"]
    # the chapter's "approximately 25%" of SSc stays as it was, with chapter and JOPA
    chapter = next(f for f in ssc if any("chapter" in s.sources for s in f.statements))
    assert chapter.figure == "approximately 25% (chapter) and 25% (JOPA)"
    assert all("tajalli2019" not in s.sources for s in chapter.statements)
    # "It affects about 25% of patients with limited systemic sclerosis."
    tajalli = next(f for f in ssc if any("tajalli2019" in s.sources for s in f.statements))
    assert tajalli is not chapter
    assert tajalli.figure == "about 25%"
    assert tajalli.population == "limited systemic sclerosis"  # shown beside the figure
    statement = tajalli.statements[0]
    assert statement.sources == ("tajalli2019",)
    assert "limited systemic sclerosis" in statement.text
    note = note_texts(statement)
    assert "limited" in note and "chapter" in note and "JOPA" in note


def test_topical_intralesional_intravenous_are_separate_therapies(kb):
    topical = {s.id for s in kb.studies_of("sodium-thiosulfate") if s.ref in G4}
    intralesional = {s.id for s in kb.studies_of("sodium-thiosulfate-intralesional") if s.ref in G4}
    intravenous = {s.id for s in kb.studies_of("sodium-thiosulfate-intravenous") if s.ref in G4}
    assert topical == {
        "nowaczyk2021-sodium-thiosulfate",
        "bair2011",
        "tajalli2019",
        "jcem2016-topicalsts",
    }
    assert intralesional == {
        "nowaczyk2021-sodium-thiosulfate-intralesional",
        "mra-ilsts-ssc",
        "clinrheumatol2021-ilsts",
    }
    assert intravenous == {"badawi-ivsts"}
    assert {s.id for s in kb.studies_of("eswl") if s.ref in G4} == {
        "nowaczyk2021-eswl",
        "blumhardt2016",
    }
    assert {s.id for s in kb.studies_of("co2-laser") if s.ref in G4} == {
        "nowaczyk2021-co2-laser",
        "bottomley1996",
    }
    assert {s.id for s in kb.studies_of("surgical-debulking") if s.ref in G4} == {
        "jhandsurg2021-debulking"
    }


def test_subtype_count_and_evidence_caveat(kb):
    # nowaczyk2021: "four types ... no calciphylaxis"; tajalli2019: "five subtypes, including
    # calciphylaxis"
    note = note_texts(kb.subtype_by_id["calciphylaxis"])
    assert "nowaczyk2021" in note and "tajalli2019" in note
    # tajalli2019: "Controlled trials are largely absent ... case reports and small series"
    caveat = next(p for p in kb.principles if "tajalli2019" in p.sources)
    assert caveat.kind == "caveat"
    assert "case reports and small series" in caveat.text


def test_ct_tie_from_blumhardt(kb):
    # "The calcinosis in the treated finger shrank ... in 4 patients on CT."
    ct = kb.investigation_by_id["ct-mri"]
    tie = next(t for t in ct.ties if "blumhardt2016" in t.sources)
    assert (tie.target, tie.basis) == ("ssc", "literature")
