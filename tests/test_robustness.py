"""Nothing wrong on any screen: every number and negation at every width, sane COLUMNS only,
and Ctrl-C that ends calcref quietly at any moment."""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clirun import invoke, ok

LADDER = ("treat", "--context", "ssc", "--details")
COMMANDS = [
    ("treat",),
    LADDER,
    ("treat", "--context", "jdm", "--chart"),
    ("workup", "--details"),  # the full table: the tiered default has one line per test
    ("subtypes",),
    ("subtypes", "dystrophic"),
    ("show", "colchicine"),
    ("show", "minocycline"),
    ("levels",),
    ("overview",),
    ("contexts",),
    ("search", "mg"),
]
NUMBER = re.compile(r"[<>≥≤]?\d[\d.,–%/-]*")
NEGATION = re.compile(r"\b(?:no|not|none|never|without)\b", re.I)


def draw(args: tuple[str, ...], width: int) -> str:
    """`args` at `width` columns. The knowledge comes through the session's parse cache (see
    conftest), as a user's second run gets it, instead of a cold parse for every drawing
    (CALCREF_NO_CACHE); cold and cached answers are the same bytes (test_reliability)."""
    return ok(*args, env={"COLUMNS": str(width)}).stdout


def facts(text: str, longest: int) -> collections.Counter:
    """Every number and every negation a reader meets, in the words that fit on a line of
    `longest` characters (a longer word, such as a DOI URL at 20 columns, can only fold)."""
    words = [w for w in text.split() if len(w) <= longest]
    found = collections.Counter(n for w in words for n in NUMBER.findall(w))
    found.update(m.lower() for w in words for m in NEGATION.findall(w))
    return found


# Every width for the ladder the red team broke, in four interleaved shards so the parallel
# workers share its 181 drawings; every 7th width for the other answers.
WIDTHS = [(LADDER, start, 4) for start in range(4)] + [(a, 0, 7) for a in COMMANDS if a != LADDER]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "start", "step"), WIDTHS, ids=[f"{' '.join(a)}-{s}" for a, s, _ in WIDTHS]
)
def test_every_number_and_negation_survives_every_width(args, start, step):
    """From 20 to 200 columns, each output holds every number and negation the unconstrained
    one does: none squeezed away or cut short (at 65 columns a squeezed table once printed
    'n=17: 9 partial' as 'n=1', and '1 no response' lost its 'no')."""
    unconstrained = draw(args, 1000)
    for width in range(20 + start, 201, step):
        longest = width - 10  # room for a stacked field's indent and a table's padding
        wide = facts(unconstrained, longest)
        assert wide
        narrow = facts(draw(args, width), longest)
        # (a word too long for the line folds into pieces that may look like numbers too)
        assert not wide - narrow, f"at {width} columns, lost or cut: {wide - narrow}"


@pytest.mark.parametrize("value", ["0", "5", "19", "1001", "2147483648", "9" * 40, "-80", "x"])
def test_columns_outside_a_sane_range_is_ignored(value):
    assert ok("levels", env={"COLUMNS": value}).stdout == ok("levels").stdout


def test_subtypes_and_search_scan_each_context_once():
    """A subtype's contexts come from an index built once, not a scan per subtype."""
    started = time.perf_counter()
    invoke("search", "calcinosis")
    invoke("subtypes", "--json")
    assert time.perf_counter() - started < 30  # generous: the point is the index below
    from calcref.knowledge import load

    kb = load()
    for subtype in kb.subtypes:
        direct = {c.id for c in kb.contexts if subtype.id in c.subtypes} | set(subtype.contexts)
        assert [c.id for c in kb.contexts_of(subtype.id)] == [
            c.id for c in kb.contexts if c.id in direct
        ]


def _sigint_caught(pid: int) -> bool | None:
    """Whether the process catches SIGINT now (Linux's /proc); None once it has ended."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGINT - 1)))


def _wait_until_calcref_runs(process: subprocess.Popen) -> None:
    """Until calcref's own code runs: Python catches SIGINT while it starts up (a Ctrl-C
    there is the interpreter's, before any calcref code, and Python reports it itself);
    calcref then hands SIGINT back to the system. Seen as the catch set, then cleared."""
    seen_caught = False
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        caught = _sigint_caught(process.pid)
        if caught is None or (seen_caught and not caught):
            return
        seen_caught = seen_caught or caught
        time.sleep(0.0005)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
@pytest.mark.parametrize("args", [["--version"], ["treat", "--context", "ssc"], ["search", "x"]])
@pytest.mark.parametrize("delay", [0.0, 0.01, 0.03, 0.08])
def test_ctrl_c_ends_calcref_quietly_at_any_moment(args, delay, tmp_path):
    """SIGINT at any moment once calcref's code runs (its imports, the knowledge, the
    answer): the process ends by the signal (the shell reports 130), with no traceback and
    no half-written line of a traceback."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "CALCREF_NO_CACHE": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "calcref", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    _wait_until_calcref_runs(process)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert b"Traceback" not in stderr and b"KeyboardInterrupt" not in stderr, stderr
    assert process.returncode in (0, -signal.SIGINT, 130), process.returncode


