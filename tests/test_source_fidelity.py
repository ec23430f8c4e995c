"""What a second reading of the sources corrected (2026-11-28), pinned as a user meets it.

An audit read every record against its source again. Each test holds one correction: a value
no source gives taken out, a warning brought to where the value is shown, an answer that let
a hedged mention stand in for a study's own result. Expected values are typed from the
sources (quoted in the comments), not copied from data/*.yaml.
"""

from __future__ import annotations

import json

import pytest
from clirun import invoke, ok
from helpers import row_of

WIDE = {"COLUMNS": "400"}


def answer(*args: str) -> list[dict]:
    return json.loads(ok(*args, "--json").stdout)


# --- which study a one-row answer leads with --------------------------------------------------


def test_a_hedged_review_mention_does_not_stand_in_for_a_cohorts_result():
    # traineau2020: "Diltiazem and bisphosphonates: several studies suggest either might be a
    # useful option" (no counts, no result). vayssairat-diltiazem: slight radiological
    # improvement in 3 of 12 SSc patients, efficacy unclear: the SSc study with a result.
    (diltiazem,) = [r for r in answer("treat", "--context", "ssc") if r["id"] == "diltiazem"]
    assert diltiazem["strongest"] == "vayssairat-diltiazem"
    row = row_of(ok("treat", "--context", "ssc", env=WIDE).stdout, "Diltiazem")
    assert "retrospective [ssc]: n=12: 3 partial" in row


@pytest.mark.parametrize(
    "study",
    [
        "traineau2020-diltiazem",
        "traineau2020-bisphosphonates",
        "traineau2020-rituximab",
        "traineau2020-tnf-inhibitors",
        "traineau2020-sodium-thiosulfate-intralesional",
    ],
)
def test_a_hedged_suggestion_is_given_no_direction(kb, study):
    # "might be a useful option", "promising", "possibly useful", "a possibly promising
    # alternative": the abstract's words, not results.
    s = kb.study_by_id[study]
    assert s.direction is None
    note = next(n for n in s.notes if n.id.endswith("-direction"))
    assert "hedged suggestion" in note.text


def test_a_review_that_advises_against_says_so_in_the_row():
    # traineau2020: "Low-dose warfarin: the authors advise against its use" (Oxford level IB);
    # no counts were retrieved, so the conclusion is all the row can say, and it must say it.
    row = row_of(ok("treat", "--context", "ssc", env=WIDE).stdout, "Warfarin")
    assert "systematic review [ssc, dm]: the authors: Low-dose warfarin is not advised." in row


# --- counts: patients treated, never a cohort or a difference -------------------------------


@pytest.mark.parametrize(
    ("study", "cohort"),
    [
        ("strand2022-lal2009-debridement", "26 patients"),
        ("strand2022-lal2009-parathyroidectomy", "26 patients"),
        ("strand2022-mccarthy2016-debridement", "101 patients"),
        ("strand2022-mccarthy2016-parathyroidectomy", "101 patients"),
    ],
)
def test_a_cohort_size_is_not_the_number_treated(kb, study, cohort):
    # strand2022: "Lal 2009: retrospective, 26 patients"; "McCarthy 2016: retrospective, 101
    # patients": how many had the operation is not given.
    s = kb.study_by_id[study]
    assert s.n is None
    assert cohort in s.population and "is not given" in s.population


def test_no_count_is_worked_out_from_two_the_source_gives():
    # divinghyperbmed2008-hbot: "judged beneficial in 11 patients (55%)"; "Ulcers resolved
    # completely in 6 (30%)": whether the 6 are among the 11 is not said, so no "5 responded".
    records = answer("studies", "--therapy", "hyperbaric-oxygen")
    (study,) = [s for s in records if s["id"] == "divinghyperbmed2008-hbot"]
    assert study["counts"]["responders"] == 11 and study["counts"]["complete"] is None
    table = ok("studies", "--therapy", "hyperbaric-oxygen", env=WIDE).stdout
    assert "5 responded" not in table


