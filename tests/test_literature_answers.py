"""The literature answers as a clinician asks them: calciphylaxis, warfarin, rituximab, JDM.

Expected values are typed from the literature pack (its README's known conflicts and the
source files), not copied from data/*.yaml. Each test reads what a user reads: the table at a
wide width (phrases whole), the JSON a script reads, or `validate`'s problems.
"""

from __future__ import annotations

import json
from pathlib import Path

from clirun import invoke, ok
from helpers import edit, row_of

from calcref.model import SOURCE_RANK

WIDE = {"COLUMNS": "400"}
LADDER, BEYOND = "chapter ladder", "beyond the chapter"


def answer(*args: str) -> list[dict]:
    return json.loads(ok(*args, "--json").stdout)


def by_id(records: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in records}


def strongest(record: dict) -> dict | None:
    return next((s for s in record["studies"] if s["id"] == record["strongest"]), None)


# --- calciphylaxis -------------------------------------------------------------------------


def test_calciphylaxis_leads_with_the_null_randomised_trial_and_the_pooled_evidence():
    records = answer("treat", "--subtype", "calciphylaxis")
    beyond = [r for r in records if r["place"] == BEYOND]
    first = beyond[0]
    assert first["id"] == "hexasodium-fytate"
    trial = strongest(first)
    # sinha2024: "randomised double-blind trial"; "Neither primary endpoint was met"
    assert (trial["ref"], trial["kind"]) == ("sinha2024", "randomised double-blind trial")
    assert trial["direction"] == "no significant effect"
    assert {e["p"] for e in trial["effects"]} >= {"p = 0.88", "p = 0.15"}
    assert {e["level"] for e in trial["effects"]} == {"96%"}  # as printed, not "corrected"
    # then the meta-analysis of udomkarnjananun, null for every treatment it pooled
    pooled = [r for r in beyond if (strongest(r) or {}).get("kind") == "meta-analysis"]
    assert {r["id"] for r in pooled} >= {
        "sodium-thiosulfate-intravenous",
        "parathyroidectomy",
        "cinacalcet",
        "hyperbaric-oxygen",
        "bisphosphonates",
    }
    assert {strongest(r)["direction"] for r in pooled} == {"no significant effect"}


def test_calciphylaxis_rows_are_ordered_by_the_strongest_kind_of_source():
    """A null randomised trial is never outranked by a positive case report: among the rows
    whose strongest study is of calciphylaxis patients, the kinds only get weaker."""
    records = answer("treat", "--subtype", "calciphylaxis")
    own = [
        strongest(r)
        for r in records
        if r["place"] == BEYOND and (strongest(r) or {}).get("relation") == "this"
    ]
    ranks = [SOURCE_RANK.get(s["kind"], len(SOURCE_RANK)) for s in own]
    assert ranks == sorted(ranks)
    assert len(own) >= 8


def test_observational_calciphylaxis_studies_are_labelled_as_such():
    table = ok("treat", "--subtype", "calciphylaxis", env=WIDE).stdout
    # weenig2007: debridement, 1-year survival 61.6% vs 27.4%, P = .008; a retrospective cohort
    assert "Wound debridement" in table
    debridement = by_id(answer("treat", "--subtype", "calciphylaxis"))["debridement"]
    kinds = {s["kind"] for s in debridement["studies"]}
    assert "retrospective cohort or series" in kinds
    assert "randomised double-blind trial" not in kinds


def test_the_chapters_letter_is_never_drawn_as_a_calciphylaxis_grade():
    records = by_id(answer("treat", "--subtype", "calciphylaxis"))
    bisphosphonates = records["bisphosphonates"]
    assert bisphosphonates["place"] == BEYOND
    assert (bisphosphonates["line"], bisphosphonates["evidence"]) == ("second", "D")
    assert bisphosphonates["graded_for"] == ["dystrophic"]
    table = ok("treat", "--subtype", "calciphylaxis", env=WIDE).stdout
    assert "the chapter's second line, D, is for dystrophic" in table
    ladder_rows = [r for r in records.values() if r["place"] == LADDER]
    assert all(r["evidence"] is None for r in ladder_rows)  # only the ungraded surgery


