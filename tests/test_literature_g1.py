"""Group g1 of the literature pack: calciphylaxis trials and pooled evidence.

Every expected value below is typed from the pack files in
/work/shared/sources/literature/ (sinha2024.md, calciphyx-protocol.md, floege2015.md,
udomkarnjananun-calciphylaxis.md, wen2023.md, gossett2023.md), not from the YAML.
"""

from __future__ import annotations

import pytest

G1_REFS = (
    "sinha2024",
    "calciphyx-protocol",
    "floege2015",
    "udomkarnjananun-calciphylaxis",
    "wen2023",
    "gossett2023",
)
CALCIPHYLAXIS_THERAPIES = (
    "hexasodium-fytate",
    "cinacalcet",
    "sodium-thiosulfate-intravenous",
    "sodium-thiosulfate-intraperitoneal",
    "parathyroidectomy",
    "hyperbaric-oxygen",
    "bisphosphonates",
)


def effect(study, fragment):
    """The one effect of `study` whose measure contains `fragment` (case-insensitive)."""
    found = [e for e in study.effects if fragment.lower() in e.measure.lower()]
    assert len(found) == 1, [e.measure for e in study.effects]
    return found[0]


def texts(statements):
    return " ".join(s.text for s in statements)


def note_texts(record):
    return " ".join(n.text for n in record.notes)


def calciphylaxis_population(study, dialysis):
    assert "calciphylaxis" in study.subtypes
    assert "dystrophic" not in study.subtypes
    assert "ckd" in study.contexts
    assert ("dialysis" in study.contexts) is dialysis


# ---------------------------------------------------------------- references


def test_every_g1_reference_is_named_with_printed_citation(kb):
    for key in G1_REFS:
        ref = kb.reference_by_id[key]
        assert ref.printed, key
        assert all(p.source == key for p in ref.printed), key
        assert ref.covers and ref.population and ref.kind, key


def test_sinha2024_reference(kb):
    ref = kb.reference_by_id["sinha2024"]
    # "Authors | Smeeta Sinha, ... Glenn M. Chertow (15 authors, DOAJ)"
    assert len(ref.authors) == 15
    assert ref.authors[0] == "Smeeta Sinha"
    assert ref.authors[-1] == "Glenn M. Chertow"
    assert "Joan Perelló" in ref.authors
    assert not ref.et_al
    # "Title | Hexasodium fytate for the treatment of calciphylaxis: a randomised, ..."
    assert ref.title == (
        "Hexasodium fytate for the treatment of calciphylaxis: a randomised, "
        "double-blind, phase 3, placebo-controlled trial with an open-label "
        "extension"
    )
    assert ref.journal == "EClinicalMedicine"
    assert ref.year == 2024
    assert ref.volume == "75"
    assert ref.issue is None  # "Issue | not shown"
    assert ref.article_number == "102784"
    # "ClinicalTrials.gov NCT04195906; EudraCT 2018-001301-90"
    assert "NCT04195906" in ref.registrations
    assert any("2018-001301-90" in r for r in ref.registrations)
    assert ref.kind == "randomised double-blind trial"
    # "DOAJ": "EClinicalMedicine (Sep 2024) ... Vol. 75 p. 102784"
    assert ref.printed[0].text == "EClinicalMedicine (Sep 2024) ... Vol. 75 p. 102784"
    # "Not confirmed — do not transcribe: DOI 10.1016/j.eclinm.2024.102784; PMID 39252867"
    assert ref.doi is None and ref.pmid is None and ref.pmcid is None
    assert "Prematurely Ended" in note_texts(ref)


