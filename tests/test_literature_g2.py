"""Group g2 of the literature pack: calciphylaxis cohort studies.

Each expected value is typed from the pack file /work/shared/sources/literature/<key>.md (quoted
in the comments), not copied from the knowledge files.
"""

from __future__ import annotations

import json

import pytest

G2_REFS = (
    "weenig2007",
    "surgery2000-calciphylaxis",
    "tpa-calciphylaxis",
    "nephrology2015-hbot",
    "divinghyperbmed2008-hbot",
    "biglione2024",
)
G2_THERAPIES = ("debridement", "parathyroidectomy", "hyperbaric-oxygen", "tpa")


def everything(kb) -> str:
    """All records of the knowledge base as one JSON text (to prove a string is nowhere)."""
    sections = ("references", "studies", "therapies", "clinical_features", "investigations")
    return json.dumps([r.as_json() for s in sections for r in getattr(kb, s)], ensure_ascii=False)


def texts(statements) -> str:
    return " ".join(s.text for s in statements)


def calciphylaxis_population(study, *, dialysis: bool, ckd: bool = True) -> None:
    # README rule 7 / brief: calciphylaxis studies are subtype calciphylaxis, context ckd
    # (and dialysis when all the patients were on dialysis), never dystrophic; ckd=False for a
    # study whose kidney status is not given and that reports a non-nephrogenic subgroup.
    assert "calciphylaxis" in study.subtypes
    assert "dystrophic" not in study.subtypes
    assert ("ckd" in study.contexts) is ckd
    assert ("dialysis" in study.contexts) is dialysis
    assert study.population
    assert study.aim == "treatment"
    assert study.kind == "retrospective cohort or series"


# --- identifiers that are NOT confirmed must be nowhere ----------------------------------------


@pytest.mark.parametrize(
    "identifier",
    [
        "10.1016/j.jaad.2006.08.065",  # weenig2007: "Not confirmed — do not transcribe: DOI ..."
        "17141359",  # weenig2007: "PMID 17141359 — seen only on the unofficial PubMed mirror"
        "23324758",  # tpa-calciphylaxis: "PMID 23324758 — seen only in the insights.ovid.com URL"
        "22692707",  # divinghyperbmed2008-hbot: "PMID 22692707 — seen only through a translation proxy"
        "37586460",  # biglione2024: "PMID 37586460 — seen only on questionsmedicales.fr"
        "elazhary",  # tpa-calciphylaxis: "a news URL contains 'elazhary' ... do not use it"
    ],
)
def test_unconfirmed_identifiers_absent(kb, identifier):
    assert identifier.lower() not in everything(kb).lower()


# --- references ---------------------------------------------------------------------------------


def test_weenig2007_reference(kb):
    r = kb.reference_by_id["weenig2007"]
    # "Authors | Weenig RH, Sewell LD, Davis MDP, McCarthy JT, Pittelkow MR"
    assert r.authors == ("Weenig RH", "Sewell LD", "Davis MDP", "McCarthy JT", "Pittelkow MR")
    assert not r.et_al
    # "Title | Calciphylaxis: natural history, risk factor analysis, and outcome"
    assert r.title == "Calciphylaxis: natural history, risk factor analysis, and outcome"
    assert r.journal == "J Am Acad Dermatol"
    # "Year | 2007 (April issue; published online 2006 Dec 1). One site prints 2006."
    assert r.year == 2007
    assert "2006" in " ".join(n.text for n in r.notes)
    assert (r.volume, r.issue, r.pages) == ("56", "4", "569-79")
    # "DOI: not confirmed. PMID: not confirmed. PMCID: not shown."
    assert r.doi is None and r.pmid is None and r.pmcid is None
    assert r.kind == "retrospective cohort or series"
    printed = [p.text for p in r.printed]
    assert "J Am Acad Dermatol 2006; 56:569-79" in printed
    assert all(p.source == "weenig2007" for p in r.printed)
    assert "64" in r.population and "Mayo Clinic" in r.population


