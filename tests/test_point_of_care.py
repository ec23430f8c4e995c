"""At the point of care: the pager, names as clinicians type them, stuck users, studies once.

The pager tests run the installed entry point on a pseudo-terminal (stdout a real terminal
of 24 rows), with a stand-in pager that records what it was given.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from clirun import invoke, ok
from test_golden import COMMANDS, GOLDEN, WIDTHS

CALCREF = shutil.which("calcref", path=str(Path(sys.executable).parent)) or "calcref"


# --- the pager ---------------------------------------------------------------------------------


def on_a_terminal(args: list[str], env: dict[str, str], rows: int = 24, cols: int = 100) -> str:
    """Run calcref with stdout on a pseudo-terminal of `rows` x `cols`; what reached the
    terminal itself."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    clean = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "PAGER")}
    process = subprocess.Popen(
        [CALCREF, *args], stdout=slave, stderr=subprocess.PIPE, env=clean | env
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed: calcref has finished
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(master)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture
def recording_pager(tmp_path) -> tuple[str, Path]:
    """A pager that writes what it was given to a file, as `less` would show it."""
    got = tmp_path / "paged.txt"
    script = tmp_path / "pager.py"
    script.write_text(
        f"import sys\nopen({str(got)!r}, 'w').write(sys.stdin.read())\n", encoding="utf-8"
    )
    return f"{sys.executable} {script}", got


@pytest.mark.slow
def test_a_long_answer_on_a_terminal_goes_through_the_pager(recording_pager):
    pager, got = recording_pager
    shown = on_a_terminal(["treat", "--context", "ssc"], {"PAGER": pager})
    paged = got.read_text(encoding="utf-8")
    assert "Treatment ladder: the chapter's lines and letters" in paged
    assert "Treatment ladder" not in shown  # the pager showed it, not calcref


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--no-pager", "treat", "--context", "ssc"], {}),
        (["treat", "--context", "ssc", "--no-pager"], {}),
        (["treat", "--context", "ssc"], {"CALCREF_PAGER": ""}),
    ],
)
def test_the_pager_is_bypassed_when_asked(recording_pager, args, env):
    pager, got = recording_pager
    shown = on_a_terminal(args, {"PAGER": pager} | env)
    assert "Treatment ladder: the chapter's lines and letters" in shown
    assert not got.exists()


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def as_read(terminal_text: str) -> str:
    """What a reader sees: the text without its colours, the terminal's line ends as newlines
    and without the padding a terminal shows as blank."""
    plain = ANSI.sub("", terminal_text).replace("\r\n", "\n")
    return "".join(line.rstrip() + "\n" for line in plain.splitlines())


@pytest.mark.slow
@pytest.mark.parametrize("cols", WIDTHS)
@pytest.mark.parametrize("name", ["treat-ssc", "treat-jdm", "workup", "subtypes"])
def test_a_terminal_shows_the_golden_answer_in_colour(recording_pager, name, cols):
    """On a pseudo-terminal of 50 rows the answer is the golden one, in colour: written to
    the terminal when it fits or the pager is bypassed, given to the pager when it is longer
    than the screen."""
    golden = (GOLDEN / f"{name}.{cols}.txt").read_text(encoding="utf-8")
    pager, got = recording_pager
    shown = on_a_terminal([*COMMANDS[name], "--no-pager"], {"PAGER": pager}, 50, cols)
    assert "\x1b[1m" in shown and as_read(shown) == golden
    assert not got.exists()
    shown = on_a_terminal(list(COMMANDS[name]), {"PAGER": pager}, 50, cols)
    if len(golden.splitlines()) < 50:
        assert as_read(shown) == golden and not got.exists()
    else:
        paged = got.read_text(encoding="utf-8")
        assert "\x1b[1m" in paged and as_read(paged) == golden
        assert as_read(shown) == ""


@pytest.mark.slow
def test_a_short_answer_is_not_paged(recording_pager):
    pager, got = recording_pager
    shown = on_a_terminal(["--version"], {"PAGER": pager})
    assert "calcref" in shown and not got.exists()


