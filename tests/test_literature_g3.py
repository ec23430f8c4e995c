"""Literature pack, group g3: calciphylaxis and calcinosis, reviews and workup.

Sources (literature pack files): strand2022.md, kodumudi2020.md, nunley2020-calciphylaxis-sts.md,
nunley2018-calciphylaxis-workup.md, jaad2011-diagnostic-pathway.md, jimenezgallo2015.md.

Every expected value below is typed from the pack's .md files (quoted in the comments), not
copied from the knowledge files.
"""

from __future__ import annotations

import json

import pytest

from calcref.model import SOURCE_KINDS

G3_SOURCES = (
    "strand2022",
    "kodumudi2020",
    "nunley2020-calciphylaxis-sts",
    "nunley2018-calciphylaxis-workup",
    "jaad2011-diagnostic-pathway",
    "jimenezgallo2015",
)


def dumped(record) -> str:
    return json.dumps(record.as_json(), ensure_ascii=False)


def positions_by(kb, therapy_id, source):
    return [p for p in kb.therapy_by_id[therapy_id].positions if p.source == source]


def texts(statements) -> str:
    return " | ".join(s.text for s in statements)


# --- references -------------------------------------------------------------------------------


def test_strand2022_reference(kb):
    ref = kb.reference_by_id["strand2022"]
    # "Strand N, Maloney J, Wu S, Kraus M, Schneider R, Gomez D, Char S. Perioperative Management
    #  of Calciphylaxis: Literature Review and Treatment Recommendations. Orthopedic Reviews 2022
    #  (issue 3)"
    assert ref.type == "article"
    assert ref.authors == (
        "Strand N",
        "Maloney J",
        "Wu S",
        "Kraus M",
        "Schneider R",
        "Gomez D",
        "Char S",
    )
    assert ref.title == (
        "Perioperative Management of Calciphylaxis: Literature Review and Treatment Recommendations"
    )
    assert ref.journal == "Orthopedic Reviews"
    assert ref.year == 2022
    assert ref.issue == "3"  # Issue: 3 (shown as "№ 3")
    # Volume: not shown; Pages / article number: not shown
    assert ref.volume is None and ref.pages is None and ref.article_number is None
    # "DOI: not confirmed. PMID: not shown. PMCID: not shown."
    assert ref.doi is None and ref.pmid is None and ref.pmcid is None
    # Not confirmed — do not transcribe: DOI 10.52965/001c.37573
    assert "10.52965" not in dumped(ref)
    assert ref.kind == "narrative review"
    assert [p.source for p in ref.printed] == ["strand2022"]


def test_kodumudi2020_reference(kb):
    ref = kb.reference_by_id["kodumudi2020"]
    # Authors: Vijay Kodumudi, George M Jeha, Nicholas Mydlo, Alan D Kaye
    # (README line: "Kodumudi V, Jeha GM, Mydlo N, Kaye AD")
    assert ref.authors == ("Kodumudi V", "Jeha GM", "Mydlo N", "Kaye AD")
    assert ref.title == "Management of Cutaneous Calciphylaxis"
    # Journal: not shown as text
    assert ref.journal is None
    # "2020 Sep 30;37(12):4797–4807. doi: 10.1007/s12325-020-01504-w" (PMC page)
    assert ref.year == 2020
    assert (ref.volume, ref.issue, ref.pages) == ("37", "12", "4797–4807")
    assert ref.doi == "10.1007/s12325-020-01504-w"
    assert ref.pmid == "32997277"
    assert ref.pmcid == "PMC7595979"
    assert "PMC" in ref.confirmed
    assert "2020 Sep 30;37(12):4797–4807. doi: 10.1007/s12325-020-01504-w" in [
        p.text for p in ref.printed
    ]
    assert ref.kind == "narrative review"