def test_surgery2000_reference(kb):
    r = kb.reference_by_id["surgery2000-calciphylaxis"]
    # "Authors | not shown", "Title | not shown", "Issue | not shown"
    assert r.authors == () and r.title is None and r.issue is None
    assert r.journal == "Surgery" and r.year == 2000
    assert (r.volume, r.pages) == ("128", "967-72")
    # "Citation line as seen | "(Surgery 2000;128:967-72.)""
    assert [p.text for p in r.printed] == ["(Surgery 2000;128:967-72.)"]
    # "DOI: not shown. PMID: not shown. PMCID: not shown."
    assert r.doi is None and r.pmid is None and r.pmcid is None
    assert r.kind == "retrospective cohort or series"


def test_tpa_reference(kb):
    r = kb.reference_by_id["tpa-calciphylaxis"]
    assert r.title == (
        "Retrospective Analysis of Tissue Plasminogen Activator as an Adjuvant Treatment "
        "for Calciphylaxis"
    )
    assert r.authors == ()  # "Authors | not shown"
    # "Journal | JAMA Dermatol. *Secondary: seen only on a news page*" (and year, volume,
    # pages): a reference cannot carry a caution, so the fields stay empty and a visible note
    # carries the flag.
    assert (r.journal, r.year, r.volume, r.pages) == (None, None, None, None)
    notes = " ".join(n.text for n in r.notes)
    assert "news page" in notes and "check before use" in notes.lower()
    assert all("JAMA" not in p.text for p in r.printed)
    assert r.doi is None and r.pmid is None
    assert r.kind == "retrospective cohort or series"


def test_nephrology2015_reference(kb):
    r = kb.reference_by_id["nephrology2015-hbot"]
    assert r.title == (
        "Hyperbaric oxygen in the treatment of calciphylaxis: A case series and literature review"
    )
    assert r.authors == ()
    assert r.journal == "Nephrology (Carlton)" and r.year == 2015
    assert (r.volume, r.issue, r.pages) == ("20", "7", "444-50")
    # "DOI: 10.1111/nep.12433 — confirmed on PubMed"; "PMID: 25707425 — confirmed on PubMed"
    assert r.doi == "10.1111/nep.12433"
    assert r.pmid == "25707425"
    assert r.pmcid is None
    assert "PubMed" in r.confirmed
    # "Nephrology (Carlton). 2015 Jul;20(7):444-50. doi: 10.1111/nep.12433." (PubMed)
    assert [p.text for p in r.printed] == [
        "Nephrology (Carlton). 2015 Jul;20(7):444-50. doi: 10.1111/nep.12433."
    ]
    assert r.kind == "retrospective cohort or series"


def test_divinghyperbmed2008_reference(kb):
    r = kb.reference_by_id["divinghyperbmed2008-hbot"]
    assert r.title == (
        "Hyperbaric oxygen therapy in the treatment of skin ulcers due to calcific uraemic "
        "arteriolopathy: experience from an Australian hyperbaric unit"
    )
    assert r.authors == ()
    assert r.journal == "Diving Hyperb Med" and r.year == 2008
    assert (r.volume, r.issue, r.pages) == ("38", "2", "139-44")
    assert [p.text for p in r.printed] == ["Diving Hyperb Med. 2008 Jun;38(2):139-44."]
    # "DOI: not shown. PMID: not confirmed."
    assert r.doi is None and r.pmid is None and r.pmcid is None
    assert r.kind == "retrospective cohort or series"


def test_biglione2024_reference(kb):
    r = kb.reference_by_id["biglione2024"]
    # "Authors | "Biglione, et al." ... The other authors are not shown."
    assert r.authors == ("Biglione",) and r.et_al is True
    assert r.title == (
        "A retrospective review of outcomes after hyperbaric oxygen therapy for the treatment "
        "of calciphylaxis"
    )
    assert r.journal == "Journal of the American Academy of Dermatology"
    assert r.year == 2024
    # "Volume | not shown", "Issue | not shown", "Pages | not shown"
    assert (r.volume, r.issue, r.pages) == (None, None, None)
    assert r.doi is None and r.pmid is None and r.pmcid is None
    assert r.kind == "retrospective cohort or series"
    # Setting "Massachusetts General Hospital" is secondary (news page): left out.
    assert "Massachusetts" not in everything(kb)


# --- studies ------------------------------------------------------------------------------------


