"""Reliability and security of the command line, whatever it is given.

1. Arbitrary argument vectors (Hypothesis): never a traceback, exit codes 0/1/2 only, no JSON
   document on stdout after an error, and valid JSON whenever --json was given and honoured.
2. Output safety: control characters, terminal escape sequences and bidi overrides inside
   knowledge strings never reach stdout raw, in any format; Rich markup prints literally;
   closed pipes end quietly (status 1 when the answer was cut short); output is UTF-8
   whatever the locale.
3. Integrity: the same query gives the same bytes (cold, from the parse cache, across hash
   seeds), and every number and dose shown equals the loaded knowledge.
4. The exit-code contract as a table.

Knowledge-file corruption is in test_mutations.py; hostile YAML in test_hostile_yaml.py.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import shlex
import subprocess
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from clirun import MODULE, call, process_env
from helpers import data_dir, rendered_cells, yaml_data
from helpers import load_active as load
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.main import get_command

from calcref.cli import CITATION_STYLES, app
from calcref.model import KNOWLEDGE_FILES
from calcref.render.formats import FORMATS

# The whole module is slow, as CONTRIBUTING files it: knowledge rewritten with hostile
# strings, real processes, pipes and locales, 500 generated argument vectors.
pytestmark = pytest.mark.slow


ARGUMENT_EXAMPLES = 500
"""Argument vectors Hypothesis generates per run (derandomized: the same vectors every run)."""

TRACEBACK_MARKERS = ("Traceback (most recent call last)", "Traceback")
ERROR_LINE = re.compile(r"^calcref: error: \S.*$")


def invoke(args: Sequence[str], env: dict[str, str | None] | None = None):
    """One in-process run with a fresh in-process knowledge load (the parse cache may answer)."""
    return call(list(args), env=env)


def assert_no_traceback(result) -> None:
    for stream in (result.stdout, result.stderr):
        for marker in TRACEBACK_MARKERS:
            assert marker not in stream, f"traceback in output:\n{stream[-2000:]}"
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )


def write_knowledge(directory: Path, subtypes: dict, therapies: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in (("subtypes.yaml", subtypes), ("therapies.yaml", therapies)):
        text = yaml.dump(
            data,
            Dumper=_Dumper,
            allow_unicode=True,
            sort_keys=False,
            width=4096,
            default_flow_style=False,
        )
        (directory / name).write_text(text, encoding="utf-8")
    return directory


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    def ignore_aliases(self, data: object) -> bool:
        return True


def bundled_yaml() -> tuple[dict, dict]:
    directory = data_dir()
    return tuple(yaml_data(directory / name) for name in KNOWLEDGE_FILES)  # type: ignore[return-value]


def by_id(records: list[dict], record_id: str) -> dict:
    return next(r for r in records if r.get("id") == record_id)


# --- 1. arbitrary argument vectors ---------------------------------------------------------

_GROUP = get_command(app)
_NEVER = {"--install-completion", "--show-completion"}  # would touch the user's shell setup


def _options(command) -> tuple[list[str], list[str]]:
    flags: list[str] = []
    valued: list[str] = []
    for param in command.params:
        if param.param_type_name != "option":
            continue
        names = [*param.opts, *param.secondary_opts]
        if _NEVER & set(names):
            continue
        (flags if param.is_flag else valued).extend(names)
    return flags, valued


OPTIONS: dict[str | None, tuple[list[str], list[str]]] = {
    None: _options(_GROUP),
    **{name: _options(command) for name, command in _GROUP.commands.items()},
}
COMMAND_NAMES = sorted(_GROUP.commands)

GOOD_VALUES = [
    *FORMATS,
    *CITATION_STYLES,
    "first",
    "second",
    "third",
    "A",
    "c",
    "E",
    "ssc",
    "crest",
    "jdm",
    "ckd",
    "ctd",
    "dystrophic",
    "metastatic",
    "idiopathic",
    "diltiazem",
    "minocycline",
    "sodium-thiosulfate",
    "balin2012",
    "chapter",
    "thiosulfate",
    "calcinosis",
]
TRICKY_VALUES = [
    "",
    " ",
    "-",
    "--",
    "--json",
    "-h",
    "--help",
    "--format",
    "-f",
    "--version",
    "\x00",
    "\x1b[31mred\x1b[0m",
    "\u202eevil",
    "a\nb",
    "\t",
    "\r",
    "=",
    "--context=ssc",
    "≥",
    "%s%n{0}",
    "[/b]",
]
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=24)
_HUGE = st.sampled_from(["x", "ssc", "\x1b", "é", "[", "-"]).map(lambda s: s * 10_000)
_GOOD = st.sampled_from(GOOD_VALUES).flatmap(lambda v: st.sampled_from([v, v.upper(), v.title()]))
VALUES = st.one_of(_GOOD, _GOOD, _GOOD, st.sampled_from(TRICKY_VALUES), _TEXT, _HUGE)
ENV_VALUES = st.one_of(
    st.sampled_from([*FORMATS, "JSON", "xml", "", " "]),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12),
)


# Values each option and positional argument accepts, so that many vectors get past parsing.
_PLAUSIBLE = {
    "--format": list(FORMATS),
    "--context": ["ssc", "crest", "jdm", "ckd", "ctd", "dm", "morphea", "trauma"],
    "--subtype": ["dystrophic", "metastatic", "idiopathic", "iatrogenic", "calciphylaxis"],
    "--line": ["first", "second", "third"],
    "--min-evidence": ["A", "B", "C", "D", "E"],
    "--therapy": ["diltiazem", "minocycline", "sodium-thiosulfate", "warfarin", "colchicine"],
    "--style": list(CITATION_STYLES),
}
_SHORT = {"-f": "--format", "-c": "--context", "-s": "--subtype", "-l": "--line"}
_SHORT |= {"-e": "--min-evidence", "-t": "--therapy"}
_POSITIONAL = {
    "subtypes": ["dystrophic", "metastatic", "tumoral"],
    "cite": ["balin2012", "chapter", "jopa", "walsh1995"],
    "show": ["diltiazem", "minocycline", "ivig", "self-healing"],
    "search": ["thiosulfate", "calcinosis", "mg", "Balin", "≥"],
}


@st.composite
def plausible_vectors(draw) -> tuple[list[str], str | None, dict[str, str] | None]:
    """A real command with mostly valid options and values, plus at most one odd token."""
    command = draw(st.sampled_from(COMMAND_NAMES))
    flags, valued = OPTIONS[command]
    pieces: list[list[str]] = []
    for option in (
        draw(st.lists(st.sampled_from(valued), unique=True, max_size=3)) if valued else []
    ):
        choices = _PLAUSIBLE.get(_SHORT.get(option, option), GOOD_VALUES)
        value = draw(st.sampled_from(choices))
        pieces.append([option, draw(st.sampled_from([value, value.upper(), value.title()]))])
    pieces.extend([flag] for flag in draw(st.lists(st.sampled_from(flags), max_size=2)) if flags)
    if command in _POSITIONAL:
        for _ in range(draw(st.integers(0 if command in ("subtypes", "cite") else 1, 2))):
            pieces.append([draw(st.sampled_from(_POSITIONAL[command]))])
    if draw(st.integers(0, 2)) == 0:
        pieces.append([draw(VALUES)])
    pieces = draw(st.permutations(pieces))
    argv = [command, *(token for piece in pieces for token in piece)]
    env = draw(st.none() | st.fixed_dictionaries({"CALCREF_FORMAT": ENV_VALUES}))
    return argv, command, env


@st.composite
def chaotic_vectors(draw) -> tuple[list[str], str | None, dict[str, str] | None]:
    """Any command (or none), real options with arbitrary values, and positional junk."""
    command = draw(st.sampled_from([None, *COMMAND_NAMES]))
    flags, valued = OPTIONS[command]
    pieces: list[list[str]] = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["flag", "option", "option=", "option", "junk", "help"]))
        if kind == "help" and draw(st.integers(0, 3)) == 0:
            pieces.append([draw(st.sampled_from(["--help", "-h"]))])
        elif kind == "flag" and flags:
            pieces.append([draw(st.sampled_from(flags))])
        elif kind == "option" and valued:
            pieces.append([draw(st.sampled_from(valued)), draw(VALUES)])
        elif kind == "option=" and valued:
            long_names = [v for v in valued if v.startswith("--")]
            pieces.append([f"{draw(st.sampled_from(long_names))}={draw(VALUES)}"])
        else:
            pieces.append([draw(VALUES)])
    if command is not None and draw(st.booleans()):
        pieces.insert(draw(st.integers(0, len(pieces))), ["--json"])
    argv = [token for piece in pieces for token in piece]
    if command is not None:
        # The command usually comes first; sometimes root-level junk precedes it.
        at = 0 if draw(st.integers(0, 4)) else draw(st.integers(0, len(argv)))
        argv.insert(at, command)
    env = draw(st.none() | st.fixed_dictionaries({"CALCREF_FORMAT": ENV_VALUES}))
    return argv, command, env


def json_requested(argv: list[str], command: str | None) -> bool:
    """Whether --json reaches `command` as its flag (not a value, not after --, no help)."""
    if command is None or not argv or argv[0] != command:
        return False
    _, valued = OPTIONS[command]
    short_valued = [v for v in valued if len(v) == 2]
    found = False
    tokens = argv[1:]
    before_dashes = tokens[: tokens.index("--")] if "--" in tokens else tokens
    if "--help" in before_dashes or "-h" in before_dashes:
        return False  # help wins (even where a token meant as a value reads as --help)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "--":
            break
        if token in valued:
            index += 2
            continue
        if token == "--json":
            found = True
        elif any(token.startswith(s) for s in short_valued) and not token.startswith("--"):
            pass  # "-cssc": the value is attached
        index += 1
    return found


@pytest.mark.slow
@settings(
    max_examples=ARGUMENT_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
@given(st.one_of(plausible_vectors(), chaotic_vectors()))
def test_arbitrary_arguments_never_crash(case) -> None:
    argv, command, env = case
    result = call(argv, env=env)
    event(f"command {command}, exit {result.exit_code}")
    assert result.exit_code in (0, 1, 2), (argv, result.exit_code, result.stderr[-500:])
    assert_no_traceback(result)
    if result.exit_code != 0:
        assert not result.stdout.strip().startswith(("[", "{")), (argv, result.stdout[:200])
    elif json_requested(argv, command):
        event("--json honoured: stdout parsed as JSON")
        json.loads(result.stdout)


def test_json_requested_parser() -> None:
    """The oracle above decides when JSON is owed; check it on the awkward shapes."""
    assert json_requested(["treat", "--json"], "treat")
    assert not json_requested(["treat", "--context", "--json"], "treat")
    assert not json_requested(["search", "--", "--json"], "search")
    assert not json_requested(["treat", "--json", "--help"], "treat")
    assert not json_requested(["--json", "treat"], "treat")
    assert json_requested(["cite", "-t", "diltiazem", "--json"], "cite")


# --- 2. output safety ------------------------------------------------------------------------

ESCAPES = "\x1b[31mRED\x1b[0m \x1b]0;title\x07 \u202eEVIL\u202c \x07BELL \x9b2J"
FORBIDDEN = {"\x1b": "ESC", "\x07": "BEL", "\u202e": "RLO", "\x00": "NUL"}
# U+009B is the one-character (C1) form of ESC [: terminals that honour C1 controls act on it.
C1_FORBIDDEN = {"\x9b": "C1 CSI"}
MARKUP = "Ca [mmol/L] then [/b] and [bold red]not bold[/bold red] [link=https://e.vil]x[/link]"


def _hostile_knowledge(payload: str) -> tuple[dict, dict]:
    """The bundled knowledge with `payload` inside strings every command shows."""
    subtypes, therapies = copy.deepcopy(bundled_yaml())
    diltiazem = by_id(therapies["therapies"], "diltiazem")
    diltiazem["name"] = f"Diltiazem {payload}"
    diltiazem["regimens"][0]["text"] = f"2–4 mg/kg/day {payload}"
    diltiazem.setdefault("notes", []).append({"id": "hostile-note", "text": f"note {payload}"})
    study = by_id(therapies["studies"], "jiang2011-case")
    study["outcome"] = f"Outcome {payload}"
    study["regimen"] = f"30 mg/day {payload}"
    by_id(therapies["references"], "jiang2011")["title"] = f"Title {payload}"
    therapies["evidence_levels"][0]["definition"] = f"Double-blind {payload}"
    subtypes["subtypes"][0]["summary"] = f"Summary {payload}"
    by_id(subtypes["contexts"], "ssc")["name"] = f"Systemic sclerosis {payload}"
    subtypes["investigations"][0]["name"] = f"Investigation {payload}"
    subtypes["investigations"][0]["ties"][0]["reason"] = f"Reason {payload}"
    subtypes["principles"][0]["text"] = f"Principle {payload}"
    subtypes["clinical_features"][0]["text"] = f"Feature {payload}"
    return subtypes, therapies


def _every_rendering(first_subtype: str) -> list[list[str]]:
    runs: list[list[str]] = []
    for base in (
        ["treat"],
        ["treat", "--details", "--chart"],
        ["treat", "--context", "ssc", "--details"],
        ["subtypes"],
        ["workup"],
        ["levels"],
        ["overview"],
        ["contexts"],
        ["search", "RED"],
        ["search", "mg"],
    ):
        if base[0] not in _GROUP.commands:
            continue
        runs.extend([*base, "--format", fmt] for fmt in FORMATS)
    runs.extend(["cite", "--therapy", "diltiazem", "--format", f] for f in FORMATS)
    runs.extend(["cite", "--therapy", "diltiazem", "--style", s] for s in CITATION_STYLES)
    runs.append(["cite", "jiang2011"])
    runs.append(["cite", "--json"])
    runs.extend([["show", "diltiazem"], ["show", "diltiazem", "--json"]])
    runs.extend([["subtypes", first_subtype], ["subtypes", first_subtype, "--json"]])
    return runs


@pytest.fixture(scope="module")
def hostile_knowledge(tmp_path_factory) -> Path:
    """The ESCAPES knowledge, written once for the module: the tests only read it."""
    return write_knowledge(tmp_path_factory.mktemp("hostile"), *_hostile_knowledge(ESCAPES))


@pytest.fixture
def hostile_dir(hostile_knowledge, monkeypatch) -> Path:
    monkeypatch.setenv("CALCREF_DATA", str(hostile_knowledge))
    return hostile_knowledge


@pytest.mark.slow
def test_escape_sequences_never_reach_the_terminal(hostile_dir) -> None:
    first_subtype = bundled_yaml()[0]["subtypes"][0]["id"]
    runs = _every_rendering(first_subtype)
    assert len(runs) >= 50
    leaks = []
    for argv in runs:
        result = invoke(argv)
        assert result.exit_code == 0, (argv, result.stderr)
        assert_no_traceback(result)
        for stream_name, stream in (("stdout", result.stdout), ("stderr", result.stderr)):
            leaks.extend(
                f"raw {name} in {stream_name} of {' '.join(argv)}"
                for char, name in FORBIDDEN.items()
                if char in stream
            )
    assert not leaks, "\n".join(leaks)


@pytest.mark.slow
def test_c1_controls_never_reach_the_terminal(hostile_dir) -> None:
    """textsafe's promise covers C1 controls (U+0080-U+009F) in every format, JSON included."""
    first_subtype = bundled_yaml()[0]["subtypes"][0]["id"]
    leaks = []
    for argv in _every_rendering(first_subtype):
        result = invoke(argv)
        leaks.extend(
            f"raw {name} in stdout of {' '.join(argv)}"
            for char, name in C1_FORBIDDEN.items()
            if char in result.stdout
        )
    assert not leaks, "\n".join(leaks)


