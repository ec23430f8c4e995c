"""A search hit carries everything that qualifies the value it found, in every format.

Not only its innermost record's caution and notes: the cautions and notes of each record
around it (a study's caution qualifies a figure in one of its harms), and the harms of the
therapy a hit is in, or of the therapies a study tried. Each test below is one of the
audits' findings as a user met it: a dose or a safety figure found by search, read without
the warning its source says must go with it.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from clirun import ok

ROOMY = {"COLUMNS": "1000"}  # no line wraps: each hit and each warning is one line
HIT_LINE = re.compile(r"^  (\S+) \(([^)]*)\) ")

# literature/gossett2023.md: "20% died of chemical peritonitis caused by intraperitoneal STS";
# "Show this wherever intraperitoneal STS appears." literature/README.md: "the harm must be
# shown wherever the route appears".
PERITONITIS = "20% died of chemical peritonitis"
IP_STS = "sodium-thiosulfate-intraperitoneal"
# literature/tpa-calciphylaxis.md: "3 of 15 had life-threatening bleeding. Show this beside
# any mention of this therapy."
BLEEDING = "Life-threatening bleeding in 3 of 15 patients"
# literature/sinha2024.md: "The primary result is negative (null). The hospitalisation and
# death figures are safety data, not primary efficacy outcomes. Never present them as proof
# that the drug works." and "Denominators differ: 37 vs 34 were randomised, but the safety
# figures use 38 vs 33."
NULL_PRIMARY = "The primary result is null"


def hits(*words: str) -> list[dict]:
    return json.loads(ok("search", *words, "--json").stdout)


def rows(*words: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(ok("search", *words, "--format", "csv").stdout)))


def table(*words: str) -> dict[tuple[str, str, str], list[str]]:
    """The search table as (kind, id, field) → the lines printed under that hit."""
    blocks: dict[tuple[str, str, str], list[str]] = {}
    kind, under = "", []
    for line in ok("search", *words, "--all", env=ROOMY).stdout.splitlines():
        hit = HIT_LINE.match(line)
        if line and not line.startswith(" "):
            kind = line
        elif hit and not line.startswith("  ⚠"):
            under = blocks.setdefault((kind, hit[1], hit[2]), [])
        elif line.strip():
            under.append(line.strip())
    return blocks


def one(found: list[dict], record_id: str, field: str) -> dict:
    [hit] = [h for h in found if h["id"] == record_id and h["field"] == field]
    return hit


# --- intraperitoneal sodium thiosulfate: its dose never without the fatal peritonitis ------------


@pytest.mark.parametrize("words", [("25", "g"), ("dialysis",)])
def test_the_intraperitoneal_dose_carries_the_fatal_peritonitis_in_json(words):
    regimen = one(hits(*words), IP_STS, "regimens[0].text")
    assert regimen["caution"] is None  # the regimen's own: the harm is the therapy's
    [harm] = [h for h in regimen["harms"] if PERITONITIS in h["text"]]
    assert harm["therapy"] == IP_STS and harm["sources"] == ["gossett2023"]


def test_the_intraperitoneal_dose_carries_the_fatal_peritonitis_in_the_table_and_csv():
    under = table("25", "g")[("therapy", IP_STS, "regimens[0].text")]
    assert any(line.startswith("⚠ Harm: ") and PERITONITIS in line for line in under), under
    [row] = [r for r in rows("25", "g") if r["id"] == IP_STS]
    assert PERITONITIS in row["harms"] and "(gossett2023)" in row["harms"]


def test_the_intravenous_dose_carries_its_harms():
    """nunley2020-calciphylaxis-sts.md: nausea, vomiting and anion-gap metabolic acidosis."""
    regimen = one(hits("25", "g"), "sodium-thiosulfate-intravenous", "regimens[2].text")
    assert "25 g after each dialysis session" in regimen["excerpt"]
    said = " ".join(h["text"] for h in regimen["harms"])
    assert "Nausea and vomiting" in said and "Anion-gap metabolic acidosis" in said


def test_a_study_of_the_route_carries_the_route_s_harm():
    """A dose found in gossett2023's intraperitoneal group says the therapy's harm too."""
    study = one(hits("25", "g"), "gossett2023-intraperitoneal", "regimen")
    assert any(PERITONITIS in h["text"] for h in study["harms"])
    under = table("25", "g")[("study", "gossett2023-intraperitoneal", "regimen")]
    assert any(line.startswith(f"⚠ Harm of {IP_STS}: ") for line in under), under


# --- hexasodium fytate: its safety figures never without the null primary result --------------


def test_the_safety_figures_carry_the_study_s_caution_in_json():
    # Knowledge 2.0.3 keeps sinha2024's admissions and deaths in the outcome (both arms'
    # safety figures, not harms of the drug): the hit is the study's, with its caution.
    hit = one(hits("hospital", "admission"), "sinha2024", "outcome")
    assert "2/38 (5%)" in hit["excerpt"]
    assert hit["caution"]["id"] == "sinha2024-safety-not-efficacy"
    assert NULL_PRIMARY in hit["caution"]["text"] and "(37 vs 34)" in hit["caution"]["text"]
    assert hit["enclosing_cautions"] == []  # the study is the innermost record


def test_the_safety_figures_carry_the_study_s_caution_in_the_table_and_csv():
    under = table("hospital", "admission")[("study", "sinha2024", "outcome")]
    assert under[0].startswith(f"⚠ Caution: {NULL_PRIMARY}"), under
    [row] = [r for r in rows("hospital", "admission") if r["id"] == "sinha2024"]
    assert row["caution"].startswith(f"Caution: {NULL_PRIMARY}")


def test_a_caution_repeated_by_id_with_more_words_still_comes_with_the_hit():
    """wen2023's effects and the study share the caution id wen2023-news-only, but the study's
    says more: "A null result: no significant association, not harm." (wen2023.md: "Death,
    15 studies: RR 0.88 (95% CI 0.70–1.10)", every figure "seen only on a news page")."""
    effect = one(hits("0.88"), "wen2023", "effects[1].value")
    assert effect["caution"]["id"] == "wen2023-news-only"
    [study] = effect["enclosing_cautions"]
    assert study["id"] == "wen2023-news-only" and "A null result" in study["text"]


# --- tPA: its regimen and its place never without the bleeding ---------------------------------


@pytest.mark.parametrize("field", ["regimens[0].text", "positions[0].view"])
def test_every_tpa_hit_carries_the_bleeding_in_json_and_csv(field):
    hit = one(hits("tpa"), "tpa", field)
    assert [h["text"] for h in hit["harms"] if BLEEDING in h["text"]]
    [row] = [r for r in rows("tpa") if r["id"] == "tpa" and r["field"] == field]
    assert BLEEDING in row["harms"] and "(tpa-calciphylaxis)" in row["harms"]


def test_the_tpa_table_says_the_bleeding_once_for_the_therapy():
    """A harm is said under the first hit on its record, not under each: tPA's id, its
    position and its regimen are one record."""
    blocks = table("tpa")
    therapy = [(key, under) for key, under in blocks.items() if key[:2] == ("therapy", "tpa")]
    said = [key[2] for key, under in therapy for line in under if BLEEDING in line]
    assert said == [therapy[0][0][2]] == ["id"]
    study = blocks[("study", "tpa-calciphylaxis", "id")]
    assert any(line.startswith(f"⚠ Harm of tpa: {BLEEDING}") for line in study), study


# --- local therapies: found by name, never without their harms ---------------------------------


@pytest.mark.parametrize(
    ("words", "therapy", "harm", "source"),
    [
        # jhandsurg2021-debulking.md: "Complications: 17, in 13 patients."
        ("debulking", "surgical-debulking", "17 complications in 13 of 39", "jhandsurg2021"),
        # nunley2020-calcinosis-treatment.md: "magnesium- or aluminium-containing antacids
        # can act as phosphate binders, with a risk of toxicity in renal insufficiency."
        ("aluminum", "aluminum-hydroxide", "toxicity in renal insufficiency", "nunley2020"),
        # nowaczyk2021.md: "The adverse event seen most often was scarring plus
        # hyperkeratosis after CO2 laser: 56% (10/18)."
        ("laser", "co2-laser", "Scarring plus hyperkeratosis", "nowaczyk2021"),
    ],
)
def test_every_hit_on_a_therapy_carries_its_harms(words, therapy, harm, source):
    found = [h for h in hits(words) if (h["kind"], h["id"]) == ("therapy", therapy)]
    assert len(found) >= 2  # its id, its name, its regimens...
    for hit in found:
        [said] = [h for h in hit["harms"] if harm in h["text"]]
        assert said["sources"][0].startswith(source)
    csv_rows = [r for r in rows(words) if (r["kind"], r["id"]) == ("therapy", therapy)]
    assert len(csv_rows) == len(found) and all(harm in r["harms"] for r in csv_rows)
    first = table(words)[("therapy", therapy, "id")]
    assert any(line.startswith("⚠ Harm: ") and harm in line for line in first), first


def test_a_harm_in_a_cell_names_its_therapy_when_a_study_tried_two():
    """arthresther-antitnf-jdm tried infliximab and adalimumab: each harm says whose."""
    row = next(r for r in rows("adalimumab") if r["id"] == "arthresther-antitnf-jdm")
    assert row["harms"].startswith("infliximab: In 60 children")
    assert "; adalimumab: In 60 children" in row["harms"]


def test_records_without_a_therapy_carry_no_harms():
    assert all(h["harms"] == [] for h in hits("myeloma"))