def test_the_treated_arm_is_shown_with_what_it_was_compared_with():
    # sinha2024: "37 were randomised to hexasodium fytate and 34 to placebo."
    table = ok("treat", "--subtype", "calciphylaxis", env=WIDE).stdout
    assert "double-blind RCT [ckd, dialysis]: n=37 vs placebo (34 randomised);" in table
    for args in (("studies", "--subtype", "calciphylaxis"), ("show", "hexasodium-fytate")):
        assert "n=37 vs placebo (34 randomised)" in ok(*args, env=WIDE).stdout, args
    # A cohort's effect names both groups already (tpa-calciphylaxis: 15 treated, "63
    # untreated controls"); an estimate of type "other" is printed as its value alone.
    row = row_of(table, "Tissue plasminogen activator")
    assert "n=15; survival, tPA-treated vs 63 untreated controls: about 30% greater, P = .14" in row
    assert "other about" not in row


# --- warnings travel with the value -----------------------------------------------------------


def test_the_fatal_harm_of_intraperitoneal_thiosulfate_is_in_every_row_of_the_route():
    # gossett2023: "intraperitoneal STS caused chemical peritonitis, which was fatal in 20% of
    # that small group. Show this wherever intraperitoneal STS appears."
    for args in (("--subtype", "calciphylaxis"), ("--context", "dialysis")):
        table = ok("treat", *args, env=WIDE).stdout
        row = row_of(table, "Intraperitoneal sodium thiosulfate")
        assert "chemical peritonitis" in row and "20% died" in row, args
    studies = answer("studies", "--therapy", "sodium-thiosulfate-intraperitoneal")
    assert {s["id"] for s in studies} == {
        "gossett2023-intraperitoneal",
        "gossett2023-intravenous-then-intraperitoneal",
    }
    for study in studies:
        assert "chemical peritonitis" in study["caution"]["text"]


def test_tpa_bleeding_is_shown_beside_the_therapy():
    # tpa-calciphylaxis: "3 of 15 had life-threatening bleeding. Show this beside any mention
    # of this therapy."
    row = row_of(ok("treat", "--subtype", "calciphylaxis", env=WIDE).stdout, "Tissue plasminogen")
    assert "Life-threatening bleeding in 3 of 15 patients" in row


@pytest.mark.parametrize(
    "study",
    [
        "strand2022-lal2009-debridement",
        "strand2022-lal2009-parathyroidectomy",
        "strand2022-mccarthy2016-debridement",
        "strand2022-mccarthy2016-parathyroidectomy",
        "strand2022-robert2020",
        "strand2022-darres2019",
        "strand2022-torregrosa2015",
    ],
)
def test_a_kidney_link_no_row_states_is_said_to_be_calcrefs(kb, study):
    # strand2022's rows give no kidney status (only Brandenburg's "during haemodialysis").
    s = kb.study_by_id[study]
    assert "ckd" in s.contexts
    assert any(n.id == "strand-row-kidney-status" for n in s.notes)


def test_the_pooled_laser_clearance_is_not_read_as_patients(kb):
    # nowaczyk2021: "The unit behind 12/21 (laser) ... is not stated: it may be patients or
    # treated sites."
    (use,) = [u for u in kb.therapy_by_id["co2-laser"].uses if "12/21" in u.text]
    assert any("patients or treated sites" in n.text for n in use.notes)


# --- nothing asserted that the sources do not say ---------------------------------------------


def test_no_test_is_tied_to_a_source_whose_tests_were_not_retrieved(kb):
    # jaad2011-diagnostic-pathway: "The diagnostic algorithm and its list of tests were not
    # [retrieved]. Add no investigation from this source beyond what is written here."
    for investigation in kb.investigations:
        for tie in investigation.ties:
            assert "jaad2011-diagnostic-pathway" not in tie.sources, investigation.id


def test_each_investigation_names_a_subtype_once():
    for record in answer("workup", "--subtype", "calciphylaxis"):
        assert len(record["subtypes"]) == len(set(record["subtypes"])), record["id"]
    table = ok("workup", "--subtype", "calciphylaxis", env=WIDE).stdout
    assert table.count("If Calciphylaxis (calciphylaxis)") == 1


def test_whose_first_line_recommendation_it_is_stays_open(kb):
    # The chapter's summary of Balin 2012: "... <480 mg/day. This is recommended as first-line
    # treatment." Whether Balin or the chapter recommends it is not said: no line for Balin.
    (balin,) = [p for p in kb.therapy_by_id["diltiazem"].positions if p.source == "balin2012"]
    assert balin.line is None and "without saying whether" in balin.view
    first = answer("treat", "--line", "first")
    assert "diltiazem" in {r["id"] for r in first}  # the chapter's own first line