def test_json_keeps_the_original_strings(hostile_dir) -> None:
    """JSON escapes control characters but decodes back to exactly what the file holds."""
    rows = json.loads(invoke(["treat", "--json"]).stdout)
    diltiazem = by_id(rows, "diltiazem")
    assert diltiazem["name"] == f"Diltiazem {ESCAPES}"
    assert diltiazem["regimens"][0]["text"] == f"2–4 mg/kg/day {ESCAPES}"
    study = by_id(diltiazem["studies"], "jiang2011-case")
    assert study["outcome"] == f"Outcome {ESCAPES}"
    assert study["regimen"] == f"30 mg/day {ESCAPES}"
    card = json.loads(invoke(["show", "diltiazem", "--json"]).stdout)
    assert card["notes"][-1]["text"] == f"note {ESCAPES}"
    assert any(r["title"] == f"Title {ESCAPES}" for r in card["references"] if r["title"])
    hits = json.loads(invoke(["search", "EVIL", "--json"]).stdout)
    assert hits
    # Every hit is a knowledge string, unchanged. (A derived value such as a reference's
    # PubMed search URL, which holds the title percent-encoded, is not knowledge to search.)
    altered = [(h["kind"], h["id"], h["field"]) for h in hits if "\u202eEVIL" not in h["excerpt"]]
    assert not altered, f"search hits whose excerpt is not the original string: {altered}"
    csl = json.loads(invoke(["cite", "jiang2011", "--style", "csl-json"]).stdout)
    assert csl[0]["title"].startswith("Title ") and "\x1b" in csl[0]["title"]


