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
