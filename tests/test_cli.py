"""The command line, through Typer's CliRunner: every command, every option, the contracts.

Expectations are read from the knowledge files themselves (data/*.yaml) or from the sources
they transcribe, never from calcref's own query code, so a bug in a query cannot hide by also
being in the expectation.

Isolation comes from tests/conftest.py (a private XDG cache, no CALCREF_* overrides, a fresh
load() per test); this module also clears the variables that change how tables are drawn.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from clirun import invoke, ok
from helpers import edit, markdown_cells, rendered_cells, yaml_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import calcref
from calcref.model import SOURCE_KINDS

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
CSL_SCHEMA = Path(__file__).parent / "data" / "csl-data.schema.json"
MANIFEST_YAML = yaml_data(DATA / "knowledge.yaml")
SUBTYPES_YAML = yaml_data(DATA / "subtypes.yaml")
THERAPIES_YAML = yaml_data(DATA / "therapies.yaml")
# as data/knowledge.yaml states it, e.g. "1.1.0 (2026-11-27)"
KNOWLEDGE_VERSION = f"{MANIFEST_YAML['version']} ({MANIFEST_YAML['date']})"

WIDE = {"COLUMNS": "1000"}  # wide enough that no cell of the real knowledge is folded
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
ELLIPSIS = "…"
BOX_AND_SPACE = re.compile(r"[\s━─│┃┏┓┗┛┣┫╇╈╸╺╹╻]")


# --- isolation and helpers ---------------------------------------------------------------------


def ok_json(
    *args: str, env: dict[str, str] | None = None, empty: bool = False, stderr: str | None = None
) -> Any:
    """`args` with --json: exit 0, one JSON document on stdout, stderr exactly `stderr` (by
    default silent, except a treat answer's gap lines for the ids it names, see `gap_stderr`)
    unless empty."""
    result = ok(*args, "--json", env=env)
    data = json.loads(result.stdout)
    if stderr is None:
        command = args[0] if args else ""
        if command in ("treat", "studies", "workup"):
            concerns = "workup" if command == "workup" else "treatment"
            stderr = gap_stderr(concerns, **_question(args))
        else:
            stderr = ""
    if not empty:
        assert result.stderr == stderr
    return data


def _question(args: tuple[str, ...]) -> dict[str, str]:
    """The ids a treat command line asks about (--context, --subtype, --line), as given."""
    names = {"--context": "context", "-c": "context", "--subtype": "subtype", "-s": "subtype"}
    names |= {"--line": "line", "-l": "line"}
    pairs = itertools.pairwise(args)
    asked = {names[flag]: value for flag, value in pairs if flag in names}
    if "context" in asked:  # an alias (esrd, CREST) asks about the context it names
        typed = asked["context"].strip().lower()
        asked["context"] = next(
            (
                c["id"]
                for c in SUBTYPES_YAML["contexts"]
                if typed in [c["id"], *c.get("aliases", [])]
            ),
            asked["context"],
        )
    return asked


def usage_error(*args: str, env: dict[str, str] | None = None) -> str:
    """Exit 2 with nothing on stdout and exactly one line on stderr; returns that line."""
    result = invoke(*args, env=env)
    assert result.exit_code == 2, f"exit {result.exit_code}; stderr: {result.stderr!r}"
    assert result.stdout == ""
    assert one_line(result.stderr), f"expected one stderr line, got {result.stderr!r}"
    assert result.stderr.startswith("calcref: error: ")
    return result.stderr.rstrip("\n")


def one_line(text: str) -> bool:
    """Exactly one line: a single newline, at the end."""
    return text.endswith("\n") and text.count("\n") == 1


def ids(records: list[dict]) -> list[str]:
    return [r["id"] for r in records]


def by_id(records: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in records}


# The two documents calcref began with; every other reference is the literature pack's.
CHAPTER_AND_JOPA = {"chapter", "jopa"}


def from_chapter(record: dict) -> bool:
    """A study (or other sourced record) the chapter or the JOPA article states."""
    return not CHAPTER_AND_JOPA.isdisjoint(record.get("sources", []))


def chapter_studies(record: dict) -> list[dict]:
    """A therapy answer's studies as the chapter (or the JOPA article) states them."""
    return [s for s in record["studies"] if from_chapter(s)]


def squash(text: str) -> str:
    """Text with whitespace and box-drawing characters removed, to compare across folds."""
    return BOX_AND_SPACE.sub("", text)


def column_text(output: str, header: str, next_header: str | None) -> str:
    """Everything printed in one table column, folded lines joined (piped tables only)."""
    lines = output.splitlines()
    head_index = next(
        i for i, line in enumerate(lines) if re.search(rf"\b{re.escape(header)}", line)
    )
    head = lines[head_index]
    start = head.index(header)
    end = head.index(next_header, start) if next_header else None
    return "".join(line[start:end].strip() for line in lines[head_index + 1 :])


def rows_of_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def derived_columns(record: dict) -> list[str]:
    """The CSV and Markdown columns of a record: its JSON keys in order, its provenance (layer
    and file) replaced by one `overlay` column."""
    hidden = ("layer", "source_file", "overlay")
    assert set(hidden) <= set(record), record  # the JSON record carries its provenance
    return [k for k in record if k not in hidden] + ["overlay"]


def markdown_rows(text: str) -> list[list[str]]:
    """Cells of a pipe table as a reader sees them (escapes read: `\\|` is `|`), the gaps'
    quoted lines above the table skipped."""
    return [markdown_cells(line) for line in text.split("\n\n")[-1].splitlines()]


# --- expectations from the knowledge files ----------------------------------------------------


def yaml_therapy(therapy_id: str) -> dict:
    return next(t for t in THERAPIES_YAML["therapies"] if t["id"] == therapy_id)


def graded_letter(therapy: dict) -> str | None:
    """The chapter ladder's letter: the first position that carries a line."""
    return next((p["evidence"] for p in therapy.get("positions", []) if p.get("line")), None)


def graded_line(therapy: dict) -> str | None:
    return next((p["line"] for p in therapy.get("positions", []) if p.get("line")), None)


def yaml_studies(therapy_id: str) -> list[dict]:
    return [s for s in THERAPIES_YAML["studies"] if therapy_id in s["therapies"]]


def references_behind(therapy_id: str) -> set[str]:
    """Every reference id a therapy's record or its studies name (source/sources/ref)."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("sources",) and isinstance(item, list):
                    found.update(item)
                elif key in ("source", "ref") and isinstance(item, str):
                    found.add(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(yaml_therapy(therapy_id))
    walk(yaml_studies(therapy_id))
    return found


def yaml_context(context_id: str) -> dict:
    return next(c for c in SUBTYPES_YAML["contexts"] if c["id"] == context_id)


def yaml_frequencies(subtype_id: str) -> list[dict]:
    return next(s for s in SUBTYPES_YAML["subtypes"] if s["id"] == subtype_id)["frequencies"]


def yaml_ancestors(context_id: str) -> list[str]:
    """The groups containing a context, nearest first, by the `parent` the file gives."""
    found, parent = [], yaml_context(context_id).get("parent")
    while parent:
        found.append(parent)
        parent = yaml_context(parent).get("parent")
    return found


def yaml_descendants(context_id: str) -> set[str]:
    return {c["id"] for c in SUBTYPES_YAML["contexts"] if context_id in yaml_ancestors(c["id"])}


def yaml_evidence(therapy_id: str) -> dict[str, set[str]]:
    """Where a therapy is reported: `studied` (a study's patients were in the group) and
    `named` (the therapy's own record lists the group)."""
    return {
        "studied": {c for s in yaml_studies(therapy_id) for c in s.get("contexts", [])},
        "named": {link["context"] for link in yaml_therapy(therapy_id).get("contexts", [])},
    }


def yaml_match_candidates(therapy_id: str, context_id: str) -> list[tuple[str, str, set[str]]]:
    """Every (kind, evidence, groups) a context answer could rest on, best first: the context
    itself, a group inside it, a group containing it; at each, studied before named."""
    reported = yaml_evidence(therapy_id)
    tiers = (
        ("direct", {context_id}),
        ("narrower", yaml_descendants(context_id)),
        ("broader", set(yaml_ancestors(context_id))),
    )
    return [
        (kind, evidence, groups & reported[evidence])
        for kind, groups in tiers
        for evidence in ("studied", "named")
        if groups & reported[evidence]
    ]


def yaml_relation(study: dict, context_id: str) -> str:
    """Whose patients a study's are, seen from a context: this, narrower, broader, other, or
    unstated where the source names no disease (it was "other" until the silence of
    nowaczyk2021, "underlying diseases ... not shown", was printed as "[not jdm]"); patients
    named only by another kind of calcinosis than the context's are others."""
    contexts = set(study.get("contexts", []))
    if not contexts:
        chain = [context_id, *yaml_ancestors(context_id)]
        kinds = {kind for c in chain for kind in yaml_context(c).get("subtypes", [])}
        named = set(study.get("subtypes", []))
        return "other" if named and not named & kinds else "unstated"
    if context_id in contexts:
        return "this"
    if contexts & yaml_descendants(context_id):
        return "narrower"
    if contexts & set(yaml_ancestors(context_id)):
        return "broader"
    return "other"


POPULATION_WORDS = {
    "broader": "the whole group",
    "other": "another population",
    "unstated": "population not stated",
}


def study_name(study: dict) -> str:
    """How a table and a chart name a study of a JSON answer: 'Balin 2012 [ctd: the whole
    group] (surgery with medical treatment)': who, whose patients, and what they received
    when it was more than the therapy."""
    tag = ", ".join(study["contexts"])
    words = POPULATION_WORDS.get(study.get("relation", ""))
    if words:
        tag = f"{tag}: {words}" if tag else words
    name = study["label"] + (f" [{tag}]" if tag else "")
    return name + (f" ({study['treatment']})" if study["treatment"] else "")


def yaml_gaps(
    context: str | None = None,
    subtype: str | None = None,
    line: str | None = None,
    concerns: str = "treatment",
) -> list[str]:
    """The gaps therapies.yaml says concern a question, in file order: those of its context,
    its subtype (when none is asked, those of the context's own subtypes, unless the gap is
    `not_for` the context) or its ladder line, among the gaps of its answer (`concerns`:
    treatment, or workup)."""
    subtypes = {subtype} if subtype else set()
    if context and not subtype:
        subtypes |= set(yaml_context(context).get("subtypes", []))
    return [
        " ".join(gap["text"].split())
        for gap in THERAPIES_YAML.get("gaps", [])
        if gap.get("concerns", "treatment") == concerns
        and context not in gap.get("not_for", [])
        and (
            context in gap.get("contexts", [])
            or subtypes & set(gap.get("subtypes", []))
            or line in gap.get("lines", [])
        )
    ]


def gap_stderr(concerns: str = "treatment", **question: str) -> str:
    """What treat, studies or workup write on stderr beside an answer on stdout that is data
    (not a table)."""
    return "".join(f"calcref: gap: {text}\n" for text in yaml_gaps(**question, concerns=concerns))


ALL_THERAPY_IDS = [t["id"] for t in THERAPIES_YAML["therapies"]]
ALL_REFERENCE_IDS = [r["id"] for r in THERAPIES_YAML["references"]]
ALL_CONTEXT_IDS = [c["id"] for c in SUBTYPES_YAML["contexts"]]
ALL_SUBTYPE_IDS = [s["id"] for s in SUBTYPES_YAML["subtypes"]]
ALL_INVESTIGATION_IDS = [i["id"] for i in SUBTYPES_YAML["investigations"]]
COMMANDS = (
    "subtypes",
    "workup",
    "treat",
    "cite",
    "show",
    "search",
    "levels",
    "overview",
    "contexts",
)
LINE_RANK = {"first": 0, "second": 1, "third": 2, None: 3}
LETTER_RANK = {"A": 0, "B": 1, "C": 2, "D": 3, "E": 4, None: 5}


# --- the JSON contract, as JSON Schemas -------------------------------------------------------

NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_INT = {"type": ["integer", "null"], "minimum": 0}
STR_LIST = {"type": "array", "items": {"type": "string"}}
COUNTS = {
    "type": "object",
    "required": ["responders", "complete", "partial", "none", "unknown"],
    "properties": {
        k: NULLABLE_INT for k in ("responders", "complete", "partial", "none", "unknown")
    },
}
CAUTION = {
    "type": ["object", "null"],
    "required": ["id", "text", "likely"],
    "properties": {"id": {"type": "string"}, "text": {"type": "string"}, "likely": NULLABLE_STR},
}
STATEMENT = {  # a harm: what a source says, with its sources
    "type": "object",
    "required": ["text", "sources", "caution", "notes"],
    "properties": {
        "text": {"type": "string"},
        "sources": {**STR_LIST, "minItems": 1},
        "caution": CAUTION,
        "notes": {"type": "array"},
    },
}
EFFECT = {
    "type": "object",
    "required": ["type", "measure", "value", "interval", "level", "p"],
    "properties": {
        "type": {
            "enum": [
                "risk ratio",
                "hazard ratio",
                "relative hazard",
                "odds ratio",
                "mean difference",
                "other",
            ]
        },
        "measure": {"type": "string"},
        "value": {"type": "string"},
        "interval": NULLABLE_STR,
        "level": NULLABLE_STR,
        "p": NULLABLE_STR,
    },
}
STUDY = {
    "type": "object",
    "required": [
        "ref",
        "label",
        "contexts",
        "n",
        "population",
        "regimen",
        "treatment",
        "outcome",
        "counts",
        "caution",
        "kind",
        "aim",
        "comparator",
        "effects",
        "direction",
        "harms",
        "conclusion",
    ],
    "properties": {
        "ref": {"type": "string"},
        "label": {"type": "string"},
        "contexts": STR_LIST,
        "n": NULLABLE_INT,
        "population": {"type": "string"},
        "regimen": NULLABLE_STR,
        "treatment": NULLABLE_STR,
        "outcome": {"type": "string"},
        "counts": COUNTS,
        "caution": CAUTION,
        "kind": {"enum": [*SOURCE_KINDS, None]},
        "aim": {"enum": ["treatment", "prevention", None]},
        "comparator": NULLABLE_STR,
        "effects": {"type": "array", "items": EFFECT},
        "direction": {"enum": ["benefit", "no significant effect", "harm", "mixed", None]},
        "harms": {"type": "array", "items": STATEMENT},
        "conclusion": NULLABLE_STR,
        # only in an answer seen from a context or subtype: whose patients they were
        # ("unstated": the source does not say which disease they had, nowaczyk2021)
        "relation": {"enum": ["this", "narrower", "broader", "other", "unstated"]},
    },
}
POSITION = {
    "type": "object",
    "required": ["source", "label", "line", "evidence", "view", "grade", "caution"],
    "properties": {
        "source": {"type": "string"},
        "label": {"type": "string"},
        "line": {"enum": ["first", "second", "third", None]},
        "evidence": {"enum": ["A", "B", "C", "D", "E", None]},
        "view": NULLABLE_STR,
        # a source's own grading, attributed (e.g. an Oxford level), never a chapter letter
        "grade": NULLABLE_STR,
        "caution": CAUTION,
    },
}
TREAT_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": [
            "id",
            "name",
            "place",
            "line",
            "evidence",
            "graded_for",
            "positions",
            "contexts",
            "regimens",
            "harms",
            "studies",
            "notes",
            "sources",
        ],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "place": {"enum": ["chapter ladder", "beyond the chapter"]},
            "line": {"enum": ["first", "second", "third", None]},
            "evidence": {"enum": ["A", "B", "C", "D", "E", None]},
            # the subtypes the chapter's letter grades it for (none when it has no letter)
            "graded_for": STR_LIST,
            "harms": {"type": "array", "items": STATEMENT},
            # a treat answer's id of the strongest study for the patients asked about
            "strongest": NULLABLE_STR,
            # and the ids of the studies it was chosen among
            "chosen_from": STR_LIST,
            "contexts": STR_LIST,
            "positions": {"type": "array", "items": POSITION},
            "regimens": {"type": "array"},
            "studies": {"type": "array", "items": STUDY},
            "notes": {"type": "array"},
            "sources": STR_LIST,
            "match": {
                "type": "object",
                "required": ["kind", "context", "evidence"],
                "additionalProperties": False,
                "properties": {
                    "kind": {"enum": ["direct", "narrower", "broader"]},
                    "context": {"type": "string"},
                    "evidence": {"enum": ["studied", "named"]},
                },
            },
        },
    },
}
SUBTYPES_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": [
            "id",
            "name",
            "major",
            "calcium_phosphate",
            "summary",
            "examples",
            "sources",
        ],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "major": {"type": "boolean"},
            "calcium_phosphate": {"type": "string"},
            "summary": {"type": "string"},
            "examples": STR_LIST,
            "sources": STR_LIST,
        },
    },
}
WORKUP_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["id", "name", "rationale", "subtypes", "sources"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "rationale": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["target", "basis", "reason"],
                    "properties": {
                        "target": {"type": "string"},
                        "basis": {"enum": ["chapter", "curated", "literature"]},
                        "reason": {"type": "string"},
                    },
                },
            },
            "subtypes": STR_LIST,
            "sources": STR_LIST,
        },
    },
}
CITE_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": [
            "id",
            "authors",
            "title",
            "journal",
            "year",
            "volume",
            "issue",
            "pages",
            "doi",
            "pmid",
            "pmcid",
            "registrations",
            "kind",
            "population",
            "covers",
            "site",
            "updated",
            "url",
        ],
        "properties": {
            "id": {"type": "string"},
            "type": {"enum": ["article", "chapter", "online"]},
            "authors": STR_LIST,
            "title": NULLABLE_STR,
            "journal": NULLABLE_STR,
            "year": {"type": ["integer", "null"]},
            "volume": NULLABLE_STR,
            "issue": NULLABLE_STR,
            "pages": NULLABLE_STR,
            "doi": NULLABLE_STR,
            "pmid": {"type": ["string", "null"], "pattern": "^[0-9]+$"},
            "pmcid": {"type": ["string", "null"], "pattern": "^PMC[0-9]+$"},
            "registrations": STR_LIST,
            "kind": {"enum": [*SOURCE_KINDS, None]},
            "population": NULLABLE_STR,
            "covers": NULLABLE_STR,
            "site": NULLABLE_STR,
            "updated": NULLABLE_STR,
            "url": NULLABLE_STR,
        },
    },
}