def test_text_formats_show_the_escapes_visibly(hostile_dir) -> None:
    """The hostile text is shown (as visible escapes), not silently dropped."""
    for fmt in ("table", "markdown", "csv"):
        out = invoke(["treat", "--format", fmt, "--details"]).stdout
        assert "RED" in out and "EVIL" in out and "x1b" in out, fmt
    card = invoke(["show", "diltiazem"]).stdout
    assert "\\x1b[31mRED" in card and "\\u202eEVIL" in card


def test_nul_in_a_knowledge_string_is_refused_or_escaped(tmp_path, monkeypatch) -> None:
    directory = write_knowledge(tmp_path / "nul", *_hostile_knowledge("A\x00B"))
    monkeypatch.setenv("CALCREF_DATA", str(directory))
    for argv in (["treat"], ["treat", "--json"], ["show", "diltiazem"], ["treat", "-f", "csv"]):
        result = invoke(argv)
        assert_no_traceback(result)
        assert result.exit_code in (0, 1), argv
        assert "\x00" not in result.stdout
        if result.exit_code == 1:
            assert result.stdout == ""
            assert all(ERROR_LINE.match(line) for line in result.stderr.splitlines())


def test_rich_markup_in_knowledge_prints_literally(tmp_path, monkeypatch) -> None:
    directory = write_knowledge(tmp_path / "markup", *_hostile_knowledge(MARKUP))
    monkeypatch.setenv("CALCREF_DATA", str(directory))
    wide = {"COLUMNS": "1000"}
    for argv in (["treat", "--details"], ["show", "diltiazem"], ["treat", "--format", "csv"]):
        result = invoke(argv, env=wide)
        assert result.exit_code == 0, (argv, result.stderr)
        assert MARKUP in result.stdout, argv
    # Search shows an excerpt of about 40 characters either side of the match.
    excerpt = invoke(["search", "mmol"], env=wide).stdout
    assert "Ca [mmol/L] then [/b] and [bold red]" in excerpt
    markdown = invoke(["treat", "--format", "markdown"], env=wide).stdout
    # its brackets are escaped in the raw table, so a renderer shows them as written
    assert any(MARKUP in cell for row in rendered_cells(markdown) for cell in row)


