"""Literature pack, group g6: juvenile dermatomyositis therapies and overview reviews.

Expected values are typed from the pack files in /work/shared/sources/literature/
(arthresther-antitnf-jdm.md, pedrheumatol-ilinfliximab-jdm.md, zhang2023.md, davuluri2022.md,
nunley2020-calcinosis-treatment.md), not copied from the knowledge files.
"""

from __future__ import annotations

import pytest

from calcref.knowledge import stack

G6_SOURCES = (
    "arthresther-antitnf-jdm",
    "pedrheumatol-ilinfliximab-jdm",
    "zhang2023",
    "davuluri2022",
    "nunley2020-calcinosis-treatment",
)


def knowledge_text() -> str:
    base = stack.bundled_dir()
    return "".join(
        (base / n).read_text(encoding="utf-8") for n in ("therapies.yaml", "subtypes.yaml")
    )


def position(kb, therapy_id, source):
    found = [p for p in kb.therapy_by_id[therapy_id].positions if p.source == source]
    assert len(found) == 1, (therapy_id, source, found)
    return found[0]


def all_notes_text(record) -> str:
    return " ".join(n.text for n in record.notes)


# --- every source -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", G6_SOURCES)
def test_reference_exists_and_is_cited_as_itself(kb, key):
    ref = kb.reference_by_id[key]
    assert ref.printed and all(p.source == key for p in ref.printed)
    assert ref.population and ref.covers


def test_no_literature_position_has_a_line_or_letter(kb):
    # Pack rule 1: "A therapy added from this pack has no chapter `line` and no chapter
    # `evidence` letter"; a review's own view goes in `view`.
    seen = 0
    for therapy in kb.therapies:
        for p in therapy.positions:
            if p.source in G6_SOURCES:
                seen += 1
                assert p.line is None, (therapy.id, p.source)
                assert p.evidence is None, (therapy.id, p.source)
                assert p.view
    assert seen >= 18


def test_studies_carry_no_computed_counts(kb):
    # Rule 6: "percentages with unknown denominators (zhang2023, arthresther-antitnf-jdm) ...
    # go into the outcome text, not into `counts`"; pedrheumatol gives no responder numbers.
    for sid in ("arthresther-antitnf-jdm", "pedrheumatol-ilinfliximab-jdm", "zhang2023"):
        c = kb.study_by_id[sid].counts
        assert (c.responders, c.complete, c.partial, c.none, c.unknown) == (None,) * 5, sid


# --- arthresther-antitnf-jdm --------------------------------------------------------------------


def test_arthresther_antitnf_jdm_reference(kb):
    ref = kb.reference_by_id["arthresther-antitnf-jdm"]
    # "Authors | **not shown**"
    assert ref.authors == ()
    # "Title | Retrospective analysis of infliximab and adalimumab treatment in a large cohort
    # of juvenile dermatomyositis patients"
    assert ref.title == (
        "Retrospective analysis of infliximab and adalimumab treatment in a large cohort of "
        "juvenile dermatomyositis patients"
    )
    assert ref.journal == "Arthritis Research & Therapy"
    # "Year | **not shown as text**" ... "Leave the year empty"; volume, issue, number not shown
    assert ref.year is None
    assert ref.volume is None and ref.issue is None and ref.article_number is None
    assert ref.type == "article"
    assert ref.kind == "retrospective cohort or series"
    # "DOI: **10.1186/s13075-020-02164-5** — confirmed on the publisher's page"
    # "PMCID: **PMC7161150** — confirmed on the PMC page." "PMID: not shown."
    assert ref.doi == "10.1186/s13075-020-02164-5"
    assert ref.pmcid == "PMC7161150"
    assert ref.pmid is None
    assert "publisher" in ref.confirmed and "PMC" in ref.confirmed
    assert "60" in ref.population