# --- knowledge copies for CALCREF_DATA --------------------------------------------------------


def copy_knowledge_files(target: Path) -> Path:
    target.mkdir()
    for name in ("subtypes.yaml", "therapies.yaml"):
        shutil.copyfile(DATA / name, target / name)
    return target


@pytest.fixture
def data_copy(tmp_path, monkeypatch) -> Path:
    """A private copy of the knowledge files, made the one calcref reads."""
    target = copy_knowledge_files(tmp_path / "data")
    monkeypatch.setenv("CALCREF_DATA", str(target))
    return target


# =============================================================================================
# root: --version, --help, no arguments, completion
# =============================================================================================


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_prints_name_and_version(flag):
    result = ok(flag)
    assert result.stdout == f"calcref {calcref.__version__}\nknowledge {KNOWLEDGE_VERSION}\n"
    assert result.stderr == ""


def test_version_matches_installed_metadata():
    from importlib.metadata import version

    assert ok("--version").stdout.splitlines()[0] == f"calcref {version('calcref')}"


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_root_help_lists_every_command(flag):
    result = ok(flag)
    assert result.stdout.startswith("Usage: calcref [OPTIONS] COMMAND [ARGS]...")
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\s", result.stdout, re.M), command
    assert "not medical advice" in result.stdout
    assert result.stderr == ""


def test_no_arguments_shows_help_and_exits_0():
    result = ok()
    assert result.stdout.startswith("Usage: calcref [OPTIONS] COMMAND [ARGS]...")
    assert "Commands:" in result.stdout
    assert result.stderr == ""


def test_help_keeps_square_brackets_literally():
    root = ok("--help").stdout
    assert "calcref treat --context ssc --json | jq '.[].name'" in root
    assert "[OPTIONS] COMMAND [ARGS]..." in root
    treat_help = " ".join(ok("treat", "--help").stdout.split())
    assert "--format table|json|markdown|csv" in treat_help
    assert "(default: table; CALCREF_FORMAT sets it where it is one of these)" in treat_help
    assert "Usage: calcref subtypes [OPTIONS] [ID]" in ok("subtypes", "--help").stdout
    cite_help = ok("cite", "--help").stdout
    assert "Usage: calcref cite [OPTIONS] [ID]..." in cite_help
    assert re.search(r"^\s+\[ID\]\.\.\.\s+Reference ids", cite_help, re.M)
    assert "\x1b" not in root + treat_help + cite_help


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("subtypes", "Usage: calcref subtypes [OPTIONS] [ID]"),
        ("workup", "Usage: calcref workup [OPTIONS]"),
        ("treat", "Usage: calcref treat [OPTIONS]"),
        ("cite", "Usage: calcref cite [OPTIONS] [ID]..."),
        ("show", "Usage: calcref show [OPTIONS] {THERAPY}"),  # Typer braces required ones
        ("search", "Usage: calcref search [OPTIONS] {WORDS...}"),
        ("levels", "Usage: calcref levels [OPTIONS]"),
        ("overview", "Usage: calcref overview [OPTIONS]"),
        ("contexts", "Usage: calcref contexts [OPTIONS]"),
    ],
)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_command_help(command, usage, flag):
    result = ok(command, flag)
    assert result.stdout.startswith(usage)
    assert "Example: calcref" in result.stdout
    assert result.stderr == ""


def test_every_option_is_documented_in_help():
    expected = {
        "subtypes": ["--format", "-f", "--json"],
        "workup": ["--subtype", "-s", "--context", "-c", "--format", "-f", "--json"],
        "treat": [
            "--context",
            "-c",
            "--subtype",
            "-s",
            "--line",
            "-l",
            "--min-evidence",
            "-e",
            "--details",
            "-d",
            "--chart",
            "--format",
            "-f",
            "--json",
        ],
        "cite": ["--therapy", "-t", "--format", "-f", "--json"],
        "show": ["--json"],
        "search": ["--all", "-a", "--format", "-f", "--json"],
        "levels": ["--format", "-f", "--json"],
        "overview": ["--format", "-f", "--json"],
        "contexts": ["--format", "-f", "--json"],
    }
    for command, options in expected.items():
        text = ok(command, "--help").stdout
        for option in options:
            assert re.search(rf"(^|[\s,]){re.escape(option)}\b", text), (command, option)


def complete(words: str, env: dict[str, str] | None = None) -> list[str]:
    """What bash completion offers for the last word of `words`."""
    parts = words.split(" ")
    result = ok(
        env={
            "_CALCREF_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
            **(env or {}),
        }
    )
    return result.stdout.split()


def test_completion_of_context_ids_and_aliases():
    assert "crest" in complete("calcref treat --context cr")
    offered = complete("calcref treat --context s")
    assert {"ssc", "sle", "sarcoidosis", "systemic-sclerosis", "scrotal"} <= set(offered)
    assert "ckd" not in offered
    # an ambiguous name is not offered (calcref asks which it means); what it may mean is
    [scleroderma] = [a for a in SUBTYPES_YAML["ambiguous_names"] if a["id"] == "scleroderma"]
    assert "scleroderma" not in offered
    assert complete("calcref treat --context scl") == []
    for meant in scleroderma["contexts"]:
        assert meant in complete(f"calcref treat --context {meant[:2]}")
    assert "ssc" in complete("calcref workup -c ss")


def test_completion_offers_only_what_a_shell_reads_as_one_word():
    # "systemic-sclerosis-(including-limited-ssc-and-crest-syndrome)" is accepted when typed,
    # but offered, its parentheses would be shell syntax.
    offered = complete("calcref treat --context sys")
    assert "systemic-sclerosis" in offered
    assert all(re.fullmatch(r"[\w.+-]+", word) for word in offered), offered


def test_completion_of_subtype_therapy_and_reference_ids():
    # a subtype answers to its id and to its name, hyphenated; both are offered
    for words, wanted in (
        ("calcref subtypes meta", "metastatic"),
        ("calcref workup --subtype dys", "dystrophic"),
        ("calcref treat -s calci", "calciphylaxis"),
    ):
        offered = complete(words)
        assert wanted in offered, words
        prefix = words.rsplit(" ", 1)[1]
        assert all(o.startswith(prefix) for o in offered), offered
        for word in offered:  # every word offered is one calcref accepts
            assert ok_json("subtypes", word)[0]["id"] in ALL_SUBTYPE_IDS
    assert ok_json("subtypes", "metastatic-calcinosis-cutis")[0]["id"] == "metastatic"
    assert complete("calcref show mino") == ["minocycline"]
    assert complete("calcref cite --therapy thio") == ["thiosulfate"]
    assert complete("calcref cite bal") == ["balin2012"]


def test_completion_with_broken_knowledge_offers_nothing_and_does_not_fail(data_copy):
    (data_copy / "therapies.yaml").write_text("therapies: [\n", encoding="utf-8")
    assert complete("calcref show mino") == []


@pytest.fixture
def from_bash(monkeypatch):
    """Typer asks shellingham which shell started calcref (the parent process). A test run
    from CI has no parent shell, so the user's bash is stood in for, not looked up."""
    import shellingham

    monkeypatch.setattr(shellingham, "detect_shell", lambda *a, **k: ("bash", "/bin/bash"))


def test_show_completion_prints_a_script(from_bash):
    result = ok("--show-completion", "bash")
    assert "_CALCREF_COMPLETE=complete_bash" in result.stdout
    assert "complete -o default -F _calcref_completion calcref" in result.stdout


def test_install_completion_writes_only_under_home(tmp_path, from_bash):
    home = tmp_path / "home"
    home.mkdir()
    result = ok("--install-completion", "bash", env={"HOME": str(home), "SHELL": "/bin/bash"})
    assert "bash completion installed" in result.stdout
    script = home / ".bash_completions" / "calcref.sh"
    assert "_CALCREF_COMPLETE" in script.read_text()
    assert str(script) in (home / ".bashrc").read_text()


# =============================================================================================
# treat
# =============================================================================================


def test_treat_json_matches_the_contract_and_lists_every_therapy():
    records = ok_json("treat")
    jsonschema.validate(records, TREAT_SCHEMA)
    assert sorted(ids(records)) == sorted(ALL_THERAPY_IDS)
    assert all("match" not in r for r in records)
    # seen from no context or subtype, a study does not say whose patients it counted
    assert all("relation" not in s for r in records for s in r["studies"])
    for record in records:
        therapy = yaml_therapy(record["id"])
        # asked about no patients in particular, the ladder is every therapy the chapter names
        chapter_named = "chapter" in therapy.get("sources", [])
        assert record["place"] == ("chapter ladder" if chapter_named else "beyond the chapter")
        # the chapter's letter grades the subtypes its record names; no letter, no grade
        graded = therapy.get("subtypes", []) if graded_letter(therapy) else []
        assert record["graded_for"] == graded, record["id"]
        # the strongest study is one of its own, and only a therapy without studies has none
        assert "strongest" in record
        assert (record["strongest"] is None) == (record["studies"] == []), record["id"]
        if record["strongest"] is not None:
            assert record["strongest"] in {s["id"] for s in record["studies"]}
        # a therapy beyond the chapter has no chapter line or letter (the pack's first rule)
        if not chapter_named:
            assert (record["line"], record["evidence"]) == (None, None), record["id"]
            assert all(p["evidence"] is None for p in record["positions"]), record["id"]


def test_treat_chapter_letter_is_only_for_the_patients_it_grades():
    """Bisphosphonates: second line, D, for dystrophic calcinosis in the chapter. Asked about
    calciphylaxis (studied there only by the literature) they sit beyond the chapter, and the
    row says whom the chapter's letter is for."""
    assert graded_letter(yaml_therapy("bisphosphonates")) == "D"
    dystrophic = by_id(ok_json("treat", "--subtype", "dystrophic"))
    assert dystrophic["bisphosphonates"]["place"] == "chapter ladder"
    calciphylaxis = by_id(ok_json("treat", "--subtype", "calciphylaxis"))
    record = calciphylaxis["bisphosphonates"]
    assert record["place"] == "beyond the chapter"
    assert (record["line"], record["evidence"], record["graded_for"]) == (
        "second",
        "D",
        ["dystrophic"],
    )
    # udomkarnjananun-calciphylaxis pooled bisphosphonates: mortality RR 0.77 (0.44–1.32)
    [pooled] = [s for s in record["studies"] if s["ref"] == "udomkarnjananun-calciphylaxis"]
    assert pooled["kind"] == "meta-analysis" and pooled["relation"] == "this"
    assert [(e["type"], e["value"], e["interval"]) for e in pooled["effects"]] == [
        ("risk ratio", "0.77", "0.44–1.32")
    ]
    assert pooled["direction"] == "no significant effect"
    table = " ".join(ok("treat", "--subtype", "calciphylaxis", env=WIDE).stdout.split())
    beyond = table.index("Beyond the chapter")
    assert table.index("Bisphosphonates") > beyond
    assert "the chapter's second line, D, is for dystrophic" in table


def test_treat_json_line_and_evidence_are_the_chapter_ladder():
    for record in ok_json("treat"):
        therapy = yaml_therapy(record["id"])
        assert record["line"] == graded_line(therapy), record["id"]
        assert record["evidence"] == graded_letter(therapy), record["id"]


def test_treat_order_is_line_then_letter_then_name():
    """The chapter's ladder in its order; the therapies beyond the chapter follow it."""
    everything = ok_json("treat")
    places = [r["place"] for r in everything]
    assert places == sorted(places, key=["chapter ladder", "beyond the chapter"].index)
    records = [r for r in everything if r["place"] == "chapter ladder"]

    def key(r: dict) -> tuple:
        return (LINE_RANK[r["line"]], LETTER_RANK[r["evidence"]], r["name"].casefold())

    assert records == sorted(records, key=key)
    lines = [r["line"] for r in records]
    assert lines.index("second") > max(i for i, v in enumerate(lines) if v == "first")
    assert lines[-1] is None  # ungraded therapies come last
    # the same order in the table
    details = ok("treat", "--details", env=WIDE).stdout
    table = squash(column_text(details, "Therapy", "Regimens"))
    positions = [table.find(squash(r["name"])) for r in records]
    assert all(p >= 0 for p in positions)
    assert positions == sorted(positions)