@pytest.mark.slow
def test_calcref_pager_wins_over_pager(recording_pager, tmp_path):
    pager, got = recording_pager
    on_a_terminal(["treat", "--context", "ssc"], {"PAGER": "false", "CALCREF_PAGER": pager})
    assert got.read_text(encoding="utf-8")


def test_piped_output_is_never_paged(recording_pager):
    pager, got = recording_pager
    ok("treat", "--context", "ssc", env={"PAGER": pager})
    assert not got.exists()


# --- names as clinicians type them -------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("sodium thiosulfate", "sodium-thiosulfate"),
        ("Intravenous sodium thiosulfate", "sodium-thiosulfate-intravenous"),
        ("iv sts", "sodium-thiosulfate-intravenous"),
        ("Hexasodium-fytate", "hexasodium-fytate"),
        ("SNF472", "hexasodium-fytate"),
    ],
)
def test_therapies_answer_to_spaces_hyphens_and_names(typed, meant):
    assert json.loads(ok("show", typed, "--json").stdout)["id"] == meant


@pytest.mark.parametrize(
    ("typed", "meant"), [("systemic sclerosis", "ssc"), ("Juvenile dermatomyositis", "jdm")]
)
def test_contexts_answer_to_their_names(typed, meant):
    assert (
        ok("treat", "--context", typed, "--json").stdout
        == ok("treat", "--context", meant, "--json").stdout
    )


def test_a_route_names_its_other_routes():
    card = ok("show", "sodium thiosulfate", env={"COLUMNS": "200"}).stdout
    assert (
        "Other routes or forms: sodium-thiosulfate-intralesional, sodium-thiosulfate-intravenous,"
        " sodium-thiosulfate-intraperitoneal" in card
    )


def test_a_name_calcref_does_not_hold_is_said_so_without_a_far_guess():
    result = invoke("show", "pembrolizumab")
    assert result.exit_code == 2
    assert "unknown therapy 'pembrolizumab': not in calcref's knowledge;" in result.stderr
    assert "did you mean" not in result.stderr


def test_a_near_spelling_is_suggested():
    result = invoke("show", "rituxmab")
    assert result.exit_code == 2
    assert "(did you mean 'rituximab'?)" in result.stderr


# --- stuck users -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["treat", "ssc"], "did you mean 'calcref treat --context ssc'?"),
        (["treat", "calciphylaxis"], "did you mean 'calcref treat --subtype calciphylaxis'?"),
        (["workup", "crest"], "did you mean 'calcref workup --context ssc'?"),
    ],
)
def test_a_bare_word_gets_the_option_it_needs(args, hint):
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and hint in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["treat", "--context", "ssc", "--context", "ckd"],
        ["treat", "-c", "ssc", "--context=dialysis"],
        ["workup", "--subtype", "metastatic", "-s", "calciphylaxis"],
    ],
)
def test_a_repeated_filter_is_refused_never_dropped(args):
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "given 2 times" in result.stderr and "ask each in turn" in result.stderr


# --- studies, once each ------------------------------------------------------------------------


def test_studies_lists_each_study_once():
    listed = json.loads(ok("studies", "--json").stdout)
    ids = [s["id"] for s in listed]
    assert len(ids) == len(set(ids))
    repeated = [s for r in json.loads(ok("treat", "--json").stdout) for s in r["studies"]]
    assert set(ids) == {s["id"] for s in repeated}
    assert len(repeated) > len(ids)  # a study of two therapies sits under both in treat


def test_studies_filters_by_kind_therapy_and_population():
    trials = json.loads(ok("studies", "--kind", "randomised double-blind trial", "--json").stdout)
    assert [s["ref"] for s in trials] == ["sinha2024"]
    rituximab = json.loads(ok("studies", "--therapy", "rituximab", "--json").stdout)
    assert {s["ref"] for s in rituximab} >= {"narvaez2019", "jclinpharmther2016-rituximab"}
    jdm = json.loads(ok("studies", "--context", "jdm", "--json").stdout)
    assert jdm and all("jdm" in s["contexts"] for s in jdm)
    bad = invoke("studies", "--kind", "anecdote")
    assert bad.exit_code == 2 and "kinds of source" in bad.stderr