def test_calciphyx_protocol_reference(kb):
    ref = kb.reference_by_id["calciphyx-protocol"]
    # "Authors | not shown", "Journal | not shown", "Year | not shown"
    assert not ref.authors and ref.journal is None and ref.year is None
    assert ref.title == (
        "The CALCIPHYX study: a randomized, double-blind, placebo-controlled, "
        "Phase 3 clinical trial of SNF472 for the treatment of calciphylaxis"
    )
    # "PMCID: PMC8757410 — confirmed on the PMC page"; "DOI: not shown. PMID: not shown."
    assert ref.pmcid == "PMC8757410"
    assert "PMC" in ref.confirmed
    assert ref.doi is None and ref.pmid is None
    assert ref.kind == "randomised double-blind trial"
    assert "66" in ref.population  # "Planned enrolment: 66."


def test_floege2015_reference(kb):
    ref = kb.reference_by_id["floege2015"]
    assert ref.authors == (
        "Jürgen Floege",
        "Yumi Kubo",
        "Anna Floege",
        "Glenn M Chertow",
        "Patrick S Parfrey",
    )
    assert not ref.et_al
    assert ref.title == (
        "The Effect of Cinacalcet on Calcific Uremic Arteriolopathy Events in "
        "Patients Receiving Hemodialysis: The EVOLVE Trial"
    )
    assert ref.journal == "Clin J Am Soc Nephrol"
    assert (ref.year, ref.volume, ref.issue, ref.pages) == (2015, "10", "5", "800-7")
    # "DOI: 10.2215/CJN.10221014 — confirmed on PubMed"; "PMID: 25887067"; "PMCID: PMC4422249"
    assert ref.doi == "10.2215/CJN.10221014"
    assert ref.pmid == "25887067"
    assert ref.pmcid == "PMC4422249"
    assert "PubMed" in ref.confirmed and "PMC" in ref.confirmed
    assert ref.registrations == ("NCT00345839",)
    assert ref.kind == "post hoc analysis of a randomised trial"
    assert ref.printed[0].text == (
        "Clin J Am Soc Nephrol. 2015 May 7;10(5):800-7. "
        "doi: 10.2215/CJN.10221014. Epub 2015 Apr 17."
    )


def test_udomkarnjananun_reference(kb):
    ref = kb.reference_by_id["udomkarnjananun-calciphylaxis"]
    assert ref.title == "Treatment of Calciphylaxis in CKD: A Systematic Review and Meta-Analysis"
    # Authors "Seen only on an unauthorised PDF upload, which must not be cited"
    assert not ref.authors
    # "Journal | not shown", "Year | not shown"; "DOI: not shown. PMID: not shown. PMCID: not shown."
    assert ref.journal is None and ref.year is None and ref.volume is None and ref.pages is None
    assert ref.doi is None and ref.pmid is None and ref.pmcid is None
    assert ref.kind == "meta-analysis"
    for figure in ("147", "90 case reports", "423", "343"):
        assert figure in ref.population


def test_wen2023_reference(kb):
    ref = kb.reference_by_id["wen2023"]
    assert len(ref.authors) == 15
    assert ref.authors[0] == "Wen Wen" and ref.authors[-1] == "Sagar U. Nigwekar"
    assert not ref.et_al
    assert ref.title == (
        "Intravenous Sodium Thiosulphate for Calciphylaxis of Chronic Kidney "
        "Disease: A Systematic Review and Meta-analysis"
    )
    assert ref.journal == "JAMA Netw Open"
    assert (ref.year, ref.volume, ref.issue, ref.article_number) == (2023, "6", "4", "e2310068")
    # "Not confirmed — do not transcribe: DOI 10.1001/jamanetworkopen.2023.10068; PMID 37099293"
    assert ref.doi is None and ref.pmid is None and ref.pmcid is None
    assert ref.kind == "meta-analysis"
    assert ref.printed[0].text == "JAMA Netw Open. 2023 Apr 3;6(4):e2310068."