def test_weenig2007_debridement(kb):
    s = kb.study_by_id["weenig2007-debridement"]
    assert s.ref == "weenig2007" and s.therapies == ("debridement",)
    # "49 of them on dialysis"; "no control group for the 15 patients not on dialysis": a
    # mixed cohort, so not filed under dialysis (knowledge 2.0.3; it was [ckd, dialysis]).
    calciphylaxis_population(s, dialysis=False)
    assert "49 of 64 on dialysis" in s.population
    # "estimated 1-year survival 61.6% in 17 debrided patients vs 27.4% in 46 not debrided (P = .008)"
    assert s.n == 17
    assert "46" in s.comparator
    (e,) = s.effects
    assert e.value == "61.6% vs 27.4%" and e.p == "P = .008"
    assert s.direction == "benefit"
    # Survival figures are not response counts.
    assert s.counts.responders is None and s.counts.complete is None
    # "Estimated 1-year survival: 45.8%"; "51 (81%) had died"
    assert "45.8%" in s.outcome and "51 (81%)" in s.outcome


def test_weenig2007_parathyroidectomy(kb):
    s = kb.study_by_id["weenig2007-parathyroidectomy"]
    assert s.ref == "weenig2007" and s.therapies == ("parathyroidectomy",)
    calciphylaxis_population(s, dialysis=False)  # 49 of 64 on dialysis (see debridement)
    assert "49 of 64 on dialysis" in s.population
    # "survival was similar in the 16 patients who had it and the 47 who did not."
    assert s.n == 16 and "47" in s.comparator
    assert s.direction == "no significant effect"
    assert s.effects == ()  # no figure printed


def test_weenig2007_natural_history(kb):
    course = [f.text for f in kb.clinical_features if "weenig2007" in f.sources]
    joined = " ".join(course)
    assert all("alciphylaxis" in t for t in course)  # the population stays visible
    assert "45.8%" in joined
    # "obesity, liver disease, systemic corticosteroids, calcium × phosphorus product above
    # 70 mg²/dL², and serum aluminium above 25 ng/mL"; "matched to 98 dialysis controls"
    for fact in ("obesity", "liver disease", "corticosteroids", "70 mg²/dL²", "25 ng/mL", "98"):
        assert fact in joined


def test_surgery2000_studies(kb):
    ptx = kb.study_by_id["surgery2000-calciphylaxis-parathyroidectomy"]
    deb = kb.study_by_id["surgery2000-calciphylaxis-debridement"]
    for s in (ptx, deb):
        assert s.ref == "surgery2000-calciphylaxis"
        # "All 16 received haemodialysis"; "secondary hyperparathyroidism"
        calciphylaxis_population(s, dialysis=True)
        assert "hyperparathyroidism" in s.contexts
        assert s.age == "mean age 56"
        # "None of the three comparisons reached statistical significance."
        assert s.direction == "no significant effect"
    # "7 underwent parathyroidectomy (PTX) and 8 had debridement."
    assert ptx.therapies == ("parathyroidectomy",) and ptx.n == 7
    assert deb.therapies == ("debridement",) and deb.n == 8
    # "Median survival with vs without PTX: 14.8 vs 6.3 months (P = .22)."
    (e,) = ptx.effects
    assert (e.value, e.p) == ("14.8 vs 6.3 months", "P = .22")
    # "With vs without debridement: 14.1 vs 6.1 months (P = .08)."
    (e,) = deb.effects
    assert (e.value, e.p) == ("14.1 vs 6.1 months", "P = .08")
    # "Median survival of the whole group: 9.4 months. 15 patients (93%) died."
    assert "9.4 months" in ptx.outcome and "15 patients (93%)" in ptx.outcome
    # "PTX should not be recommended as a routine measure"
    assert "routine" in ptx.conclusion
    # "Diabetic vs non-diabetic patients: 6.5 vs 13.9 months (P = .11)."
    course = " ".join(
        f.text for f in kb.clinical_features if "surgery2000-calciphylaxis" in f.sources
    )
    assert "6.5" in course and "13.9" in course and "P = .11" in course