def test_studies_are_ordered_strongest_kind_first():
    from calcref.model import SOURCE_RANK

    listed = json.loads(ok("studies", "--subtype", "calciphylaxis", "--json").stdout)
    ranks = [SOURCE_RANK.get(s["kind"], len(SOURCE_RANK)) for s in listed]
    assert ranks == sorted(ranks)


def test_responders_are_always_the_total_who_improved():
    colchicine = json.loads(ok("show", "colchicine", "--json").stdout)
    (balin,) = colchicine["studies"]
    # the chapter's Balin 2012 colchicine summary: 1 complete and 2 partial of 8
    assert balin["counts"] == {
        "responders": 3,
        "complete": 1,
        "partial": 2,
        "none": None,
        "unknown": None,
    }


# --- search by words ----------------------------------------------------------------------------


def search_json(*args: str) -> list[dict]:
    return json.loads(ok("search", *args, "--json").stdout)


def test_search_finds_words_not_letters_inside_words():
    hits = search_json("STS", "--all")
    assert hits
    assert all(
        re.search(r"(?<!\w)sts", h["excerpt"], re.IGNORECASE) or h["field"] == "id" for h in hits
    ), [h["excerpt"] for h in hits if "sts" not in h["excerpt"].casefold()]
    assert not any(
        "lists" in h["excerpt"] and "sts" not in h["excerpt"].replace("lists", "") for h in hits
    )


def test_search_takes_several_words_and_ranks_names_first():
    hits = search_json("sodium", "thiosulfate")
    therapies = [h for h in hits if h["kind"] == "therapy"]
    assert therapies[0]["field"] in ("id", "name", "aliases[0]", "aliases[1]", "aliases[2]")
    fields = [h["field"].split("[")[0].split(".")[0] for h in therapies]
    names_end = max(i for i, f in enumerate(fields) if f in ("id", "name", "aliases"))
    assert all(f in ("id", "name", "aliases") for f in fields[: names_end + 1])


def _hits_per_kind(table: str) -> dict[str, int]:
    """Hit lines under each kind's heading in a wide search table (notes lines not counted)."""
    counts: dict[str, int] = {}
    kind = ""
    for line in table.splitlines():
        if line and not line.startswith(" "):
            kind = line
        elif line.startswith("  ") and not line.lstrip().startswith("⚠"):
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def test_search_shows_the_best_ten_of_each_kind_unless_all():
    """A screen shows the best ten of each kind; a script reads every hit, in the same order."""
    result = ok("search", "calcinosis", env={"COLUMNS": "1000"})
    shown = _hits_per_kind(result.stdout)
    assert max(shown.values()) == 10
    assert "more hits; --all shows every one" in result.stderr
    everything = search_json("calcinosis", "--all")
    assert search_json("calcinosis") == everything  # JSON is never cut to a screen
    whole = _hits_per_kind(ok("search", "calcinosis", "--all", env={"COLUMNS": "1000"}).stdout)
    assert sum(whole.values()) == len(everything) > sum(shown.values())


# --- the width of piped output --------------------------------------------------------------


def widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def test_piped_output_is_80_columns_without_a_terminal():
    assert 70 < widest(ok("treat", "--context", "ssc").stdout) <= 80


def test_piped_output_takes_the_controlling_terminal_s_width(monkeypatch):
    """`calcref treat --context ssc | less` in a 132-column terminal is drawn for 132."""
    monkeypatch.setattr("calcref.settings.controlling_terminal_width", lambda: 132)
    assert 100 < widest(ok("treat", "--context", "ssc").stdout) <= 132