def test_calciphylaxis_gap_says_what_the_chapter_holds_and_that_the_trial_missed():
    result = ok("treat", "--subtype", "calciphylaxis", env=WIDE)
    gap = next(line for line in result.stdout.splitlines() if "calciphylaxis" in line)
    assert gap.startswith("⚠ Gap: The chapter says one thing about treating calciphylaxis")
    assert "missed its primary endpoints" in gap


def test_intraperitoneal_thiosulfate_shows_its_harm_wherever_it_appears():
    # gossett2023: 80% stopped for adverse events, 20% died of chemical peritonitis (of 5)
    for args in (("treat", "--subtype", "calciphylaxis"), ("treat", "--context", "dialysis")):
        # the one-row answer marks the harm; --details and show give it in full
        row = row_of(ok(*args, env=WIDE).stdout, "Intraperitoneal sodium thiosulfate")
        assert "Intraperitoneal sodium thiosulfate ⚑ ⚠" in row, args
        assert "Harm: Chemical peritonitis" in ok(*args, "--details", env=WIDE).stdout, args
    card = ok("show", "intraperitoneal-sts", env=WIDE).stdout
    assert "Harms (adverse effects the sources report)" in card
    assert "died of chemical peritonitis" in card


def test_ckd_aliases_give_the_same_answer_and_reach_the_dialysis_studies():
    ckd = answer("treat", "--context", "ckd")
    assert answer("treat", "--context", "esrd") == ckd
    assert answer("treat", "--context", "eskd") == ckd
    sinha = next(s for r in ckd for s in r["studies"] if s["ref"] == "sinha2024")
    assert set(sinha["contexts"]) == {"ckd", "dialysis"}


def test_calciphylaxis_studies_never_belong_to_dystrophic_calcinosis():
    for study in {s["id"]: s for r in answer("treat") for s in r["studies"]}.values():
        if "calciphylaxis" in study["subtypes"]:
            assert "dystrophic" not in study["subtypes"], study["id"]


def test_cinacalcet_prevention_and_treatment_stay_apart():
    cinacalcet = json.loads(ok("show", "cinacalcet", "--json").stdout)
    aims = {s["ref"]: s["aim"] for s in cinacalcet["studies"]}
    # floege2015: prevention (EVOLVE, relative hazard 0.31); udomkarnjananun: treatment
    assert aims["floege2015"] == "prevention"
    assert aims["udomkarnjananun-calciphylaxis"] == "treatment"
    floege = next(s for s in cinacalcet["studies"] if s["ref"] == "floege2015")
    assert any(e["value"] == "0.31" for e in floege["effects"])


def test_workup_for_calciphylaxis_labels_the_literature_ties():
    table = ok("workup", "--subtype", "calciphylaxis", env=WIDE).stdout
    assert "[literature]" in table
    assert "[literature] a source beyond the chapter makes it" in table
    records = answer("workup", "--subtype", "calciphylaxis")
    ties = [t for r in records for t in r["rationale"] if t["basis"] == "literature"]
    assert {s for t in ties for s in t["sources"]} >= {"nunley2018-calciphylaxis-workup"}


# --- warfarin, rituximab -------------------------------------------------------------------


def test_show_warfarin_gives_both_sides_attributed():
    card = ok("show", "warfarin", env=WIDE).stdout
    assert "Chapter (no evidence letter): Advocated for small calcified deposits" in card
    assert "Traineau 2020's own grade: Oxford level IB" in card
    assert "Advises against low-dose warfarin" in card
    assert "Curator's note: The sources disagree." in card
    record = json.loads(ok("show", "warfarin", "--json").stdout)
    traineau = next(p for p in record["positions"] if p["source"] == "traineau2020")
    assert traineau["evidence"] is None and traineau["line"] is None  # IB is not the chapter's B
    assert "IB" in traineau["grade"]
    assert record["line"] is None and record["evidence"] is None


def test_show_rituximab_shows_the_series_the_success_and_the_failure():
    record = json.loads(ok("show", "rituximab", "--json").stdout)
    studies = {s["ref"]: s for s in record["studies"]}
    # narvaez2019: clinical response in 4 of 8
    assert (studies["narvaez2019"]["n"], studies["narvaez2019"]["counts"]["responders"]) == (8, 4)
    # one success, one failure
    assert studies["seminarthritisrheum2012-rituximab"]["direction"] == "benefit"
    failure = studies["jclinpharmther2016-rituximab"]
    assert failure["counts"]["none"] == 1
    # "treated with rituximab without a successful outcome": the failure is the count, with
    # no statistical direction for one patient (knowledge 2.0.3).
    assert failure["direction"] is None
    card = ok("show", "rituximab", env=WIDE).stdout
    assert "Rituximab (rituximab)" in card and "did you mean" not in card


