"""Whose patients each treatment row speaks for, pinned as a clinician reads it.

Two audits (2026-12) found a row's population said wrongly: a source's silence printed as
"[not jdm]", a calciphylaxis meta-analysis leading the lupus answer's bisphosphonates row,
"[ckd, not hyperparathyroidism]" read as patients without hyperparathyroidism, a known
disagreement hidden behind one study's "→ benefit", and the JOPA article's "often used" lost.
Expected values are typed from the sources in /work/shared/sources (quoted), not copied from
data/*.yaml.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from clirun import ok
from helpers import row_of

WIDE = {"COLUMNS": "400"}  # no cell wraps: each row's phrase is read whole


def answer(*args: str) -> list[dict]:
    return json.loads(ok(*args, "--json").stdout)


def by_id(records: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in records}


def lead(record: dict) -> dict:
    (study,) = [s for s in record["studies"] if s["id"] == record["strongest"]]
    return study


def table(*args: str) -> str:
    return ok("treat", *args, env=WIDE).stdout


CONTEXTS = [c["id"] for c in json.loads(ok("contexts", "--json").stdout)]
SUBTYPES = [s["id"] for s in json.loads(ok("subtypes", "--json").stdout)]


# --- a source's silence stays silence -------------------------------------------------------


def test_a_review_that_does_not_say_whose_patients_is_not_said_to_be_of_others():
    # nowaczyk2021.md: "40 published studies with 136 patients ... Ages and underlying
    # diseases of the pooled patients: not shown." They may have had JDM: "[not jdm]" said
    # what the source does not.
    jdm = table("--context", "jdm")
    for name in ("Carbon dioxide laser", "Extracorporeal shock wave lithotripsy"):
        row = row_of(jdm, name)
        assert "systematic review [population not stated] → benefit" in row, row
    assert "[not jdm]" not in jdm
    laser = by_id(answer("treat", "--context", "jdm"))["co2-laser"]
    (review,) = [s for s in laser["studies"] if s["ref"] == "nowaczyk2021"]
    assert review["relation"] == "unstated"


def test_the_flat_formats_say_population_not_stated_too():
    # bair2011.md: "2 patients with ulcerative calcinosis cutis that had not healed with
    # several topical treatments or with correction of electrolyte abnormalities": no
    # underlying disease is named.
    text = ok("treat", "--context", "ssc", "--format", "csv").stdout
    cells = " ".join(cell for row in csv.reader(io.StringIO(text)) for cell in row)
    assert "Bair 2011 [population not stated]" in cells
    assert "Nowaczyk 2022 [population not stated]" in cells
    assert "Nowaczyk 2022 [another population]" not in cells
    assert "Bair 2011 [another population]" not in cells


def test_the_json_contract_declares_the_unstated_relation():
    schema = json.loads(ok("schema", "--output", "treat").stdout)
    study = schema["items"]["properties"]["studies"]["items"]["properties"]
    assert "unstated" in json.dumps(study["relation"])


# --- another group is not said to lack the condition asked ----------------------------------


@pytest.mark.parametrize("context", CONTEXTS)
def test_no_row_says_its_patients_lacked_the_condition_asked(context):
    # udomkarnjananun-calciphylaxis.md: "Patients with chronic kidney disease (CKD) who had
    # calciphylaxis": no PTH status, so "[ckd, not hyperparathyroidism]" claimed too much.
    assert not re.search(r", not [a-z-]+\]", table("--context", context))


def test_another_group_is_named_as_another_group():
    # the chapter's one JDM case (Al-Mayouf), seen from SSc and from lupus
    row = row_of(table("--context", "ssc"), "Intralesional corticosteroid")
    assert "study [jdm: other group]: n=1" in row
    details = ok("treat", "--context", "hyperparathyroidism", "--details", env=WIDE).stdout
    assert "[ckd: another population]" in details  # udomkarnjananun's CKD patients
    assert "not hyperparathyroidism" not in details


# --- the lead study is of the asked patients' kind of calcinosis -----------------------------


def test_lupus_bisphosphonates_lead_with_the_chapter_s_dystrophic_cases():
    # Chapter: dystrophic calcification "is rare in systemic lupus erythematosus"; its
    # bisphosphonate cases: "Three children with juvenile dermatomyositis received treatment
    # with intravenous pamidronate ... In all three cases calcinosis significantly decreased
    # and even totally cleared in one of them." udomkarnjananun pools mortality in
    # calciphylaxis with CKD: another disease and another endpoint.
    bisphosphonates = by_id(answer("treat", "--context", "sle"))["bisphosphonates"]
    assert lead(bisphosphonates)["ref"] == "marco-puche2010"
    row = row_of(table("--context", "sle"), "Bisphosphonates")
    assert "[jdm: other group]: n=3: 1 complete, 2 responded" in row
    assert "Mortality" not in row and "ckd" not in row


def _context_subtypes() -> dict[str, set[str]]:
    """Each context's kinds of calcinosis, its own and those of the groups containing it."""
    found = {c["id"]: c for c in json.loads(ok("contexts", "--json").stdout)}

    def chain(cid: str) -> list[str]:
        parent = found[cid].get("parent")
        return [cid, *(chain(parent) if parent else [])]

    return {cid: {s for c in chain(cid) for s in found[c]["subtypes"]} for cid in found}