def test_a_knowledge_directory_whose_name_is_not_utf8_answers_and_is_cached(tmp_path):
    """The name's bytes are kept (as Python keeps them, surrogates) from the environment to
    the cache and back; the answer is the bundled one, its records' layer the directory as
    given, and the second run is a hit."""
    import json
    import shutil

    from calcref.knowledge.stack import bundled_dir

    odd = os.fsencode(tmp_path) + b"/kb\xff"
    os.mkdir(odd)
    for name in ("knowledge.yaml", "subtypes.yaml", "therapies.yaml"):
        shutil.copy(bundled_dir() / name, os.fsdecode(odd + b"/" + name.encode()))
    given = os.fsdecode(odd)  # ends in the surrogate "\udcff"
    env = {"CALCREF_DATA": given, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    first = ok("treat", "--context", "ssc", "--json", env=env)
    bundled = ok("treat", "--context", "ssc", "--json").stdout

    def relayered(value):
        """The bundled answer with every record's layer the directory given instead."""
        if isinstance(value, list):
            return [relayered(item) for item in value]
        if isinstance(value, dict):
            return {
                k: given if (k, v) == ("layer", "bundled") else relayered(v)
                for k, v in value.items()
            }
        return value

    answer = json.loads(first.stdout)
    assert answer == relayered(json.loads(bundled))
    assert {(r["layer"], r["source_file"], r["overlay"]) for r in answer} == {
        (given, "therapies.yaml", False)
    }
    # JSON escapes the surrogate: the answer stays UTF-8, and reads back as the name given
    escaped = given.encode("utf-8", "backslashreplace").decode()
    assert bundled.count('"bundled"') >= len(answer)
    assert first.stdout == bundled.replace('"bundled"', f'"{escaped}"')
    states = [
        ok("info", "--json", env=env).stdout for _ in range(2)
    ]  # the first info may write or hit; the second must hit
    assert json.loads(states[1])["cache"]["state"] == "hit"
    # answered from the cache, the layer is still the name given, surrogate and all
    assert ok("treat", "--context", "ssc", "--json", env=env).stdout == first.stdout


def test_at_most_sixteen_overlays_stack_on_one_base(tmp_path):
    overlays = []
    for index in range(17):
        overlay = tmp_path / f"overlay{index}"
        overlay.mkdir()
        (overlay / "therapies.yaml").write_text("therapies: []\n", encoding="utf-8")
        overlays.append(str(overlay))
    sixteen = invoke("levels", env={"CALCREF_DATA": os.pathsep.join(["", *overlays[:16]])})
    assert sixteen.exit_code == 0
    seventeen = invoke("levels", env={"CALCREF_DATA": os.pathsep.join(["", *overlays])})
    assert seventeen.exit_code == 1
    assert (
        seventeen.stderr == "calcref: error: 17 overlays given; at most 16 may stack on one base\n"
    )


def test_a_knowledge_stack_over_the_total_size_limit_is_refused(tmp_path, monkeypatch):
    import importlib

    loader = importlib.import_module("calcref.knowledge.load")  # the module, not the function
    monkeypatch.setattr(loader, "MAX_TOTAL_BYTES", 10_000)  # the bundled files are larger
    result = invoke("levels", env={"CALCREF_NO_CACHE": "1"})
    assert result.exit_code == 1
    assert "over the 10000-byte limit for a whole knowledge stack" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_file_longer_than_its_size_said_is_read_whole_up_to_the_limit(tmp_path, monkeypatch):
    """A file is read for the size stat gave plus one byte; one that has more (it grew, or it
    is a /proc file that reports size 0) is read on, to the per-file limit and no further."""
    import importlib

    loader = importlib.import_module("calcref.knowledge.load")
    path = tmp_path / "grown.yaml"
    path.write_bytes(b"x" * 5000)
    real_stat = os.stat
    monkeypatch.setattr(
        loader.os, "stat", lambda p, **kw: _sized(p, 10) if p == path else real_stat(p, **kw)
    )
    assert loader._read_bytes(path) == b"x" * 5000
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 4000)
    with pytest.raises(loader.KnowledgeError, match="over the 4000-byte limit"):
        loader._read_bytes(path)


def _sized(path, size, stat=os.stat):
    """The file's real stat with st_size replaced: what a file that grew after stat looks like."""
    status = list(stat(path))
    status[6] = size
    return os.stat_result(status)


# --- a flood of problems ----------------------------------------------------------------------
#
# An overlay of thousands of items that each miss required keys (6 problems an item): the
# loader and `validate` list the first MAX_PROBLEMS (made small here, so the overlay can be
# too) and end with one located line saying that checking stopped; they check no further.
# The slow tier's test_a_flood_of_problems_in_a_real_process_is_bounded runs a real process
# under memory and time limits.

