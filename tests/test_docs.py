"""docs/knowledge.md stays true: its field tables are the loader's rules, and its worked
example runs.

The field reference is checked against `calcref.schema` (every key, its type, whether it is
required, its description), so a rule added without its documentation fails here. The worked
example is run step by step in a scratch directory, exactly as a curator would type it: YAML
blocks whose first line is `# <path>` are written to that path, and every `$ ` command's
output must be what the document shows.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from calcref.model import FILES, Field

DOC = Path(__file__).resolve().parent.parent / "docs" / "knowledge.md"
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
        return "one of: " + ", ".join(rule.enum)
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


@pytest.mark.parametrize("heading,spec", sections(), ids=[h for h, _ in sections()])
def test_field_table_matches_the_rules(heading: str, spec: dict[str, Field]) -> None:
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
