"""docs/knowledge.md stays true: its field tables are the loader's rules, and its worked
example runs.

The field reference is checked against the model's declarations (`calcref.model`: every key,
its type, whether it is required, its description), so a field declared without its
documentation fails here, and a field added the way a contributor would (one line in the model,
a value in the YAML) is shown to reach every answer by itself. The worked
example is run step by step in a scratch directory, exactly as a curator would type it: YAML
blocks whose first line is `# <path>` are written to that path, and every `$ ` command's
output must be what the document shows.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from calcref.model import FILES, Field

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "knowledge.md"
TYPE_NAMES = {
    "str": "text",
    "int": "whole number",
    "bool": "true/false",
    "strs": "list of text",
    "record": "mapping",
    "records": "list of mappings",
}


def describe_type(rule: Field) -> str:
    """The type column: the type, narrowed to the values it may hold."""
    if rule.ref == "target":
        return "a subtype id, a context id, or all"
    if rule.ref:
        return f"a {rule.ref} id" if rule.type == "str" else f"list of {rule.ref} ids"
    if rule.enum:
        return ("list, each one of: " if rule.type == "strs" else "one of: ") + ", ".join(rule.enum)
    return TYPE_NAMES[rule.type]


def field_rows(spec: dict[str, Field], prefix: str = "") -> list[list[str]]:
    """One row per key, nested keys as dotted paths (`ties[].basis`), in rule order."""
    rows = []
    for key, rule in spec.items():
        path = f"{prefix}{key}"
        rows.append([f"`{path}`", describe_type(rule), "yes" if rule.required else "", rule.doc])
        if rule.spec and key != "notes":
            inner = f"{path}[]." if rule.type == "records" else f"{path}."
            rows += field_rows(rule.spec, inner)
    return rows


def sections() -> list[tuple[str, dict[str, Field]]]:
    """(heading, spec) for every table the document must hold, in document order."""
    found: list[tuple[str, dict[str, Field]]] = [("knowledge.yaml", FILES["knowledge.yaml"])]
    for name in ("subtypes.yaml", "therapies.yaml"):
        found += [(f"{name}: {key}", rule.spec or {}) for key, rule in FILES[name].items()]
    return found


def markdown_table(lines: list[str]) -> list[list[str]]:
    rows = []
    for line in lines[2:]:  # after the header and the --- row
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        rows.append([cell.strip().replace("\\|", "|") for cell in cells])
    return rows


def document_tables() -> dict[str, list[list[str]]]:
    """Each `### heading` of the field reference with the table under it."""
    text = DOC.read_text(encoding="utf-8")
    reference = text.split("## Every field", 1)[1].split("\n## ", 1)[0]
    tables = {}
    for block in reference.split("\n### ")[1:]:
        heading, _, body = block.partition("\n")
        table_lines = [line for line in body.splitlines() if line.startswith("|")]
        tables[heading.strip().strip("`").replace("`", "")] = markdown_table(table_lines)
    return tables


def test_every_section_of_every_file_has_a_field_table() -> None:
    assert list(document_tables()) == [heading for heading, _ in sections()]


def table_text(spec: dict[str, Field]) -> str:
    """The Markdown field table of one record kind, as docs/knowledge.md holds it."""
    lines = ["| key | type | required | meaning |", "| --- | --- | --- | --- |"]
    for row in field_rows(spec):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines)


def regenerate_tables() -> None:
    """Rewrite every field table of docs/knowledge.md from the model's declarations."""
    text = DOC.read_text(encoding="utf-8")
    head, reference = text.split("## Every field", 1)
    reference, tail = [*reference.split("\n## ", 1), ""][:2]
    blocks = reference.split("\n### ")
    for index, (block, (_, spec)) in enumerate(zip(blocks[1:], sections(), strict=True), 1):
        heading, _, body = block.partition("\n")
        old = "\n".join(line for line in body.splitlines() if line.startswith("|"))
        blocks[index] = f"{heading}\n{body.replace(old, table_text(spec))}"
    DOC.write_text(
        head + "## Every field" + "\n### ".join(blocks) + ("\n## " + tail if tail else ""),
        encoding="utf-8",
    )


@pytest.mark.parametrize("heading,spec", sections(), ids=[h for h, _ in sections()])
def test_field_table_matches_the_rules(heading: str, spec: dict[str, Field]) -> None:
    """The tables are derived from the model: after adding or changing a field, rewrite them
    with `CALCREF_REGENERATE_DOCS=1 python -m pytest tests/test_docs.py` and read the diff."""
    if os.environ.get("CALCREF_REGENERATE_DOCS"):
        regenerate_tables()
    assert document_tables()[heading] == field_rows(spec)


def test_notes_are_documented_once() -> None:
    """Curator's notes have the same two keys everywhere; the document says so in one place."""
    text = DOC.read_text(encoding="utf-8")
    assert "`notes`" in text and "`id` and `text`" in text


# --- the worked example --------------------------------------------------------------------

BLOCK = re.compile(r"```(yaml|console)\n(.*?)```", re.S)


def worked_example() -> list[tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    example = text.split("## Worked example", 1)[1].split("\n## ", 1)[0]
    return BLOCK.findall(example)


def run_step(command: str, cwd: Path) -> str:
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALCREF_")}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
        XDG_CACHE_HOME=str(cwd / ".cache"),
        COLUMNS="100",
    )
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in done.stderr
    return done.stdout + done.stderr