def test_an_open_label_single_arm_study_is_not_made_a_prospective_trial(kb):
    # strand2022: "Brandenburg 2019: open-label, single-arm study of 14 patients".
    s = kb.study_by_id["strand2022-brandenburg2019"]
    assert s.kind is None and "single-arm" in s.design


def test_a_complete_author_list_exports_without_others(kb):
    # zhang2023's citation table lists fourteen authors, "Junmei Zhang, ... Caifeng Li", with no
    # "et al."; only the pack's one-line form shortens them.
    ref = kb.reference_by_id["zhang2023"]
    assert len(ref.authors) == 14 and not ref.et_al
    bibtex = ok("cite", "zhang2023", "--style", "bibtex").stdout
    [author] = [line for line in bibtex.splitlines() if line.startswith("  author = ")]
    assert author.count(" and ") == 13 and "and others" not in author
    assert author.endswith(" and Li, Caifeng},")  # the last of the fourteen, family name first


def test_walsh_is_known_through_the_jopa_article(kb):
    # JOPA: "... occurs in 25% of those with systemic sclerosis.1 ... 1. Walsh JS, Fairley JA."
    assert "JOPA article" in kb.reference_by_id["walsh1995"].covers
    # and Robertson 2003 is cited by both primary sources
    assert "JOPA article also cites it" in kb.reference_by_id["robertson2003"].covers


def test_the_whole_ladder_leads_each_row_with_a_study_of_the_subtypes_it_grades():
    # The chapter grades bisphosphonates D for dystrophic calcinosis (Wakabayashi 2015, Marco
    # Puche 2010, in juvenile dermatomyositis); udomkarnjananun-calciphylaxis pools mortality
    # in calciphylaxis, another disease: it must not headline the ladder's row.
    records = {r["id"]: r for r in answer("treat")}
    bisphosphonates = records["bisphosphonates"]
    (lead,) = [s for s in bisphosphonates["studies"] if s["id"] == bisphosphonates["strongest"]]
    assert "calciphylaxis" not in lead["subtypes"] and "dystrophic" in lead["subtypes"]
    # Asked about calciphylaxis, the same meta-analysis is the answer, beyond the chapter.
    asked = {r["id"]: r for r in answer("treat", "--subtype", "calciphylaxis")}
    assert asked["bisphosphonates"]["strongest"] == "udomkarnjananun-calciphylaxis-bisphosphonates"
    assert asked["bisphosphonates"]["place"] == "beyond the chapter"


def test_a_treatment_answer_leads_with_treatment_not_prevention():
    # floege2015 is about preventing new calciphylaxis (relative hazard 0.31);
    # udomkarnjananun-calciphylaxis about treating it (mortality RR 1.04, not significant):
    # "different questions. Never merge them". For a dialysis patient with calciphylaxis the
    # row answers the treatment question; the prevention study stays in the record.
    records = {r["id"]: r for r in answer("treat", "--context", "dialysis")}
    cinacalcet = records["cinacalcet"]
    (lead,) = [s for s in cinacalcet["studies"] if s["id"] == cinacalcet["strongest"]]
    assert lead["aim"] != "prevention" and lead["ref"] == "udomkarnjananun-calciphylaxis"
    assert "floege2015" in {s["ref"] for s in cinacalcet["studies"]}
    row = row_of(ok("treat", "--context", "dialysis", env=WIDE).stdout, "Cinacalcet")
    assert "risk ratio 1.04 (95% CI 0.75–1.42) → no significant effect" in row
    assert "(prevention)" not in row


def test_a_sources_first_line_is_for_the_patients_it_names():
    # JOPA: "Minocycline is often used as a first-line treatment for patients with painful,
    # ulcerating dermal calcinosis", in an article on scleroderma and CREST.
    jdm = ok("treat", "--context", "jdm", env=WIDE).stdout
    assert "Minocycline ⚑ · Cloutier (JOPA): often used first line in ssc" in jdm
    first_in_jdm = {r["id"] for r in answer("treat", "--context", "jdm", "--line", "first")}
    assert "minocycline" not in first_in_jdm
    first_in_crest = {r["id"] for r in answer("treat", "--context", "crest", "--line", "first")}
    assert "minocycline" in first_in_crest
    assert "minocycline" in {r["id"] for r in answer("treat", "--line", "first")}
    card = ok("show", "minocycline", env=WIDE).stdout
    assert "Cloutier (JOPA), for ssc (no evidence letter): Often used first line" in card