def test_treat_ssc_has_the_required_therapies_with_their_studies():
    records = by_id(ok_json("treat", "--context", "ssc"))
    for therapy_id in ("minocycline", "colchicine", "warfarin", "aluminum-hydroxide"):
        assert therapy_id in records
        expected = [(s["ref"], s.get("n")) for s in yaml_studies(therapy_id)]
        assert [(s["ref"], s["n"]) for s in records[therapy_id]["studies"]] == expected
    minocycline = {s["ref"]: s for s in records["minocycline"]["studies"]}
    assert minocycline["robertson2003"]["n"] == 9
    assert minocycline["robertson2003"]["counts"]["responders"] == 8
    assert minocycline["balin2012"]["n"] == 6
    # the chapter gives the split only (1 partial); responders is the total who improved
    assert minocycline["balin2012"]["counts"] == {
        "responders": 1,
        "complete": None,
        "partial": 1,
        "none": 2,
        "unknown": 3,
    }
    (colchicine,) = records["colchicine"]["studies"]
    assert colchicine["n"] == 8
    assert (colchicine["counts"]["complete"], colchicine["counts"]["partial"]) == (1, 2)
    # the chapter's one warfarin study; the literature adds Traineau 2020's systematic review
    (warfarin,) = chapter_studies(records["warfarin"])
    assert (warfarin["ref"], warfarin["n"], warfarin["counts"]["partial"]) == ("balin2012", 4, 1)
    literature = [s for s in records["warfarin"]["studies"] if not from_chapter(s)]
    assert [(s["ref"], s["kind"], s["n"]) for s in literature] == [
        ("traineau2020", "systematic review", None)  # per-drug counts not retrieved
    ]
    # traineau2020: against low-dose warfarin, its own Oxford level IB, never a chapter letter
    [traineau] = [p for p in records["warfarin"]["positions"] if p["source"] == "traineau2020"]
    assert "against low-dose warfarin" in traineau["view"]
    assert "Oxford level IB" in traineau["grade"]
    assert (traineau["line"], traineau["evidence"]) == (None, None)
    assert records["warfarin"]["evidence"] is None  # the chapter grades it nowhere
    assert records["aluminum-hydroxide"]["studies"] == []
    # Robertson 2003 studied SSc patients; Balin 2012's were connective tissue disease as a
    # whole, a group containing SSc
    [robertson] = [s for s in yaml_studies("minocycline") if s["ref"] == "robertson2003"]
    assert robertson["contexts"] == ["ssc"]
    assert records["minocycline"]["match"] == {
        "kind": "direct",
        "context": "ssc",
        "evidence": "studied",
    }
    assert (minocycline["robertson2003"]["relation"], minocycline["balin2012"]["relation"]) == (
        "this",
        "broader",
    )
    # the JOPA article names aluminum hydroxide for SSc; no study is recorded for it
    assert {"context": "ssc", "sources": ["jopa"]} in yaml_therapy("aluminum-hydroxide")["contexts"]
    assert records["aluminum-hydroxide"]["match"] == {
        "kind": "direct",
        "context": "ssc",
        "evidence": "named",
    }


def test_treat_ssc_table_shows_the_therapies_and_study_counts():
    out = ok("treat", "--context", "ssc", env=WIDE).stdout
    for name in ("Minocycline", "Colchicine", "Warfarin", "Aluminum hydroxide"):
        assert name in out
    # the one-row answer: the strongest study for SSc patients, its kind, n and result;
    # the JOPA article's line in its own hedged words ("often used first line", was "first
    # line"), without "in ssc" where ssc is what was asked
    assert "2nd E Minocycline ⚑ · Cloutier (JOPA): often used first line " in out
    assert "first line in ssc" not in out
    assert "open-label study [ssc]: n=9: 8 responded" in out
    details = ok("treat", "--context", "ssc", "--details", env=WIDE).stdout
    # responders the source does not split into complete and partial are said so
    assert "n=9: 8 responded, degree not given" in details
    # Balin 2012's patients are connective tissue disease as a whole, never read as SSc's
    assert "Population: Patients with limited cutaneous systemic sclerosis" in details
    # the compact row shows one study: colchicine's is Balin 2012's, labelled as CTD's
    assert "2nd E Colchicine ⚑" in out
    assert "no study in ssc · study [ctd as a whole]: n=8: 1 complete, 2 partial" in out
    # warfarin's compact row shows Traineau 2020 (a systematic review outranks a series);
    # the chart still gives the chapter's Balin 2012 series, labelled the same way
    # traineau2020 advises against low-dose warfarin; with no counts retrieved, the row gives
    # the authors' conclusion.
    assert re.search(r"— —   Warfarin ⚑ ⚠ +systematic review \[ssc, dm\]: the authors:", out)
    chart = ok("treat", "--context", "ssc", "--chart", env=WIDE).stdout
    warfarin = chart[chart.index("\nWarfarin\n") :]
    assert warfarin.startswith("\nWarfarin\n  Balin 2012 [ctd: the whole group]\n")
    assert "n=4: 1 partial" in warfarin.splitlines()[3]
    assert "Balin 2012 [ctd]" not in out + chart
    assert "[ctd: the whole group]" in details
    assert "Match" not in out  # compact rows say how each matched on the study line
    assert "open-label study [ssc]" in out  # minocycline (Robertson 2003): studied in ssc
    assert re.search(r"Aluminum hydroxide ⚑ ⚠ +no study in ssc\n", out)  # named (JOPA)
    assert re.search(r"Probenecid ⚑ +named only for ctd as a whole\n", out)  # the chapter
    assert "the chapter's lines and letters (C Clinical trial < 20 subjects" in out
    assert "Management principles: Start by finding any underlying cause" in out


def test_treat_context_reports_broader_and_narrower_matches():
    ssc = by_id(ok_json("treat", "--context", "ssc"))
    # probenecid: named by the chapter for connective tissue disease, no study
    assert yaml_studies("probenecid") == []
    assert ssc["probenecid"]["match"] == {"kind": "broader", "context": "ctd", "evidence": "named"}
    dm = by_id(ok_json("treat", "--context", "dm"))
    # oral prednisolone: one girl with juvenile dermatomyositis (Meher 2014)
    assert dm["oral-prednisolone"]["match"] == {
        "kind": "narrower",
        "context": "jdm",
        "evidence": "studied",
    }
    # minocycline: the chapter names it for dermatomyositis; its studies are in SSc and CTD
    assert dm["minocycline"]["match"] == {"kind": "direct", "context": "dm", "evidence": "named"}
    assert {s["relation"] for s in dm["minocycline"]["studies"]} == {"broader", "other"}
    # the same place, studied: diltiazem (Reiter 2011, in dermatomyositis)
    assert dm["diltiazem"]["match"] == {"kind": "direct", "context": "dm", "evidence": "studied"}
    # the table says each kind of match in words, one per row; dm and jdm together show
    # every kind (jdm: a therapy studied only in dermatomyositis as a whole)
    jdm = by_id(ok_json("treat", "--context", "jdm"))
    assert jdm["diltiazem"]["match"]["kind"] == "direct"
    said = {
        ("direct", "studied"): "studied in {}",
        ("direct", "named"): "named for {}; no study in it",
        ("narrower", "studied"): "studied in {}, inside it",
        ("narrower", "named"): "named for {}, inside it",
        ("broader", "studied"): "studied only for {} as a whole",
        ("broader", "named"): "named only for {} as a whole",
    }
    seen = set()
    for context, answer in (("dm", dm), ("jdm", jdm)):
        table = ok("treat", "--context", context, "--details", env=WIDE).stdout
        expected: dict[str, int] = {}
        for r in answer.values():
            key = (r["match"]["kind"], r["match"]["evidence"])
            seen.add(key)
            words = said[key].format(r["match"]["context"])
            expected[words] = expected.get(words, 0) + 1
        for words, count in expected.items():
            assert table.count(words) == count, (context, words)
    assert seen == set(said)
    assert {("direct", "studied"), ("narrower", "studied"), ("broader", "named")} <= {
        (r["match"]["kind"], r["match"]["evidence"]) for r in dm.values()
    }


@pytest.mark.parametrize("context", [c["id"] for c in SUBTYPES_YAML["contexts"]])
def test_treat_context_match_is_the_closest_evidence_and_every_study_says_whose(context):
    """Every row of every context answer: its match is the best the knowledge files hold
    (the context itself, then inside it, then a group containing it; studied before named),
    and every study says whose patients it counted."""
    result = ok("treat", "--context", context, "--json")
    records = json.loads(result.stdout)
    jsonschema.validate(records, TREAT_SCHEMA)
    expected_ids = [t for t in ALL_THERAPY_IDS if yaml_match_candidates(t, context)]
    assert sorted(ids(records)) == sorted(expected_ids)
    # the gaps of the question on stderr, and when nothing answers it, one line saying so
    gaps = gap_stderr(context=context)
    if records:
        assert result.stderr == gaps
    else:
        assert result.stderr.startswith(gaps)
        empty = result.stderr.removeprefix(gaps)
        assert one_line(empty) and empty.startswith(
            f"calcref: no therapies recorded for context {context}"
        )
    for record in records:
        kind, evidence, groups = yaml_match_candidates(record["id"], context)[0]
        match = record["match"]
        assert (match["kind"], match["evidence"]) == (kind, evidence), record["id"]
        assert match["context"] in groups, record["id"]
        expected = [yaml_relation(s, context) for s in yaml_studies(record["id"])]
        assert [s["relation"] for s in record["studies"]] == expected, record["id"]


def test_treat_jdm_has_the_required_therapies():
    records = by_id(ok_json("treat", "-c", "jdm"))
    for therapy_id in (
        "diltiazem",
        "intralesional-corticosteroid",
        "oral-prednisolone",
        "bisphosphonates",
    ):
        assert therapy_id in records
        # each was given to children with juvenile dermatomyositis
        assert records[therapy_id]["match"] == {
            "kind": "direct",
            "context": "jdm",
            "evidence": "studied",
        }
    bisphosphonates = records["bisphosphonates"]
    # the chapter's studies: one boy and three children with juvenile dermatomyositis
    chapter = chapter_studies(bisphosphonates)
    assert [s["ref"] for s in chapter] == ["wakabayashi2015", "marco-puche2010"]
    assert {s["relation"] for s in chapter} == {"this"}
    # the literature's: Traineau 2020 (SSc and DM, a group containing JDM), and two about
    # calciphylaxis in CKD (Udomkarnjananun's pooled mortality, Strand 2022's table): never
    # read as JDM's own results
    literature = {
        s["ref"]: s["relation"] for s in bisphosphonates["studies"] if not from_chapter(s)
    }
    assert literature == {
        "traineau2020": "broader",
        "udomkarnjananun-calciphylaxis": "other",
        "strand2022": "other",
    }
    # the strongest for these children is still a chapter study of theirs
    assert bisphosphonates["strongest"] in {s["id"] for s in chapter}


@pytest.mark.parametrize(
    "alias", ["crest", "CREST", "Crest", "systemic-sclerosis", "Limited-SSc", "SSC", " ssc "]
)
def test_treat_context_aliases_and_case_give_the_same_json(alias):
    expected = ok("treat", "--context", "ssc", "--json").stdout
    assert ok("treat", "--context", alias, "--json").stdout == expected


@pytest.mark.parametrize("typed", ["scleroderma", "Scleroderma", " SCLERODERMA "])
@pytest.mark.parametrize("command", ["treat", "workup"])
def test_an_ambiguous_context_name_asks_which_it_means(command, typed):
    """'scleroderma' is no alias: it may mean systemic sclerosis or morphea, and calcref
    asks rather than guess."""
    [ambiguous] = [a for a in SUBTYPES_YAML["ambiguous_names"] if a["id"] == "scleroderma"]
    assert all(ambiguous["id"] not in c.get("aliases", []) for c in SUBTYPES_YAML["contexts"])
    line = usage_error(command, "--context", typed)
    assert " or ".join(f"--context {c}" for c in ambiguous["contexts"]) in line
    assert "--context ssc or --context morphea" in line
    assert " ".join(ambiguous["text"].split()).rstrip(".") in line


@pytest.mark.parametrize("line", ["first", "second"])
def test_treat_line_keeps_a_therapy_any_source_places_there(line):
    """--line first/second: every therapy any source places there (the chapter, the JOPA
    article, Balin 2012), with the gaps therapies.yaml records for the line on stderr."""
    records = ok_json("treat", "--line", line, stderr=gap_stderr(line=line))
    expected = {
        t["id"]
        for t in THERAPIES_YAML["therapies"]
        if line in {p.get("line") for p in t.get("positions", [])}
    }
    assert set(ids(records)) == expected
    for record in records:
        assert line in {p["line"] for p in record["positions"]}, record["id"]
    # the chapter's ladder still orders them and gives their Line
    assert [r["line"] for r in records] == [graded_line(yaml_therapy(r["id"])) for r in records]
    assert (
        ok("treat", "-l", line.upper(), "--json").stdout
        == ok("treat", "--line", line, "--json").stdout
    )


def test_treat_line_first_includes_minocycline_as_the_jopa_article_places_it():
    records = by_id(ok_json("treat", "--line", "first", stderr=gap_stderr(line="first")))
    minocycline = records["minocycline"]
    assert minocycline["line"] == "second"  # the chapter's place
    assert [
        (p["source"], p["label"]) for p in minocycline["positions"] if p["line"] == "first"
    ] == [("jopa", "Cloutier (JOPA)")]
    table = ok("treat", "--line", "first", env=WIDE).stdout
    # the mark says `show` adds more (notes, views, harms); the JOPA article's line is beside
    assert "2nd E Minocycline ⚑ · Cloutier (JOPA): often used first line in ssc" in table
    details = ok("treat", "--line", "first", "--details", env=WIDE).stdout
    assert "Cloutier (JOPA), for ssc (no evidence letter): Often used first line" in details


def test_treat_min_evidence_d_keeps_only_graded_a_to_d():
    records = ok_json("treat", "--min-evidence", "D")
    assert records, "diltiazem (C) and the D therapies must remain"
    assert all(r["evidence"] in ("A", "B", "C", "D") for r in records)
    expected = {
        t["id"] for t in THERAPIES_YAML["therapies"] if graded_letter(t) in {"A", "B", "C", "D"}
    }
    assert set(ids(records)) == expected == {"diltiazem", "aluminum-hydroxide", "bisphosphonates"}
    assert (
        ok("treat", "-e", "d", "--json").stdout
        == ok("treat", "--min-evidence", "D", "--json").stdout
    )


def test_treat_min_evidence_e_is_every_graded_therapy():
    records = ok_json("treat", "--min-evidence", "E")
    graded = {t["id"] for t in THERAPIES_YAML["therapies"] if graded_letter(t)}
    assert set(ids(records)) == graded


def test_treat_subtype_idiopathic_is_surgical_excision():
    gaps = gap_stderr(subtype="idiopathic")
    assert gaps, "therapies.yaml says no medical therapy is reported for idiopathic calcinosis"
    records = ok_json("treat", "--subtype", "idiopathic", stderr=gaps)
    assert ids(records) == ["surgical-excision"]
    # seen from the subtype: Reiter 2011 is about idiopathic (scrotal) calcinosis, Balin
    # 2012's patients had connective tissue disease (dystrophic), another population
    relations = {s["id"]: s["relation"] for s in records[0]["studies"]}
    expected = {
        s["id"]: "this" if "idiopathic" in s.get("subtypes", []) else "other"
        for s in yaml_studies("surgical-excision")
    }
    assert relations == expected
    assert set(relations.values()) == {"this", "other"}
    assert (
        ok("treat", "-s", "IDIOPATHIC", "--json").stdout
        == ok("treat", "--subtype", "idiopathic", "--json").stdout
    )
    assert (
        "Surgical excision / curettage" in ok("treat", "--subtype", "idiopathic", env=WIDE).stdout
    )