KINDS = _context_subtypes()


@pytest.mark.parametrize("context", CONTEXTS)
def test_a_row_leads_with_another_disease_only_when_nothing_closer_exists(context):
    """Population first, for every context: a row leads with a study of another kind of
    calcinosis (not the asked patients, not a group containing them, not of their kind, not
    of undescribed patients) only when every study of the therapy is such."""
    for record in answer("treat", "--context", context):
        if record["strongest"] is None:
            continue

        def far(study: dict) -> bool:
            unstated = study["relation"] == "unstated" and not study["subtypes"]
            alike = not KINDS[context].isdisjoint(study["subtypes"])
            return study["relation"] == "other" and not alike and not unstated

        if far(lead(record)):
            assert all(far(s) for s in record["studies"]), (context, record["id"])


@pytest.mark.parametrize("subtype", SUBTYPES)
def test_a_subtype_row_leads_with_that_subtype_s_study_where_there_is_one(subtype):
    for record in answer("treat", "--subtype", subtype):
        if record["strongest"] is not None and lead(record)["relation"] != "this":
            assert all(s["relation"] != "this" for s in record["studies"]), record["id"]


def test_a_prevention_study_of_these_patients_before_a_treatment_study_of_others():
    # floege2015.md: "Patients on haemodialysis with moderate-to-severe secondary
    # hyperparathyroidism (sHPT) in EVOLVE": hyperparathyroidism's own patients, though it
    # counts new calciphylaxis (prevention); udomkarnjananun's CKD patients are not said to
    # have it. The row says "(prevention)" and carries the study's caution.
    cinacalcet = by_id(answer("treat", "--context", "hyperparathyroidism"))["cinacalcet"]
    assert (lead(cinacalcet)["ref"], lead(cinacalcet)["aim"]) == ("floege2015", "prevention")
    row = row_of(table("--context", "hyperparathyroidism"), "Cinacalcet")
    assert "[ckd, dialysis, hyperparathyroidism] (prevention)" in row
    assert "Prevention, not treatment" in row
    # for dialysis, a treatment study of CKD (a group containing it) still comes first
    dialysis = by_id(answer("treat", "--context", "dialysis"))["cinacalcet"]
    assert lead(dialysis)["ref"] == "udomkarnjananun-calciphylaxis"


# --- disagreement kept in view ----------------------------------------------------------------


def test_debridement_says_its_sources_disagree():
    # weenig2007.md: "estimated 1-year survival 61.6% in 17 debrided patients vs 27.4% in 46
    # not debrided (P = .008)"; surgery2000-calciphylaxis.md: "With vs without debridement:
    # 14.1 vs 6.1 months (P = .08)". The literature README lists it among the
    # "Disagreements between sources (keep both sides, attributed, with a visible note)".
    row = row_of(table("--subtype", "calciphylaxis"), "Wound debridement")
    assert "P = .008 → benefit · ⚑ sources disagree" in row
    debridement = by_id(answer("treat", "--subtype", "calciphylaxis"))["debridement"]
    chosen = set(debridement["chosen_from"])
    assert {"weenig2007-debridement", "surgery2000-calciphylaxis-debridement"} <= chosen


def test_parathyroidectomy_in_hyperparathyroidism_says_its_sources_disagree():
    # surgery2000: "Median survival with vs without PTX: 14.8 vs 6.3 months (P = .22)";
    # strand2022.md, McCarthy 2016: "Survival improved with debridement and, in patients
    # with hyperparathyroidism, with parathyroidectomy."
    row = row_of(table("--context", "hyperparathyroidism"), "Parathyroidectomy")
    assert "P = .22 → no significant effect · ⚑ sources disagree" in row


@pytest.mark.parametrize(
    ("args", "name"),
    [
        # floege2015 (prevention, benefit) answers another question than udomkarnjananun's
        # treatment result (no significant effect): "Never merge them" (literature README)
        (("--context", "dialysis"), "Cinacalcet"),
        # (Intravenous sodium thiosulfate, whose dystrophic case was not set against the
        # calciphylaxis meta-analyses, now carries the curators' known conflict: its
        # calciphylaxis sources disagree, literature README, so its row says so.)
    ],
)
def test_studies_of_another_question_or_disease_are_not_a_disagreement(args, name):
    row = row_of(table(*args), name)
    assert "sources disagree" not in row


# --- a view of practice keeps its hedge --------------------------------------------------------


def test_the_jopa_first_line_is_said_as_the_source_says_it():
    # 000_3006f2c6a9668c2d.txt: "Minocycline is often used as a first-line treatment for
    # patients with painful, ulcerating dermal calcinosis."
    jdm = row_of(table("--context", "jdm"), "Minocycline")
    assert "Cloutier (JOPA): often used first line in ssc" in jdm
    ssc = row_of(table("--context", "ssc"), "Minocycline")
    assert "Cloutier (JOPA): often used first line " in ssc  # ssc was asked: not repeated
    for context in ("ssc", "jdm", "sle", "ctd"):
        assert "(JOPA): first line" not in table("--context", context)


def test_the_ssc_answer_still_fits_one_screen():
    # the point-of-care answer, with the new words, on an 80 x 40 screen
    out = ok("treat", "--context", "ssc", env={"COLUMNS": "80"}).stdout
    assert len(out.splitlines()) <= 40