def test_a_combined_treatment_says_so_in_the_row():
    # The chapter: "oral prednisolone (1 mg/kg/day) and methotrexate (10 mg/week)" (Meher
    # 2014); Jiang 2011's title: "successful treatment with prednisone and diltiazem".
    table = ok("treat", "--context", "jdm", env=WIDE).stdout
    assert "(oral prednisolone with methotrexate): n=1" in row_of(table, "Oral prednisolone")
    assert "(diltiazem; the report's title also names prednisone)" in row_of(table, "Diltiazem")


def test_the_anti_tnf_adverse_reactions_are_a_harm_of_both_agents(kb):
    # arthresther-antitnf-jdm: "Adverse reactions: 13.9 per 100 patient-years, of which 5.7
    # per 100 patient-years were serious."
    for therapy in ("infliximab", "adalimumab"):
        (harm,) = kb.therapy_by_id[therapy].harms
        assert "13.9 per 100 patient-years" in harm.text and "5.7 per 100" in harm.text
        assert harm.sources == ("arthresther-antitnf-jdm",)
    table = ok("treat", "--context", "jdm", env=WIDE).stdout
    assert "Infliximab ⚑ ⚠" in table and "Adalimumab ⚑ ⚠" in table


# --- the point-of-care audits (knowledge 2.0.3) -----------------------------------------------


def section(text: str, heading: str) -> str:
    """The block of a `show` card that starts with `heading`, up to the next blank line."""
    start = text.index(heading)
    end = text.find("\n\n", start)
    return text[start : end if end != -1 else len(text)]


def test_a_subtype_the_source_does_not_name_is_marked_curated():
    # bair2011: "2 patients with ulcerative calcinosis cutis that had not healed with several
    # topical treatments or with correction of electrolyte abnormalities" (no subtype named);
    # "The authors propose 25% topical STS as another option for dystrophic calcinosis cutis."
    card = section(ok("show", "sodium-thiosulfate", env=WIDE).stdout, "Bair 2011 (bair2011)")
    assert "Curator's note: The source names no subtype for the two patients" in card
    assert "electrolyte abnormalities, corrected without the ulcers healing" in card
    (bair,) = [s for s in answer("studies", "--subtype", "dystrophic") if s["id"] == "bair2011"]
    assert "bair2011-subtype-curated" in {n["id"] for n in bair["notes"]}


def test_a_cut_off_abstract_is_given_no_direction():
    # blumhardt2016: "Pain in the treated finger fell in 2 of the 4 patients"; "The abstract was
    # cut off after these results": no authors' verdict was retrieved.
    row = row_of(ok("treat", "--context", "ssc", env=WIDE).stdout, "Extracorporeal shock wave")
    assert "prospective trial [ssc]: n=4" in row and "benefit" not in row
    (study,) = [s for s in answer("studies", "--therapy", "eswl") if s["id"] == "blumhardt2016"]
    assert study["direction"] is None


def test_the_ssc_gap_says_the_one_small_rct_and_whose_count_it_is():
    # traineau2020: warfarin "rests on one small randomised controlled trial and 4 retrospective
    # studies"; "the authors advise against its use"; "high-level evidence was rare among the
    # studies they included". valenzuela2016's earlier "no randomised controlled trial had been
    # completed" is in the gap's note: the line, on the one line the SSc answer has room for
    # at 80 columns, gives the later count, attributed.
    gap = "⚠ Gap: Traineau 2020: high-level evidence rare; 1 small RCT (warfarin, against)."
    for context in ("ssc", "dm"):
        out = ok("treat", "--context", context, env={"COLUMNS": "80"}).stdout
        assert out.splitlines()[0] == gap, context


def test_one_patients_failure_is_her_count_not_a_statistical_result():
    # jclinpharmther2016-rituximab: "She was treated with rituximab without a successful
    # outcome." Recorded as a failure (README rule 4), not as "no significant effect".
    table = ok("studies", "--context", "ssc", env=WIDE).stdout
    assert "J Clin Pharm Ther 2016 [ssc], case report: n=1: 1 no response" in table
    card = section(ok("show", "rituximab", env=WIDE).stdout, "J Clin Pharm Ther 2016 (")
    assert "Counts: n=1: 1 no response" in card
    assert "A negative result: rituximab failed in this patient." in card
    assert "no significant effect" not in card