def test_gossett2023_reference(kb):
    ref = kb.reference_by_id["gossett2023"]
    assert ref.authors == (
        "Christy Gossett",
        "Supawadee Suppadungsuk",
        "Pajaree Krisanapan",
        "Supawit Tangpanithandee",
        "Charat Thongprayoon",
        "Michael A Mao",
        "Wisit Cheungpasitporn",
    )
    assert ref.title == (
        "Sodium Thiosulfate for Calciphylaxis Treatment in Patients on "
        "Peritoneal Dialysis: A Systematic Review"
    )
    assert ref.journal == "Medicina (Kaunas)"
    assert (ref.year, ref.volume, ref.issue, ref.article_number) == (2023, "59", "7", "1306")
    # "DOI: 10.3390/medicina59071306 — confirmed on the PMC page." PMID 37512116, PMC10386543
    assert ref.doi == "10.3390/medicina59071306"
    assert ref.pmid == "37512116"
    assert ref.pmcid == "PMC10386543"
    assert "PMC" in ref.confirmed
    assert ref.kind == "systematic review"
    assert ref.printed[0].text == (
        "Medicina (Kaunas). 2023 Jul 14;59(7):1306. doi: 10.3390/medicina59071306"
    )


def test_unconfirmed_identifiers_appear_nowhere(kb):
    # The "Not confirmed" identifiers of sinha2024 and wen2023 must not be transcribed anywhere.
    banned = (
        "10.1016/j.eclinm.2024.102784",
        "39252867",
        "10.1001/jamanetworkopen.2023.10068",
        "37099293",
    )
    for ref in kb.references:
        blob = " ".join(
            str(v)
            for v in (
                ref.doi,
                ref.pmid,
                ref.pmcid,
                ref.confirmed,
                note_texts(ref),
                *(p.text for p in ref.printed),
            )
        )
        for b in banned:
            assert b not in blob, (ref.id, b)


# ---------------------------------------------------------------- studies


def test_sinha2024_study(kb):
    s = kb.study_by_id["sinha2024"]
    assert s.ref == "sinha2024"
    assert s.therapies == ("hexasodium-fytate",)
    assert s.kind == "randomised double-blind trial"
    assert s.aim == "treatment"
    calciphylaxis_population(s, dialysis=True)
    # "37 were randomised to hexasodium fytate and 34 to placebo."
    assert s.n == 37
    assert "34" in s.comparator and "placebo" in s.comparator
    # "hexasodium fytate 7 mg/kg, or placebo, given intravenously during maintenance haemodialysis"
    assert "7 mg/kg" in s.regimen
    # Safety denominators are not counts.
    assert s.counts.responders is None and s.counts.none is None
    # "Least-squares mean difference 0.3 (96% CI −2.5 to 3.0); p = 0.88."
    bwat = effect(s, "BWAT-CUA")
    assert (bwat.type, bwat.value, bwat.interval, bwat.level, bwat.p) == (
        "mean difference",
        "0.3",
        "\u22122.5 to 3.0",
        "96%",
        "p = 0.88",
    )
    # "Least-squares mean difference 11.5 (96% CI −4.8 to 27.8); p = 0.15."
    pain = effect(s, "Pain VAS")
    assert (pain.type, pain.value, pain.interval, pain.level, pain.p) == (
        "mean difference",
        "11.5",
        "\u22124.8 to 27.8",
        "96%",
        "p = 0.15",
    )
    # "Neither primary endpoint was met."
    assert s.direction == "no significant effect"
    # "−5.3 (SD 5.2) ... −6.0 (SD 6.2)"; "−19.5 (SD 26.9) vs −32.2 (SD 38.5)"; "34/37 ... 26/34"
    for figure in (
        "\u22125.3 (SD 5.2)",
        "\u22126.0 (SD 6.2)",
        "\u221219.5 (SD 26.9)",
        "\u221232.2 (SD 38.5)",
        "34/37",
        "26/34",
    ):
        assert figure in s.outcome, figure
    # "2/38 (5%) ... vs 11/33 (33%)"; "1/38 (3%) vs 5/33 (15%)"; "2/38 (5%) ... vs 7/33 (21%)".
    # Safety figures of both arms, fewer on the drug: in the outcome text (README rule 6), not
    # harms, which read as harms of the drug (knowledge 2.0.3).
    for figure in ("2/38 (5%)", "11/33 (33%)", "1/38 (3%)", "5/33 (15%)", "7/33 (21%)"):
        assert figure in s.outcome, figure
    assert s.harms == ()
    # Caveat: safety data, not efficacy; denominators 38 vs 33 differ from 37 vs 34.
    assert s.caution is not None and "38 vs 33" in s.caution.text
    assert "96%" in note_texts(s)