def test_arthresther_antitnf_jdm_study(kb):
    s = kb.study_by_id["arthresther-antitnf-jdm"]
    assert s.ref == "arthresther-antitnf-jdm"
    assert set(s.therapies) == {"infliximab", "adalimumab"}
    # "60 children with juvenile dermatomyositis (JDM) ... for at least 3 months"
    assert s.n == 60
    assert s.kind == "retrospective cohort or series"
    assert s.contexts == ("jdm",)
    assert "calciphylaxis" not in s.subtypes
    assert "at least 3 months" in s.population
    assert s.direction == "benefit"
    # Doses not shown: no regimen
    assert s.regimen is None
    # "The median prednisolone dose fell from 6 mg to 2.5 mg (p < 0.0001)."
    (eff,) = s.effects
    assert eff.p == "p < 0.0001"
    assert "6 mg" in eff.value and "2.5 mg" in eff.value
    # "**54% of patients had fewer and/or smaller calcinosis lesions.**" (percentage only)
    assert "54%" in s.outcome
    assert "54%" in s.caution.text
    # "25% switched from infliximab to adalimumab."
    assert "25% switched from infliximab to adalimumab" in s.outcome
    # "Adverse reactions: 13.9 per 100 patient-years, of which 5.7 per 100 patient-years were serious."
    (harm,) = s.harms
    assert "13.9 per 100 patient-years" in harm.text
    assert "5.7 per 100 patient-years" in harm.text
    assert harm.sources == ("arthresther-antitnf-jdm",)
    # "Children only. Do not extend the finding to adults."
    assert "adults" in all_notes_text(s)
    # "The background cites an earlier 5-patient series of infliximab in refractory JDM."
    assert "5 patients" in all_notes_text(s)


def test_arthresther_therapies_linked(kb):
    for tid in ("infliximab", "adalimumab"):
        t = kb.therapy_by_id[tid]
        assert "arthresther-antitnf-jdm" in t.sources
        jdm = [c for c in t.contexts if c.context == "jdm"]
        assert jdm and "arthresther-antitnf-jdm" in jdm[0].sources
        assert not t.regimens or all("arthresther-antitnf-jdm" not in r.sources for r in t.regimens)
    # The chapter's own infliximab entry is untouched.
    assert any(
        u.text == "A recent approach that has been tried." and u.sources == ("chapter",)
        for u in kb.therapy_by_id["infliximab"].uses
    )


# --- pedrheumatol-ilinfliximab-jdm --------------------------------------------------------------


def test_pedrheumatol_ilinfliximab_reference(kb):
    ref = kb.reference_by_id["pedrheumatol-ilinfliximab-jdm"]
    assert ref.authors == ()
    assert ref.title == (
        "Local injection of infliximab into calcinosis lesions in patients with juvenile "
        "dermatomyositis (JDM): a clinical trial"
    )
    assert ref.journal == "Pediatric Rheumatology"
    assert ref.year is None  # "**not shown as text**"
    # "DOI: **10.1186/s12969-023-00941-5** — confirmed on the publisher's page"
    assert ref.doi == "10.1186/s12969-023-00941-5"
    assert "publisher" in ref.confirmed
    # "PMID: not shown. PMCID: not shown."
    assert ref.pmid is None and ref.pmcid is None
    # "Trial registration: **IRCT20210808052107N1**."
    assert ref.registrations == ("IRCT20210808052107N1",)
    assert ref.kind == "prospective trial"


def test_pedrheumatol_ilinfliximab_study(kb):
    s = kb.study_by_id["pedrheumatol-ilinfliximab-jdm"]
    assert s.therapies == ("infliximab-intralesional",)
    # "5 patients with juvenile dermatomyositis (JDM) and calcinosis."
    assert s.n == 5
    assert s.kind == "prospective trial"
    assert s.contexts == ("jdm",)
    assert s.direction == "benefit"
    # "once a week for 16 weeks. **The dose per injection is not shown.**"
    assert "once a week for 16 weeks" in s.regimen
    assert "all four sides" in s.regimen
    assert "mg" not in s.regimen.replace("not shown", "")
    values = {e.value for e in s.effects}
    # "lesion length fell by 2.66% and width by 3.32% at each visit (GEE model, as shown)"
    assert {"2.66%", "3.32%"} <= values
    assert all(e.type == "other" for e in s.effects)
    # "mean lesion length went from 12.09 ± 5.05 mm to 5.59 ± 7.05 mm, and mean width from
    # 6.35 ± 3.00 mm to 3.41 ± 4.05 mm"
    assert "12.09 ± 5.05 mm to 5.59 ± 7.05 mm" in values
    assert "6.35 ± 3.00 mm to 3.41 ± 4.05 mm" in values
    for figure in (
        "2.66%",
        "3.32%",
        "12.09 ± 5.05 mm",
        "5.59 ± 7.05 mm",
        "6.35 ± 3.00 mm",
        "3.41 ± 4.05 mm",
    ):
        assert figure in s.outcome
    # "No treatment-specific side effects were reported."
    assert "No treatment-specific side effects" in s.harms[0].text