def test_tpa_study(kb):
    s = kb.study_by_id["tpa-calciphylaxis"]
    assert s.ref == "tpa-calciphylaxis" and s.therapies == ("tpa",)
    calciphylaxis_population(s, dialysis=False)
    assert s.n == 15  # "15 patients with calciphylaxis (4 men, 11 women)"
    # "The tPA dose is not shown."
    assert "mg" not in (s.regimen or "") and "11 days" in s.regimen
    # "Survival was about 30% greater than in 63 untreated controls ... (P = .14)"
    survival = next(e for e in s.effects if e.p == "P = .14")
    assert survival.caution is None
    assert s.direction == "no significant effect"
    assert "63" in s.comparator
    # "3 had life-threatening bleeding"
    assert "life-threatening" in texts(s.harms).lower() and "3 of 15" in texts(s.harms)
    # Secondary news-page wound counts ("of 13 hospitalised patients, 12 ...") carry a caution,
    # and are not patient counts.
    wound = next(e for e in s.effects if "13" in e.measure)
    assert wound.caution is not None and "news page" in wound.caution.text
    assert s.counts.responders is None and s.counts.complete is None


def test_tpa_therapy_bleeding_and_dose(kb):
    t = kb.therapy_by_id["tpa"]
    assert "tpa-calciphylaxis" in t.sources
    assert "calciphylaxis" in t.subtypes
    # "Bleeding: 3 of 15 had life-threatening bleeding. Show this beside any mention"
    harm = texts(t.harms)
    assert "3 of 15" in harm and "life-threatening" in harm.lower()
    # "The tPA dose is not shown."
    assert all("mg" not in r.text for r in t.regimens)


def test_nephrology2015_study(kb):
    s = kb.study_by_id["nephrology2015-hbot"]
    assert s.ref == "nephrology2015-hbot" and s.therapies == ("hyperbaric-oxygen",)
    calciphylaxis_population(s, dialysis=False)  # "CUA with renal failure"
    # "46 had CUA with renal failure, and 34 of them completed a full course of HBOT."
    assert s.n == 34 and "46" in s.population
    # "58% had better wound scores" — the count is not stated, so no counts.
    assert "58%" in s.outcome
    assert s.counts.responders is None and s.counts.complete is None
    assert "3 years" in s.outcome and "Diabetes" in s.outcome
    assert s.direction == "benefit"


def test_divinghyperbmed2008_study(kb):
    s = kb.study_by_id["divinghyperbmed2008-hbot"]
    assert s.ref == "divinghyperbmed2008-hbot" and s.therapies == ("hyperbaric-oxygen",)
    calciphylaxis_population(s, dialysis=False)
    # "20 patients"; "beneficial in 11 patients (55%)"; "resolved completely in 6 (30%)"
    assert s.n == 20
    assert s.counts.responders == 11
    # The source does not say the 6 healed are among the 11 who benefited: a count of 6
    # complete beside 11 responders would print "5 responded, degree not given", a figure it
    # never gives. The 6 stay in the outcome's words.
    assert s.counts.complete is None and "resolved completely in 6 (30%)" in s.outcome
    assert s.counts.partial is None and s.counts.none is None
    # "Older age predicted a good outcome (P = 0.02)."
    assert "P = 0.02" in s.outcome
    assert s.direction == "benefit"


def test_biglione2024_study(kb):
    s = kb.study_by_id["biglione2024-hbot"]
    assert s.ref == "biglione2024" and s.therapies == ("hyperbaric-oxygen",)
    # "93 patients with calciphylaxis" (no kidney status); "*Secondary*: the survival association
    # was strongest in non-nephrogenic calciphylaxis": no kidney context (knowledge 2.0.3).
    calciphylaxis_population(s, dialysis=False, ckd=False)
    assert "kidney status not given" in s.population
    # "93 patients ...: 57 received intravenous STS alone and 36 received HBOT plus intravenous STS."
    assert s.n == 36 and "93" in s.population and "57" in s.comparator
    assert "sodium thiosulfate" in s.treatment
    ps = {e.p: e for e in s.effects}
    # "associated with longer survival (P = .016)"
    assert ps["P = .016"].caution is None
    # "More HBOT sessions were associated with a higher wound score (P = .042)."
    assert ps["P = .042"].caution is None
    assert "not shown" in ps["P = .042"].value  # direction of the wound score not shown
    # "*Secondary: seen only on a news page*: ... non-nephrogenic calciphylaxis (P < .0001)"
    assert ps["P < .0001"].caution is not None
    # No hazard-ratio value was shown, only the trend.
    assert all(e.type != "hazard ratio" for e in s.effects)
    # "*Secondary*: the commonest side effect was anxiety or claustrophobia, in 22%."
    (harm,) = s.harms
    assert "22%" in harm.text and harm.caution is not None
    assert s.direction == "benefit"