def test_floege2015_study_is_prevention(kb):
    s = kb.study_by_id["floege2015"]
    assert s.therapies == ("cinacalcet",)
    assert s.kind == "post hoc analysis of a randomised trial"
    assert s.aim == "prevention"
    calciphylaxis_population(s, dialysis=True)
    assert "hyperparathyroidism" in s.contexts
    assert "3861" in s.population
    assert s.n is None  # 3861 is both arms; the cinacalcet arm's size is not shown
    # "Unadjusted relative hazard for CUA with cinacalcet: 0.31 (95% CI 0.13–0.79); P = 0.014."
    (e,) = s.effects
    assert (e.type, e.value, e.interval, e.level, e.p) == (
        "relative hazard",
        "0.31",
        "0.13\u20130.79",
        "95%",
        "P = 0.014",
    )
    assert s.direction == "benefit"
    # "CUA developed in 18 patients assigned to placebo and in 6 assigned to cinacalcet."
    assert "18 patients" in s.outcome and "6 assigned" in s.outcome
    # "in active use in 11 of the 24 patients with CUA, compared with 5–7%"
    assert "11 of the 24" in s.outcome and "5\u20137%" in s.outcome
    # The year-4 rates ("0.011%" vs "0.005%") are flagged "check before use": left out.
    blob = " ".join([s.outcome, note_texts(s), s.caution.text])
    assert "0.011" not in blob and "0.005" not in blob
    assert s.counts.responders is None


# Mortality in the cohort studies, pooled risk ratio (95% CI); none significant.
UDOM = {
    # study id suffix: (therapy, RR, CI, share of all pooled patients)
    "sts": ("sodium-thiosulfate-intravenous", "0.89", "0.71\u20131.12", "50.3%"),
    "parathyroidectomy": ("parathyroidectomy", "0.88", "0.69\u20131.13", "28.7%"),
    "cinacalcet": ("cinacalcet", "1.04", "0.75\u20131.42", "25.3%"),
    "hbot": ("hyperbaric-oxygen", "0.89", "0.71\u20131.12", "15.3%"),
    "bisphosphonates": ("bisphosphonates", "0.77", "0.44\u20131.32", "5.9%"),
}


@pytest.mark.parametrize("suffix", sorted(UDOM))
def test_udomkarnjananun_studies(kb, suffix):
    therapy, rr, ci, share = UDOM[suffix]
    s = kb.study_by_id[f"udomkarnjananun-calciphylaxis-{suffix}"]
    assert s.ref == "udomkarnjananun-calciphylaxis"
    assert s.therapies == (therapy,)
    assert s.kind == "meta-analysis"
    assert s.aim == "treatment"
    calciphylaxis_population(s, dialysis=False)
    assert s.n is None
    (e,) = s.effects
    assert (e.type, e.value, e.interval, e.level, e.p) == ("risk ratio", rr, ci, "95%", None)
    assert s.direction == "no significant effect"
    assert share in s.outcome
    # "The abstract prints the same estimate and CI for STS and for HBOT (0.89; 0.71–1.12)."
    if suffix in ("sts", "hbot"):
        assert e.caution is not None and "0.89" in e.caution.text
    else:
        assert e.caution is None