def test_intralesional_infliximab_therapy(kb):
    t = kb.therapy_by_id["infliximab-intralesional"]
    assert "pedrheumatol-ilinfliximab-jdm" in t.sources
    (reg,) = [r for r in t.regimens if "pedrheumatol-ilinfliximab-jdm" in r.sources]
    assert "16 weeks" in reg.text and "juvenile dermatomyositis" in reg.text
    assert "dose per injection not shown" in reg.text
    assert any(c.context == "jdm" for c in t.contexts)


# --- zhang2023 ----------------------------------------------------------------------------------


def test_zhang2023_reference(kb):
    ref = kb.reference_by_id["zhang2023"]
    assert ref.authors == (
        "Junmei Zhang",
        "Li Sun",
        "XinWei Shi",
        "Shipeng Li",
        "Cuihua Liu",
        "Xiaoqing Li",
        "Meiping Lu",
        "Jianghong Deng",
        "Xiaohua Tan",
        "Wanzhen Guan",
        "Guomin Li",
        "Xinran Wen",
        "Ping Liu",
        "Caifeng Li",
    )
    assert ref.title == (
        "Janus kinase inhibitor, tofacitinib, in refractory juvenile dermatomyositis: a "
        "retrospective multi-central study in China"
    )
    assert ref.journal == "Arthritis Research & Therapy"
    assert ref.year == 2023
    assert ref.issue == "1/2023"
    assert ref.volume is None and ref.article_number is None
    # "PMCID: **PMC10583374** — confirmed on the PMC page." "DOI: not shown. PMID: not shown."
    assert ref.pmcid == "PMC10583374"
    assert "PMC" in ref.confirmed
    assert ref.doi is None and ref.pmid is None
    assert ref.kind == "retrospective cohort or series"


def test_zhang2023_study(kb):
    s = kb.study_by_id["zhang2023"]
    assert s.therapies == ("tofacitinib",)
    # "88 patients with refractory juvenile dermatomyositis treated with tofacitinib for more
    # than 3 months, in several centres in China."
    assert s.n == 88
    assert s.contexts == ("jdm",)
    assert "China" in s.population and "more than 3 months" in s.population
    assert s.kind == "retrospective cohort or series"
    assert s.direction == "benefit"
    # "The tofacitinib dose was not shown."
    assert s.regimen is None
    # "Almost 50% reached a complete clinical response"; "60% of patients with interstitial
    # lung disease recovered"; "shrank in size or number in 75% ... resolved completely in 25%"
    for figure in ("Almost 50%", "60%", "75%", "25%"):
        assert figure in s.outcome
    # "6 patients were on tofacitinib alone."
    assert "alone in 6 patients" in s.treatment
    # "The calcinosis denominator is not shown."
    assert "denominator" in s.caution.text
    assert s.effects == ()


def test_tofacitinib_therapy(kb):
    t = kb.therapy_by_id["tofacitinib"]
    assert "zhang2023" in t.sources
    assert t.regimens == ()  # dose missing: give none
    assert any("Janus kinase" in m.text for m in t.mechanism)
    assert any(c.context == "jdm" and "zhang2023" in c.sources for c in t.contexts)


# --- davuluri2022 -------------------------------------------------------------------------------