def test_nunley2020_calciphylaxis_sts_reference(kb):
    ref = kb.reference_by_id["nunley2020-calciphylaxis-sts"]
    # "Nunley JR. What is the role of sodium thiosulfate in the treatment of calciphylaxis?
    #  Medscape, updated Feb 24, 2020"
    assert ref.type == "online"
    assert ref.authors == ("Nunley JR",)
    assert ref.title == "What is the role of sodium thiosulfate in the treatment of calciphylaxis?"
    assert ref.year == 2020
    assert ref.site == "Medscape"
    assert ref.updated == "Feb 24, 2020"
    # Identifiers: None (web page)
    assert ref.doi is None and ref.pmid is None and ref.pmcid is None
    assert ref.kind == "narrative review"


def test_nunley2018_calciphylaxis_workup_reference(kb):
    ref = kb.reference_by_id["nunley2018-calciphylaxis-workup"]
    # "Nunley JR. Calciphylaxis: Workup. Medscape eMedicine article 1095481, updated Aug 02, 2018"
    assert ref.type == "online"
    assert ref.authors == ("Nunley JR",)
    assert ref.title == "Calciphylaxis Workup"  # page title as recorded by the survey
    assert ref.year == 2018
    assert ref.site == "Medscape eMedicine"
    assert ref.updated == "Aug 02, 2018"
    assert ref.doi is None and ref.pmid is None and ref.pmcid is None
    assert ref.kind == "narrative review"


def test_jaad2011_diagnostic_pathway_reference(kb):
    ref = kb.reference_by_id["jaad2011-diagnostic-pathway"]
    # "J Am Acad Dermatol. 2011 Jul;65(1):1-12; quiz 13-4. doi: 10.1016/j.jaad.2010.08.038."
    assert ref.type == "article"
    assert ref.title == "Calcinosis cutis: part I. Diagnostic pathway"
    assert ref.journal == "J Am Acad Dermatol"
    assert ref.year == 2011
    assert (ref.volume, ref.issue, ref.pages) == ("65", "1", "1-12")
    assert ref.doi == "10.1016/j.jaad.2010.08.038"  # confirmed on PubMed
    assert ref.pmid == "21679810"  # confirmed on PubMed
    assert ref.pmcid is None  # PMCID: not shown
    assert "PubMed" in ref.confirmed
    # Authors: Not shown on the PubMed page; the mirror's names are not confirmed.
    assert ref.authors == ()
    assert "Reiter" not in dumped(ref) and "Aberer" not in dumped(ref)
    # "Do not merge the two": part II stays the chapter's reiter2011.
    part2 = kb.reference_by_id["reiter2011"]
    assert part2.title == "Calcinosis cutis: part II. Treatment options"
    assert part2.pages == "15–22"
    assert ref.kind == "narrative review"


def test_jimenezgallo2015_reference(kb):
    ref = kb.reference_by_id["jimenezgallo2015"]
    # "Jiménez-Gallo D, Ossorio-García L, Linares-Barrios M. Calcinosis Cutis and Calciphylaxis.
    #  Actas Dermosifiliogr 2015;106(10):785-794"
    assert ref.authors == ("Jiménez-Gallo D", "Ossorio-García L", "Linares-Barrios M")
    assert ref.title == "Calcinosis Cutis and Calciphylaxis"
    assert ref.journal == "Actas Dermosifiliogr"
    assert ref.year == 2015
    assert (ref.volume, ref.issue, ref.pages) == ("106", "10", "785-794")
    # "DOI: not confirmed. PMID: not confirmed. PMCID: not shown."
    assert ref.doi is None and ref.pmid is None and ref.pmcid is None
    # Not confirmed — do not transcribe: DOI 10.1016/j.ad.2015.09.001, PMID 26394755
    assert "10.1016/j.ad.2015.09.001" not in dumped(ref)
    assert "26394755" not in dumped(ref)
    assert ref.kind == "narrative review"