def test_wen2023_study_carries_news_flag(kb):
    s = kb.study_by_id["wen2023"]
    assert s.therapies == ("sodium-thiosulfate-intravenous",)
    assert s.kind == "meta-analysis"
    assert s.aim == "treatment"
    calciphylaxis_population(s, dialysis=True)
    assert s.n is None  # 422 / 233 are seen only on a news page
    assert s.direction == "no significant effect"
    assert s.caution is not None and "news" in s.caution.text
    expected = {
        # "Skin-lesion improvement, 12 studies: RR 1.23 (95% CI 0.85–1.78)."
        "Skin-lesion improvement (12": ("risk ratio", "1.23", "0.85\u20131.78", "95%"),
        # "Death, 15 studies: RR 0.88 (95% CI 0.70–1.10)."
        "Death (15": ("risk ratio", "0.88", "0.70\u20131.10", "95%"),
        # "Time-to-event survival: HR 0.82 (95% CI 0.57–1.18)."
        "Time-to-event": ("hazard ratio", "0.82", "0.57\u20131.18", "95%"),
        # "Patients on dialysis only: lesion improvement RR 0.68 (0.41–1.14); death RR 1.15 (0.73–1.80)."
        "lesion improvement, patients on dialysis": ("risk ratio", "0.68", "0.41\u20131.14", None),
        "death, patients on dialysis": ("risk ratio", "1.15", "0.73\u20131.80", None),
    }
    assert len(s.effects) == len(expected)
    for fragment, (kind, value, interval, level) in expected.items():
        e = effect(s, fragment)
        assert (e.type, e.value, e.interval, e.level, e.p) == (kind, value, interval, level, None)
        # "Every figure below is secondary: seen only on a news page"
        assert e.caution is not None and "news page" in e.caution.text


def test_gossett2023_studies(kb):
    iv = kb.study_by_id["gossett2023-intravenous"]
    ip = kb.study_by_id["gossett2023-intraperitoneal"]
    both = kb.study_by_id["gossett2023-intravenous-then-intraperitoneal"]
    for s in (iv, ip, both):
        assert s.ref == "gossett2023"
        assert s.kind == "systematic review"
        assert s.aim == "treatment"
        calciphylaxis_population(s, dialysis=True)
        # Percentages from small groups are not converted into counts.
        c = s.counts
        assert (c.responders, c.complete, c.partial, c.none, c.unknown) == (None,) * 5
    # "Intravenous STS (18 patients): doses ranged from 3.2 g twice daily to 25 g three times
    # weekly, given for 5 weeks to 8 months. Wounds healed in 44%; 6% stopped because of adverse
    # events; 67% moved to haemodialysis; 50% died of complications of calciphylaxis."
    assert iv.therapies == ("sodium-thiosulfate-intravenous",)
    assert iv.n == 18
    assert "3.2 g twice daily" in iv.regimen and "25 g three times weekly" in iv.regimen
    assert "5 weeks to 8 months" in iv.regimen
    for figure in ("44%", "67%", "50%"):
        assert figure in iv.outcome
    assert "6%" in texts(iv.harms)
    # "Intraperitoneal STS (5 patients): 12.5–25 g three to four times a week, given for
    # 12 hours to 3 months. Wounds healed in 80%, but 80% stopped because of adverse events;
    # 40% moved to haemodialysis; and 20% died of chemical peritonitis caused by intraperitoneal STS."
    assert ip.therapies == ("sodium-thiosulfate-intraperitoneal",)
    assert ip.n == 5
    assert "12.5\u201325 g three to four times a week" in ip.regimen
    assert "12 hours to 3 months" in ip.regimen
    for figure in ("80%", "40%", "20%"):
        assert figure in ip.outcome
    ip_harms = texts(ip.harms)
    assert "chemical peritonitis" in ip_harms.lower() and "20%" in ip_harms and "80%" in ip_harms
    assert ip.direction != "benefit"
    # "Intravenous then intraperitoneal STS (3 patients): 12.5–25 g two to three times a week
    # for 2.5–5 months. The rest of this result was cut off."
    assert set(both.therapies) == {
        "sodium-thiosulfate-intravenous",
        "sodium-thiosulfate-intraperitoneal",
    }
    assert both.n == 3
    assert both.regimen == "12.5\u201325 g two to three times a week for 2.5\u20135 months"
    assert both.direction is None


# ---------------------------------------------------------------- therapies