def test_hbot_therapy(kb):
    t = kb.therapy_by_id["hyperbaric-oxygen"]
    for key in ("nephrology2015-hbot", "divinghyperbmed2008-hbot", "biglione2024"):
        assert key in t.sources
    # The side-effect rate is secondary wherever it appears.
    for h in t.harms:
        if "22%" in h.text:
            assert h.caution is not None
    # "The authors suggest that HBOT be offered ... treat it as secondary until checked."
    (pos,) = [p for p in t.positions if p.source == "biglione2024"]
    assert pos.caution is not None
    # "HBOT pressures and session counts (all HBOT sources)": not shown, none supplied.
    assert all("ATA" not in r.text for r in t.regimens)


# --- literature positions never carry a chapter line or letter ----------------------------------


@pytest.mark.parametrize("therapy_id", G2_THERAPIES)
def test_no_line_or_letter_from_literature(kb, therapy_id):
    t = kb.therapy_by_id[therapy_id]
    for p in t.positions:
        if p.source in G2_REFS:
            assert p.line is None and p.evidence is None


# --- curator's notes on the conflicts this group owns -------------------------------------------


def test_conflict_notes(kb):
    def notes(therapy_id):
        return " ".join(n.text for n in kb.therapy_by_id[therapy_id].notes)

    ptx = notes("parathyroidectomy")
    # README: "No survival difference in weenig2007 (16 vs 47 patients), surgery2000-calciphylaxis
    # (14.8 vs 6.3 months, P = .22), udomkarnjananun-calciphylaxis (RR 0.88, not significant)
    # or the Lal 2009 row of strand2022. But the McCarthy 2016 row of strand2022 ..."
    for part in (
        "weenig2007",
        "surgery2000-calciphylaxis",
        "P = .22",
        "udomkarnjananun",
        "0.88",
        "strand2022",
        "McCarthy 2016",
        "Lal 2009",
    ):
        assert part in ptx
    deb = notes("debridement")
    # "weenig2007 found better 1-year survival (61.6% vs 27.4%, P = .008) ...
    # surgery2000-calciphylaxis ... (14.1 vs 6.1 months, P = .08)"
    for part in (
        "weenig2007",
        "61.6%",
        "27.4%",
        "P = .008",
        "surgery2000-calciphylaxis",
        "P = .08",
        "strand2022",
    ):
        assert part in deb
    hbo = notes("hyperbaric-oxygen")
    # "nephrology2015-hbot (58% of 34 improved), divinghyperbmed2008-hbot (55% benefited) and
    # biglione2024 (survival P = .016) ... udomkarnjananun-calciphylaxis ... (RR 0.89, 0.71–1.12)"
    for part in (
        "nephrology2015-hbot",
        "58%",
        "divinghyperbmed2008-hbot",
        "55%",
        "biglione2024",
        "P = .016",
        "udomkarnjananun-calciphylaxis",
        "0.89",
        "0.71–1.12",
    ):
        assert part in hbo
    # Sessions: "no correlation" vs "more sessions ... higher wound scores"
    assert "sessions" in hbo and "no correlation" in hbo


def test_surgery2000_ptx_position_is_a_view(kb):
    # "Authors' conclusion: PTX should not be recommended as a routine measure, only when
    # severe hyperparathyroidism requires it."
    t = kb.therapy_by_id["parathyroidectomy"]
    (pos,) = [p for p in t.positions if p.source == "surgery2000-calciphylaxis"]
    assert "routine" in pos.view and "hyperparathyroidism" in pos.view


@pytest.mark.parametrize("ref", G2_REFS)
def test_every_reference_is_used(kb, ref):
    assert any(ref in s.sources for s in kb.studies)