FLOOD_ITEMS = 5_000
PROBLEM_LINE = re.compile(r"^calcref: error: (?P<path>.+):(?P<line>\d+): (?P<message>.+)$")
STOPPED = "more problems: checking stopped here, after the first 50; fix those and check again"


def _flood(tmp_path: Path, items: int = FLOOD_ITEMS) -> Path:
    """An overlay whose studies each give only an id: item k is on line k + 1."""
    overlay = tmp_path / "flood"
    overlay.mkdir()
    rows = "".join(f"  - id: flood-{index}\n" for index in range(items))
    (overlay / "therapies.yaml").write_text("studies:\n" + rows, encoding="utf-8")
    return overlay


@pytest.fixture
def small_limit(monkeypatch) -> int:
    from calcref.knowledge import rules

    monkeypatch.setattr(rules, "MAX_PROBLEMS", 50)
    return 50


@pytest.fixture
def checked_records(monkeypatch) -> collections.Counter:
    """How many records of each file the loader's shape check has walked, counted as it goes."""
    from calcref.knowledge import rules

    walked: collections.Counter = collections.Counter()
    real = rules.Validation._record

    def counting(self, path, *args, **kwargs):
        walked[path] += 1
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(rules.Validation, "_record", counting)
    return walked


def test_a_flood_of_problems_stops_at_the_limit_and_says_where(
    tmp_path, small_limit, checked_records
):
    overlay = _flood(tmp_path)
    path = str(overlay / "therapies.yaml")
    result = invoke("treat", "--json", env={"CALCREF_DATA": os.pathsep + str(overlay)})
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == small_limit + 1
    located = [PROBLEM_LINE.match(line) for line in lines]
    assert all(located), lines
    assert {match["path"] for match in located} == {path}
    assert all("is missing required key" in match["message"] for match in located[:-1])
    # the 51st problem is item 9's third (6 to an item), on line 10: checking stopped there
    assert located[-1]["line"] == "10"
    assert located[-1]["message"].startswith(STOPPED)
    # the work stopped too: the file, the 9 studies and no more of the 5,000 were checked
    assert checked_records[path] == 1 + 9


def test_validate_lists_the_first_problems_then_says_checking_stopped(tmp_path, small_limit):
    overlay = _flood(tmp_path)
    path = str(overlay / "therapies.yaml")
    result = invoke("validate", "--overlay", str(overlay))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == small_limit + 1
    assert all(line.startswith(f"{path}:") for line in lines)
    assert lines[-1].startswith(f"{path}:10: {STOPPED}")
    assert result.stderr == "calcref: 50 problems in 4 files, and more: checking stopped early\n"

    as_json = invoke("validate", "--overlay", str(overlay), "--json")
    assert as_json.exit_code == 1
    problems = json.loads(as_json.stdout)
    assert len(problems) == small_limit + 1
    assert {p["rule"] for p in problems[:-1]} == {"load"}
    assert problems[-1]["rule"] == "limit"
    assert (problems[-1]["path"], problems[-1]["line"]) == (path, 10)


def test_a_flood_of_curators_problems_stops_at_the_limit_too(tmp_path, small_limit):
    """The curators' rules run only on a stack that loads: 200 therapies, each graded by the
    chapter without a line, are 200 problems of one rule, stopped at the 51st."""
    overlay = tmp_path / "graded"
    overlay.mkdir()
    therapy = (
        "  - id: flood-{0}\n    name: Flood {0}\n    positions:\n      - source: chapter\n"
        "        evidence: E\n    sources: [chapter]\n"
    )
    text = "therapies:\n" + "".join(therapy.format(index) for index in range(200))
    (overlay / "therapies.yaml").write_text(text, encoding="utf-8")
    assert invoke("levels", env={"CALCREF_DATA": os.pathsep + str(overlay)}).exit_code == 0
    problems = json.loads(invoke("validate", "--overlay", str(overlay), "--json").stdout)
    assert len(problems) == small_limit + 1
    assert {p["rule"] for p in problems[:-1]} == {"graded-without-line"}
    evidence_lines = [n for n, row in enumerate(text.splitlines(), 1) if "evidence: E" in row]
    assert [p["line"] for p in problems] == evidence_lines[: small_limit + 1]
    assert problems[-1]["rule"] == "limit"


def test_problems_up_to_the_limit_are_all_listed_with_no_stop_line(tmp_path, small_limit):
    """Exactly the limit (items 1 to 8 miss 6 keys each, item 9 two): no stop line."""
    overlay = _flood(tmp_path, 8)
    therapies = overlay / "therapies.yaml"
    therapies.write_text(
        therapies.read_text(encoding="utf-8")
        + "  - id: flood-8\n    ref: chapter\n    therapies: [diltiazem]\n"
        "    population: x\n    outcome: y\n",  # no counts, no sources
        encoding="utf-8",
    )
    problems = json.loads(invoke("validate", "--overlay", str(overlay), "--json").stdout)
    assert len(problems) == small_limit
    assert "limit" not in {p["rule"] for p in problems}