def test_no_literature_position_has_line_or_letter(kb):
    for therapy in kb.therapies:
        for p in therapy.positions:
            if p.source in G1_REFS:
                assert p.line is None and p.evidence is None, (therapy.id, p.source)
    for tid in CALCIPHYLAXIS_THERAPIES:
        for p in kb.therapy_by_id[tid].positions:
            if p.source not in ("chapter", "jopa"):
                assert p.line is None and p.evidence is None, (tid, p.source)


def test_intraperitoneal_sts_therapy_shows_the_harm(kb):
    t = kb.therapy_by_id["sodium-thiosulfate-intraperitoneal"]
    harm = [h for h in t.harms if "gossett2023" in h.sources]
    assert harm, "gossett2023's chemical-peritonitis harm must be on the therapy"
    text = texts(harm)
    assert "chemical peritonitis" in text.lower() and "20%" in text and "80%" in text
    assert "calciphylaxis" in t.subtypes
    notes = note_texts(t)
    assert "gossett2023" in notes and "nunley2020-calciphylaxis-sts" in notes
    # "12.5–25 g three to four times a week, given for 12 hours to 3 months"
    regimens = texts(t.regimens)
    assert "12.5\u201325 g three to four times a week" in regimens


def test_intravenous_sts_conflict_note(kb):
    t = kb.therapy_by_id["sodium-thiosulfate-intravenous"]
    note = note_texts(t)
    for key in (
        "jimenezgallo2015",
        "nunley2020-calciphylaxis-sts",
        "kodumudi2020",
        "strand2022",
        "udomkarnjananun-calciphylaxis",
        "wen2023",
    ):
        assert key in note, key
    # udomkarnjananun RR 0.89 (0.71–1.12); wen2023 death RR 0.88 (0.70–1.10), lesion 1.23 (0.85–1.78)
    for figure in ("0.89", "0.71\u20131.12", "0.88", "0.70\u20131.10", "1.23", "0.85\u20131.78"):
        assert figure in note, figure
    assert "news page" in note
    # gossett2023: "3.2 g twice daily to 25 g three times weekly"
    assert any("3.2 g twice daily" in r.text and r.sources == ("gossett2023",) for r in t.regimens)
    assert {"ckd", "dialysis"} <= {c.context for c in t.contexts}


def test_cinacalcet_prevention_and_treatment_kept_apart(kb):
    t = kb.therapy_by_id["cinacalcet"]
    prevention = kb.study_by_id["floege2015"]
    treatment = kb.study_by_id["udomkarnjananun-calciphylaxis-cinacalcet"]
    assert prevention.aim == "prevention" and treatment.aim == "treatment"
    assert prevention.direction == "benefit"
    assert treatment.direction == "no significant effect"
    note = note_texts(t)
    assert "floege2015" in note and "udomkarnjananun-calciphylaxis" in note
    assert "0.31" in note and "1.04" in note
    assert "revent" in note and "reat" in note


def test_hexasodium_fytate_regimen_and_conflict(kb):
    t = kb.therapy_by_id["hexasodium-fytate"]
    # calciphyx-protocol: "SNF472 7 mg/kg intravenously three times weekly for 12 weeks"
    reg = [r for r in t.regimens if "calciphyx-protocol" in r.sources]
    assert reg and "7 mg/kg" in reg[0].text and "three times weekly" in reg[0].text
    assert "sinha2024" in reg[0].sources  # cited alongside sinha2024
    assert "calciphylaxis" in t.subtypes
    note = note_texts(t)
    # Brandenburg 2019 (14 patients, through strand2022) vs sinha2024 (p = 0.88; p = 0.15)
    for piece in ("strand2022", "14", "Brandenburg 2019", "sinha2024", "p = 0.88", "p = 0.15"):
        assert piece in note, piece


def test_warfarin_carries_floege_association_not_cause(kb):
    t = kb.therapy_by_id["warfarin"]
    harm = [h for h in t.harms if "floege2015" in h.sources]
    assert harm and "11 of the 24" in harm[0].text and "association" in harm[0].text