def test_every_g3_reference_has_its_own_printed_line(kb):
    for key in G3_SOURCES:
        ref = kb.reference_by_id[key]
        assert ref.printed, key
        assert all(p.source == key for p in ref.printed), key


def test_unconfirmed_identifiers_appear_nowhere(kb):
    # "Not confirmed — do not transcribe" identifiers of strand2022 and jimenezgallo2015
    everything = " ".join(
        dumped(r)
        for section in ("references", "studies", "therapies")
        for r in getattr(kb, section)
    )
    for bad in ("10.52965/001c.37573", "10.1016/j.ad.2015.09.001", "26394755"):
        assert bad not in everything


# --- strand2022: its table rows are studies cited to strand2022 ----------------------------------

# (id, therapies, n, counts, direction, contexts that must be present)
STRAND_ROWS = [
    # "Brandenburg 2019: open-label, single-arm study of 14 patients given SNF472 intravenously
    #  three times weekly for 12 weeks during haemodialysis. Well tolerated; wound healing, pain
    #  and quality of life improved. Strand's level IV."
    ("strand2022-brandenburg2019", ("hexasodium-fytate",), 14, {}, "benefit", {"ckd", "dialysis"}),
    # "Lal 2009: retrospective, 26 patients. Debridement improved survival, and
    #  parathyroidectomy did not. Strand's level V." n counts the patients treated: how many of
    #  the 26 (or of McCarthy's 101) had the operation is not given, so no n.
    ("strand2022-lal2009-debridement", ("debridement",), None, {}, "benefit", {"ckd"}),
    (
        "strand2022-lal2009-parathyroidectomy",
        ("parathyroidectomy",),
        None,
        {},
        "no significant effect",
        {"ckd"},
    ),
    # "McCarthy 2016: retrospective, 101 patients at Mayo Clinic, 1999–2014. Survival improved
    #  with debridement and, in patients with hyperparathyroidism, with parathyroidectomy."
    ("strand2022-mccarthy2016-debridement", ("debridement",), None, {}, "benefit", {"ckd"}),
    (
        "strand2022-mccarthy2016-parathyroidectomy",
        ("parathyroidectomy",),
        None,
        {},
        "benefit",
        {"ckd", "hyperparathyroidism"},
    ),
    # "Robert 2020: 8 patients treated with rheopheresis after STS and withdrawal of vitamin K
    #  antagonists had failed; 5 had complete remission. Strand's level VI."
    ("strand2022-robert2020", ("rheopheresis",), 8, {"complete": 5}, "benefit", {"ckd"}),
    # "Chinnadurai 2020: a survey of 106 UK palliative-care and renal clinicians." (clinicians,
    #  not patients: no n)
    ("strand2022-chinnadurai2020", ("pain-management",), None, {}, None, {"ckd"}),
    # "Chang 2019 (narrative review): ..." (no patient numbers)
    (
        "strand2022-chang2019",
        ("debridement", "hyperbaric-oxygen", "pain-management"),
        None,
        {},
        None,
        {"ckd"},
    ),
    # "Darres 2019: retrospective, 71 patients on STS who were also given topical cerium
    #  nitrate–silver sulfadiazine. The row calls it possibly protective; the rest of the row
    #  was cut off." (no clear direction)
    ("strand2022-darres2019", ("cerium-nitrate-silver-sulfadiazine",), 71, {}, None, {"ckd"}),
    # "Torregrosa 2015: 12 patients studied retrospectively and 11 prospectively, all given
    #  bisphosphonates. The outcome was cut off and not retrieved." (no total printed)
    ("strand2022-torregrosa2015", ("bisphosphonates",), None, {}, None, {"ckd"}),
]