def test_columns_wins_over_the_controlling_terminal(monkeypatch):
    monkeypatch.setattr("calcref.settings.controlling_terminal_width", lambda: 132)
    assert widest(ok("treat", "--context", "ssc", env={"COLUMNS": "60"}).stdout) <= 60


# --- what the audits of 2.0.2 found a clinician meeting (tables, CSV, Markdown) ------------------

AT_80 = {"COLUMNS": "80"}


def said(text: str) -> str:
    """The words of a drawing as one line: what a reader reads, wherever a line wrapped."""
    return " ".join(text.split())


def csv_rows(*args: str) -> dict[str, dict[str, str]]:
    import csv
    import io

    rows = csv.DictReader(io.StringIO(ok(*args, "--format", "csv").stdout))
    return {row["id"]: row for row in rows}


def test_an_empty_counts_cell_never_says_n_is_missing():
    """`studies --subtype calciphylaxis --format csv` said "number treated not given" in the
    counts column of trials whose n it gave beside it. Sources: "37 were randomised to
    hexasodium fytate" (sinha2024.md); "15 patients with calciphylaxis"
    (tpa-calciphylaxis.md). No outcome counts: an empty cell, n in its own column."""
    rows = csv_rows("studies", "--subtype", "calciphylaxis")
    for study, n in (("sinha2024", "37"), ("tpa-calciphylaxis", "15")):
        assert (rows[study]["n"], rows[study]["counts"]) == (n, "")
    assert not any("number treated not given" in row["counts"] for row in rows.values())
    # where the source gives outcome counts they are there: "eight out of nine patients ...
    # showed definite improvement" (chapter, Robertson 2003)
    ssc = csv_rows("studies", "--context", "ssc")
    assert ssc["robertson2003-study"]["counts"] == "8 responded, degree not given"
    markdown = ok("studies", "--subtype", "calciphylaxis", "--format", "markdown").stdout
    assert "| sinha2024 |" in markdown and "number treated not given" not in markdown


def test_the_studies_table_keeps_traineau_s_verdict_against_warfarin():
    """ "Low-dose warfarin: the authors advise against its use" (traineau2020.md). The study
    gives no n and no direction; its conclusion is the result, and `treat` shows it."""
    for args in (("studies", "--therapy", "warfarin"), ("studies", "--context", "ssc")):
        text = said(ok(*args, env=AT_80).stdout)
        assert (
            "Traineau 2020 [ssc, dm], systematic review: number treated not given "
            "Authors' conclusion: Low-dose warfarin is not advised." in text
        ), args


def test_studies_of_unstated_kind_are_grouped_apart_not_ranked_below_case_reports():
    """ "In an open-label study, eight out of nine patients with limited cutaneous SSc ...
    showed definite improvement" (chapter, Robertson 2003): its kind of source is not
    recorded, so it is not ranked; under "strongest kind first" it sat below single case
    reports. It now follows under its own heading, in the JSON's order."""
    table = ok("studies", "--context", "ssc", env=AT_80).stdout
    ranked, unranked = table.split("Kind of source not stated (chapter summaries and others)")
    assert ranked.startswith("⚠ Gap:") and "Studies (strongest kind of source first)" in ranked
    assert "case report" in ranked and "robertson2003" not in ranked
    assert "Robertson 2003 [ssc], open-label study: n=9: 8 responded" in said(unranked)
    listed = json.loads(ok("studies", "--context", "ssc", "--json").stdout)
    assert [s["id"] for s in listed if s["kind"] is None] == ["robertson2003-study"]
    assert listed[-1]["id"] == "robertson2003-study"  # the table's order is the JSON's
    shown = re.findall(r"\(([a-z0-9-]+)\)\s*$", table, re.M)
    assert shown == [s["id"] for s in listed]