@pytest.mark.slow
def test_worked_example_runs_as_written(tmp_path: Path) -> None:
    steps = worked_example()
    commands = [c for kind, body in steps if kind == "console" for c in console_commands(body)]
    assert len(commands) >= 6, "the example lost its commands: the test would prove little"
    for kind, body in steps:
        if kind == "yaml":
            first = body.partition("\n")[0]
            target = tmp_path / first.removeprefix("# ").strip()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
            continue
        for command, shown in console_commands(body):
            assert run_step(command, tmp_path).splitlines() == shown, command


def console_commands(body: str) -> list[tuple[str, list[str]]]:
    commands: list[tuple[str, list[str]]] = []
    for line in body.rstrip("\n").split("\n"):
        if line.startswith("$ "):
            commands.append((line[2:], []))
        else:
            commands[-1][1].append(line)
    return commands


# --- adding a field ----------------------------------------------------------------------------

ONSET_DOC = "How soon it works, as the source says."
ONSET_LINE = f'    onset = maybe_words("{ONSET_DOC}")\n'
ONSET_THERAPY = "minocycline"


def _add_onset_to_the_model(model_py: Path) -> None:
    """One declaration line in the Therapy class, before its `sources`."""
    text = model_py.read_text(encoding="utf-8")
    start = text.index("\nclass Therapy(Entry):\n")
    anchor = text.index("    sources = cited()\n", start)
    assert anchor < text.index("\nclass ", start + 1), "Therapy's sources moved: fix the test"
    model_py.write_text(text[:anchor] + ONSET_LINE + text[anchor:], encoding="utf-8")


def _add_onset_to_the_yaml(therapies_yaml: Path) -> None:
    """`onset: "within weeks"` on one therapy, after its name; the modeline stays line 1."""
    lines = therapies_yaml.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("therapies:\n")
    record = lines.index(f"  - id: {ONSET_THERAPY}\n", start)
    assert lines[record + 1].startswith("    name: "), lines[record + 1]
    lines.insert(record + 2, '    onset: "within weeks"\n')
    therapies_yaml.write_text("".join(lines), encoding="utf-8")
    assert lines[0].startswith("# yaml-language-server: $schema=")


@pytest.mark.slow
def test_adding_a_therapy_field_touches_only_the_yaml_and_the_model(tmp_path: Path) -> None:
    """The contributor walk-through (CONTRIBUTING.md): one declaration line in the model and a
    value in the YAML, nothing else edited, and the field is in the JSON, in search, in the
    JSON Schema, in the CSV columns and in the field table this module expects of
    docs/knowledge.md (whose row the contributor then adds, or the table test fails). Tables
    are the one output that needs the renderer touched, so they are not checked here."""
    src, data = tmp_path / "src", tmp_path / "data"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "src", src, ignore=ignore)
    shutil.copytree(REPO / "data", data, ignore=ignore)
    _add_onset_to_the_model(src / "calcref" / "model.py")
    _add_onset_to_the_yaml(data / "therapies.yaml")

    env = {k: v for k, v in os.environ.items() if not k.startswith("CALCREF_")}
    env.update(
        PYTHONPATH=str(src),
        CALCREF_DATA=str(data),
        CALCREF_NO_CACHE="1",
        XDG_CACHE_HOME=str(tmp_path / ".cache"),
        COLUMNS="100",
    )

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0 and "Traceback" not in done.stderr, (args, done.stderr)
        return done.stdout

    def calcref(*args: str) -> str:
        return run("-m", "calcref", *args)

    # The copy, not the installed calcref, answers.
    where = run("-c", "import calcref.model as m; print(m.__file__)").strip()
    assert Path(where) == src / "calcref" / "model.py"

    therapies = {t["id"]: t for t in json.loads(calcref("treat", "--json"))}
    assert therapies[ONSET_THERAPY]["onset"] == "within weeks"
    assert all("onset" in t for t in therapies.values())
    assert {t["onset"] for i, t in therapies.items() if i != ONSET_THERAPY} == {None}

    hits = json.loads(calcref("search", "weeks", "--json"))
    onset_hits = [h for h in hits if h["field"] == "onset"]
    assert [(h["kind"], h["id"]) for h in onset_hits] == [("therapy", ONSET_THERAPY)], hits
    assert "within weeks" in onset_hits[0]["excerpt"]

    schema = json.loads(calcref("schema", "therapies"))
    therapy_schema = schema["properties"]["therapies"]["items"]
    assert therapy_schema["properties"]["onset"]["description"] == ONSET_DOC
    assert "onset" not in therapy_schema["required"]
    keys = list(therapy_schema["properties"])
    assert keys.index("onset") == keys.index("sources") - 1

    rows = list(csv.DictReader(io.StringIO(calcref("treat", "--format", "csv"))))
    assert rows and "onset" in rows[0]
    assert {r["id"]: r["onset"] for r in rows}[ONSET_THERAPY] == "within weeks"

    calcref("validate")  # exit 0: the loader and the curators' rules accept the new field

    # The field table this module checks docs/knowledge.md against, generated from the copy.
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
        "import test_docs\n"
        "spec = dict(test_docs.sections())['therapies.yaml: therapies']\n"
        "print(json.dumps(test_docs.field_rows(spec)))\n"
    )
    table = json.loads(run("-c", script))
    row = ["`onset`", "text", "", ONSET_DOC]
    assert row in table, table
    assert table[table.index(row) + 1][0] == "`sources`"