@pytest.mark.parametrize(("sid", "therapies", "n", "counts", "direction", "contexts"), STRAND_ROWS)
def test_strand2022_rows(kb, sid, therapies, n, counts, direction, contexts):
    study = kb.study_by_id[sid]
    assert study.ref == "strand2022"
    assert study.sources == ("strand2022",)
    assert study.therapies == therapies
    assert study.n == n
    given = {k: v for k, v in study.counts.as_json().items() if v is not None}
    assert given == counts
    assert study.direction == direction
    assert contexts <= set(study.contexts)
    # Calciphylaxis studies are of the calciphylaxis subtype, never dystrophic.
    assert study.subtypes == ("calciphylaxis",)
    assert study.effects == ()  # no effect sizes are printed in Strand's rows
    assert study.population
    assert study.kind is None or study.kind in SOURCE_KINDS


def test_strand2022_row_details(kb):
    b = kb.study_by_id["strand2022-brandenburg2019"]
    assert "open-label" in b.design and "single-arm" in b.design
    assert "level IV" in b.design
    assert "three times weekly" in b.regimen and "12 weeks" in b.regimen
    assert "haemodialysis" in b.regimen
    assert "Well tolerated" in b.outcome
    assert kb.study_by_id["strand2022-lal2009-debridement"].kind == "retrospective cohort or series"
    assert "level V" in kb.study_by_id["strand2022-lal2009-parathyroidectomy"].design
    m = kb.study_by_id["strand2022-mccarthy2016-parathyroidectomy"]
    assert "Mayo Clinic" in m.population and "1999–2014" in m.population
    assert "hyperparathyroidism" in m.outcome
    r = kb.study_by_id["strand2022-robert2020"]
    assert "vitamin K antagonists" in r.population
    assert "level VI" in r.design
    c = kb.study_by_id["strand2022-chinnadurai2020"]
    assert "106" in c.population and "clinicians" in c.population
    assert "alfentanil" in c.regimen and "CSCI" in c.regimen
    assert "gabapentin 100 mg" in c.regimen and "frequency not shown" in c.regimen
    for drug in ("morphine", "oxycodone", "tramadol", "codeine"):
        assert drug in texts(c.harms)
    ch = kb.study_by_id["strand2022-chang2019"]
    assert ch.kind == "narrative review"
    assert "apixaban" in ch.outcome and "fentanyl or methadone" in ch.outcome
    d = kb.study_by_id["strand2022-darres2019"]
    assert "possibly protective" in d.outcome and "cut off" in d.outcome
    t = kb.study_by_id["strand2022-torregrosa2015"]
    assert "12" in t.population and "11" in t.population
    assert "not retrieved" in t.outcome


def test_strand2022_row_authors_have_no_references(kb):
    # "Do not create references for them from this file."
    for key in (
        "brandenburg2019",
        "lal2009",
        "mccarthy2016",
        "robert2020",
        "chinnadurai2020",
        "chang2019",
        "darres2019",
        "kramann2013",
        "torregrosa2015",
    ):
        assert key not in kb.reference_by_id


def test_strand2022_own_levels_are_attributed_grades(kb):
    # "Strand's levels (IV, V, VI) are Strand's own scale. Quote them as 'Strand 2022, level …'"
    expected = {
        "hexasodium-fytate": "level IV",
        "debridement": "level V",
        "parathyroidectomy": "level V",
        "tpa": "level V",
        "hyperbaric-oxygen": "level V",
        "sodium-thiosulfate-intravenous": "level V",
        "rheopheresis": "level VI",
    }
    for therapy_id, level in expected.items():
        grades = [p.grade for p in positions_by(kb, therapy_id, "strand2022") if p.grade]
        assert grades, therapy_id
        assert any(g.startswith("Strand 2022, " + level) for g in grades), therapy_id