def test_a_case_that_resolved_is_a_complete_response():
    # The chapter on Pitt 1990: "A case of dystrophic calcinosis after trauma that resolved over
    # 8 weeks with spontaneous transepidermal elimination."
    card = section(ok("show", "no-treatment", env=WIDE).stdout, "Studies")
    assert card.endswith("Counts: n=1: 1 complete") and "degree not given" not in card


def test_a_study_with_no_kidney_status_and_a_non_nephrogenic_subgroup_is_not_ckd_evidence():
    # biglione2024: "93 patients with calciphylaxis" (no kidney status); "*Secondary: seen only
    # on a news page*: the survival association was strongest in non-nephrogenic calciphylaxis".
    assert "biglione2024-hbot" not in {s["id"] for s in answer("studies", "--context", "ckd")}
    assert "biglione2024-hbot" in {s["id"] for s in answer("studies", "--subtype", "calciphylaxis")}
    card = section(ok("show", "hyperbaric-oxygen", env=WIDE).stdout, "Biglione 2024 (biglione2024)")
    assert "kidney status not given." in card and "[ckd]" not in card


@pytest.mark.parametrize("therapy", ["debridement", "parathyroidectomy"])
def test_a_mixed_dialysis_cohort_is_a_broader_group_for_a_dialysis_question(therapy):
    # weenig2007: "64 patients with calciphylaxis"; "49 of them on dialysis"; "no control group
    # for the 15 patients not on dialysis".
    (record,) = [r for r in answer("treat", "--context", "dialysis") if r["id"] == therapy]
    (weenig,) = [s for s in record["studies"] if s["ref"] == "weenig2007"]
    assert weenig["relation"] == "broader" and weenig["contexts"] == ["ckd"]
    assert "49 of 64 on dialysis" in weenig["population"]
    assert weenig["id"] not in {s["id"] for s in answer("studies", "--context", "dialysis")}


def test_analgesic_advice_is_the_pain_treatments_not_a_harm_of_debridement_or_hbot():
    # strand2022, the Chang 2019 row: "avoid morphine in renal failure (fentanyl or methadone
    # instead)": advice on analgesia, not an adverse effect of debridement or oxygen.
    for therapy in ("debridement", "hyperbaric-oxygen"):
        card = ok("show", therapy, env=WIDE).stdout
        assert "Harm: Morphine" not in card and "Morphine is to be avoided" not in card, therapy
    pain = ok("show", "pain-management", env=WIDE).stdout
    harms = section(pain, "Harms (adverse effects the sources report)")
    assert "morphine is to be avoided in renal failure (Chang 2019 row)" in harms
    assert "Fentanyl or methadone instead of morphine in renal failure" in pain


def test_the_calciphylaxis_answer_says_how_little_is_known_outside_kidney_disease():
    # nunley2020-calciphylaxis-sts: "Success has been reported in both uremic and non-uremic
    # calciphylaxis" (no figures); biglione2024: the non-nephrogenic subgroup is "*Secondary:
    # seen only on a news page*"; every other study is of kidney disease or dialysis.
    out = " ".join(ok("treat", "--subtype", "calciphylaxis", env=WIDE).stdout.split())
    assert (
        "⚠ Gap: Calciphylaxis outside kidney disease: calcref holds only a statement (Nunley "
        "2020: success with sodium thiosulfate reported in non-uremic disease too) and a "
        "non-nephrogenic subgroup seen only on a news page (Biglione 2024, hyperbaric oxygen)."
    ) in out
    as_json = ok("treat", "--subtype", "calciphylaxis", "--json")
    assert "calcref: gap: Calciphylaxis outside kidney disease" in as_json.stderr


def test_a_trials_safety_figures_are_not_shown_as_harms_of_the_drug():
    # sinha2024: "Serious adverse events to week 12: a calciphylaxis-related event needed hospital
    # admission in 2/38 (5%) on hexasodium fytate vs 11/33 (33%) on placebo." "Deaths up to week
    # 12: 1/38 (3%) vs 5/33 (15%)." "Deaths over the whole trial: 2/38 (5%) ... vs 7/33 (21%)".
    # "The hospitalisation and death figures are safety data ... Never present them as proof
    # that the drug works."
    card = section(ok("show", "hexasodium-fytate", env=WIDE).stdout, "Sinha 2024 (sinha2024)")
    assert "Harm:" not in card
    card = " ".join(card.split())
    outcome = card[card.index("Outcome: ") : card.index("Counts: ")]
    for figure in ("2/38 (5%)", "11/33 (33%)", "1/38 (3%)", "5/33 (15%)", "7/33 (21%)"):
        assert figure in outcome, figure
    assert "Safety events in both arms" in outcome
    assert "they do not show that the drug works" in card
    # a search for the deaths finds them with that caution
    hits = json.loads(ok("search", "deaths", "--json").stdout)
    (hit,) = [h for h in hits if h["id"] == "sinha2024"]
    assert hit["caution"]["id"] == "sinha2024-safety-not-efficacy"