def test_treat_filters_combine():
    records = ok_json(
        "treat",
        *("--context", "ssc", "--line", "second", "--min-evidence", "D"),
        stderr=gap_stderr(context="ssc", line="second"),
    )
    assert ids(records) == ["aluminum-hydroxide", "bisphosphonates"]


def query_context_id(typed: str) -> str:
    """The context id a typed id or alias names, per subtypes.yaml."""
    return next(
        c["id"] for c in SUBTYPES_YAML["contexts"] if typed in [c["id"], *c.get("aliases", [])]
    )


@pytest.mark.parametrize(
    "args",
    [
        ("--subtype", "metastatic"),
        ("--line", "third"),
        ("--min-evidence", "A"),
        ("--context", "sarcoidosis"),
        ("--context", "myeloma"),  # an alias of malignancy
    ],
)
def test_treat_filter_matching_nothing_is_not_an_error(args):
    """Nothing matches: an empty answer, not an error. Where therapies.yaml records why (a
    gap), JSON says it on stderr and a table says it on stdout, above the management
    principles; otherwise a table prints nothing."""
    option, value = args
    question = {option.removeprefix("--"): value} if option != "--min-evidence" else {}
    if "context" in question:
        question["context"] = query_context_id(value)
    gaps = yaml_gaps(**question)
    assert ok_json("treat", *args, empty=True) == []
    result = ok("treat", *args, "--json")
    assert result.stdout == "[]\n"
    assert "error" not in result.stderr
    said = result.stderr.splitlines()
    assert said[:-1] == [f"calcref: gap: {text}" for text in gaps]
    assert said[-1].startswith("calcref: no therapies recorded for ")
    table = ok("treat", *args, env=WIDE)
    assert one_line(table.stderr) and "no therapies" in table.stderr
    if not gaps:
        assert table.stdout == ""
        return
    shown = table.stdout.splitlines()
    assert shown[: len(gaps)] == [f"⚠ Gap: {text}" for text in gaps]
    assert shown[len(gaps)].startswith("Management principles: ")
    assert len(shown) == len(gaps) + 1


@pytest.mark.parametrize("flag", ["--details", "-d"])
def test_treat_details_expands_population_and_outcome(flag):
    plain = ok("treat", "--context", "ssc", env=WIDE).stdout
    detailed = ok("treat", "--context", "ssc", flag, env=WIDE).stdout
    assert "Population:" not in plain
    assert "Population: Patients with limited cutaneous systemic sclerosis" in detailed
    assert "Outcome: Definite improvement in 8 of 9" in detailed
    assert "Robertson 2003 (robertson2003), open-label study" in detailed


# A bar: its study's name (who, whose patients, what if more than the therapy), padded to
# the longest name of its therapy, the bar, the counts. No name holds a bar glyph after a space.
CHART_LINE = re.compile(r"^    (?P<bar>[#+=\-?.]+)  n=(?P<n>\d+): (?P<text>.+?)\s*$")
STUDY_LINE = re.compile(r"^  (?P<label>\S.*?)\s*$")
CHART_LABELS = {
    "complete": "complete",
    "partial": "partial",
    "responded": "responded, degree not given",
    "none": "no response",
    "unknown": "unknown",
    "unreported": "not reported",
}
GLYPHS = {
    "complete": "#",
    "partial": "+",
    "responded": "=",
    "none": "-",
    "unknown": "?",
    "unreported": ".",
}


def parse_chart(output: str) -> dict[str, list[dict]]:
    """{therapy name: [{label, n, parts-from-text, parts-from-bar}]} from a piped chart:
    a therapy's name, then for each study a line naming it and a line with its bar."""
    section = output.split("Response by study (one cell per patient)", 1)[1]
    charts: dict[str, list[dict]] = {}
    current = label = None
    for line in section.splitlines()[2:]:
        if not line.strip():
            continue
        match = CHART_LINE.match(line)
        if match is None:
            study = STUDY_LINE.match(line)
            if study is not None:
                label = study["label"]
            else:  # a therapy (twice when it has studies of other patients too), or that heading
                current, label = line.strip(), None
                charts.setdefault(current, [])
            continue
        said = {k: 0 for k in CHART_LABELS}
        for number, name in re.findall(
            r"(\d+) (complete|partial|responded, degree not given|no response|unknown"
            r"|not reported)",
            match["text"],
        ):
            key = next(k for k, v in CHART_LABELS.items() if v == name)
            said[key] = int(number)
        drawn = {k: match["bar"].count(g) for k, g in GLYPHS.items()}
        assert current is not None and label is not None, line
        charts[current].append({"label": label, "n": int(match["n"]), "said": said, "drawn": drawn})
    return charts


def expected_parts(study: dict) -> dict[str, int]:
    """The source's counts as chart categories: responders beyond complete/partial are
    'responded, degree not given'; patients no count covers are 'not reported'."""
    c = study["counts"]
    complete, partial = c["complete"] or 0, c["partial"] or 0
    parts = {
        "complete": complete,
        "partial": partial,
        "responded": max((c["responders"] or 0) - complete - partial, 0),
        "none": c["none"] or 0,
        "unknown": c["unknown"] or 0,
    }
    parts["unreported"] = study["n"] - sum(parts.values())
    return parts


@pytest.mark.parametrize("context", ["ssc", "jdm", "ctd"])
def test_treat_chart_bars_equal_the_study_counts(context):
    output = ok("treat", "--context", context, "--chart", env=WIDE).stdout
    assert "# complete  + partial  = responded, degree not given" in output
    charts = parse_chart(output)
    records = ok_json("treat", "--context", context, stderr=gap_stderr(context=context))
    drawn_any = False
    for record in records:
        counted = [
            s
            for s in record["studies"]
            if s["n"] is not None and any(v is not None for v in s["counts"].values())
        ]
        # the patients asked about are charted first, other patients under their own heading
        counted.sort(key=lambda s: s["relation"] not in ("this", "narrower"))
        if not counted:
            assert record["name"] not in charts
            continue
        bars = charts[record["name"]]
        assert len(bars) == len(counted), record["name"]
        for bar, study in zip(bars, counted, strict=True):
            drawn_any = True
            assert bar["label"] == study_name(study)
            assert bar["n"] == study["n"]
            assert bar["drawn"] == bar["said"], (record["name"], bar)
            assert bar["said"] == expected_parts(study), (record["name"], bar)
            assert sum(bar["drawn"].values()) == study["n"]
    assert drawn_any


def test_treat_chart_known_studies():
    charts = parse_chart(ok("treat", "--context", "ssc", "--chart", env=WIDE).stdout)
    surgery = charts["Surgical excision / curettage"]
    eleven = next(b for b in surgery if b["n"] == 11)
    assert eleven["label"] == "Balin 2012 [ctd: the whole group]"
    # the 17 had surgery with medical treatment: the bar says so, never surgery's alone
    seventeen = next(b for b in surgery if b["n"] == 17)
    assert (
        seventeen["label"] == "Balin 2012 [ctd: the whole group] (surgery with medical treatment)"
    )
    assert seventeen["drawn"]["complete"] == 14
    assert eleven["drawn"] == {
        "complete": 8,
        "partial": 0,
        "responded": 3,
        "none": 0,
        "unknown": 0,
        "unreported": 0,
    }
    (warfarin,) = charts["Warfarin"]
    assert (warfarin["n"], warfarin["drawn"]["partial"], warfarin["drawn"]["unreported"]) == (
        4,
        1,
        3,
    )
    minocycline = {b["label"]: b for b in charts["Minocycline"]}
    assert minocycline["Robertson 2003 [ssc]"]["drawn"]["responded"] == 8
    assert minocycline["Robertson 2003 [ssc]"]["drawn"]["unreported"] == 1
    assert minocycline["Balin 2012 [ctd: the whole group]"]["drawn"] == {
        "complete": 0,
        "partial": 1,
        "responded": 0,
        "none": 2,
        "unknown": 3,
        "unreported": 0,
    }


def test_treat_without_chart_draws_no_bars():
    assert "Response by study" not in ok("treat", "--context", "ssc").stdout


@pytest.mark.parametrize("extra", [["--chart"], ["--details"], ["--chart", "--details"]])
def test_treat_chart_and_details_do_not_leak_into_json(extra):
    plain = ok("treat", "--context", "ssc", "--json").stdout
    assert ok("treat", "--context", "ssc", *extra, "--json").stdout == plain


def test_treat_markdown_is_a_pipe_table_with_one_row_per_therapy():
    records = ok_json("treat", "--context", "ssc")
    text = ok("treat", "--context", "ssc", "--format", "markdown").stdout
    rows = markdown_rows(text)
    header, rule, *body = rows
    assert header[:5] == ["id", "name", "place", "line", "evidence"]
    assert all(cell.strip() == "---" for cell in rule)
    assert [row[0] for row in body] == ids(records)
    assert all(len(row) == len(header) for row in body)
    assert ok("treat", "--context", "ssc", "-f", "MARKDOWN").stdout == text


MARKDOWN_COMMANDS = [
    ["treat"],
    ["treat", "--context", "ssc"],
    ["studies"],
    ["workup"],
    ["subtypes"],
    ["subtypes", "dystrophic"],
    ["show", "colchicine"],
    ["cite"],
    ["search", "thiosulfate"],
    ["levels"],
    ["overview"],
    ["contexts"],
]


@pytest.mark.parametrize("args", MARKDOWN_COMMANDS, ids=" ".join)
def test_markdown_renders_every_cell_as_the_text_of_the_record(args):
    """Rendered by a CommonMark parser, each cell of the Markdown table reads as the text
    calcref flattens from the JSON record: no knowledge string turns into emphasis, a link,
    an image or code (a curator's `*` or `_` is shown as written)."""
    from calcref.render.columns import cell, columns
    from calcref.render.textsafe import visible

    records = json.loads(ok(*args, "--json").stdout)
    records = records if isinstance(records, list) else [records]
    keys = columns(records)
    expected = [[visible(cell(record, key)) for key in keys] for record in records]
    assert rendered_cells(ok(*args, "--format", "markdown").stdout) == expected


def test_treat_csv_one_row_per_record_lists_joined():
    records = ok_json("treat")
    rows = rows_of_csv(ok("treat", "--format", "csv").stdout)
    assert [r["id"] for r in rows] == ids(records)
    for row, record in zip(rows, records, strict=True):
        assert row["name"] == record["name"]
        assert row["line"] == (record["line"] or "")
        assert row["evidence"] == (record["evidence"] or "")
        assert row["contexts"] == "; ".join(record["contexts"])
        assert row["sources"] == "; ".join(record["sources"])
    # the dose's caution travels in its cell, with what the dose almost certainly means
    [dose] = [g for g in yaml_therapy("colchicine")["regimens"] if g["text"] == "<1.2 g/day"]
    caution = dose["caution"]
    assert caution["likely"] == "<1.2 mg/day"
    colchicine = next(r for r in rows if r["id"] == "colchicine")
    chapter_dose = (
        f"<1.2 g/day ({', '.join(dose['sources'])}) "
        f"[Caution (likely {caution['likely']}): {' '.join(caution['text'].split())}]"
    )
    assert colchicine["regimens"].startswith(chapter_dose)
    assert "almost certainly mg/day" in colchicine["regimens"]
    # valenzuela2016's own dose (1 mg/day by mouth, in SSc) follows in the same cell,
    # attributed, and leaves the chapter's figure and its caution as they are
    [other] = [g for g in yaml_therapy("colchicine")["regimens"] if g is not dose]
    assert other["sources"] == ["valenzuela2016"] and "1 mg/day" in other["text"]
    assert f"{chapter_dose}; {other['text']} (valenzuela2016)" in colchicine["regimens"]


def test_treat_json_flag_is_format_json():
    assert ok("treat", "-f", "json").stdout == ok("treat", "--json").stdout


# =============================================================================================
# workup
# =============================================================================================


def test_workup_alone_lists_all_twelve():
    """Every investigation: the chapter's twelve, then the calciphylaxis tests only the
    literature names (nunley2018-calciphylaxis-workup), each tie saying so."""
    records = ok_json("workup")
    jsonschema.validate(records, WORKUP_SCHEMA)
    assert ids(records) == ALL_INVESTIGATION_IDS
    chapter = [r for r in records if from_chapter(r)]
    assert [r["id"] for r in chapter] == [
        "fbc",
        "urea-creatinine",
        "calcium-phosphate",
        "pth",
        "vitamin-d",
        "electrophoresis",
        "muscle-enzymes",
        "ctd-screen",
        "skin-biopsy",
        "radiographs",
        "bone-scintigraphy",
        "ct-mri",
    ]
    # the chapter's reasons are the chapter's or its curators' (never "literature")
    for record in chapter:
        for tie in record["rationale"]:
            if tie["sources"] == ["chapter"]:
                assert tie["basis"] in ("chapter", "curated"), (record["id"], tie)
    literature_only = [r for r in records if not from_chapter(r)]
    assert len(literature_only) == 7
    for record in literature_only:
        assert record["sources"] == ["nunley2018-calciphylaxis-workup"], record["id"]
        assert {(t["target"], t["basis"]) for t in record["rationale"]} == {
            ("calciphylaxis", "literature")
        }
    names = " ".join(r["name"] for r in literature_only).lower()
    for test in (  # nunley2018-calciphylaxis-workup's laboratory tests beyond the chapter's
        "alkaline phosphatase",
        "albumin",
        "antithrombin iii",
        "protein c",
        "factor v leiden",
        "homocysteine",
        "cryoglobulins",
        "cryofibrinogen",
        "hepatitis c",
        "amylase",
        "lipase",
        "aluminium",
        "esr",
        "crp",
        "anca",
    ):
        assert test in names, test
    table = squash(column_text(ok("workup", "--details").stdout, "Investigation", "Looks for"))
    for investigation in SUBTYPES_YAML["investigations"]:
        assert squash(investigation["name"]) in table


def test_workup_metastatic_gives_subtype_specific_curated_reasons():
    records = by_id(ok_json("workup", "--subtype", "metastatic"))
    jsonschema.validate(list(records.values()), WORKUP_SCHEMA)
    for investigation_id in ("calcium-phosphate", "pth", "vitamin-d", "urea-creatinine"):
        record = records[investigation_id]
        assert [t["target"] for t in record["rationale"]] == ["metastatic"]
        (tie,) = record["rationale"]
        assert tie["basis"] == "curated"
        source = next(i for i in SUBTYPES_YAML["investigations"] if i["id"] == investigation_id)
        expected = next(t for t in source["ties"] if t["target"] == "metastatic")
        assert " ".join(tie["reason"].split()) == " ".join(expected["reason"].split())
        assert "metastatic" in record["subtypes"]
    assert "Hyperparathyroidism" in records["pth"]["rationale"][0]["reason"]
    assert "kidney" in records["urea-creatinine"]["rationale"][0]["reason"]
    assert "muscle-enzymes" not in records
    assert "ctd-screen" not in records


def test_workup_metastatic_table():
    out = ok("workup", "-s", "METASTATIC", env=WIDE).stdout
    details = ok("workup", "-s", "METASTATIC", "--details", env=WIDE).stdout
    for table in (out, details):
        assert table.startswith("Workup · metastatic")
        for name in (
            "Serum calcium and phosphate",
            "Parathyroid hormone levels",
            "Vitamin D levels",
            "Urea and creatinine",
        ):
            assert name in table
        assert "[curated]" in table
        assert "Muscle enzymes" not in table
    # the full table gives each reason
    assert "metastatic: Hyperparathyroidism is the first cause" in details