def test_strand2022_incidence_survival_and_kramann(kb):
    sub = kb.subtype_by_id["calciphylaxis"]
    # "Calciphylaxis incidence among US haemodialysis patients is given as 35 per 10,000"
    strand = [f for f in sub.frequencies if f.figure == "35 per 10,000"]
    assert len(strand) == 1 and strand[0].context == "dialysis"
    assert strand[0].statements[0].sources == ("strand2022",)
    # "6-month survival as 57%"
    assert any("57%" in f.text and f.sources == ("strand2022",) for f in kb.clinical_features)
    # "Kramann 2013: histology from 7 patients, pointing to BMP-2 signalling. Strand's level VI."
    assert any(
        "Kramann 2013" in n.text and "BMP-2" in n.text and "7 patients" in n.text for n in sub.notes
    )


def test_pain_management_from_strand_and_kodumudi(kb):
    pain = kb.therapy_by_id["pain-management"]
    regimens = texts(pain.regimens)
    # "suggests gabapentin 100 mg for neuropathic pain" ... "Gabapentin 100 mg: frequency not shown."
    assert "Gabapentin 100 mg" in regimens and "frequency not shown" in regimens
    assert "Alfentanil by CSCI" in regimens
    # Chang 2019: "avoid morphine in renal failure (fentanyl or methadone instead)"
    assert "Fentanyl or methadone" in regimens
    # kodumudi2020: "Analgesic options include opioids, NSAIDs and treatments chosen for the
    # individual patient."
    assert "opioids, NSAIDs" in regimens
    for drug in ("morphine", "oxycodone", "tramadol", "codeine"):
        assert drug in texts(pain.harms).lower()
    # "Pain treatment should be multimodal and go together with wound care and modification of
    #  risk factors."
    assert any("multimodal" in u.text and u.sources == ("kodumudi2020",) for u in pain.uses)
    assert "calciphylaxis" in pain.subtypes
    assert {"kodumudi2020", "strand2022"} <= set(pain.sources)


def test_warfarin_is_a_harm_not_a_treatment_in_calciphylaxis(kb):
    # Chang 2019 row: "stop warfarin (change to apixaban)"
    warfarin = kb.therapy_by_id["warfarin"]
    assert any("apixaban" in h.text and h.sources == ("strand2022",) for h in warfarin.harms)
    assert "calciphylaxis" not in warfarin.subtypes


# --- kodumudi2020 -----------------------------------------------------------------------------


def test_kodumudi2020_facts(kb):
    # "1-year mortality is up to 50%."
    assert any(
        "1-year mortality is up to 50%" in f.text and f.sources == ("kodumudi2020",)
        for f in kb.clinical_features
    )
    # "Among patients on dialysis, incidence ranges from 0.04% to 4%."
    freq = [f for f in kb.subtype_by_id["calciphylaxis"].frequencies if f.figure == "0.04% to 4%"]
    assert len(freq) == 1 and freq[0].context == "dialysis"
    assert freq[0].statements[0].sources == ("kodumudi2020",)
    # "Skin biopsy with histology is currently the most reliable way to confirm the diagnosis."
    ties = [
        t
        for t in kb.investigation_by_id["skin-biopsy"].ties
        if t.target == "calciphylaxis" and "kodumudi2020" in t.sources
    ]
    assert len(ties) == 1 and ties[0].basis == "literature"
    assert "most reliable" in ties[0].reason
    # "Treatment options listed: parathyroidectomy, sodium thiosulfate, optimising renal
    #  impairment, stopping offending drugs, and multimodal analgesia." (listed, not graded)
    for therapy_id in (
        "parathyroidectomy",
        "sodium-thiosulfate-intravenous",
        "treat-underlying",
        "pain-management",
    ):
        assert positions_by(kb, therapy_id, "kodumudi2020"), therapy_id
    underlying = positions_by(kb, "treat-underlying", "kodumudi2020")[0]
    assert "renal impairment" in underlying.view and "offending drugs" in underlying.view


# --- nunley2020-calciphylaxis-sts -------------------------------------------------------------