def test_davuluri2022_reference(kb):
    ref = kb.reference_by_id["davuluri2022"]
    assert ref.authors == ("Davuluri S", "Duvvuri B", "Lood C", "Faghihi-Kashani S", "Chung L")
    assert ref.title == "Calcinosis in dermatomyositis: Origins and possible therapeutic avenues"
    assert ref.journal == "Best practice & research. Clinical rheumatology"
    assert ref.year == 2022
    assert ref.article_number == "101768"
    assert ref.volume is None and ref.issue is None
    # "Citation line as seen | "Best practice & research. Clinical rheumatology, 2022: 101768""
    assert any(
        p.text == "Best practice & research. Clinical rheumatology, 2022: 101768"
        for p in ref.printed
    )
    # "PMCID: **PMC10269219** — confirmed on the PMC page"
    assert ref.pmcid == "PMC10269219"
    # "DOI: not confirmed. PMID: not confirmed." ... "do not transcribe"
    assert ref.doi is None and ref.pmid is None
    assert ref.kind == "narrative review"


def test_davuluri2022_unconfirmed_identifiers_nowhere():
    text = knowledge_text()
    assert "10.1016/j.berh.2022.101768" not in text
    assert "35803868" not in text


def test_davuluri2022_frequencies(kb):
    # "Calcinosis occurs in 20–40% of patients with JDM and in up to 20% of adults with DM."
    dystrophic = kb.subtype_by_id["dystrophic"]
    jdm = [f for f in dystrophic.frequencies if f.context == "jdm"]
    figures = {f.figure for f in jdm}
    # The chapter's figure stays, untouched, and davuluri's is a separate statement.
    assert figures == {"10%–40%", "20–40%"}
    chapter = next(f for f in jdm if f.figure == "10%–40%")
    assert all(st.sources == ("chapter",) for st in chapter.statements)
    ours = next(f for f in jdm if f.figure == "20–40%")
    (st,) = ours.statements
    assert st.sources == ("davuluri2022",)
    assert "20–40%" in st.text
    note = " ".join(n.text for n in st.notes)
    assert "10%–40%" in note and "20–40%" in note and "chapter" in note and "davuluri2022" in note
    adult = [f for f in dystrophic.frequencies if f.context == "dm"]
    assert [f.figure for f in adult] == ["up to 20%"]
    assert adult[0].statements[0].sources == ("davuluri2022",)
    assert "davuluri2022" in dystrophic.sources


def test_davuluri2022_associations(kb):
    # "In JDM, calcinosis is associated with delayed immunosuppressive treatment. In adult DM
    # it is associated with long disease duration, fingertip ulcers, and anti-MDA-5 and
    # anti-NXP-2 antibodies."
    texts = {p.id: p.text for p in kb.principles if "davuluri2022" in p.sources}
    joined = " ".join(texts.values())
    for phrase in (
        "delayed immunosuppressive treatment",
        "long disease duration",
        "fingertip ulcers",
        "anti-MDA-5",
        "anti-NXP-2",
    ):
        assert phrase in joined


def test_davuluri2022_views(kb):
    # "Minocycline is useful for lesions with inflammation around them."
    assert "inflammation" in position(kb, "minocycline", "davuluri2022").view
    # "Evidence for sodium thiosulfate, in its various formulations, is growing."
    for tid in (
        "sodium-thiosulfate",
        "sodium-thiosulfate-intralesional",
        "sodium-thiosulfate-intravenous",
    ):
        assert "growing" in position(kb, tid, "davuluri2022").view
    # "Prostacyclin analogues may be promising."
    assert "promising" in position(kb, "prostacyclin-analogues", "davuluri2022").view
    # "The authors' own treatment of choice is surgical removal, when a lesion is suitable."
    surg = position(kb, "surgical-excision", "davuluri2022")
    assert "treatment of choice" in surg.view and "suitable" in surg.view
    # "In JDM, starting strong immunosuppression early might stop calcinosis from forming."
    assert "early" in position(kb, "treat-underlying", "davuluri2022").view
    # "Once deposits exist, data on what helps are scarce."
    gaps = [g for g in kb.gaps if "davuluri2022" in g.sources]
    assert gaps and "scarce" in gaps[0].text and gaps[0].basis == "literature"
    # "Give no doses from this source."
    for t in kb.therapies:
        assert all("davuluri2022" not in r.sources for r in t.regimens), t.id
    # The chapter's minocycline ladder place is unchanged.
    assert kb.therapy_by_id["minocycline"].line == "second"
    assert kb.therapy_by_id["minocycline"].evidence == "E"