def test_workup_context_ssc():
    records = by_id(ok_json("workup", "--context", "ssc"))
    screen = records["ctd-screen"]
    assert {t["target"] for t in screen["rationale"]} == {"dystrophic", "ctd", "ssc"}
    assert "ssc" in screen["contexts"]
    for investigation_id in ("pth", "vitamin-d", "urea-creatinine", "electrophoresis", "fbc"):
        assert investigation_id not in records
    assert {"skin-biopsy", "radiographs"} <= set(records)
    assert (
        ok("workup", "-c", "crest", "--json").stdout
        == ok("workup", "--context", "ssc", "--json").stdout
    )
    # in CKD the chapter gives no reason for a CTD screen; only the literature's
    # calciphylaxis workup (ANA and ANCA, to exclude vasculitis) names it there
    ckd = by_id(ok_json("workup", "--context", "ckd"))
    assert [(t["target"], t["basis"], t["sources"]) for t in ckd["ctd-screen"]["rationale"]] == [
        ("calciphylaxis", "literature", ["nunley2018-calciphylaxis-workup"])
    ]


def test_workup_formats():
    records = ok_json("workup")
    rows = rows_of_csv(ok("workup", "--format", "csv").stdout)
    assert [r["id"] for r in rows] == ids(records)
    assert rows[-1]["sources"] == "; ".join(records[-1]["sources"])
    body = markdown_rows(ok("workup", "-f", "markdown").stdout)[2:]
    assert [row[0] for row in body] == ids(records)


# =============================================================================================
# subtypes
# =============================================================================================


def test_subtypes_json_five_major_and_five_variants():
    records = ok_json("subtypes")
    jsonschema.validate(records, SUBTYPES_SCHEMA)
    majors = [r["id"] for r in records if r["major"]]
    variants = [r["id"] for r in records if not r["major"]]
    assert majors == [s["id"] for s in SUBTYPES_YAML["subtypes"] if s["major"]]
    assert variants == [s["id"] for s in SUBTYPES_YAML["subtypes"] if not s["major"]]
    assert (len(majors), len(variants)) == (5, 5)
    assert ids(records) == majors + variants  # major subtypes first


def test_subtypes_table_marks_variants():
    out = ok("subtypes", "--details", env=WIDE).stdout
    for subtype in SUBTYPES_YAML["subtypes"]:
        assert subtype["name"] in out
    marks = column_text(out, "Subtype", "Ca/phosphate")
    assert marks.count("rare variant") == 5
    assert marks.count("most common form") == 1


def test_subtypes_fit_one_screen_with_every_figure_attributed():
    """The compact list at 80 columns: the five major subtypes in full, the variants in one
    line, within 40 lines; each frequency names its source (the chapter's 25% in SSc and
    Tajalli 2019's 25% of limited SSc are two figures, never one)."""
    out = ok("subtypes", env={"COLUMNS": "80"}).stdout
    assert len(out.splitlines()) <= 40
    for subtype in SUBTYPES_YAML["subtypes"]:
        assert f"({subtype['id']})" in out
    text = " ".join(out.split())
    # One record for the figure both primary sources give, each source's wording kept: the
    # JOPA article prints "25%", not "approximately". (⚑: a curator's note qualifies the
    # figure, since the ⚑ marks were added; `subtypes dystrophic` prints it.)
    assert (
        "ssc: approximately 25% (chapter) and 25% (JOPA) ⚑ [Chapter, Cloutier (JOPA), Walsh" in text
    )
    # Each figure with the group it counts when that is narrower than the context.
    assert "ssc (limited systemic sclerosis): about 25% ⚑ [Tajalli 2019]" in text
    assert "dm (adults): up to 20% ⚑ [Davuluri 2022]" in text
    assert "Rare variants: Calcinosis cutis circumscripta (circumscripta)" in text


def test_subtypes_metastatic_card():
    out = ok("subtypes", "metastatic", env=WIDE).stdout
    assert out.startswith("Metastatic calcinosis cutis (metastatic)")
    assert "Calcium/phosphate: abnormal calcium and/or phosphate metabolism" in out
    for context in ("ckd", "hyperparathyroidism", "sarcoidosis", "malignancy"):
        assert re.search(rf"^\s+{context}: ", out, re.M), context
    assert "Workup for metastatic" in out
    assert "Parathyroid hormone levels" in out
    assert "calcref treat --subtype metastatic" in out


def test_subtypes_card_json_and_case():
    (record,) = ok_json("subtypes", "Metastatic")
    assert record["id"] == "metastatic"
    assert "pth" in ids(record["workup"])
    assert record["therapies"] == []
    (dystrophic,) = ok_json("subtypes", "dystrophic")
    assert "minocycline" in dystrophic["therapies"]
    figures = [(f["context"], f["figure"]) for f in dystrophic["frequencies"]]
    assert figures == [(f["context"], f["figure"]) for f in yaml_frequencies("dystrophic")]
    chapter = [f for f in dystrophic["frequencies"] if any(map(from_chapter, f["statements"]))]
    literature = [f for f in dystrophic["frequencies"] if f not in chapter]
    assert [(f["context"], f["figure"]) for f in chapter] == [
        ("ssc", "approximately 25% (chapter) and 25% (JOPA)"),
        ("jdm", "10%–40%"),
        ("sle", "rare"),
    ]
    # each chapter figure in the chapter's own words: its statement says it exactly so
    for frequency in chapter:
        said = [s["text"] for s in frequency["statements"] if "chapter" in s["sources"]]
        figure = frequency["figure"].split(" (chapter)")[0]
        assert any(figure in text for text in said), figure
    # the literature's figures are kept apart, each its source's own (tajalli2019: about 25%
    # of limited SSc; davuluri2022: 20–40% of JDM, up to 20% of adults with DM)
    assert sorted(
        (f["context"], f["figure"], s)
        for f in literature
        for t in f["statements"]
        for s in t["sources"]
    ) == [
        ("dm", "up to 20%", "davuluri2022"),
        ("jdm", "20–40%", "davuluri2022"),
        ("ssc", "about 25%", "tajalli2019"),
    ]
    populations = {(f["context"], f["figure"]): f["population"] for f in dystrophic["frequencies"]}
    assert populations[("ssc", "about 25%")] == "limited systemic sclerosis"
    assert populations[("dm", "up to 20%")] == "adults"
    assert populations[("ssc", "approximately 25% (chapter) and 25% (JOPA)")] is None
    for frequency in literature:
        assert all(frequency["figure"] in s["text"] for s in frequency["statements"])
        assert all(s["notes"] for s in frequency["statements"])  # a note says how they differ


def test_subtypes_dystrophic_card_shows_attributed_frequencies():
    out = ok("subtypes", "dystrophic", env=WIDE).stdout
    for frequency in yaml_frequencies("dystrophic"):
        counted = frequency["context"]
        if frequency.get("population"):
            counted += f" ({frequency['population']})"
        assert f"Frequency in {counted}: {frequency['figure']}" in out
    assert "Frequency in ssc: approximately 25%" in out
    assert "Frequency in ssc (limited systemic sclerosis): about 25%" in out
    assert "Frequency in jdm: 10%–40%" in out
    assert "[Cloutier (JOPA), Walsh 1995]" in out  # sources by the labels readers know


def test_subtypes_formats():
    records = ok_json("subtypes")
    rows = rows_of_csv(ok("subtypes", "--format", "csv").stdout)
    assert [r["id"] for r in rows] == ids(records)
    dystrophic = next(r for r in rows if r["id"] == "dystrophic")
    assert (
        dystrophic["examples"]
        == "autoimmune connective tissue disease; after trauma; after infection"
    )
    body = markdown_rows(ok("subtypes", "-f", "markdown").stdout)[2:]
    assert [row[0] for row in body] == ids(records)


def flat_frequency(frequency: dict) -> str:
    """A frequency as a CSV or Markdown cell says it, from the YAML: whose patients (the
    context, and the narrower group it counts), the figure, whose figure (the sources of its
    statements, each once), then each statement's caution and notes."""
    counted = frequency["context"]
    if frequency.get("population"):
        counted += f" ({frequency['population']})"
    statements = frequency["statements"]
    sources = dict.fromkeys(source for st in statements for source in st["sources"])
    said = f"{counted}: {frequency['figure']} ({', '.join(sources)})"
    for statement in statements:
        caution = statement.get("caution")
        if caution:
            likely = f" (likely {caution['likely']})" if caution.get("likely") else ""
            said += f" [Caution{likely}: {caution['text']}]"
        said += "".join(f" [Curator's note: {note['text']}]" for note in statement.get("notes", []))
    return said


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
@pytest.mark.parametrize("args", [["subtypes"], ["subtypes", "dystrophic"]], ids=" ".join)
def test_subtype_frequencies_in_flat_formats_keep_population_sources_and_notes(args, fmt):
    """Each figure says whose patients it counts and whose figure it is, as the table does,
    and carries the notes on the statements behind it, as every flat cell carries notes."""
    text = ok(*args, "--format", fmt).stdout
    if fmt == "csv":
        rows = rows_of_csv(text)
    else:
        header, _, *body = markdown_rows(text)
        rows = [dict(zip(header, row, strict=True)) for row in body]
    cell = next(r for r in rows if r["id"] == "dystrophic")["frequencies"]
    assert "ssc (limited systemic sclerosis): about 25% (tajalli2019) [Curator's note: " in cell
    assert "; dm (adults): up to 20% (davuluri2022) [Curator's note: " in cell
    assert cell == "; ".join(flat_frequency(f) for f in yaml_frequencies("dystrophic"))
    for subtype in SUBTYPES_YAML["subtypes"]:
        row = next(r for r in rows if r["id"] == subtype["id"]) if len(rows) > 1 else None
        if row is not None:
            frequencies = subtype.get("frequencies", [])
            assert row["frequencies"] == "; ".join(flat_frequency(f) for f in frequencies)


# =============================================================================================
# cite
# =============================================================================================


def test_cite_default_is_ama_with_links():
    out = ok("cite").stdout
    assert out == ok("cite", "--format", "table").stdout
    for number in range(1, len(ALL_REFERENCE_IDS) + 1):
        assert re.search(rf"^{number}\. ", out, re.M)
    assert "DOI: https://doi.org/10.1001/archdermatol.2011.2052" in out
    assert "DOI: https://doi.org/10.1136/ard.62.3.267" in out
    unconfirmed = [r for r in THERAPIES_YAML["references"] if not r.get("doi")]
    searchable = [
        r for r in unconfirmed if r.get("title") and not r.get("pmid") and r["type"] == "article"
    ]
    assert out.count("PubMed search (not a confirmed identifier)") == len(searchable)
    records = [r for r in unconfirmed if r.get("pmid")]
    assert out.count("PubMed record: https://pubmed.ncbi.nlm.nih.gov/") == len(records)
    assert "PubMed record: https://pubmed.ncbi.nlm.nih.gov/8881679/" in out  # bottomley1996
    online = [r for r in unconfirmed if not r.get("pmid") and r["type"] == "online"]
    assert out.count("no link: an online reference is not indexed in PubMed") == len(online)
    assert len(online) == 3  # the three Medscape pages of the literature pack
    assert "no link: title not given in the source" in out  # jopa
    assert "no link: a book chapter is not indexed in PubMed" in out  # chapter
    assert "Balin SJ, Wetter DA, Andersen LK, et al." in out


def test_cite_json_contract_and_links():
    records = ok_json("cite")
    jsonschema.validate(records, CITE_SCHEMA)
    assert ids(records) == ALL_REFERENCE_IDS
    refs = by_id(records)
    assert refs["balin2012"]["url"] == "https://doi.org/10.1001/archdermatol.2011.2052"
    assert refs["robertson2003"]["url"] == "https://doi.org/10.1136/ard.62.3.267"
    assert refs["balin2012"]["link"] == refs["robertson2003"]["link"] == "DOI"
    for reference in THERAPIES_YAML["references"]:
        record = refs[reference["id"]]
        assert record["doi"] == reference.get("doi")
        assert record["year"] == reference.get("year")
        assert record.get("pmid") == reference.get("pmid")
        if reference.get("doi"):
            assert record["link"] == "DOI"
        elif reference.get("pmid"):  # a PMID seen on PubMed or PMC: the record itself
            assert record["link"] == "PubMed record"
            assert record["url"] == f"https://pubmed.ncbi.nlm.nih.gov/{reference['pmid']}/"
        elif reference["type"] == "chapter":
            assert record["url"] is None  # a book chapter is not indexed in PubMed
            assert record["link"] == "no link: a book chapter is not indexed in PubMed"
        elif reference["type"] == "online":
            assert record["url"] is None  # a web page (Medscape) is not indexed in PubMed
            assert record["link"] == "no link: an online reference is not indexed in PubMed"
        elif reference.get("title"):
            assert record["link"].startswith("PubMed search")
            assert record["url"].startswith("https://pubmed.ncbi.nlm.nih.gov/?term=")
    assert refs["jopa"]["url"] is None
    # identifiers the pack confirmed on PubMed or PMC
    assert (refs["bottomley1996"]["pmid"], refs["bottomley1996"]["doi"]) == ("8881679", None)
    assert refs["bottomley1996"]["url"] == "https://pubmed.ncbi.nlm.nih.gov/8881679/"
    assert (refs["floege2015"]["doi"], refs["floege2015"]["pmid"]) == (
        "10.2215/CJN.10221014",
        "25887067",
    )
    assert refs["floege2015"]["pmcid"] == "PMC4422249"
    assert refs["calciphyx-protocol"]["pmcid"] == "PMC8757410"
    # identifiers the pack saw only on mirrors are never transcribed
    assert refs["sinha2024"]["doi"] is None and refs["sinha2024"]["pmid"] is None
    assert refs["traineau2020"]["pmid"] is None
    assert refs["nunley2020-calcinosis-treatment"]["type"] == "online"


def test_cite_format_json_is_the_json_flag():
    assert ok("cite", "--format", "json").stdout == ok("cite", "--json").stdout
    assert ok("cite", "-f", "JSON", "balin2012").stdout == ok("cite", "balin2012", "--json").stdout


def test_cite_ids_in_the_order_asked_case_insensitive():
    assert ids(ok_json("cite", "balin2012", "pitt1990")) == ["balin2012", "pitt1990"]
    assert ids(ok_json("cite", "PITT1990", "Balin2012")) == ["pitt1990", "balin2012"]


def test_cite_therapy_minocycline_bibtex():
    out = ok("cite", "--therapy", "minocycline", "--style", "bibtex").stdout
    keys = re.findall(r"^@\w+\{([^,]+),$", out, re.M)
    expected = references_behind("minocycline")
    chapter_era = {"chapter", "jopa", "balin2012", "robertson2003"}
    # the literature's views on minocycline: valenzuela2016 (a dose, used cyclically),
    # davuluri2022 (inflamed lesions), jimenezgallo2015 (named among the drugs)
    literature = {"valenzuela2016", "davuluri2022", "jimenezgallo2015"}
    assert set(keys) == expected == chapter_era | literature
    assert keys == [r for r in ALL_REFERENCE_IDS if r in expected]
    assert "@incollection{chapter," in out
    assert "doi = {10.1136/ard.62.3.267}" in out
    assert ok("cite", "-t", "MINOCYCLINE", "--style", "BibTeX").stdout == out