def test_the_workup_never_says_every_patient():
    """The chapter lists its "Specific Investigations" with no tiers and no subtypes
    (004_...txt: "Specific Investigations / Full blood count / ... / Computed tomography and
    magnetic resonance imaging (MRI)"). Tying skin biopsy and imaging to every subtype is
    the curators' reading: the tier is "any subtype", never "for every patient"."""
    for args in (("workup",), ("workup", "--subtype", "iatrogenic"), ("subtypes", "dystrophic")):
        text = ok(*args, env=AT_80).stdout
        assert "every patient" not in text, args
        assert "\nAny subtype (the chapter lists these without naming one)\n" in text, args
        assert max(len(line) for line in text.splitlines()) <= 80


def tier(text: str, heading: str) -> str:
    """One tier of a compact workup: the lines under `heading`, to the next heading."""
    after = text.split(f"\n{heading}\n", 1)[1]
    return "\n".join(re.split(r"\n(?=\S)", after, maxsplit=1)[:1])


def test_a_subtype_s_workup_line_gives_that_source_s_own_reason():
    """The calciphylaxis tier gave the chapter's "calcification or ossification" for skin
    biopsy and "an autoimmune connective tissue disease" for ANA, labelled [literature].
    The literature says: "Skin biopsy with histology is currently the most reliable way to
    confirm the diagnosis" (kodumudi2020.md); "ANA and ANCA, to exclude vasculitis"
    (nunley2018-calciphylaxis-workup.md). A label sits on its own source's reason."""
    text = ok("workup", "--subtype", "calciphylaxis", env=AT_80).stdout
    calciphylaxis = said(tier(text, "If Calciphylaxis (calciphylaxis)"))
    assert (
        "Skin biopsy · Skin biopsy with histology is currently the most reliable way to "
        "confirm calciphylaxis; imaging can help in some cases. [literature: Kodumudi 2020]"
        in calciphylaxis
    )  # a link beyond the chapter names its source: a review is not a Medscape page
    assert (
        "to exclude vasculitis in patients evaluated for calciphylaxis. [literature: Nunley "
        "2018]" in calciphylaxis
    )
    assert "ossification. [literature" not in calciphylaxis
    assert "connective tissue disease. [literature" not in calciphylaxis
    # a curated tie says its reasoning, marked curated
    assert "The chapter places calciphylaxis in end-stage kidney disease. [curated]" in (
        calciphylaxis
    )
    anywhere = said(tier(text, "Any subtype (the chapter lists these without naming one)"))
    assert "Skin biopsy · Calcium in the tissue, and whether the change is calcification" in (
        anywhere
    )


def chart_of(*args: str) -> tuple[str, str]:
    """A treat chart's studies of the patients asked about, and those of other patients."""
    text = ok("treat", *args, "--chart", env=AT_80).stdout
    chart = text.split("Response by study (one cell per patient)", 1)[1]
    own, _, others = chart.partition("\nOther patients (")
    return own, others


def test_a_calciphylaxis_chart_puts_other_diseases_under_their_own_heading():
    """badawi-ivsts is "One 54-year-old woman with well-controlled dermatomyositis and
    systemic lupus erythematosus" (badawi-ivsts.md): dystrophic calcinosis, not
    calciphylaxis. Charted among the calciphylaxis bars it read as a calciphylaxis result."""
    own, others = chart_of("--subtype", "calciphylaxis")
    # never "not calciphylaxis": the heading names whose patients they are, not whose not
    assert others.startswith("another population)\n")
    for label in ("badawi-ivsts [dm, sle", "Clin Rheumatol 2021 [ssc", "Balin 2012 [ctd"):
        assert label in others and label not in own, label
    assert "Diving Hyperb Med 2008 [ckd]" in own
    records = json.loads(ok("treat", "--subtype", "calciphylaxis", "--json").stdout)
    charted = [s for r in records for s in r["studies"] if s["n"] and any(s["counts"].values())]
    assert {s["relation"] for s in charted} == {"this", "other"}