# --- nunley2020-calcinosis-treatment ------------------------------------------------------------


def test_nunley2020_calcinosis_treatment_reference(kb):
    ref = kb.reference_by_id["nunley2020-calcinosis-treatment"]
    assert ref.type == "online"
    assert ref.authors == ("Nunley",)
    assert ref.title == "Calcinosis Cutis Treatment & Management"
    assert ref.site == "Medscape eMedicine"
    assert ref.updated == "Mar 05, 2020"
    assert ref.year == 2020
    assert ref.article_number == "article 1103137"
    # "Identifiers: None (web page)."
    assert ref.doi is None and ref.pmid is None and ref.pmcid is None
    assert ref.kind == "narrative review"


def test_nunley2020_calcinosis_treatment_views(kb):
    src = "nunley2020-calcinosis-treatment"
    # "Intralesional corticosteroids may help."
    assert "May help" in position(kb, "intralesional-corticosteroid", src).view
    # "Probenecid and colchicine have helped some patients."
    assert "some patients" in position(kb, "probenecid", src).view
    assert "some patients" in position(kb, "colchicine", src).view
    # "magnesium- or aluminium-containing antacids can act as phosphate binders, with a risk of
    # toxicity in renal insufficiency."
    assert "phosphate binders" in position(kb, "aluminum-hydroxide", src).view
    assert any(
        "renal insufficiency" in h.text and src in h.sources
        for h in kb.therapy_by_id["aluminum-hydroxide"].harms
    )
    # "Etidronate and other diphosphonates need long treatment and may paradoxically raise phosphate."
    bis = position(kb, "bisphosphonates", src)
    assert "long" in bis.view and "paradoxically raise phosphate" in bis.view
    # "Topical myo-inositol hexaphosphate: supported by animal data only."
    assert "animal data only" in position(kb, "myo-inositol-hexaphosphate-topical", src).view
    # "**Low-dose warfarin should not be used**, because no benefit has been established."
    war = position(kb, "warfarin", src)
    assert "not be used" in war.view and war.listed_as == "low-dose warfarin"
    # "Rituximab and TNF inhibitors may help in dermatomyositis."
    for tid in ("rituximab", "infliximab", "adalimumab"):
        assert "dermatomyositis" in position(kb, tid, src).view
    # "Diltiazem taken for 5 years or longer has given variable benefit."
    dil = position(kb, "diltiazem", src)
    assert "5 years or longer" in dil.view and "variable benefit" in dil.view
    # "Intravenous sodium thiosulfate may be considered for calciphylaxis (off-label)."
    iv = position(kb, "sodium-thiosulfate-intravenous", src)
    assert "calciphylaxis" in iv.view and "off-label" in iv.view
    # "sodium thiosulfate 25% given topically or intralesionally may help" (ulcerative, tumoral)
    for tid in ("sodium-thiosulfate", "sodium-thiosulfate-intralesional"):
        regs = [r for r in kb.therapy_by_id[tid].regimens if src in r.sources]
        assert len(regs) == 1 and regs[0].text.startswith("25%")
        assert (
            "ulcerative calcinosis cutis" in regs[0].text and "tumoral calcinosis" in regs[0].text
        )
    assert "tumoral" in kb.therapy_by_id["sodium-thiosulfate-intralesional"].subtypes
    assert "tumoral" not in kb.therapy_by_id["sodium-thiosulfate"].subtypes  # the chapter's
    # The chapter's own positions stay as they were.
    assert kb.therapy_by_id["diltiazem"].line == "first"
    assert kb.therapy_by_id["diltiazem"].evidence == "C"
    assert position(kb, "warfarin", "chapter").view.startswith("Advocated")