def test_cite_therapy_alias():
    records = ok_json("cite", "--therapy", "etidronate")
    assert set(ids(records)) == references_behind("bisphosphonates")


def test_cite_ris_uses_crlf_throughout():
    result = ok("cite", "--style", "ris")
    raw = result.stdout_bytes
    assert b"\r\n" in raw
    assert raw.count(b"\n") == raw.count(b"\r\n"), "every line must end CRLF"
    assert raw.count(b"TY  - ") == raw.count(b"ER  - ") == len(ALL_REFERENCE_IDS)
    assert b"DO  - 10.1001/archdermatol.2011.2052\r\n" in raw


def test_cite_csl_json_parses_and_validates():
    items = json.loads(ok("cite", "--style", "csl-json").stdout)
    assert [i["id"] for i in items] == ALL_REFERENCE_IDS
    schema = json.loads(CSL_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(items, schema)


def test_cite_vancouver_one_line_per_reference():
    out = ok("cite", "--style", "vancouver").stdout
    lines = out.splitlines()
    assert len(lines) == len(ALL_REFERENCE_IDS)
    assert lines[ALL_REFERENCE_IDS.index("balin2012")].startswith(
        "Balin SJ, Wetter DA, Andersen LK, et al."
    )


def test_cite_markdown_and_csv():
    records = ok_json("cite")
    rows = rows_of_csv(ok("cite", "--format", "csv").stdout)
    assert [r["id"] for r in rows] == ids(records)
    # The columns are the JSON record's keys, in order, with one `overlay` column for the path.
    assert list(rows[0]) == derived_columns(records[0])
    assert rows[0]["citation"] == records[0]["citation"]
    assert {r["overlay"] for r in rows} == {""}  # bundled records name no overlay
    assert next(r for r in rows if r["id"] == "balin2012")["link"] == "DOI"
    body = markdown_rows(ok("cite", "--format", "markdown").stdout)[2:]
    assert [row[0] for row in body] == ids(records)


def test_cite_nothing_matching_is_empty_not_an_error():
    result = ok("cite", "walsh1995", "--therapy", "minocycline", "--json")
    assert json.loads(result.stdout) == []
    assert "no references match" in result.stderr
    table = ok("cite", "walsh1995", "--therapy", "minocycline")
    assert table.stdout == ""
    assert ok("cite", "walsh1995", "--therapy", "minocycline", "--style", "bibtex").stdout == ""


def test_cite_csl_json_with_nothing_matching_is_an_empty_json_array():
    result = ok("cite", "walsh1995", "--therapy", "minocycline", "--style", "csl-json")
    assert json.loads(result.stdout) == []
    assert "no references match" in result.stderr


# =============================================================================================
# show
# =============================================================================================


def test_show_minocycline_both_positions():
    out = ok("show", "minocycline", env=WIDE).stdout
    assert out.startswith("Minocycline (minocycline)")
    # each position by its source's label: the chapter, the JOPA article (Cloutier)
    assert "Chapter: second line, evidence E" in out
    assert (
        "Cloutier (JOPA), for ssc (no evidence letter): Often used first line for painful, "
        "ulcerating" in out
    )
    assert "Population: Patients with limited cutaneous systemic sclerosis" in out
    assert "Robertson 2003" in out and "n=9" in out
    assert "doi:10.1136/ard.62.3.267" in out


def test_show_json_is_one_object_with_references():
    record = ok_json("show", "minocycline")
    assert isinstance(record, dict)
    jsonschema.validate([record], TREAT_SCHEMA)
    positions = {p["source"]: p for p in record["positions"]}
    assert (positions["chapter"]["label"], positions["jopa"]["label"]) == (
        "Chapter",
        "Cloutier (JOPA)",
    )
    assert (positions["chapter"]["line"], positions["chapter"]["evidence"]) == ("second", "E")
    # The article places it first line without a letter; the ladder keeps the chapter's place.
    assert (positions["jopa"]["line"], positions["jopa"]["evidence"]) == ("first", None)
    assert positions["jopa"]["view"].startswith("Often used first line")
    assert (record["line"], record["evidence"]) == ("second", "E")
    assert {r["id"] for r in record["references"]} == references_behind("minocycline")
    assert {s["ref"]: s["n"] for s in record["studies"]} == {"balin2012": 6, "robertson2003": 9}


def test_show_colchicine_caution_sits_beside_the_dose():
    out = ok("show", "colchicine", env=WIDE).stdout
    lines = [line.strip() for line in out.splitlines()]
    # the dose, what it almost certainly means, then its source by label; the caution beneath
    regimen = "<1.2 g/day ⚠ likely <1.2 mg/day [Balin 2012]"
    dose = next(i for i, line in enumerate(lines) if line.startswith(regimen))
    assert lines[dose + 1].startswith(
        "⚠ Caution (likely <1.2 mg/day): As printed in the chapter's summary of Balin 2012"
    )
    assert "almost certainly mg/day" in lines[dose + 1]
    # the study's regimen carries it too
    study = next(i for i, line in enumerate(lines) if line.startswith("Regimen: <1.2 g/day"))
    assert lines[study] == "Regimen: <1.2 g/day ⚠ likely <1.2 mg/day"
    assert any(
        line.startswith("⚠ Caution (likely <1.2 mg/day): ") and "mg/day" in line
        for line in lines[study + 1 : study + 5]
    )


@pytest.mark.parametrize(
    ("typed", "therapy_id", "name"),
    [
        ("MINOCYCLINE", "minocycline", "Minocycline"),
        ("thiosulfate", "sodium-thiosulfate", "Topical sodium thiosulfate"),
        ("Etidronate", "bisphosphonates", "Bisphosphonates"),
        ("aluminium-hydroxide", "aluminum-hydroxide", "Aluminum hydroxide"),
    ],
)
def test_show_accepts_case_and_aliases(typed, therapy_id, name):
    assert ok("show", typed).stdout.startswith(f"{name} ({therapy_id})")
    assert ok_json("show", typed)["id"] == therapy_id


def test_show_therapy_without_counted_studies():
    out = ok("show", "probenecid", env=WIDE).stdout
    assert "none recorded" in out
    assert "No study gives responder counts to chart for these therapies." in out


def test_show_chart_matches_counts():
    charts = parse_chart(ok("show", "surgical-excision", env=WIDE).stdout)
    bars = charts["Surgical excision / curettage"]
    assert [(b["n"], b["drawn"]["complete"]) for b in bars] == [(11, 8), (17, 14)]
    # seen from no context: whose patients, and the combined treatment, still named
    assert [b["label"] for b in bars] == [
        "Balin 2012 [ctd]",
        "Balin 2012 [ctd] (surgery with medical treatment)",
    ]


# =============================================================================================
# search
# =============================================================================================


def test_search_myeloma_finds_metastatic_and_electrophoresis():
    hits = ok_json("search", "myeloma")
    found = {(h["kind"], h["id"]) for h in hits}
    assert ("subtype", "metastatic") in found
    assert ("investigation", "electrophoresis") in found
    assert all("myeloma" in h["excerpt"].casefold() for h in hits)
    assert ok("search", "MYELOMA", "--json").stdout == ok("search", "myeloma", "--json").stdout
    out = ok("search", "myeloma").stdout
    assert re.search(r"^subtype$", out, re.M)
    assert re.search(r"^investigation$", out, re.M)
    assert "electrophoresis (looks_for)" in out


def test_search_thiosulfate_and_juvenile():
    assert ("therapy", "sodium-thiosulfate") in {
        (h["kind"], h["id"]) for h in ok_json("search", "thiosulfate", "--all")
    }
    juvenile = {(h["kind"], h["id"]) for h in ok_json("search", "juvenile", "--all")}
    assert ("context", "jdm") in juvenile
    assert ("study", "jiang2011-case") in juvenile
    assert ("subtype", "dystrophic") in juvenile


def test_search_finds_curator_notes():
    hits = ok_json("search", "gram doses are lethal")
    assert ("note", "colchicine-dose-unit") in {(h["kind"], h["id"]) for h in hits}


def test_search_nothing_found_is_not_an_error():
    result = ok("search", "zzzqqq", "--json")
    assert json.loads(result.stdout) == []
    assert "nothing found for 'zzzqqq'" in result.stderr
    assert ok("search", "zzzqqq").stdout == ""


def test_search_formats():
    hits = ok_json("search", "myeloma")
    rows = rows_of_csv(ok("search", "myeloma", "--format", "csv").stdout)
    assert [(r["kind"], r["id"], r["field"]) for r in rows] == [
        (h["kind"], h["id"], h["field"]) for h in hits
    ]
    body = markdown_rows(ok("search", "myeloma", "-f", "markdown").stdout)[2:]
    assert len(body) == len(hits)


@pytest.mark.parametrize("text", ["", "   "])
def test_search_empty_text_is_a_usage_error(text):
    assert "must not be empty" in usage_error("search", text)


# =============================================================================================
# levels
# =============================================================================================


UNLETTERED = ("Named in the chapter, not graded", "Beyond the chapter: not named in it")


def expected_levels() -> dict[str | None, set[str]]:
    """Each letter's therapies from the YAML; those without one under the definition of
    their row: the chapter names them (it is among their sources) or it does not."""
    by_letter: dict[str | None, set[str]] = {
        level["letter"]: set() for level in THERAPIES_YAML["evidence_levels"]
    }
    by_letter |= {definition: set() for definition in UNLETTERED}
    for therapy in THERAPIES_YAML["therapies"]:
        letter = graded_letter(therapy)
        if letter is None:
            letter = UNLETTERED[0] if "chapter" in therapy["sources"] else UNLETTERED[1]
        by_letter[letter].add(therapy["id"])
    return by_letter


def test_levels_json_counts_from_the_knowledge():
    rows = ok_json("levels")
    assert [r["letter"] for r in rows] == ["A", "B", "C", "D", "E", None, None]
    assert [r["definition"] for r in rows[-2:]] == list(UNLETTERED)
    expected = expected_levels()
    for row in rows:
        assert set(row["therapies"]) == expected[row["letter"] or row["definition"]], row
        assert row["count"] == len(row["therapies"])
    counts = {r["letter"] or r["definition"]: r["count"] for r in rows}
    # The chapter's ladder: diltiazem C; bisphosphonates and aluminum hydroxide D; six at E.
    assert [counts[letter] for letter in "ABCDE"] == [0, 0, 1, 2, 6]
    assert sum(counts[d] for d in UNLETTERED) == len(ALL_THERAPY_IDS) - 9
    # Warfarin the chapter names without a letter; hexasodium fytate it never names.
    assert "warfarin" in expected[UNLETTERED[0]]
    assert "hexasodium-fytate" in expected[UNLETTERED[1]]
    definitions = {r["letter"]: r["definition"] for r in rows}
    assert definitions["E"] == "Anecdotal case reports"
    assert definitions["B"] == "Clinical trial ≥ 20 subjects"


def test_levels_say_the_chapter_entries_behind_each_letter():
    """Six therapies at E come from the chapter's five entries: "Intralesional
    corticosteroid/oral prednisolone" is one entry, kept as two therapies (chapter, first
    line: "Intralesional corticosteroid/oral prednisolone • E")."""
    rows = {r["letter"]: r for r in ok_json("levels") if r["letter"]}
    e = rows["E"]
    assert len(e["entries"]) == 5
    shared = [x for x in e["entries"] if len(x["therapies"]) > 1]
    assert shared == [
        {
            "entry": "Intralesional corticosteroid/oral prednisolone",
            "therapies": ["intralesional-corticosteroid", "oral-prednisolone"],
        }
    ]
    assert sorted(t for x in e["entries"] for t in x["therapies"]) == sorted(e["therapies"])
    assert [x["entry"] for x in rows["C"]["entries"]] == ["Diltiazem"]
    out = ok("levels", env=WIDE).stdout
    assert (
        "E: the chapter's one entry “Intralesional corticosteroid/oral prednisolone” is kept "
        "as 2 therapies, intralesional-corticosteroid and oral-prednisolone."
        in " ".join(out.split())
    )
    csv_e = rows_of_csv(ok("levels", "-f", "csv").stdout)[4]
    assert (
        "Intralesional corticosteroid/oral prednisolone "
        "(intralesional-corticosteroid, oral-prednisolone)" in csv_e["entries"]
    )


def test_levels_table():
    out = ok("levels", env=WIDE).stdout
    for level in THERAPIES_YAML["evidence_levels"]:
        assert level["definition"] in out
    for definition in UNLETTERED:
        assert definition in out
    assert re.search(r"Anecdotal case reports .* 6\s*$", out, re.M)


def test_levels_markdown_and_csv():
    rows = ok_json("levels")
    text = ok("levels", "--format", "markdown").stdout
    table = markdown_rows(text)
    assert (
        table[0]
        == derived_columns(rows[0])
        == [
            "letter",
            "definition",
            "sources",
            "count",
            "therapies",
            "entries",
            "from_overlays",
            "overlay",
        ]
    )
    assert table[2:][4][:4] == ["E", "Anecdotal case reports", "chapter", "6"]
    assert set(table[2:][4][4].split("; ")) == expected_levels()["E"]
    parsed = rows_of_csv(ok("levels", "-f", "csv").stdout)
    assert [r["count"] for r in parsed] == [str(r["count"]) for r in rows]
    assert parsed[-1]["therapies"] == "; ".join(rows[-1]["therapies"])


# =============================================================================================
# contexts and overview
# =============================================================================================


def test_contexts_json_lists_every_context_with_aliases_and_parent():
    records = ok_json("contexts")
    assert ids(records) == ALL_CONTEXT_IDS
    for record, context in zip(records, SUBTYPES_YAML["contexts"], strict=True):
        assert record["name"] == context["name"]
        assert record["aliases"] == context.get("aliases", [])
        assert record["parent"] == context.get("parent")
        assert record["subtypes"] == context["subtypes"]
    ssc = by_id(records)["ssc"]
    assert "crest" in ssc["aliases"] and ssc["parent"] == "ctd"


@pytest.mark.parametrize(
    ("context_id", "alias"),
    [(c["id"], a) for c in SUBTYPES_YAML["contexts"] for a in c.get("aliases", [])],
)
def test_every_listed_alias_works_as_a_context(context_id, alias):
    expected = ok("workup", "--context", context_id, "--json").stdout
    assert ok("workup", "--context", alias.upper(), "--json").stdout == expected


def test_contexts_table_and_formats():
    out = ok("contexts", env=WIDE).stdout
    for context in SUBTYPES_YAML["contexts"]:
        assert re.search(rf"^\s+{re.escape(context['id'])}\s", out, re.M), context["id"]
        assert context["name"] in out
    assert ", ".join(yaml_context("ssc")["aliases"]) in out  # crest, lcssc, ...
    rows = rows_of_csv(ok("contexts", "--format", "csv").stdout)
    assert [r["id"] for r in rows] == ALL_CONTEXT_IDS
    # an ambiguous name is no context's alias
    for ambiguous in SUBTYPES_YAML["ambiguous_names"]:
        assert all(ambiguous["id"] not in r["aliases"].split("; ") for r in rows)
    assert by_id(rows)["jdm"]["parent"] == "dm"
    assert by_id(rows)["ckd"]["aliases"] == "; ".join(
        next(c for c in SUBTYPES_YAML["contexts"] if c["id"] == "ckd")["aliases"]
    )
    body = markdown_rows(ok("contexts", "-f", "markdown").stdout)[2:]
    assert [row[0] for row in body] == ALL_CONTEXT_IDS


def test_overview_json_is_the_clinical_picture_then_management():
    records = ok_json("overview")
    features = SUBTYPES_YAML["clinical_features"]
    principles = SUBTYPES_YAML["principles"]
    assert len(records) == len(features) + len(principles)
    picture, management = records[: len(features)], records[len(features) :]
    assert {r["section"] for r in picture} == {"clinical picture"}
    assert {r["section"] for r in management} == {"management"}
    assert [r["kind"] for r in picture] == [f["aspect"] for f in features]
    assert [r["id"] for r in management] == [p["id"] for p in principles]
    for record, source in zip(records, [*features, *principles], strict=True):
        assert " ".join(record["text"].split()) == " ".join(source["text"].split())
        assert record["sources"] == source["sources"]


def test_overview_table_and_formats():
    out = ok("overview", env=WIDE).stdout
    assert "Treat the underlying disease. [Chapter]" in out
    assert "Lesions can hurt; fingertip lesions may be painful. [Chapter, Cloutier (JOPA)]" in out
    records = ok_json("overview")
    rows = rows_of_csv(ok("overview", "--format", "csv").stdout)
    assert len(rows) == len(records)
    assert rows[5]["sources"] == "; ".join(records[5]["sources"])
    body = markdown_rows(ok("overview", "-f", "markdown").stdout)[2:]
    assert len(body) == len(records)


# =============================================================================================
# JSON for every command
# =============================================================================================


@pytest.mark.parametrize(
    "args",
    [
        ["subtypes"],
        ["subtypes", "dystrophic"],
        ["workup"],
        ["workup", "--subtype", "metastatic", "--context", "ckd"],
        ["treat"],
        ["treat", "--context", "ssc", "--details", "--chart"],
        ["cite"],
        ["show", "minocycline"],
        ["search", "calcium", "--all"],  # every hit: no "more hits" line on stderr
        ["levels"],
        ["overview"],
        ["contexts"],
    ],
)
def test_json_is_one_document_and_nothing_else(args):
    result = ok(*args, "--json")
    # nothing on stderr but a treat answer's gap lines for the question it asks
    expected = gap_stderr(**_question(tuple(args))) if args[0] == "treat" else ""
    assert result.stderr == expected
    assert result.stdout.endswith("\n") and not result.stdout.endswith("\n\n")
    decoder = json.JSONDecoder()
    value, end = decoder.raw_decode(result.stdout)
    assert result.stdout[end:].strip() == ""
    assert isinstance(value, dict if args[0] == "show" else list)
    assert "\x1b" not in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["treat"],
        ["workup"],
        ["subtypes"],
        ["levels"],
        ["search", "myeloma"],
        ["overview"],
        ["contexts"],
    ],
)
def test_calcref_format_env_sets_the_default(args):
    as_json = ok(*args, "--json").stdout
    assert ok(*args, env={"CALCREF_FORMAT": "json"}).stdout == as_json
    assert ok(*args, env={"CALCREF_FORMAT": "JSON"}).stdout == as_json
    csv_out = ok(*args, env={"CALCREF_FORMAT": "csv"}).stdout
    assert csv_out == ok(*args, "--format", "csv").stdout
    table = ok(*args, "--format", "table", env={"CALCREF_FORMAT": "json"}).stdout
    assert not table.lstrip().startswith("[")  # an explicit --format wins over the variable