def test_nunley2020_iv_sts_regimens_and_harms(kb):
    iv = kb.therapy_by_id["sodium-thiosulfate-intravenous"]
    mine = [r for r in iv.regimens if r.sources == ("nunley2020-calciphylaxis-sts",)]
    joined = texts(mine)
    # "Adults: intravenous doses of 5–75 g have been reported, given after or during
    #  haemodialysis. The dose reported most often is 25 g after each dialysis session."
    assert "5–75 g" in joined and "after or during haemodialysis" in joined
    assert "25 g after each dialysis session" in joined
    # "Children: the dose is given as 12 g/1.7 m²."
    assert "12 g/1.7 m²" in joined
    # "Infusion time: 30–60 minutes."
    assert "30–60 minutes" in joined
    harms = texts(h for h in iv.harms if "nunley2020-calciphylaxis-sts" in h.sources)
    # "Adverse effects: nausea and vomiting, and an anion-gap metabolic acidosis, which can be
    #  managed through the dialysate bicarbonate."
    assert "Nausea and vomiting" in harms
    assert "Anion-gap metabolic acidosis" in harms and "dialysate bicarbonate" in harms
    uses = texts(u for u in iv.uses if "nunley2020-calciphylaxis-sts" in u.sources)
    # "Symptoms may start to ease within 2 weeks."
    assert "within 2 weeks" in uses
    # "An unnamed 14-patient study ..." (cannot be cited: no study record)
    assert "14 patients" in uses
    # "Success has been reported in both uremic and non-uremic calciphylaxis."
    assert "non-uremic" in uses
    assert "calciphylaxis" in iv.subtypes
    assert {"ckd", "dialysis"} <= {c.context for c in iv.contexts}


def test_nunley2020_advises_against_intraperitoneal_sts(kb):
    # "The intraperitoneal route is not recommended, because of chemical peritonitis."
    ip = kb.therapy_by_id["sodium-thiosulfate-intraperitoneal"]
    assert any(
        "chemical peritonitis" in h.text.lower() and "nunley2020-calciphylaxis-sts" in h.sources
        for h in ip.harms
    )
    pos = positions_by(kb, "sodium-thiosulfate-intraperitoneal", "nunley2020-calciphylaxis-sts")
    assert len(pos) == 1 and "Not recommended" in pos[0].view
    # "Routes reported: intravenous, intralesional and topical."
    for therapy_id in ("sodium-thiosulfate-intralesional", "sodium-thiosulfate"):
        t = kb.therapy_by_id[therapy_id]
        assert "nunley2020-calciphylaxis-sts" in t.sources
    # A literature therapy takes the subtype; the chapter's topical sodium thiosulfate keeps
    # the chapter's own (its ladder place is the chapter's, for those patients alone).
    assert "calciphylaxis" in kb.therapy_by_id["sodium-thiosulfate-intralesional"].subtypes
    assert kb.therapy_by_id["sodium-thiosulfate"].subtypes == ("dystrophic",)


# --- jimenezgallo2015 -------------------------------------------------------------------------


def test_jimenezgallo2015_first_line_is_a_view_not_a_line(kb):
    # "For calciphylaxis, the review names sodium thiosulfate as the first-line treatment."
    pos = positions_by(kb, "sodium-thiosulfate-intravenous", "jimenezgallo2015")
    assert len(pos) == 1
    assert "first-line" in pos[0].view
    assert pos[0].line is None and pos[0].evidence is None
    # Conflict: later pooled analyses found no significant mortality benefit.
    assert pos[0].caution is not None
    assert "udomkarnjananun-calciphylaxis" in pos[0].caution.text
    assert "news page" in pos[0].caution.text


