"""Honest answers, as a clinician asks the questions: whose evidence each row is, the gaps
said out loud, every source's position honoured, and warnings that travel with the number.

Each test is one question a careful clinician would ask, and pins the shape of the answer
(not only the data): the SLE, calciphylaxis, CREST-first-line, metastatic and third-line
questions, and the colchicine dose in every output.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from clirun import invoke, ok
from helpers import row_of

WIDE = {"COLUMNS": "400"}  # wide enough that no cell wraps: phrases are read whole


def ok_json(*args: str) -> list | dict:
    return json.loads(ok(*args, "--json").stdout)


# --- whose evidence is it ----------------------------------------------------------------------


def test_lupus_is_answered_with_the_group_s_evidence_labelled_as_the_group_s():
    """The chapter reports no lupus patient: every row of its ladder is connective tissue
    disease as a whole. Beyond the chapter one woman with dermatomyositis and lupus is
    recorded (badawi-ivsts, intravenous sodium thiosulfate). The answer says so before the
    rows."""
    result = ok("treat", "--context", "sle", env=WIDE)
    gap = "⚠ Gap: The chapter says dystrophic calcification is rare in systemic lupus"
    assert result.stdout.startswith(gap)
    assert "One patient with lupus is recorded, beyond the chapter" in result.stdout
    records = json.loads(ok("treat", "--context", "sle", "--json").stdout)
    ladder = [r for r in records if r["place"] == "chapter ladder"]
    beyond = [r for r in records if r["place"] == "beyond the chapter"]
    assert ladder and records == ladder + beyond
    assert {r["match"]["kind"] for r in ladder} == {"broader"}
    assert {r["match"]["context"] for r in ladder} == {"ctd"}
    relations = {s["relation"] for r in ladder for s in r["studies"]}
    assert "this" not in relations and "narrower" not in relations
    # the one lupus patient: a 54-year-old woman with dermatomyositis and lupus (Badawi)
    [iv] = beyond
    assert iv["id"] == "sodium-thiosulfate-intravenous"
    assert iv["match"] == {"kind": "direct", "context": "sle", "evidence": "studied"}
    [case] = [s for s in iv["studies"] if s["relation"] == "this"]
    assert (case["ref"], case["n"], case["kind"]) == ("badawi-ivsts", 1, "case report")
    assert {"sle", "dm"} <= set(case["contexts"])
    assert "12.5 g three times a week" in case["regimen"]
    # in the table, a study of others' patients never reads as lupus patients' result
    assert "study [ctd as a whole]: n=17: 9 partial" in result.stdout  # diltiazem
    # (was "[jdm, not sle]": "not X" reads as patients without X, which udomkarnjananun's
    # CKD patients, tagged "[ckd, not hyperparathyroidism]", were never said to be)
    assert "study [jdm: other group]: n=1" in result.stdout  # intralesional corticosteroid
    assert "only for ctd as a whole" in result.stdout
    details = ok("treat", "--context", "sle", "--details", env=WIDE).stdout
    assert "[ctd: the whole group]" in details


def test_ssc_rows_say_whether_ssc_patients_were_studied_or_the_drug_only_named():
    records = {r["id"]: r for r in ok_json("treat", "--context", "ssc")}
    minocycline = records["minocycline"]
    assert minocycline["match"] == {"kind": "direct", "context": "ssc", "evidence": "studied"}
    robertson = next(s for s in minocycline["studies"] if s["ref"] == "robertson2003")
    assert robertson["relation"] == "this"
    # the JOPA article lists bisphosphonates for SSc; every chapter study beside them is in
    # JDM. Only Traineau 2020's systematic review (SSc and DM) covers SSc patients.
    bisphosphonates = records["bisphosphonates"]
    chapter = [s for s in bisphosphonates["studies"] if "chapter" in s["sources"]]
    assert chapter and {s["relation"] for s in chapter} == {"other"}
    assert {s["contexts"][0] for s in chapter} == {"jdm"}
    assert bisphosphonates["match"] == {"kind": "direct", "context": "ssc", "evidence": "studied"}
    ssc_studies = [s for s in bisphosphonates["studies"] if s["relation"] == "this"]
    assert [(s["ref"], s["kind"], s["n"]) for s in ssc_studies] == [
        ("traineau2020", "systematic review", None)
    ]
    # aluminum hydroxide: the JOPA article names it for SSc, and no study is recorded
    assert records["aluminum-hydroxide"]["match"]["evidence"] == "named"
    assert records["aluminum-hydroxide"]["studies"] == []
    table = ok("treat", "--context", "ssc", env=WIDE).stdout
    assert re.search(r"Aluminum hydroxide ⚑ ⚠ +no study in ssc\n", table)
    # intralesional corticosteroid: named for SSc; its one study is of a JDM patient
    assert re.search(r"Intralesional corticosteroid ⚑ +study \[jdm: other group\]: n=1", table)
    # traineau2020: "several studies suggest [bisphosphonates] might be a useful option": a
    # hedged suggestion, so no direction is drawn.
    assert re.search(r"Bisphosphonates ⚑ ⚠ +systematic review \[ssc, dm\]\n", table)
    details = ok("treat", "--context", "ssc", "--details", env=WIDE).stdout
    assert "named for ssc; no study in it" in details
    assert "[jdm: another population]" in details


def test_a_chart_labels_every_bar_with_whose_patients_it_counts():
    chart = ok("treat", "--context", "ssc", "--chart", env=WIDE).stdout
    drawn = chart.split("Response by study", 1)[1].splitlines()
    bars = [i for i, line in enumerate(drawn) if re.search(r"\sn=\d+: ", line)]
    assert bars
    names = [drawn[i - 1] for i in bars]  # each bar sits under the study it counts
    for name in names:
        assert re.search(r"\[[a-z, -]+(: (the whole group|another population))?\]", name), name
    assert "  Robertson 2003 [ssc]" in names


# --- gaps said out loud ---------------------------------------------------------------------


def test_third_line_says_the_chapter_preview_stops_before_it():
    result = ok("treat", "--line", "third", env=WIDE)
    assert "third-line therapies are not available" in result.stdout
    assert "no therapies recorded for line third" in result.stderr
    as_json = ok("treat", "--line", "third", "--json")
    assert json.loads(as_json.stdout) == []
    assert "calcref: gap: The chapter's third-line therapies are not available" in as_json.stderr


def test_markdown_keeps_the_gap_above_its_table_and_csv_says_it_on_stderr():
    """Markdown is pasted into notes: the gap goes with it, as in the terminal's table. CSV
    is data for a spreadsheet: the gap is said on stderr, as for JSON."""
    markdown = ok("treat", "--context", "ssc", "--format", "markdown")
    # The SSc/DM gap says both sources' counts of RCTs (knowledge 2.0.3).
    gap = "> ⚠ Gap: Traineau 2020: high-level evidence rare; 1 small RCT (warfarin, against).\n\n"
    assert markdown.stdout.startswith(gap + "| id | name |")
    assert markdown.stderr == ""
    as_csv = ok("treat", "--context", "ssc", "--format", "csv")
    assert as_csv.stdout.startswith("id,name,")
    assert as_csv.stderr.startswith("calcref: gap: Traineau 2020: high-level evidence rare")
    # An empty answer still says why it is empty.
    empty = ok("treat", "--subtype", "metastatic", "--format", "markdown")
    assert empty.stdout.startswith("> ⚠ Gap: No therapy is recorded for metastatic calcinosis")
    assert "|" not in empty.stdout


def test_a_gap_about_the_workup_is_said_beside_the_workup_not_the_treatments():
    # jaad2011-diagnostic-pathway's algorithm and jimenezgallo2015's tables (further tests,
    # criteria for diagnosing calciphylaxis) were not retrieved: that concerns the workup.
    workup = ok("workup", "--subtype", "calciphylaxis", env=WIDE)
    assert workup.stdout.startswith("⚠ Gap: The diagnostic algorithm of J Am Acad Dermatol 2011")
    as_json = ok("workup", "--subtype", "calciphylaxis", "--json")
    assert as_json.stderr.startswith("calcref: gap: The diagnostic algorithm")
    treat = ok("treat", "--subtype", "calciphylaxis", env=WIDE)
    assert "diagnostic algorithm" not in treat.stdout
    assert "The chapter says one thing about treating calciphylaxis" in treat.stdout


def test_studies_say_a_thin_answer_is_thin():
    # Reiter 2011, as the chapter summarises it: one boy with morphea profunda.
    result = ok("studies", "--context", "morphea", env=WIDE)
    assert result.stdout.startswith("⚠ Gap: For morphea the sources give one patient")
    assert "Reiter 2011 [morphea]: n=1" in result.stdout
    as_json = ok("studies", "--context", "morphea", "--json")
    assert [s["id"] for s in json.loads(as_json.stdout)] == ["reiter2011-ceftriaxone"]
    assert as_json.stderr.startswith("calcref: gap: For morphea the sources give one patient")


def test_metastatic_says_to_treat_the_underlying_cause():
    result = ok("treat", "--subtype", "metastatic", env=WIDE)
    assert "identify and treat the underlying cause" in result.stdout
    assert "Management principles:" in result.stdout


def test_calciphylaxis_says_the_chapter_holds_one_sentence_and_labels_the_surgery_evidence():
    result = ok("treat", "--subtype", "calciphylaxis", "--chart", env=WIDE)
    chapter_says = "The chapter says one thing about treating calciphylaxis"
    assert chapter_says in result.stdout
    records = {r["id"]: r for r in ok_json("treat", "--subtype", "calciphylaxis")}
    surgery = records["surgical-excision"]
    assert surgery["place"] == "chapter ladder"
    # none of the chapter's surgical studies counted calciphylaxis patients
    chapter = [s for s in surgery["studies"] if "chapter" in s["sources"]]
    assert chapter and {s["relation"] for s in chapter} == {"other"}
    # the 14 of 17 came from surgery WITH medical treatment, and say so wherever shown
    combined = [s for s in surgery["studies"] if s["treatment"]]
    assert [s["treatment"] for s in combined] == ["surgery with medical treatment"]
    # the row leads with excision alone (11 of 11; chapter: "Out of the 11 patients who
    # received surgical excision alone, all 11 responded"); the chart shows both, labelled
    row = row_of(result.stdout, "Surgical excision")
    assert "study [ctd: other group]: n=11: 8 complete" in row and "n=17" not in row
    assert "(surgery with medical treatment)\n" in result.stdout.split("Response by study")[1]
    # the chapter's ladder gives calciphylaxis no line and no letter
    ladder = [r for r in records.values() if r["place"] == "chapter ladder"]
    assert all((r["line"], r["evidence"]) == (None, None) for r in ladder)
    # beyond the chapter, the one randomised trial first: sinha2024 (hexasodium fytate),
    # which missed both primary endpoints (BWAT-CUA p = 0.88; pain p = 0.15)
    beyond = [r for r in records.values() if r["place"] == "beyond the chapter"]
    assert beyond[0]["id"] == "hexasodium-fytate"
    [trial] = [s for s in beyond[0]["studies"] if s["ref"] == "sinha2024"]
    assert trial["kind"] == "randomised double-blind trial"
    assert trial["direction"] == "no significant effect"
    assert [e["p"] for e in trial["effects"]] == ["p = 0.88", "p = 0.15"]
    table = " ".join(result.stdout.split())
    assert table.index("Treatment ladder") < table.index("Beyond the chapter")
    assert table.index("Surgical excision") < table.index("Beyond the chapter")
    assert table.index("Beyond the chapter") < table.index("Hexasodium fytate")
    for context in ("ckd", "esrd", "dialysis"):
        dialysis = invoke("treat", "--context", context)
        assert dialysis.exit_code == 0
        assert chapter_says in " ".join(dialysis.stdout.split())


def test_every_ladder_answer_carries_the_management_principles():
    for args in (["treat"], ["treat", "--context", "ssc"], ["treat", "--subtype", "idiopathic"]):
        table = ok(*args, env=WIDE).stdout
        assert "Management principles: Start by finding any underlying cause" in table
        assert "no smoking, less stress, no cold exposure" in table


# --- every source's position ---------------------------------------------------------------


def test_crest_first_line_includes_minocycline_as_the_jopa_article_places_it():
    records = ok_json("treat", "--context", "crest", "--line", "first")
    ids = [r["id"] for r in records]
    assert "minocycline" in ids
    minocycline = records[ids.index("minocycline")]
    first = [p for p in minocycline["positions"] if p["line"] == "first"]
    assert [(p["source"], p["label"]) for p in first] == [("jopa", "Cloutier (JOPA)")]
    assert minocycline["line"] == "second"  # the chapter's ladder still orders it
    table = ok("treat", "--context", "crest", "--line", "first", env=WIDE).stdout
    assert "Cloutier (JOPA): often used first line" in table  # the view's hedge kept
    details = ok("treat", "--context", "crest", "--line", "first", "-d", env=WIDE).stdout
    assert "Cloutier (JOPA), for ssc (no evidence letter)" in details


def test_the_legend_says_the_letters_are_the_chapter_s():
    legend = "Treatment ladder: the chapter's lines and letters (C Clinical trial < 20 subjects"
    assert legend in ok("treat", env=WIDE).stdout


# --- names ----------------------------------------------------------------------------------


def test_scleroderma_is_ambiguous_and_calcref_asks():
    result = invoke("treat", "--context", "scleroderma")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "--context ssc or --context morphea" in result.stderr
    assert "localised scleroderma" in result.stderr


# --- warnings travel with the number --------------------------------------------------------

DOSE = "<1.2 g/day"


@pytest.mark.parametrize("args", [("treat",), ("treat", "--chart")])
def test_the_one_row_answer_prints_no_dose_to_carry_a_caution_for(args):
    """Regimens are in --details and show, where each dose has its caution beside it."""
    for width in ("400", "80"):
        assert "g/day" not in ok(*args, env={"COLUMNS": width}).stdout


def test_json_carries_the_caution_on_the_dose_s_own_object():
    colchicine = ok_json("show", "colchicine")
    [regimen] = [g for g in colchicine["regimens"] if g["text"] == DOSE]
    assert regimen["caution"]["id"] == "colchicine-dose-unit"
    assert regimen["caution"]["likely"] == "<1.2 mg/day"
    [study] = [s for s in colchicine["studies"] if s["regimen"] == DOSE]
    assert study["caution"]["likely"] == "<1.2 mg/day"


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown", "json"])
def test_every_search_hit_on_the_dose_carries_its_caution(fmt):
    text = ok("search", "1.2 g", "--format", fmt, env=WIDE).stdout
    if fmt == "json":
        hits = [h for h in json.loads(text) if DOSE in h["excerpt"]]
        assert len(hits) == 2
        assert all(h["caution"]["likely"] == "<1.2 mg/day" for h in hits)
        return
    if fmt == "csv":
        rows = [r for r in csv.DictReader(io.StringIO(text)) if DOSE in r["excerpt"]]
        assert len(rows) == 2
        assert all("almost certainly mg/day" in r["caution"] for r in rows)
        return
    lines = text.splitlines()
    dose_lines = [i for i, line in enumerate(lines) if DOSE in line]
    assert dose_lines
    for i in dose_lines:
        beside = " ".join(lines[i : i + 4])
        assert "mg/day" in beside, beside


@pytest.mark.parametrize(
    "args",
    [
        ("treat", "--details"),
        ("show", "colchicine"),
        ("treat", "--format", "csv"),
        ("treat", "--format", "markdown"),
    ],
)
def test_wherever_the_dose_is_shown_its_caution_is_beside_it(args):
    for width in ("400", "80"):
        lines = ok(*args, env={"COLUMNS": width}).stdout.splitlines()
        shown = [i for i, line in enumerate(lines) if DOSE in line]
        assert shown, "the dose should be shown"
        for i in shown:
            assert "mg/day" in " ".join(lines[i : i + 3]).replace(DOSE, ""), lines[i : i + 3]


# --- counts read one way --------------------------------------------------------------------


def test_counts_read_the_same_in_the_table_and_the_chart():
    table = ok("treat", "--context", "jdm", "--chart", env=WIDE).stdout
    assert "n=3: 1 complete, 2 responded, degree not given" in table
    assert "3 responded, 1 complete" not in table


def test_a_gap_said_on_stderr_is_one_line_whatever_its_text(tmp_path):
    """Scripts read stderr's `calcref: gap:` lines: a clinic's gap holding a newline is said
    on one line, its newline escaped, with its overlay mark on the same line."""
    (tmp_path / "therapies.yaml").write_text(
        "gaps:\n"
        "  - id: clinic-two-line-gap\n"
        '    text: "First line of the gap\\nsecond line"\n'
        "    contexts: [ssc]\n"
        "    basis: curated\n"
        "    sources: [chapter]\n"
    )
    result = ok("treat", "--context", "ssc", "--json", env={"CALCREF_DATA": f":{tmp_path}"})
    said = [line for line in result.stderr.splitlines() if "First line" in line]
    assert said == [
        "calcref: gap: First line of the gap\\nsecond line "
        f"[◆ overlay: {tmp_path / 'therapies.yaml'}]"
    ]
    assert all(line.startswith("calcref: ") for line in result.stderr.splitlines())


def test_a_gap_is_not_said_for_the_contexts_it_is_not_for():
    """Calciphylaxis outside kidney disease (Nunley 2020's statement, Biglione 2024's
    subgroup) is a gap of the calciphylaxis answer, not of a dialysis patient's: the gap's
    `not_for` keeps it from the contexts whose subtype it shares."""
    outside = "Calciphylaxis outside kidney disease"
    assert outside in ok("treat", "--subtype", "calciphylaxis", env=WIDE).stdout
    for context in ("dialysis", "ckd"):
        answer = ok("treat", "--context", context, "--json")
        assert "calcref: gap: The chapter says one thing about treating calciphylaxis" in (
            answer.stderr
        )
        assert outside not in answer.stderr, context