@pytest.mark.parametrize(
    "args", [["levels"], ["treat", "--context", "ssc"], ["info"], ["validate"]]
)
@pytest.mark.parametrize("value", ["yaml", "bibtex", "markdown", ""])
def test_calcref_format_env_applies_only_where_it_is_a_format_of_the_command(args, value):
    """CALCREF_FORMAT never makes a command fail: a value that is not one of the command's
    formats (bibtex for treat, markdown for info) is ignored and the command draws its table."""
    plain = ok(*args, env={"CALCREF_NO_CACHE": "1"})  # `info` tells the cache state
    result = ok(*args, env={"CALCREF_FORMAT": value, "CALCREF_NO_CACHE": "1"})
    if value == "markdown" and args[0] not in ("info", "validate"):
        assert result.stdout.split("\n\n")[-1].startswith("| ")  # after any gap
    else:
        assert result.stdout == plain.stdout
    assert "error" not in result.stderr


def test_calcref_format_env_csv_reaches_show():
    rows = rows_of_csv(ok("show", "minocycline", env={"CALCREF_FORMAT": "csv"}).stdout)
    assert [r["id"] for r in rows] == ["minocycline"]


def test_a_bad_format_flag_is_a_usage_error_naming_the_choices():
    line = usage_error("info", "--format", "csv")
    assert "'csv' is not a format of this command" in line and "table, json" in line


# =============================================================================================
# unknown values and usage errors: exit 2, one line
# =============================================================================================


@pytest.mark.parametrize(
    ("args", "kind", "suggestion"),
    [
        (["treat", "--context", "sscc"], "context", "ssc"),
        (["treat", "--context", "crestt"], "context", "ssc"),
        (["workup", "--context", "hyperparathyroidsm"], "context", "hyperparathyroidism"),
        (["workup", "--subtype", "metastatc"], "subtype", "metastatic"),
        (["treat", "--subtype", "dystrophc"], "subtype", "dystrophic"),
        (["subtypes", "idiopatic"], "subtype", "idiopathic"),
        (["show", "minocyclin"], "therapy", "minocycline"),
        (["cite", "--therapy", "colchicin"], "therapy", "colchicine"),
        (["cite", "balin2013"], "reference", "balin2012"),
    ],
)
def test_unknown_value_names_the_closest_and_the_valid_ones(args, kind, suggestion):
    line = usage_error(*args)
    assert f"unknown {kind} '{args[-1]}'" in line
    assert f"did you mean '{suggestion}'?" in line
    valid = {
        "context": ALL_CONTEXT_IDS,
        "subtype": ALL_SUBTYPE_IDS,
        "therapy": ALL_THERAPY_IDS,
        "reference": ALL_REFERENCE_IDS,
    }[kind]
    listed = line.rsplit(": ", 1)[1].split(", ")
    assert listed == valid


def test_unknown_value_with_nothing_close_still_lists_the_valid_ones():
    line = usage_error("treat", "--context", "xyzzyq")
    assert "did you mean" not in line
    assert all(c in line for c in ALL_CONTEXT_IDS)


def test_unknown_therapy_message_says_therapies():
    line = usage_error("show", "nosuchthing")
    assert "valid therapies:" in line


@pytest.mark.parametrize(
    "args",
    [
        ["treat", "--bogus"],
        ["treat", "--contxt", "ssc"],
        ["treat", "--line", "fourth"],
        ["treat", "--line"],
        ["treat", "--min-evidence", "F"],
        ["treat", "--min-evidence", "AB"],
        ["treat", "--format", "yaml"],
        ["treat", "--details=yes"],
        ["cite", "--format", "apa"],
        ["subtypes", "--format", "html"],
        ["levels", "extra"],
        ["show"],
        ["search"],
        ["bogus"],
        ["--json"],
        ["treat", "--version"],
    ],
)
def test_usage_errors_exit_2_with_one_line(args):
    usage_error(*args)


def test_bad_line_and_letter_messages_name_the_choices():
    line = usage_error("treat", "--line", "fourth")
    assert "'fourth'" in line and "first" in line and "second" in line and "third" in line
    letter = usage_error("treat", "--min-evidence", "F")
    assert "'F'" in letter


@pytest.mark.parametrize(
    "args",
    [
        ["treat", "--context", "ss\nc"],
        ["workup", "--subtype", "meta\nstatic"],
        ["show", "mino\ncycline"],
        ["treat", "--line", "first\nsecond"],
        ["cite", "--format", "ama\nris"],
    ],
)
def test_a_value_containing_a_newline_is_still_reported_on_one_line(args):
    usage_error(*args)


@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(value=st.text(min_size=1, max_size=30))
def test_any_context_value_exits_0_or_2_with_at_most_one_line(value):
    result = invoke("treat", f"--context={value}", "--json")
    assert result.exit_code in (0, 2), result.stderr
    if result.exit_code == 2:
        assert result.stdout == ""
        assert one_line(result.stderr), repr(result.stderr)
    else:
        assert isinstance(json.loads(result.stdout), list)


@pytest.mark.slow
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=st.text(min_size=1, max_size=20).filter(lambda s: s.strip()))
def test_any_search_text_gives_a_json_list(text):
    result = invoke("search", "--json", "--", text)
    assert result.exit_code == 0, result.stderr
    hits = json.loads(result.stdout)
    assert isinstance(hits, list)


# =============================================================================================
# knowledge errors: exit 1, one line per problem
# =============================================================================================


PROBLEM_LINE = re.compile(r"^calcref: error: (?P<path>.+):(?P<line>\d+): (?P<message>.+)$")


def line_number_of(path: Path, text: str) -> int:
    return path.read_text(encoding="utf-8").splitlines().index(text) + 1