def test_a_review_that_excluded_calciphylaxis_is_never_shown_as_its_evidence():
    # nowaczyk2021: "Reports on calciphylaxis were excluded". Its intralesional sodium
    # thiosulfate result ("→ benefit") was tagged "[population not stated]" in a calciphylaxis
    # answer, as if it might be of those patients.
    row = row_of(ok("treat", "--subtype", "calciphylaxis", env=WIDE).stdout, "Intralesional")
    assert "systematic review" not in row and "→ benefit" in row  # another study leads
    assert "[ssc, dm: other group]" in row  # and says whose patients they were
    (therapy,) = [
        t
        for t in answer("treat", "--subtype", "calciphylaxis")
        if t["id"] == "sodium-thiosulfate-intralesional"
    ]
    (review,) = [s for s in therapy["studies"] if s["ref"] == "nowaczyk2021"]
    assert review["excluded"] == ["calciphylaxis"] and review["relation"] == "excluded"
    assert review["id"] != therapy["strongest"] and review["id"] not in therapy["chosen_from"]
    # Seen from a dystrophic question, the review is still a study of unstated patients.
    rows = answer("treat", "--context", "ssc")
    (ssc,) = [s for t in rows for s in t["studies"] if s["id"] == review["id"]]
    assert ssc["relation"] == "unstated"


def test_the_lupus_gap_says_whose_patients_the_rest_are():
    # After the population fixes the rows show ctd as a whole, jdm and reviews whose patients'
    # diseases are not shown (nowaczyk2021): the gap no longer says "connective tissue disease
    # as a whole" alone.
    out = " ".join(ok("treat", "--context", "sle", env=WIDE).stdout.split())
    assert (
        "Everything else shown comes from other patients: connective tissue disease as a "
        "whole, juvenile dermatomyositis, or reviews that do not say which diseases their "
        "patients had." in out
    )
    assert "[jdm: other group]" in out and "[population not stated]" in out


def test_the_hyperparathyroidism_answer_says_its_studies_are_of_calciphylaxis():
    # surgery2000-calciphylaxis: "16 patients with calciphylaxis ... All had chronic kidney
    # disease and secondary hyperparathyroidism"; floege2015 counts new calciphylaxis events;
    # the chapter lists hyperparathyroidism under metastatic calcinosis.
    out = " ".join(ok("treat", "--context", "hyperparathyroidism", env=WIDE).stdout.split())
    assert (
        "⚠ Gap: Every study shown for hyperparathyroidism is of calciphylaxis in patients with "
        "hyperparathyroidism, not of metastatic calcinosis, the kind the chapter lists it under."
    ) in out
    rows = answer("treat", "--context", "hyperparathyroidism")
    assert rows and all(
        "calciphylaxis" in s["subtypes"]
        for r in rows
        for s in r["studies"]
        if "hyperparathyroidism" in s["contexts"]
    )


def test_a_known_conflict_is_said_on_the_row_even_when_one_side_has_no_direction():
    # literature README, known conflicts: "The chapter ranks it first-line (C) via Balin 2012
    # (9 of 17 partial responses). vayssairat-diltiazem found only slight radiological
    # improvement in 3 of 12". Balin's study carries no direction, so the studies alone did
    # not show the disagreement: the curators' note does (`disagreement`).
    row = row_of(ok("treat", "--context", "ssc", env=WIDE).stdout, "Diltiazem")
    assert "retrospective [ssc]: n=12: 3 partial → no significant effect" in row
    assert row.endswith("· ⚑ sources disagree")
    (diltiazem,) = [t for t in answer("treat", "--context", "ssc") if t["id"] == "diltiazem"]
    assert diltiazem["disagreement"] == "diltiazem-sources-disagree"
    assert "diltiazem-sources-disagree" in {n["id"] for n in diltiazem["notes"]}