def test_jimenezgallo2015_drugs_named_for_calcinosis_cutis(kb):
    # "Treatments named for calcinosis cutis: surgery, or drugs including diltiazem,
    #  bisphosphonates, warfarin, ceftriaxone, probenecid, minocycline and aluminium hydroxide."
    for therapy_id in (
        "surgical-excision",
        "diltiazem",
        "bisphosphonates",
        "warfarin",
        "ceftriaxone",
        "probenecid",
        "minocycline",
        "aluminum-hydroxide",
    ):
        pos = positions_by(kb, therapy_id, "jimenezgallo2015")
        assert len(pos) == 1, therapy_id
        # "The drug list gives no doses and no verdicts."
        assert pos[0].line is None and pos[0].evidence is None and pos[0].grade is None
        assert not [
            r for r in kb.therapy_by_id[therapy_id].regimens if "jimenezgallo2015" in r.sources
        ]
    # The chapter's own ladder places stay untouched.
    assert kb.therapy_by_id["diltiazem"].line == "first"
    assert kb.therapy_by_id["minocycline"].evidence == "E"


def test_jimenezgallo2015_calciphylaxis_definition_and_course(kb):
    features = [f for f in kb.clinical_features if "jimenezgallo2015" in f.sources]
    joined = " ".join(f.text for f in features)
    # "calcium deposited in the vessel wall's middle layer (media) of small and medium vessels"
    assert "media" in joined and "small and medium" in joined
    # "The clinical course runs from livedo racemosa to retiform purpura and then to necrosis"
    assert "livedo racemosa" in joined and "retiform purpura" in joined and "necrosis" in joined
    # "Dystrophic calcinosis cutis is the commonest form and usually occurs with autoimmune disease."
    dystrophic = kb.subtype_by_id["dystrophic"]
    assert "jimenezgallo2015" in dystrophic.sources
    assert any("commonest" in n.text for n in dystrophic.notes)


# --- number of subtypes (the pack's known disagreement) -----------------------------------------


def test_number_of_subtypes_note(kb):
    sub = kb.subtype_by_id["calciphylaxis"]
    note = next(n for n in sub.notes if n.id == "subtype-count-literature")
    # "nowaczyk2021 uses four types (no calciphylaxis). jimenezgallo2015,
    #  jaad2011-diagnostic-pathway and tajalli2019 use five, as the chapter does."
    for key in ("nowaczyk2021", "jimenezgallo2015", "jaad2011-diagnostic-pathway", "tajalli2019"):
        assert key in note.text
    assert "four" in note.text and "five" in note.text
    assert sub.major is True
    assert {"jimenezgallo2015", "jaad2011-diagnostic-pathway"} <= set(sub.sources)
    # calcref follows the chapter's five major subtypes
    assert sorted(s.id for s in kb.subtypes if s.major) == sorted(
        ["dystrophic", "metastatic", "idiopathic", "iatrogenic", "calciphylaxis"]
    )


# --- jaad2011-diagnostic-pathway ----------------------------------------------------------------


def test_jaad2011_calciphylaxis_description(kb):
    # "Calciphylaxis is described as calcification of small vessels in the dermis and
    #  subcutaneous fat. Disordered calcium and phosphate metabolism and hyperparathyroidism may
    #  be present."
    features = [f for f in kb.clinical_features if "jaad2011-diagnostic-pathway" in f.sources]
    joined = " ".join(f.text for f in features)
    assert "small vessels" in joined and "subcutaneous fat" in joined
    assert "hyperparathyroidism" in joined
    # "Only the abstract was retrieved ... Add no investigation from this source beyond what is
    #  written here": never a 'literature' tie (a stated test) from it.
    for inv in kb.investigations:
        for tie in inv.ties:
            if "jaad2011-diagnostic-pathway" in tie.sources:
                assert tie.basis == "curated", inv.id
                assert inv.id in ("calcium-phosphate", "pth")


# --- nunley2018-calciphylaxis-workup ------------------------------------------------------------