def test_broken_knowledge_reports_each_problem_with_path_and_line(data_copy):
    therapies = data_copy / "therapies.yaml"
    edit(
        therapies,
        "  - id: ceftriaxone\n    name: Ceftriaxone\n",
        "  - id: ceftriaxone\n    name: Ceftriaxone\n    line: fourth\n",
    )
    edit(therapies, "    ref: pitt1990\n", "    ref: nosuchref\n")
    result = invoke("treat", "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2, lines
    parsed = [PROBLEM_LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert {m["path"] for m in parsed} == {str(therapies)}
    assert {int(m["line"]) for m in parsed} == {
        line_number_of(therapies, "    line: fourth"),
        line_number_of(therapies, "    ref: nosuchref"),
    }
    assert any("nosuchref" in m["message"] for m in parsed)


def test_invalid_yaml_is_one_located_problem(data_copy):
    (data_copy / "subtypes.yaml").write_text("subtypes:\n  - id: [unclosed\n", encoding="utf-8")
    result = invoke("levels")
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    match = PROBLEM_LINE.match(line)
    assert match and match["path"] == str(data_copy / "subtypes.yaml")
    assert "YAML" in match["message"]


def test_missing_knowledge_file(data_copy):
    (data_copy / "therapies.yaml").unlink()
    result = invoke("subtypes")
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line == f"calcref: error: {data_copy / 'therapies.yaml'}:1: file not found"


def test_calcref_data_that_is_not_a_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("CALCREF_DATA", str(tmp_path / "nowhere"))
    result = invoke("treat", "--context", "ssc")
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("calcref: error: CALCREF_DATA=")


@pytest.mark.parametrize(
    "args",
    [
        ["subtypes"],
        ["workup"],
        ["treat"],
        ["cite"],
        ["show", "minocycline"],
        ["search", "x"],
        ["levels"],
        ["overview"],
        ["contexts"],
    ],
)
def test_every_command_reports_broken_knowledge_with_exit_1(data_copy, args):
    (data_copy / "therapies.yaml").write_text("- not a mapping\n", encoding="utf-8")
    result = invoke(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr and all(PROBLEM_LINE.match(line) for line in result.stderr.splitlines())


def test_calcref_data_override_is_used(data_copy):
    edit(
        data_copy / "therapies.yaml",
        "    name: Minocycline\n",
        "    name: Minocycline (test copy)\n",
    )
    assert ok_json("show", "minocycline")["name"] == "Minocycline (test copy)"


# =============================================================================================
# text output: literal strings, no colour, no ellipsis
# =============================================================================================

MARKUP = "Ca [mmol/L] high [/b] [bold red]x[/bold red]"


@pytest.fixture(scope="module")
def markup_knowledge(tmp_path_factory) -> Path:
    """The knowledge with MARKUP in strings every command shows, written once for the tests
    below, which only read it (one directory, so the parse cache answers after the first)."""
    data = copy_knowledge_files(tmp_path_factory.mktemp("markup") / "data")
    therapies, subtypes = data / "therapies.yaml", data / "subtypes.yaml"
    edit(therapies, "    name: Minocycline\n", '    name: "Minocycline [/b]"\n')
    edit(
        therapies,
        "      - text: 200 mg/day\n        sources: [balin2012]\n",
        f'      - text: "{MARKUP}"\n        sources: [balin2012]\n',
    )
    edit(
        subtypes,
        "    calcium_phosphate: abnormal calcium and/or phosphate metabolism\n",
        f'    calcium_phosphate: "{MARKUP}"\n',
    )
    edit(subtypes, "    looks_for: Kidney function.\n", f'    looks_for: "{MARKUP}"\n')
    # a subtype's tier prints each tie's own reason (not what the test looks for): it too
    edit(
        subtypes,
        "        reason: Chronic kidney failure is one of the chapter's causes of metastatic"
        " calcinosis.\n",
        f'        reason: "{MARKUP}"\n',
    )
    edit(
        therapies,
        "    title: Treatment of cutaneous calcinosis in limited systemic sclerosis"
        " with minocycline\n",
        f'    title: "Minocycline {MARKUP}"\n',
    )
    return data


@pytest.fixture
def markup_data(markup_knowledge, monkeypatch) -> Path:
    monkeypatch.setenv("CALCREF_DATA", str(markup_knowledge))
    return markup_knowledge


@pytest.mark.parametrize(
    "args",
    [
        ["treat", "--context", "ssc", "--details"],
        ["show", "minocycline"],
        ["subtypes"],
        ["subtypes", "metastatic"],
        ["workup", "--subtype", "metastatic"],
        ["cite", "robertson2003"],
        ["search", "mmol"],
    ],
)
def test_knowledge_strings_print_literally_never_as_markup(markup_data, args):
    out = ok(*args, env=WIDE).stdout
    assert MARKUP in out
    assert "Ca [mmol/L] high" in out
    assert "[/b]" in out
    assert "[bold red]x[/bold red]" in out
    assert "\x1b" not in out


def test_knowledge_names_with_brackets_print_literally(markup_data):
    assert "Minocycline [/b]" in ok("treat", "--context", "ssc", env=WIDE).stdout
    assert ok("show", "minocycline").stdout.startswith("Minocycline [/b] (minocycline)")


def test_markup_survives_markdown_and_csv(markup_data):
    header, _, *body = markdown_rows(ok("treat", "--context", "ssc", "--format", "markdown").stdout)
    [minocycline] = [dict(zip(header, row, strict=True)) for row in body if row[0] == "minocycline"]
    assert MARKUP in minocycline["regimens"]  # as a reader sees the cell, brackets escaped
    rows = rows_of_csv(ok("treat", "--context", "ssc", "--format", "csv").stdout)
    assert MARKUP in next(r for r in rows if r["id"] == "minocycline")["regimens"]


def test_control_characters_in_knowledge_are_shown_escaped(data_copy):
    edit(
        data_copy / "therapies.yaml", "    name: Minocycline\n", '    name: "Mino\\e[31mcycline"\n'
    )
    out = ok("show", "minocycline").stdout
    assert "\x1b" not in out
    assert "Mino\\x1b[31mcycline" in out


def test_pipes_and_commas_in_knowledge_keep_markdown_and_csv_columns(data_copy):
    edit(
        data_copy / "therapies.yaml",
        "    name: Minocycline\n",
        '    name: "Mino | cyc, \\"line\\""\n',
    )
    md = markdown_rows(ok("treat", "--format", "markdown").stdout)
    header, _, *body = md
    assert all(len(row) == len(header) for row in body)
    assert 'Mino | cyc, "line"' in [row[1] for row in body]
    rows = rows_of_csv(ok("treat", "--format", "csv").stdout)
    assert next(r for r in rows if r["id"] == "minocycline")["name"] == 'Mino | cyc, "line"'


TABLE_COMMANDS = [
    ["treat"],
    ["treat", "--context", "ssc", "--details", "--chart"],
    ["treat", "--subtype", "calciphylaxis"],  # the ladder, then beyond the chapter
    ["workup"],
    ["workup", "--details"],
    ["workup", "--subtype", "metastatic"],
    ["subtypes"],
    ["subtypes", "dystrophic"],
    ["cite"],
    ["show", "minocycline"],
    ["show", "colchicine"],
    ["search", "myeloma"],
    ["levels"],
    ["overview"],
    ["contexts"],
]


@pytest.mark.parametrize("args", TABLE_COMMANDS)
@pytest.mark.parametrize("no_color", [False, True])
def test_no_ansi_when_not_a_terminal_or_no_color(args, no_color):
    env = {"NO_COLOR": "1"} if no_color else None
    result = ok(*args, env=env)
    assert result.stdout
    assert not ANSI.search(result.stdout)
    assert "\x1b" not in result.stdout


@pytest.mark.parametrize("args", [a for a in TABLE_COMMANDS if a[0] != "search"])
def test_piped_tables_never_cut_with_an_ellipsis(args):
    assert ELLIPSIS not in ok(*args).stdout


@pytest.mark.parametrize(
    ("args", "header", "next_header", "text"),
    [
        (
            ["workup", "--details"],  # the full table (the default is one line per test)
            "Investigation",
            "Looks for",
            "Computed tomography and magnetic resonance imaging (MRI)",
        ),
        (
            ["workup", "--details"],
            "Investigation",
            "Looks for",
            "Connective tissue disease screen: antinuclear antibodies (ANAs)"
            " and other autoantibodies",
        ),
        (["treat", "-d"], "Therapy", "Regimens", "Extracorporeal shock wave lithotripsy"),
        (["treat", "-d"], "Therapy", "Regimens", "Methotrexate (with oral prednisolone)"),
        (["subtypes", "-d"], "Subtype", "Ca/phosphate", "Milia-like idiopathic calcinosis cutis"),
        (["levels"], "Therapies", "Count", "sodium-metabisulfite"),
    ],
)
def test_piped_tables_keep_long_names_whole(args, header, next_header, text):
    out = ok(*args, env={"COLUMNS": "120"}).stdout  # wide enough for the tables' columns
    assert ELLIPSIS not in out
    assert squash(text) in squash(column_text(out, header, next_header))


@pytest.mark.parametrize("width", ["20", "24", "30"])
def test_a_narrow_screen_stacks_a_compact_row(width):
    """Side by side, the name and the study would leave a 20-column screen a few columns
    each and fold every word, so each row's study goes under its name instead, indented,
    each word whole."""
    out = ok("treat", "--subtype", "calciphylaxis", env={"COLUMNS": width}).stdout
    lines = out.splitlines()
    assert all(len(line) <= int(width) for line in lines)
    name = next(i for i, line in enumerate(lines) if line.startswith(" Hexasodium fytate"))
    study = next(i for i, line in enumerate(lines[name:], name) if "double-blind" in line)
    assert lines[study].startswith("   double-blind"), lines[name : study + 1]
    words = out.split()
    for word in ("Hexasodium", "(SNF472)", "BWAT-CUA", "Parathyroidectomy"):
        assert word in words, word
    # at 80 columns the study stands beside the name
    wide = ok("treat", "--subtype", "calciphylaxis", env={"COLUMNS": "80"}).stdout
    assert re.search(r"^ Hexasodium fytate +double-blind RCT \[ckd, dialysis\]: n=37", wide, re.M)


def test_a_very_long_unbroken_name_is_folded_not_cut(data_copy):
    long_name = "Minocycline" + "".join(f"Segment{i:02d}" for i in range(20))
    edit(data_copy / "therapies.yaml", "    name: Minocycline\n", f"    name: {long_name}\n")
    out = ok("treat", "--context", "ssc", "--details").stdout
    assert ELLIPSIS not in out
    # no column can hold it: the table's rows are stacked, one field under another, and
    # the name is folded across lines, whole
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("MinocyclineSeg"))
    assert lines[start - 1] == "Therapy:"
    assert long_name in "".join(line.strip() for line in lines[start : start + 3])
    assert max(len(line) for line in lines) <= 120


# =============================================================================================
# isolation and cache
# =============================================================================================


def test_runs_use_the_private_cache_not_home(tmp_path, monkeypatch):
    import os

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    ok("levels")
    cache_home = Path(os.environ["XDG_CACHE_HOME"])
    assert list((cache_home / "calcref").glob("*.marshal"))
    assert list(home.iterdir()) == []


def test_an_unusable_cache_directory_costs_nothing_but_speed(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert ok_json("levels")[4]["count"] == 6


def test_a_warm_cache_gives_the_same_answer(private_cache):
    cold = ok("treat", "--context", "ssc", "--json").stdout
    warm = ok("treat", "--context", "ssc", "--json").stdout
    assert warm == cold


def test_empty_context_points_to_its_subtypes():
    """Infection (typed by its alias) has no therapy of its own in the sources; dystrophic
    calcinosis (its subtype) has. The table says why beside the empty answer: the gaps of
    the context and its subtypes."""
    result = ok("treat", "--context", "post-infection", env=WIDE)
    gaps = yaml_gaps(context="infection")
    assert gaps, "therapies.yaml says why infection has no therapy of its own"
    assert result.stdout.splitlines()[: len(gaps)] == [f"⚠ Gap: {text}" for text in gaps]
    assert "no therapies recorded for context infection" in result.stderr
    assert "(its subtypes: dystrophic; try: calcref treat --subtype dystrophic)" in result.stderr
    assert one_line(result.stderr)
    followed = ok_json("treat", "--subtype", "dystrophic")
    assert followed and followed[0]["place"] == "chapter ladder"
    # a context whose subtypes have no therapy either gets no suggestion to follow
    sarcoidosis = ok("treat", "--context", "sarcoidosis", env=WIDE)
    assert "(its subtypes: metastatic)" in sarcoidosis.stderr
    assert "try:" not in sarcoidosis.stderr


def test_esrd_is_answered_by_the_literature_beside_the_chapter_s_one_sentence():
    """ESRD (CKD) had no therapy of its own in the chapter. The literature's calciphylaxis
    studies were of patients with CKD or on dialysis, so its therapies answer it, all beyond
    the chapter, the randomised trial first; the gaps say what the chapter holds."""
    records = ok_json("treat", "--context", "esrd")
    assert records
    assert {r["place"] for r in records} == {"beyond the chapter"}
    assert all(
        r["match"] == {"kind": "direct", "context": "ckd", "evidence": "studied"} for r in records
    )
    # sinha2024: hexasodium fytate, the pack's one randomised double-blind trial
    first = records[0]
    assert first["id"] == "hexasodium-fytate"
    [trial] = [s for s in first["studies"] if s["id"] == first["strongest"]]
    assert (trial["ref"], trial["kind"]) == ("sinha2024", "randomised double-blind trial")
    table = ok("treat", "--context", "esrd", env=WIDE).stdout
    gaps = yaml_gaps(context="ckd")
    assert table.splitlines()[: len(gaps)] == [f"⚠ Gap: {text}" for text in gaps]
    assert any("surgical removal" in gap for gap in gaps)  # the chapter's one sentence
    assert "Treatment ladder" not in table
    assert "Beyond the chapter" in table
    # asked by the subtype, the chapter's surgical removal is on its ladder
    calciphylaxis = by_id(ok_json("treat", "--subtype", "calciphylaxis"))
    assert calciphylaxis["surgical-excision"]["place"] == "chapter ladder"
    assert calciphylaxis["hexasodium-fytate"]["place"] == "beyond the chapter"


def test_unknown_value_prefix_suggests_the_full_name():
    assert "did you mean 'minocycline'?" in usage_error("show", "MINO")


# =============================================================================================
# cite --style, and --format refusing a citation style
# =============================================================================================


@pytest.mark.parametrize("style", ["ama", "vancouver", "bibtex", "ris", "csl-json"])
def test_cite_style_prints_the_citation_document(style):
    from helpers import load_active

    from calcref.render.citations import export

    kb = load_active()
    result = ok("cite", "--therapy", "minocycline", "--style", style.upper())
    refs = [r for r in kb.references if r.id in references_behind("minocycline")]
    assert result.stdout.replace("\r\n", "\n") == export(refs, style).replace("\r\n", "\n")
    assert result.stderr == ""


@pytest.mark.parametrize("style", ["ama", "vancouver", "bibtex", "ris", "csl-json"])
def test_cite_format_refuses_a_citation_style_and_names_the_option(style):
    """--format's deprecated citation styles were promised until 0.4 and are gone: a style
    given there is refused with the option that prints it; CALCREF_FORMAT holding a style is
    not one of cite's formats, so it is ignored (it never makes a command fail)."""
    old = invoke("cite", "robertson2003", "--format", style)
    assert old.exit_code == 2 and old.stdout == ""
    assert old.stderr == f"calcref: error: '{style}' is a citation style: use --style {style}\n"
    by_env = ok("cite", "robertson2003", env={"CALCREF_FORMAT": style})
    assert by_env.stdout == ok("cite", "robertson2003").stdout and by_env.stderr == ""


def test_cite_fields_keep_only_the_keys_asked_and_refuse_a_wrong_one():
    (ref,) = ok_json("cite", "robertson2003", "--fields", "id,doi")
    assert list(ref)[:2] == ["id", "doi"] and "title" not in ref
    assert ref["doi"] == "10.1136/ard.62.3.267"
    wrong = invoke("cite", "robertson2003", "--fields", "bogus", "--format", "csv")
    assert wrong.exit_code == 2 and "unknown field 'bogus'" in wrong.stderr
    with_style = invoke("cite", "robertson2003", "--style", "bibtex", "--fields", "id")
    assert with_style.exit_code == 2 and "leave out --format, --json and --fields" in (
        with_style.stderr
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--style", "apa"], "'apa' is not a citation style; use one of: ama, vancouver"),
        (["--style", "bibtex", "--json"], "--style prints a citation document"),
        (["--style", "ris", "--format", "csv"], "--style prints a citation document"),
    ],
)
def test_cite_style_misuse_is_a_usage_error(args, words):
    assert words in usage_error("cite", *args)


# --- --fields: only the keys asked, and what travels with them ------------------------------


def test_fields_keep_the_caution_that_goes_with_a_dose():
    # The chapter prints colchicine "<1.2 g/day" (Balin 2012); gram doses are lethal, and the
    # caution saying so must not be lost because a script asked for the regimen alone.
    (study,) = json.loads(
        ok("studies", "--therapy", "colchicine", "--fields", "id,regimen", "--json").stdout
    )
    assert list(study) == [
        "id",
        "regimen",
        "caution",
        "notes",
        "harms",
        "layer",
        "source_file",
        "overlay",
    ]
    assert study["regimen"] == "<1.2 g/day"
    assert study["caution"]["likely"] == "<1.2 mg/day" and "lethal" in study["caution"]["text"]
    rows = rows_of_csv(
        ok("studies", "--therapy", "colchicine", "--fields", "id,regimen", "--format", "csv").stdout
    )
    assert "lethal" in rows[0]["caution"]
    markdown = ok(
        "studies", "--therapy", "colchicine", "--fields", "regimen", "--format", "markdown"
    ).stdout
    assert "lethal" in markdown


def test_fields_keep_a_therapys_harms():
    # tpa-calciphylaxis: "3 of 15 had life-threatening bleeding. Show this beside any mention
    # of this therapy."
    records = ok_json("treat", "--subtype", "calciphylaxis", "--fields", "id,name")
    (tpa,) = [r for r in records if r["id"] == "tpa"]
    assert any("Life-threatening bleeding in 3 of 15" in h["text"] for h in tpa["harms"])
    markdown = ok("treat", "--subtype", "calciphylaxis", "--fields", "name", "--format", "markdown")
    assert "Life-threatening bleeding in 3 of 15" in markdown.stdout


def test_a_wrong_field_is_refused_even_when_nothing_is_found():
    result = invoke("treat", "--subtype", "metastatic", "--fields", "bogus")
    assert result.exit_code == 2 and result.stdout == ""
    assert "unknown field 'bogus'; available fields: id, name, place, line" in result.stderr
    for fmt in ("csv", "markdown", "json"):
        nothing = invoke("search", "zzzqqq", "--format", fmt, "--fields", "bogus")
        assert nothing.exit_code == 2 and "unknown field 'bogus'" in nothing.stderr, fmt
    found = ok("treat", "--subtype", "metastatic", "--fields", "id,name", "--json")
    assert json.loads(found.stdout) == []


def test_an_empty_csv_answer_still_prints_its_header():
    """`pandas.read_csv` of zero bytes raises EmptyDataError: a pipeline keeps its columns
    when nothing is found, as JSON keeps its []."""
    found = ok("treat", "--context", "ssc", "--format", "csv").stdout.splitlines()[0]
    empty = ok("treat", "--subtype", "metastatic", "--format", "csv")
    assert "no therapies recorded for subtype metastatic" in empty.stderr
    (header,) = empty.stdout.splitlines()
    assert (
        header.split(",")[:5] == found.split(",")[:5] == ["id", "name", "place", "line", "evidence"]
    )
    assert set(found.split(",")) <= set(header.split(","))  # every key a record can have
    nothing = ok("search", "zzzqqq", "--format", "csv", "--fields", "id,excerpt")
    assert nothing.stdout == "id,excerpt,caution,notes,harms,overlay\n"


def test_search_gives_scripts_every_hit_and_a_screen_the_best_ten_of_each_kind():
    every = json.loads(ok("search", "calcinosis", "--all", "--json").stdout)
    assert len(json.loads(ok("search", "calcinosis", "--json").stdout)) == len(every) > 100
    assert len(rows_of_csv(ok("search", "calcinosis", "--format", "csv").stdout)) == len(every)
    table = invoke("search", "calcinosis", env=WIDE)
    assert table.exit_code == 0 and "more hits; --all shows every one" in table.stderr


def test_nothing_found_is_said_on_one_line_whatever_was_typed():
    result = ok("search", "zzq\nyy")
    assert result.stdout == ""
    assert result.stderr == "calcref: nothing found for 'zzq\\nyy'\n"


@pytest.mark.parametrize("fmt", ["csv", "markdown", "table"])
def test_json_and_another_format_together_are_refused(fmt):
    """`--format csv --json` printed JSON without a word: one of the two was silently lost."""
    for args in (["--format", fmt, "--json"], ["--json", "-f", fmt.upper()]):
        result = invoke("treat", *args)
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr == (
            f"calcref: error: --json is --format json: leave out --json or --format {fmt}\n"
        )
    assert ok("treat", "--json", "--format", "json").stdout == ok("treat", "--json").stdout


def test_a_harm_a_study_reports_marks_its_therapy_in_the_table():
    """⚠ says `show` lists a harm: a study's harms count (jcem2016-topicalsts reports how
    the treatment was tolerated), not only the therapy's own."""
    records = ok_json("treat")
    only_studies = [r for r in records if not r["harms"] and any(s["harms"] for s in r["studies"])]
    assert only_studies, "a therapy whose harms are all its studies'"
    out = ok("treat", env={"COLUMNS": "200"}).stdout
    for record in only_studies:
        assert re.search(rf"{re.escape(record['name'])}( ⚑)? ⚠", out), record["id"]