def test_validate_refuses_a_disagreement_without_its_note(knowledge):
    from helpers import edit

    path = knowledge / "therapies.yaml"
    edit(path, "    disagreement: diltiazem-sources-disagree\n", "    disagreement: no-such-note\n")
    result = invoke("validate", str(knowledge))
    assert result.exit_code == 1
    assert (
        "therapy 'diltiazem': disagreement names 'no-such-note', which is not one of its notes"
        in result.stdout
    )


# --- the card audit (knowledge 2.0.3) ---------------------------------------------------------


def flat(text: str) -> str:
    """Output with its wrapping undone, so a sentence is found whatever the width."""
    return " ".join(text.split())


@pytest.mark.parametrize("therapy", ["Infliximab", "Adalimumab"])
def test_the_anti_tnf_steroid_figure_says_it_is_not_a_calcinosis_result(therapy):
    # arthresther-antitnf-jdm: "The median prednisolone dose fell from 6 mg to 2.5 mg
    # (p < 0.0001)." Its calcinosis statement is "54% of patients had fewer and/or smaller
    # calcinosis lesions" and "The denominator of the 54% is not shown". The row's lead figure
    # is the steroid dose, so the row says it is not a calcinosis outcome, at 80 columns too.
    row = flat(row_of(ok("treat", "--context", "jdm", env={"COLUMNS": "80"}).stdout, therapy))
    assert (
        "median prednisolone dose, before vs after anti-TNF (not calcinosis): from 6 mg to "
        "2.5 mg, p < 0.0001 → benefit"
    ) in row
    card = flat(ok("show", therapy.lower(), env=WIDE).stdout)
    assert (
        "Curator's note: \"Benefit\" is the study's result for juvenile dermatomyositis as a "
        "whole: on infliximab, skin, global and muscle disease improved, and the prednisolone "
        "dose fell. Its one calcinosis statement is that 54% had fewer and/or smaller lesions"
    ) in card


def test_tofacitinibs_benefit_says_it_is_the_overall_jdm_response():
    # zhang2023: "Almost 50% reached a complete clinical response by the latest follow-up."
    # "Calcinosis: it shrank in size or number in 75% of patients, and resolved completely in
    # 25%." "The calcinosis denominator is not shown."
    card = flat(ok("show", "tofacitinib", env=WIDE).stdout)
    assert "Result, as the source states it: benefit" in card
    assert (
        "Curator's note: \"Benefit\" is the study's result for refractory juvenile "
        "dermatomyositis as a whole (almost 50% reached a complete clinical response). Its "
        "calcinosis figures, 75% shrank and 25% resolved, have no denominator"
    ) in card
    (study,) = answer("studies", "--therapy", "tofacitinib")
    assert "zhang-direction" in {n["id"] for n in study["notes"]}


CHAPTER_OTHER_BENEFICIAL = (
    "One of the other beneficial therapies in calcinosis with connective tissue disease. [Chapter]"
)
JOPA_OTHER_TREATMENTS = (
    "Among the other treatments for calcinosis in scleroderma and CREST. [Cloutier (JOPA)]"
)


def reported_uses(therapy: str) -> str:
    """The 'Reported uses' block of a therapy's card, unwrapped."""
    return flat(section(ok("show", therapy, env=WIDE).stdout, "Reported uses"))


@pytest.mark.parametrize(
    "therapy",
    [
        "intralesional-corticosteroid",
        "aluminum-hydroxide",
        "bisphosphonates",
        "probenecid",
        "ivig",
        "sodium-thiosulfate",
        "co2-laser",
        "eswl",
    ],
)
def test_each_therapy_the_chapter_calls_beneficial_in_ctd_says_so_on_its_card(therapy):
    # The chapter (004): "Other beneficial therapies for calcinosis cutis associated with
    # connective tissue disease include: intralesional corticosteroids, aluminum hydroxide
    # supplements, bisphosphonates, probenecid, intravenous immunoglobulin, topical sodium
    # thiosulfate, carbon dioxide laser vaporization, and extracorporeal shock wave lithotripsy."
    assert reported_uses(therapy).count(CHAPTER_OTHER_BENEFICIAL) == 1