def test_treat_jdm_shows_the_ladder_then_the_jdm_literature():
    records = answer("treat", "--context", "jdm")
    places = [r["place"] for r in records]
    assert places == sorted(places, key=[LADDER, BEYOND].index)
    beyond = {r["id"]: r for r in records if r["place"] == BEYOND}
    # zhang2023 (tofacitinib, 88 children), pedrheumatol (intralesional infliximab, 5)
    assert {"tofacitinib", "infliximab-intralesional"} <= set(beyond)
    assert strongest(beyond["tofacitinib"])["n"] == 88
    assert strongest(beyond["tofacitinib"])["relation"] == "this"


# --- coverage and citations ----------------------------------------------------------------


def test_info_lists_every_source_with_what_it_covers():
    info = json.loads(ok("info", "--json").stdout)
    sources = {s["id"]: s for s in info["sources"]}
    assert len(sources) == 51  # the chapter, JOPA, the chapter's 10 cited works, 39 from the pack
    assert sources["sinha2024"]["kind"] == "randomised double-blind trial"
    assert sources["sinha2024"]["covers"]
    assert info["knowledge"]["version"] == "2.0.3"
    # Walsh 1995 is the JOPA article's reference 1, not one the chapter cites.
    assert "JOPA article (its reference 1)" in sources["walsh1995"]["covers"]
    assert "chapter" not in sources["walsh1995"]["covers"]


def test_cite_gives_only_confirmed_identifiers():
    record = json.loads(ok("cite", "sinha2024", "--json").stdout)[0]
    # sinha2024's DOI and PMID are "not confirmed": never transcribed
    assert record["doi"] is None and record["pmid"] is None
    assert "NCT04195906" in record["registrations"]
    assert record["url"] is not None and "doi.org" not in record["url"]


# --- validate: the literature's rules --------------------------------------------------------


def problems(directory: Path) -> str:
    result = invoke("validate", str(directory))
    assert result.exit_code == 1
    return result.stdout + result.stderr


def test_validate_refuses_a_chapter_letter_from_another_source(knowledge):
    therapies = knowledge / "therapies.yaml"
    text = therapies.read_text(encoding="utf-8")
    at = text.index("      - source: traineau2020\n", text.index("  - id: warfarin\n"))
    therapies.write_text(
        text[:at]
        + "      - source: traineau2020\n        evidence: B\n        line: first\n"
        + text[at + len("      - source: traineau2020\n") :],
        encoding="utf-8",
    )
    found = problems(knowledge)
    assert "'traineau2020' is given the letter B" in found


def test_validate_refuses_a_ratio_without_its_interval(knowledge):
    edit(
        knowledge / "therapies.yaml",
        "        interval: 0.70–1.10\n",
        "",
    )
    assert "a risk ratio of 0.88 without its interval" in problems(knowledge)


def test_the_strongest_study_is_of_the_closest_patients_first():
    """For JDM, minocycline's only studies are of CTD as a whole (Balin 2012, the group that
    contains JDM) and of SSc (Robertson 2003, another population): the group's comes first,
    though the other counts more patients."""
    minocycline = by_id(answer("treat", "--context", "jdm"))["minocycline"]
    best = strongest(minocycline)
    assert (best["id"], best["relation"]) == ("balin2012-minocycline", "broader")


def test_a_chapter_therapy_studied_in_other_patients_is_shown_beyond_the_chapter():
    """The chapter names topical sodium thiosulfate for connective tissue disease; its one
    tumoral calcinosis series (J Clin Endocrinol Metab 2016) is the literature's, not the
    chapter's: for tumoral calcinosis the therapy is beyond the chapter."""
    topical = by_id(answer("treat", "--subtype", "tumoral"))["sodium-thiosulfate"]
    assert topical["place"] == BEYOND
    assert strongest(topical)["ref"] == "jcem2016-topicalsts"
    for_ctd = by_id(answer("treat", "--context", "ctd"))["sodium-thiosulfate"]
    assert for_ctd["place"] == LADDER