@pytest.mark.parametrize(
    "argv",
    [
        ["treat", "--context", "\x1b[31mred\x1b]0;t\x07"],
        ["show", "\u202eevil"],
        ["search", "\x1b[2J\x07"],
        ["cite", "\x9b31m"],
        ["treat", "--line", "\x1b[31m"],
        ["\x1b[31m"],
    ],
    ids=["context", "show", "search", "cite", "line", "command"],
)
def test_typed_escapes_are_not_echoed_raw(argv) -> None:
    result = invoke(argv)
    assert_no_traceback(result)
    for char, name in FORBIDDEN.items():
        assert char not in result.stderr, f"raw {name} echoed on stderr"
        assert char not in result.stdout, f"raw {name} echoed on stdout"


# --- closed pipes and locales (real processes) -------------------------------------------------


def _calcref(*args: str) -> list[str]:
    return [*MODULE, *args]


EITHER, UNDELIVERED = {"0", "1"}, {"1"}
BUFFERED, UNBUFFERED = {}, {"PYTHONUNBUFFERED": "1"}
PIPES = [
    ("treat --json", "head -c 10", EITHER, BUFFERED),
    ("treat", "head -n 1", EITHER, BUFFERED),
    # More than a pipe buffer (64 KiB): the reader leaves mid-answer, so it was not delivered
    # whole. The kernel reports the first write as short; Python's unbuffered stdout (`-u`,
    # PYTHONUNBUFFERED=1, as container images often set) took that as done and calcref ended
    # 0 until it wrote to the descriptor itself.
    ("treat --details --chart", "head -n 1", UNDELIVERED, BUFFERED),
    ("treat --details --chart", "head -n 1", UNDELIVERED, UNBUFFERED),
    ("search a --all --json", "head -c 10", UNDELIVERED, BUFFERED),
    ("search a --all --json", "head -c 10", UNDELIVERED, UNBUFFERED),
    ("treat --json", "true", EITHER, BUFFERED),  # the reader may be gone before any write
    ("treat", "true", EITHER, BUFFERED),
    ("--version", "true", EITHER, BUFFERED),  # answered before the CLI is imported
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "reader", "statuses", "env"),
    PIPES,
    ids=[f"{c} | {r}{' (unbuffered)' if e else ''}" for c, r, _, e in PIPES],
)
def test_closed_pipe_ends_quietly(command, reader, statuses, env, tmp_path) -> None:
    calcref = shlex.join(_calcref(*command.split()))
    err_path = tmp_path / "calcref.err"
    script = (
        f"set -o pipefail; {calcref} 2>{shlex.quote(str(err_path))} | {reader} >/dev/null; "
        "echo ${PIPESTATUS[0]}"
    )
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60, env=process_env(**env)
    )
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    assert "Exception ignored" not in stderr, stderr
    # 0 when the whole answer fit in the pipe before the reader left, else 1 (README).
    status = result.stdout.strip()
    assert status in statuses, f"calcref exit status {status}: {stderr}"
    assert stderr == "", stderr