@pytest.mark.parametrize(
    "therapy", ["warfarin", "colchicine", "bisphosphonates", "diltiazem", "eswl", "co2-laser"]
)
def test_each_other_treatment_the_jopa_article_names_says_so_on_its_card(therapy):
    # The JOPA article (000), on calcinosis in scleroderma and CREST: "Other treatments include
    # warfarin, colchicine, bisphosphonates, diltiazem, intralesional steroid injections,
    # extracorporeal shock wave lithotripsy, and carbon dioxide laser therapy." (Intralesional
    # steroids carry it in their own words.)
    assert reported_uses(therapy).count(JOPA_OTHER_TREATMENTS) == 1


@pytest.mark.parametrize(
    ("therapy", "row"),
    [
        ("debridement", "narrative review (Chang 2019"),
        ("hyperbaric-oxygen", "narrative review (Chang 2019"),
        ("pain-management", "narrative review (Chang 2019"),
        ("pain-management", "survey of clinicians (Chinnadurai 2020"),
    ],
)
def test_the_chang_and_chinnadurai_rows_say_their_ckd_link_is_calcrefs(therapy, row):
    # strand2022: "Chang 2019 (narrative review): stop warfarin ...; avoid morphine in renal
    # failure"; "Chinnadurai 2020: a survey of 106 UK palliative-care and renal clinicians".
    # Neither row gives the patients' kidney status; the [ckd] tag is calcref's inference.
    card = flat(section(ok("show", therapy, env=WIDE).stdout, row))
    assert "[ckd]" in card
    assert "kidney status; the ckd link follows calcref's placing of calciphylaxis" in card


def test_nunleys_aluminium_view_says_what_binds_phosphate():
    # nunley2020-calcinosis-treatment: "In hyperphosphataemia, magnesium- or
    # aluminium-containing antacids can act as phosphate binders, with a risk of toxicity in
    # renal insufficiency." (The risk is the card's harm.)
    card = flat(ok("show", "aluminum-hydroxide", env=WIDE).stdout)
    assert (
        "Nunley 2020a (no evidence letter): In hyperphosphataemia, magnesium- or "
        "aluminium-containing antacids can act as phosphate binders."
    ) in card
    assert "they can act" not in card
    assert "Magnesium- or aluminium-containing antacids carry a risk of toxicity in renal" in card


def test_the_subtype_count_note_is_shown_once():
    # Sources README: "Some other references count four subtypes (no calciphylaxis as its own
    # type); the chapter counts five. Follow the chapter." literature/README: nowaczyk2021
    # counts four; jimenezgallo2015, jaad2011-diagnostic-pathway and tajalli2019 five.
    out = flat(ok("subtypes", "calciphylaxis", env=WIDE).stdout)
    assert out.count("four") == 1
    assert "nowaczyk2021 counts four types" in out and "calcref follows the chapter's five" in out


def traineau_place(therapy: str) -> str:
    """Traineau 2020's line in a card's 'Place in treatment', unwrapped."""
    place = section(ok("show", therapy, env=WIDE).stdout, "Place in treatment")
    return flat(next(line for line in place.splitlines() if "Traineau 2020 (" in line))


@pytest.mark.parametrize(
    ("therapy", "level"),
    [
        ("diltiazem", "IV"),
        ("bisphosphonates", "IV"),
        ("warfarin", "IB"),
        ("infliximab", "IV"),
        ("adalimumab", "IV"),
        ("sodium-thiosulfate-intralesional", "IV"),
        ("rituximab", "IV"),
    ],
)
def test_traineaus_grade_is_printed_once_in_its_place_line(therapy, level):
    # traineau2020: "Traineau grades this level IV"; warfarin "level IB (Oxford)". The renderer
    # appends the position's grade ("Traineau 2020's own grade: ..."); the view no longer says
    # it a second time.
    line = traineau_place(therapy)
    assert f"[Traineau 2020's own grade: Oxford level {level} (Traineau 2020, modified" in line
    assert line.count("level") == (2 if therapy == "rituximab" else 1)  # + rituximab's caveat


def test_rituximabs_level_iv_caveat_is_said_once_in_its_place_line():
    # traineau2020: "The abstract prints level IV once, at the end of the sentence covering
    # rituximab and TNF inhibitors"; "Whether level IV applies to rituximab as well as to TNF
    # inhibitors is not certain from the abstract." The caution says it; view and grade don't.
    line = traineau_place("rituximab")
    assert line.count("once") == 1 and line.count("not certain") == 1
    assert (
        "[Caution: The abstract prints level IV once, at the end of the sentence on rituximab "
        "and TNF inhibitors; whether it applies to rituximab as well as to TNF inhibitors is "
        "not certain.]"
    ) in line