EXISTING_TESTS = [
    # "BUN and creatinine"
    "urea-creatinine",
    # "calcium, phosphate, alkaline phosphatase, albumin; parathyroid hormone (PTH)"
    "calcium-phosphate",
    "pth",
    # "ANA and ANCA, to exclude vasculitis"
    "ctd-screen",
    # "plain radiographs can show branching (arborising) calcification of vessels"
    "radiographs",
    # "Bone scintigraphy may serve as a non-invasive diagnostic test and for monitoring."
    "bone-scintigraphy",
]


@pytest.mark.parametrize("inv_id", EXISTING_TESTS)
def test_nunley2018_ties_on_existing_investigations(kb, inv_id):
    inv = kb.investigation_by_id[inv_id]
    ties = [t for t in inv.ties if "nunley2018-calciphylaxis-workup" in t.sources]
    assert len(ties) == 1
    assert ties[0].target == "calciphylaxis" and ties[0].basis == "literature"
    assert "nunley2018-calciphylaxis-workup" in inv.sources
    # "Where calcref already holds such a test from the chapter, add this source beside the
    #  chapter's; do not replace or reword the chapter's entry."
    assert "chapter" in inv.sources
    assert any(t.sources == ("chapter",) for t in inv.ties)


NEW_TESTS = {
    "coagulation-thrombophilia": [
        "PT",
        "aPTT",
        "antithrombin III",
        "protein C",
        "protein S",
        "anticardiolipin",
        "lupus anticoagulant",
        "factor V Leiden",
        "homocysteine",
    ],
    "cryoglobulins-hcv": ["Cryoglobulins", "cryofibrinogen", "rheumatoid factor", "hepatitis C"],
    "amylase-lipase": ["Amylase", "lipase"],
    "serum-aluminium": ["Aluminium"],
    "esr-crp": ["ESR", "CRP"],
    "anca": ["ANCA"],
    "alkaline-phosphatase-albumin": ["Alkaline phosphatase", "albumin"],
}


@pytest.mark.parametrize(("inv_id", "names"), NEW_TESTS.items())
def test_nunley2018_new_investigations(kb, inv_id, names):
    inv = kb.investigation_by_id[inv_id]
    for name in names:
        assert name in inv.name, name
    assert inv.sources == ("nunley2018-calciphylaxis-workup",)
    assert [(t.target, t.basis) for t in inv.ties] == [("calciphylaxis", "literature")]


def test_nunley2018_radiograph_pattern(kb):
    tie = next(
        t
        for t in kb.investigation_by_id["radiographs"].ties
        if "nunley2018-calciphylaxis-workup" in t.sources
    )
    # "A net-like pattern is strongly associated with calciphylaxis."
    assert "arborising" in tie.reason and "net-like" in tie.reason


# --- across all g3 sources -------------------------------------------------------------------


def test_no_g3_position_has_a_line_or_letter(kb):
    found = 0
    for therapy in kb.therapies:
        for p in therapy.positions:
            if p.source in G3_SOURCES:
                found += 1
                assert p.line is None, (therapy.id, p.source)
                assert p.evidence is None, (therapy.id, p.source)
                if p.grade:
                    # only Strand grades, on its own scale, attributed
                    assert p.source == "strand2022" and p.grade.startswith("Strand 2022, level ")
    assert found > 15


def test_g3_therapies_new_records(kb):
    # Robert 2020 row: rheopheresis; Darres 2019 row: topical cerium nitrate–silver sulfadiazine
    for therapy_id in ("rheopheresis", "cerium-nitrate-silver-sulfadiazine"):
        t = kb.therapy_by_id[therapy_id]
        assert t.sources == ("strand2022",)
        assert t.subtypes == ("calciphylaxis",)
        assert t.line is None and t.evidence is None


def test_gap_for_unretrieved_workup_tables(kb):
    gap = next(g for g in kb.gaps if g.id == "calciphylaxis-workup-tables-not-retrieved")
    assert set(gap.sources) == {"jaad2011-diagnostic-pathway", "jimenezgallo2015"}
    assert gap.subtypes == ("calciphylaxis",)