WRITE_FAILURES = [
    ("treat --json", ">/dev/full"),  # ENOSPC on every write
    ("treat", ">/dev/full"),
    ("treat --json", ">&-"),  # no stdout at all
    ("treat", ">&-"),
    ("--version", ">/dev/full"),  # answered before the CLI is imported: the same contract
    ("--version", ">&-"),
]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    ("command", "redirect"), WRITE_FAILURES, ids=[f"{c} {r}" for c, r in WRITE_FAILURES]
)
def test_unwritable_stdout_is_one_error_line(command, redirect) -> None:
    """A full disk or a closed stdout is a runtime error: exit 1 and one line, no traceback."""
    calcref = shlex.join(_calcref(*command.split()))
    done = subprocess.run(
        ["bash", "-c", f"{calcref} {redirect}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=process_env(),
    )
    assert "Traceback" not in done.stderr, done.stderr[-1500:]
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and ERROR_LINE.match(lines[0]), done.stderr


@pytest.mark.slow
def test_head_receives_a_prefix_of_the_full_output() -> None:
    env = process_env()
    full = subprocess.run(_calcref("treat", "--json"), capture_output=True, env=env, timeout=60)
    calcref = " ".join(_calcref("treat", "--json"))
    head = subprocess.run(
        ["bash", "-c", f"{calcref} | head -c 10"], capture_output=True, env=env, timeout=60
    )
    assert head.stdout == full.stdout[:10]


LOCALES = {
    "C": {"LC_ALL": "C", "LANG": "C"},
    "POSIX": {"LC_ALL": "POSIX", "LANG": "POSIX"},
    # No locale coercion and no UTF-8 mode: Python's own streams would be ASCII here.
    "C-no-coercion": {
        "LC_ALL": "C",
        "LANG": "C",
        "PYTHONCOERCECLOCALE": "0",
        "PYTHONUTF8": "0",
    },
    "ascii-io": {"LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "ascii"},
}


@pytest.mark.slow
@pytest.mark.parametrize("locale_env", LOCALES.values(), ids=LOCALES.keys())
def test_utf8_output_whatever_the_locale(locale_env) -> None:
    env = process_env(
        **({"PYTHONIOENCODING": None, "PYTHONUTF8": None, "LC_CTYPE": None} | locale_env)
    )
    table = subprocess.run(_calcref("treat"), capture_output=True, env=env, timeout=60)
    assert table.returncode == 0, table.stderr.decode(errors="replace")
    text = table.stdout.decode("utf-8")  # strict: raises if anything is not UTF-8
    assert "≥" in text  # the evidence legend
    assert "–" in text  # en dashes in doses, e.g. 2–4 mg/kg/day
    as_json = subprocess.run(_calcref("treat", "--json"), capture_output=True, env=env, timeout=60)
    assert "2–4 mg/kg/day" in as_json.stdout.decode("utf-8")
    error = subprocess.run(
        _calcref("treat", "--context", "≥–é"), capture_output=True, env=env, timeout=60
    )
    assert error.returncode == 2
    message = error.stderr.decode("utf-8")
    assert "Traceback" not in message and message.startswith("calcref: error: ")


# --- 3. integrity -----------------------------------------------------------------------------

SAME_QUERIES = [
    ["treat", "--context", "ssc"],
    ["treat", "--context", "ssc", "--json"],
    ["treat", "--details", "--chart"],
    ["treat", "--format", "csv"],
    ["treat", "--format", "markdown"],
    ["workup", "--subtype", "metastatic", "--json"],
    ["subtypes", "--json"],
    ["levels", "--json"],
    ["search", "calcinosis", "--json"],
    ["cite", "--style", "bibtex"],
    ["cite", "--style", "csl-json"],
    ["cite", "--style", "ris"],
    ["show", "minocycline", "--json"],
]


@pytest.mark.parametrize("argv", SAME_QUERIES, ids=" ".join)
def test_same_query_same_bytes_in_process(argv, tmp_path, monkeypatch, private_cache) -> None:
    cold = invoke(argv)  # parses the files and writes the parse cache
    assert list((tmp_path / "cache" / "calcref").glob("*.marshal")), "no parse cache entry written"
    warm = invoke(argv)  # answered from the parse cache
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other-cache"))
    again = invoke(argv)
    assert cold.exit_code == warm.exit_code == again.exit_code == 0
    assert cold.stdout_bytes == warm.stdout_bytes == again.stdout_bytes
    assert cold.stderr_bytes == warm.stderr_bytes == again.stderr_bytes


@pytest.mark.slow
def test_same_query_same_bytes_across_processes(tmp_path) -> None:
    """Different hash seeds and cold/warm caches must not reorder anything."""
    for argv in (a for a in SAME_QUERIES if "--json" in a or "csv" in a or "bibtex" in a):
        outputs = set()
        for seed in ("0", "12345"):
            env = process_env(PYTHONHASHSEED=seed, XDG_CACHE_HOME=str(tmp_path / seed))
            for _ in range(2):  # cold, then warm
                done = subprocess.run(_calcref(*argv), capture_output=True, env=env, timeout=60)
                assert done.returncode == 0, done.stderr
                outputs.add(done.stdout)
        assert len(outputs) == 1, argv


COUNT_LABELS = (
    ("responders", "responded"),
    ("complete", "complete"),
    ("partial", "partial"),
    ("none", "no response"),
    ("unknown", "unknown"),
)


def expected_counts(study) -> str:
    """Counts as the README documents them, every patient once: 'n=6: 1 partial, 2 no
    response, 3 unknown', 'n=3: 1 complete, 2 responded, degree not given' (the responders
    the source does not split into complete and partial)."""
    c = study.counts
    split = (c.complete or 0) + (c.partial or 0)
    undegreed = None if c.responders is None else (c.responders - split) or None
    given = (
        (c.complete, "complete"),
        (c.partial, "partial"),
        (undegreed, "responded, degree not given"),
        (c.none, "no response"),
        (c.unknown, "unknown"),
    )
    parts = [f"{value} {label}" for value, label in given if value is not None]
    prefix = f"n={study.n}" if study.n is not None else "number treated not given"
    if study.n is not None and (study.kind or "").startswith("randomised") and study.comparator:
        prefix += f" vs {study.comparator}"  # a trial's arm, never read as the whole trial
    return f"{prefix}: {', '.join(parts)}" if parts else prefix


def json_counts(study) -> dict:
    """The counts as the README documents the JSON: each as the knowledge gives it, except
    `responders`, always the total who improved: the source's number, or complete + partial
    where the source gives only the split."""
    counts = {key: getattr(study.counts, key) for key, _ in COUNT_LABELS}
    split = (counts["complete"], counts["partial"])
    if counts["responders"] is None and split != (None, None):
        counts["responders"] = sum(value or 0 for value in split)
    return counts


def _check_json_therapy(record: dict, therapy, kb) -> None:
    assert record["line"] == therapy.line and record["evidence"] == therapy.evidence
    assert [g["text"] for g in record["regimens"]] == [r.text for r in therapy.regimens]
    studies = kb.studies_of(therapy.id)
    assert [s["id"] for s in record["studies"]] == [s.id for s in studies]
    for shown, study in zip(record["studies"], studies, strict=True):
        assert shown["n"] == study.n
        assert shown["counts"] == json_counts(study)
        assert shown["regimen"] == study.regimen
        assert shown["outcome"] == study.outcome
        assert shown["population"] == study.population
        assert shown["age"] == study.age
        for value in (shown["n"], *shown["counts"].values()):
            assert value is None or (isinstance(value, int) and not isinstance(value, bool))


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet would run as a formula: the CSV writer prefixes such a cell with a '."""


def csv_records(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV answer, each cell as the knowledge holds it: no cell
    may start as a formula, and the ' the writer put before one is removed."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    rows = []
    for cells in reader:
        assert len(cells) == len(header), cells
        for key, value in zip(header, cells, strict=True):
            assert not value.startswith(FORMULA_START), f"formula not defused in {key}: {value!r}"
        undone = [v[1:] if v[:1] == "'" and v[1:2] in FORMULA_START else v for v in cells]
        rows.append(dict(zip(header, undone, strict=True)))
    return header, rows


def derived_columns(json_rows: list[dict]) -> list[str]:
    """The CSV and Markdown columns: every JSON key in order, then `overlay`."""
    keys = dict.fromkeys(
        k for row in json_rows for k in row if k not in ("layer", "source_file", "overlay")
    )
    return [*keys, "overlay"]


@pytest.mark.slow
def test_every_study_number_matches_the_knowledge() -> None:
    kb = load()
    assert kb.studies, "the bundled knowledge has studies"
    json_rows = json.loads(invoke(["treat", "--json"]).stdout)
    treat_rows = {r["id"]: r for r in json_rows}
    assert set(treat_rows) == {t.id for t in kb.therapies}
    for therapy in kb.therapies:
        _check_json_therapy(treat_rows[therapy.id], therapy, kb)
        card = invoke(["show", therapy.id, "--json"])
        assert card.exit_code == 0
        _check_json_therapy(json.loads(card.stdout), therapy, kb)

    header, rows = csv_records(invoke(["treat", "--format", "csv"]).stdout)
    assert header == derived_columns(json_rows)
    csv_rows = {row["id"]: row for row in rows}
    assert set(csv_rows) == set(treat_rows)
    markdown = invoke(["treat", "--format", "markdown"]).stdout.splitlines()
    assert markdown[0] == "| " + " | ".join(derived_columns(json_rows)) + " |"
    table = invoke(["treat", "--details"], env={"COLUMNS": "1000"}).stdout
    # the literature's regimens run to hundreds of characters and wrap inside their column
    regimens_column = " ".join(column_lines(table, "Regimens [source]", "Studies"))
    studies_lines = column_lines(table, "Studies", None)
    studies_column = " ".join(studies_lines)
    for therapy in kb.therapies:
        studies = kb.studies_of(therapy.id)
        row = csv_rows[therapy.id]
        md_row = next(line for line in markdown if line.startswith(f"| {therapy.id} |"))
        for regimen in therapy.regimens:
            assert regimen.text in row["regimens"]
            assert _md(regimen.text) in md_row
            assert " ".join(regimen.text.split()) in " ".join(regimens_column.split())
        shown_counts = re.findall(
            r"((?:n=\d+(?: vs [^;:]*?\))?|number treated not given)(?:: [^;\[]*?)?)(?= \[|; |$)",
            row["studies"],
        )
        assert Counter(shown_counts) == Counter(expected_counts(s) for s in studies), therapy.id
        for study in studies:
            assert expected_counts(study) in row["studies"]
            assert _md(expected_counts(study)) in md_row
            if study.regimen:
                said = " ".join(f"Regimen: {study.regimen}".split())
                assert said in " ".join(studies_column.split())
    # The table shows each study once per therapy it tests: compare every count line.
    table_counts = [
        m.rstrip() for m in re.findall(r"Counts: (.*)$", "\n".join(studies_lines), flags=re.M)
    ]
    expected = [expected_counts(s) for t in kb.therapies for s in kb.studies_of(t.id)]
    assert Counter(table_counts) == Counter(expected)


def column_lines(table: str, header: str, next_header: str | None) -> list[str]:
    """What one column of every table in a piped answer prints, line by line (a cell that
    wraps continues on the next line, in the same column): from the column's header to the
    next column's, for every line of each table (a table ends at a line of text that does
    not start with a space: a section title or the legend)."""
    found: list[str] = []
    start = end = None
    for line in table.splitlines():
        if line.startswith(" ") and header in line and (next_header is None or next_header in line):
            start = line.index(header)
            end = line.index(next_header, start) if next_header else None
            continue
        if not line.strip():
            continue  # a blank line between rows
        if not line.startswith(" "):
            start = None
        elif start is not None:
            found.append(line[start:end].strip())
    assert found, f"no column {header!r}"
    return found


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def test_chart_counts_add_up_to_n() -> None:
    """Every response bar lists counts that add up to the study's n, as the knowledge says."""
    kb = load()
    table = invoke(["treat", "--chart"], env={"COLUMNS": "1000"}).stdout
    drawn = re.findall(r"  n=(\d+): (.+)$", table, flags=re.M)
    with_counts = [
        s
        for t in kb.therapies
        for s in kb.studies_of(t.id)
        if s.n is not None and any(getattr(s.counts, k) is not None for k, _ in COUNT_LABELS)
    ]
    assert len(drawn) == len(with_counts)
    categories = "complete|partial|responded, degree not given|no response|unknown|not reported"
    for n, parts in drawn:
        numbers = [int(x) for x in re.findall(rf"(\d+) (?:{categories})(?:, |\s*$)", parts)]
        assert numbers and sum(numbers) == int(n), (n, parts)


# --- 4. the exit-code contract ---------------------------------------------------------------


def _bad_knowledge(directory: Path) -> Path:
    """The bundled files with two independent problems in therapies.yaml."""
    subtypes, therapies = copy.deepcopy(bundled_yaml())
    therapies["therapies"][0]["positions"][0]["evidence"] = "Z"
    therapies["studies"][0]["n"] = "seven"
    return write_knowledge(directory, subtypes, therapies)


# (argv, env, expected exit code, expected number of stderr error lines or None for "no error")
CONTRACT: list[tuple[list[str], dict[str, str], int, int | None]] = [
    ([], {}, 0, None),
    (["--help"], {}, 0, None),
    (["-h"], {}, 0, None),
    (["--version"], {}, 0, None),
    (["-V"], {}, 0, None),
    (["treat", "--help"], {}, 0, None),
    (["treat"], {}, 0, None),
    (["treat", "--context", "ssc", "--json"], {}, 0, None),
    (["treat", "-c", "CREST", "-l", "FIRST", "-e", "c"], {}, 0, None),
    (["treat", "--context", "ssc", "--subtype", "metastatic", "--json"], {}, 0, None),
    (["subtypes", "dystrophic"], {}, 0, None),
    (["workup", "--subtype", "metastatic"], {}, 0, None),
    (["cite", "--style", "bibtex"], {}, 0, None),
    (["cite", "--format", "bibtex"], {}, 2, 1),  # a style is --style's; the error names it
    (["cite"], {"CALCREF_FORMAT": "bibtex"}, 0, None),  # not one of cite's formats: ignored
    (["show", "minocycline"], {}, 0, None),
    (["search", "thiosulfate"], {}, 0, None),
    (["search", "zzzz-nothing-here"], {}, 0, None),
    (["levels"], {}, 0, None),
    (["treat"], {"CALCREF_FORMAT": "json"}, 0, None),
    (["treat"], {"CALCREF_FORMAT": "CSV"}, 0, None),
    # CALCREF_FORMAT applies only where it names one of the command's formats, else ignored.
    (["treat"], {"CALCREF_FORMAT": "xml"}, 0, None),
    (["info"], {"CALCREF_FORMAT": "csv"}, 0, None),
    (["nosuch"], {}, 2, 1),
    (["--json"], {}, 2, 1),
    (["treat", "--bogus"], {}, 2, 1),
    (["treat", "--context"], {}, 2, 1),
    (["treat", "--context", "nowhere"], {}, 2, 1),
    (["treat", "--context", ""], {}, 2, 1),
    (["treat", "--context", "x" * 10_000], {}, 2, 1),
    (["treat", "--context", "bad\nvalue"], {}, 2, 1),
    (["treat", "--line", "fourth"], {}, 2, 1),
    (["treat", "--line", "bad\nline"], {}, 2, 1),
    (["treat", "-e", "Z"], {}, 2, 1),
    (["treat", "--json=yes"], {}, 2, 1),
    (["treat", "--", "--json"], {}, 2, 1),
    (["treat", "--format", "xml"], {}, 2, 1),
    (["info", "--format", "csv"], {}, 2, 1),
    (["show"], {}, 2, 1),
    (["show", "nosuch"], {}, 2, 1),
    (["search", ""], {}, 2, 1),
    (["search", "   "], {}, 2, 1),
    (["levels", "extra"], {}, 2, 1),
    (["cite", "nosuch"], {}, 2, 1),
    (["cite", "--format", "xml"], {}, 2, 1),
    (["cite", "--style", "xml"], {}, 2, 1),
    (["cite", "--style", "table"], {}, 2, 1),
    (["cite", "--style", "bibtex", "--json"], {}, 2, 1),
    (["subtypes", "nosuch"], {}, 2, 1),
    (["subtypes", "multi\nline\nid"], {}, 2, 1),
    (["treat"], {"CALCREF_DATA": "{missing}"}, 1, 1),
    # An empty directory lacks both knowledge files: one line for each.
    (["treat"], {"CALCREF_DATA": "{empty}"}, 1, 2),
    (["treat", "--context", "nowhere"], {"CALCREF_DATA": "{empty}"}, 1, 2),
    (["treat", "--json"], {"CALCREF_DATA": "{bad}"}, 1, 2),
    (["levels"], {"CALCREF_DATA": "{bad}"}, 1, 2),
]


def _contract_id(case: tuple) -> str:
    argv, env, code, _ = case
    shown = " ".join(a if len(a) < 20 else a[:8] + "…" for a in argv) or "(no args)"
    extra = " ".join(f"{k}={v}" for k, v in env.items())
    return repr(f"{code}: {shown} {extra}".strip())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("argv", "env", "code", "errors"), CONTRACT, ids=map(_contract_id, CONTRACT)
)
def test_exit_code_contract(argv, env, code, errors, tmp_path) -> None:
    places = {
        "{missing}": str(tmp_path / "does-not-exist"),
        "{empty}": str((tmp_path / "empty").resolve()),
        "{bad}": str(tmp_path / "bad"),
    }
    (tmp_path / "empty").mkdir()
    _bad_knowledge(tmp_path / "bad")
    env = {key: places.get(value, value) for key, value in env.items()}
    result = invoke(argv, env=env)
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert_no_traceback(result)
    lines = result.stderr.splitlines()
    if errors is None:
        assert not any(line.startswith("calcref: error:") for line in lines), result.stderr
        return
    assert result.stdout == ""
    assert len(lines) == errors, f"expected {errors} stderr line(s), got:\n{result.stderr}"
    assert all(ERROR_LINE.match(line) for line in lines), result.stderr
    if env.get("CALCREF_DATA", "").endswith("bad"):
        for line in lines:
            assert re.match(r"^calcref: error: .+/therapies\.yaml:\d+: ", line), line