def test_a_context_chart_puts_other_patients_under_their_own_heading():
    """For ssc, Robertson 2003's nine patients "with limited cutaneous SSc" (chapter) are
    this population's; Balin 2012's are connective tissue disease as a whole, and the JDM
    cases another population: neither is charted as an ssc result."""
    own, others = chart_of("--context", "ssc")
    assert "Robertson 2003 [ssc]" in own and "Vayssairat [ssc]" in own
    # a broader group includes the patients asked about: it is never called "not ssc"
    assert others.startswith("a broader group; another population; population not stated)\n")
    for label in ("Balin 2012 [ctd: the whole group]", "Jiang 2011 [jdm: another population]"):
        assert label in others and label not in own


def test_links_are_printed_whole_at_80_columns():
    """A PubMed link broken across lines can be neither clicked nor copied: every link runs
    whole on a line of its own; every other line fits the 80 columns."""
    for args in (("show", "diltiazem"), ("cite", "--therapy", "rituximab")):
        text = ok(*args, env=AT_80).stdout
        lines = text.splitlines()
        urls = [line.split()[-1] for line in lines if "https://" in line]
        assert urls, args
        assert all(url.startswith("https://") for url in urls)
        assert all(len(line) <= 80 for line in lines if "https://" not in line), args
    show = ok("show", "diltiazem", env=AT_80).stdout
    assert (
        "https://pubmed.ncbi.nlm.nih.gov/?term=Calcinosis+cutis%3A+part+II.+Treatment+options\n"
        in show
    )
    cited = json.loads(ok("cite", "--therapy", "rituximab", "--json").stdout)
    table = ok("cite", "--therapy", "rituximab", env=AT_80).stdout.splitlines()
    for reference in cited:
        if reference["url"]:
            assert any(line.endswith(reference["url"]) for line in table), reference["id"]


def test_two_references_never_share_a_label():
    """Two Medscape pages by Nunley, both 2020, both printed "Nunley 2020" on the IV STS card:
    one says "Intravenous sodium thiosulfate may be considered for calciphylaxis (off-label)"
    (nunley2020-calcinosis-treatment.md), the other gives the doses. Lettered as citation
    styles do, by title: "Calcinosis Cutis Treatment & Management" is a, "What is the role
    of sodium thiosulfate ..." b, in every format."""
    card = said(ok("show", "sodium-thiosulfate-intravenous", env=AT_80).stdout)
    assert "Nunley 2020a (no evidence letter): May be considered for calciphylaxis" in card
    assert "Nunley 2020b (no evidence letter): Used off-label" in card
    assert "Nunley 2020a: Nunley. Calcinosis Cutis Treatment & Management." in card
    assert not re.search(r"Nunley 2020(?![ab])", card)
    labels = [r["label"] for r in json.loads(ok("cite", "--json").stdout)]
    assert len(labels) == len(set(labels))
    rows = csv_rows("cite")
    assert rows["nunley2020-calcinosis-treatment"]["label"] == "Nunley 2020a"
    assert rows["nunley2020-calciphylaxis-sts"]["label"] == "Nunley 2020b"
    studies = json.loads(ok("show", "sodium-thiosulfate-intravenous", "--json").stdout)
    positions = {p["source"]: p["label"] for p in studies["positions"]}
    assert positions["nunley2020-calcinosis-treatment"] == "Nunley 2020a"


def test_the_subtypes_table_says_the_jdm_figures_disagree():
    """ "this review gives calcinosis in 20–40% of JDM, and the chapter gives 10%–40%. Keep
    both, attributed, with a visible note" (davuluri2022.md). The card showed the note; the
    --details table and the list did not."""
    details = said(ok("subtypes", "--details", env=AT_80).stdout)
    assert "jdm: 20–40% ⚑ [Davuluri 2022] ⚠ Curator's note: The figures differ" in details
    assert "jdm: 10%–40% [Chapter]" in details
    listed = said(ok("subtypes", env=AT_80).stdout)
    assert "jdm: 20–40% ⚑ [Davuluri 2022]" in listed
    assert "⚑ notes · calcref subtypes ID for one in full" in listed
